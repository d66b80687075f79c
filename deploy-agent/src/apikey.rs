//! The node's API key: drawn here, kept in `etc/cohort/apikey`, and only
//! its crypt hash ever sent (`registerapikey`), as in confluent.
//!
//! 32 bytes from the OS RNG, base64url without padding (43 characters,
//! header-safe). The hash is SHA-512 crypt (`$6$`, 16-character salt),
//! which every member verifies; members cache verified keys, so the 5000
//! rounds are paid once. The key is a newtype whose `Debug` hides it, and
//! nothing here logs it.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use sha_crypt::{PasswordHasher, ShaCrypt};

use crate::fsutil::{self, FsError, Mode};

/// Where the key lives under `--root`.
pub const APIKEY_PATH: &str = "etc/cohort/apikey";

/// Drawing or hashing a key failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The OS RNG failed: nothing to retry, the node is broken.
    #[error("the system random number generator failed")]
    Rng,
    #[error("cannot crypt the API key: {0}")]
    Hash(String),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// A node API key, in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

impl ApiKey {
    /// The clear key, for the `cohort-apikey` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A fresh key from `rng`.
    pub fn draw(rng: &SystemRandom) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes).map_err(|_| KeyError::Rng)?;
        Ok(ApiKey(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// `$6$rounds=5000$<16 salt chars>$<hash>`.
    pub fn crypt(&self, rng: &SystemRandom) -> Result<String, KeyError> {
        // sha-crypt encodes the salt bytes in crypt's base64: 12 bytes give
        // the 16 characters crypt(3) uses at most.
        let mut salt = [0u8; 12];
        rng.fill(&mut salt).map_err(|_| KeyError::Rng)?;
        ShaCrypt::SHA512
            .hash_password_with_salt(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| KeyError::Hash(e.to_string()))
    }

    /// The key saved by an earlier run, if any.
    pub fn load(path: &Path) -> Result<Option<Self>, KeyError> {
        let text = fsutil::read_optional(path)?;
        Ok(text
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty() && !t.chars().any(char::is_control))
            .map(ApiKey))
    }

    /// Saves the key, mode 0600 in a 0700 directory.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        if let Some(dir) = path.parent() {
            fsutil::ensure_dir(dir, Some(0o700))?;
        }
        fsutil::write_file(path, format!("{}\n", self.0).as_bytes(), Mode::Exact(0o600))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha_crypt::PasswordVerifier;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_hashes_verify_and_round_trip() {
        let rng = SystemRandom::new();
        let key = ApiKey::draw(&rng).unwrap();
        assert_eq!(key.expose().len(), 43);
        assert_ne!(key, ApiKey::draw(&rng).unwrap());
        assert_eq!(format!("{key:?}"), "ApiKey(..)");

        let hash = key.crypt(&rng).unwrap();
        let salt = hash.split('$').nth(3).unwrap();
        assert!(hash.starts_with("$6$rounds=5000$"), "{hash}");
        assert_eq!(salt.len(), 16);
        ShaCrypt::SHA512
            .verify_password(key.expose().as_bytes(), hash.as_str())
            .unwrap();
        assert!(
            ShaCrypt::SHA512
                .verify_password(b"other", hash.as_str())
                .is_err()
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(APIKEY_PATH);
        assert_eq!(ApiKey::load(&path).unwrap(), None);
        key.save(&path).unwrap();
        assert_eq!(ApiKey::load(&path).unwrap(), Some(key));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
