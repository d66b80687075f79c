//! What a member or user name may be.
//!
//! A member name becomes a DNS label in its certificate (`member-<name>.cohort`,
//! DESIGN.md §3), so it follows the hostname label rule rather than the node
//! name rule: letters, digits and `-`, at most 63 characters with the prefix
//! counted, not starting or ending with `-`. No `.` or `_`, which would make
//! the SAN a different name or an invalid one. A user name only ever appears
//! in listings and audit lines, so it follows the node name rule, which
//! admins already know.

use cohort_api::names::{MAX_NAME_LEN, NameError, NameKind, validate_name};

use crate::ApplyError;

/// `member-` plus the name must fit one DNS label (63 bytes).
pub const MAX_MEMBER_NAME_LEN: usize = 63 - "member-".len();

pub(crate) fn validate_member_name(name: &str) -> Result<(), ApplyError> {
    let bad =
        |why: &str| ApplyError::invalid(format!("\"{name}\" is not a valid member name: {why}"));
    if name.is_empty() {
        return Err(ApplyError::invalid("member name is empty"));
    }
    if name.len() > MAX_MEMBER_NAME_LEN {
        return Err(bad(&format!(
            "longer than {MAX_MEMBER_NAME_LEN} characters (it becomes the DNS name member-{name}.cohort)"
        )));
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(bad(&format!(
            "character {ch:?} is not allowed (use letters, digits and '-')"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(bad("it must start and end with a letter or digit"));
    }
    Ok(())
}

/// The node name rule, with messages that say "user".
pub(crate) fn validate_user_name(name: &str) -> Result<(), ApplyError> {
    validate_name(NameKind::Node, name).map_err(|e| {
        ApplyError::invalid(match e {
            NameError::Empty { .. } => "user name is empty".to_owned(),
            NameError::TooLong { .. } => format!(
                "\"{name}\" is not a valid user name: longer than {MAX_NAME_LEN} characters"
            ),
            NameError::BadChar { ch, .. } => format!(
                "\"{name}\" is not a valid user name: character {ch:?} is not allowed \
                 (use letters, digits, '-', '_' and '.', starting with a letter or digit)"
            ),
        })
    })
}

/// `host:port` with a numeric port (`[v6]:port` for IPv6).
pub(crate) fn validate_address(member: &str, address: &str) -> Result<(), ApplyError> {
    let ok = address.rsplit_once(':').is_some_and(|(host, port)| {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        !host.is_empty() && !host.contains(char::is_whitespace) && port.parse::<u16>().is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ApplyError::invalid(format!(
            "member \"{member}\": address \"{address}\" is not host:port (write [addr]:port for IPv6)"
        )))
    }
}
