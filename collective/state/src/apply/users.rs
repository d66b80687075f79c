//! Admin users for remote access (DESIGN.md §7). Only a token's hash is
//! replicated; `PutUser` on an existing name replaces its role and token
//! (that is how a token is rotated).

use super::{Applied, done};
use crate::names::validate_user_name;
use crate::{ApplyError, State, UserRecord, UserRole};

impl State {
    pub(super) fn put_user(
        &mut self,
        name: &str,
        role: UserRole,
        token_sha256: &[u8; 32],
    ) -> Applied {
        validate_user_name(name)?;
        let record = UserRecord {
            name: name.to_owned(),
            role,
            token_sha256: *token_sha256,
        };
        self.users.insert(name.to_owned(), record);
        done(Vec::new())
    }

    pub(super) fn remove_user(&mut self, name: &str) -> Applied {
        if self.users.remove(name).is_none() {
            return Err(ApplyError::not_found(format!(
                "user \"{name}\" does not exist"
            )));
        }
        done(Vec::new())
    }
}
