//! crypt(3) password hashes: what `crypted.*` attributes hold.
//!
//! Clear text given for a `crypted.*` attribute is hashed here, on the
//! member that received it, before anything is proposed: the salt is
//! random, so hashing cannot happen in the deterministic state machine,
//! and the clear text must never enter the Raft log. Hashes are `$6$`
//! (SHA-512 crypt, 5000 rounds, 16-character salt) written without the
//! `rounds=` field, the form `openssl passwd -6` and glibc print, so any
//! tool that reads /etc/shadow reads them.

use sha_crypt::{PasswordHasher, PasswordVerifier, ShaCrypt};

/// Whether `value` already is a crypt hash we store as given: `$6$`
/// (SHA-512), `$5$` (SHA-256) or `$y$` (yescrypt, which only the target
/// OS needs to understand).
pub fn is_hash(value: &str) -> bool {
    ["$6$", "$5$", "$y$"].iter().any(|p| {
        value
            .strip_prefix(p)
            .is_some_and(|rest| rest.contains('$') && !rest.ends_with('$'))
    }) && !value.chars().any(|c| c.is_whitespace() || c == ':')
}

/// A `$6$` hash of `clear` with a fresh random salt.
pub fn hash_password(clear: &str) -> Result<String, String> {
    let mut salt = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .map_err(|_| "the system random generator failed".to_owned())?;
    let hash = ShaCrypt::SHA512
        .hash_password_with_salt(clear.as_bytes(), &salt)
        .map_err(|e| format!("cannot hash the password: {e}"))?
        .to_string();
    // 5000 rounds is crypt's default, which the canonical form leaves out.
    Ok(hash.replacen("$rounds=5000$", "$", 1))
}

/// Whether `clear` matches a `$5$` or `$6$` hash.
pub fn verify(clear: &str, hash: &str) -> bool {
    ShaCrypt::SHA512
        .verify_password(clear.as_bytes(), hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_look_like_glibc_ones() {
        let h = hash_password("s3cret").expect("hash");
        assert!(h.starts_with("$6$") && !h.contains("rounds="), "{h}");
        let parts: Vec<&str> = h.split('$').collect();
        assert_eq!(parts.len(), 4, "{h}");
        assert_eq!(parts[2].len(), 16, "salt of {h}");
        assert!(is_hash(&h));
        assert!(verify("s3cret", &h));
        assert!(!verify("s3cret!", &h));
        assert_ne!(hash_password("s3cret").expect("hash"), h, "salts differ");
    }

    #[test]
    fn known_vector_from_the_sha_crypt_spec() {
        // Drepper's SHA-crypt test vector (rounds default).
        assert!(verify(
            "Hello world!",
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        ));
    }

    #[test]
    fn shapes() {
        for ok in ["$6$salt$hash", "$5$s$h", "$y$j9T$salt$hash"] {
            assert!(is_hash(ok), "{ok}");
        }
        for bad in [
            "secret",
            "$6$",
            "$6$salt$",
            "$1$salt$hash",
            "$6$a b$c",
            "$6$a:b$c",
        ] {
            assert!(!is_hash(bad), "{bad}");
        }
    }
}
