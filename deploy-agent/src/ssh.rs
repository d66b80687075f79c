//! SSH trust: a new host key and its certificate, the member CAs, root's
//! authorized keys and host-based authentication between nodes.
//!
//! The host key is generated here, on the node, and never leaves it: only
//! its public half goes to `sshcert` (confluent's rule). The seed comes
//! from ring's RNG, the one RNG of the agent, so ssh-key needs no RNG
//! feature. Every certificate and key the server sends is parsed before it
//! is written, so a corrupt answer cannot add lines to a trust file.
//!
//! `ssh_known_hosts` keeps the admin's lines and holds the CAs in a
//! managed block; `authorized_keys` is a union (never drop a key someone
//! put there); `shosts.equiv` and `/root/.shosts` are owned by cohort.

use std::path::PathBuf;

use ring::rand::{SecureRandom, SystemRandom};
use ssh_key::private::Ed25519Keypair;
use ssh_key::{Certificate, LineEnding, PrivateKey, PublicKey};

use crate::fsutil::{self, FsError, Mode, Target};
use crate::names;

pub const HOST_KEY: &str = "etc/ssh/ssh_host_ed25519_key";
pub const HOST_PUB: &str = "etc/ssh/ssh_host_ed25519_key.pub";
pub const HOST_CERT: &str = "etc/ssh/ssh_host_ed25519_key-cert.pub";

/// sshd settings: our key and certificate, host-based authentication.
pub const SSHD_CONF: &str = "# Written by cohort-agent; rewritten on every deploy.\n\
HostKey /etc/ssh/ssh_host_ed25519_key\n\
HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n\
HostbasedAuthentication yes\n\
HostbasedUsesNameFromPacketOnly yes\n\
IgnoreRhosts no\n";

/// Client settings: offer host-based authentication to other nodes.
pub const SSH_CONF: &str = "# Written by cohort-agent; rewritten on every deploy.\n\
Host *\n\
    HostbasedAuthentication yes\n\
    EnableSSHKeysign yes\n\
    HostbasedAcceptedAlgorithms +ssh-ed25519-cert-v01@openssh.com,ssh-ed25519\n";

/// SSH material from the server was unusable, or a file failed.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("the system random number generator failed")]
    Rng,
    #[error("cannot encode the new host key")]
    Encode(#[source] ssh_key::Error),
    #[error("{what} is not an OpenSSH public key line: fix {fix}")]
    BadKey {
        what: String,
        fix: &'static str,
        #[source]
        source: ssh_key::Error,
    },
    #[error("the member's sshcert answer is not an OpenSSH certificate (a member bug)")]
    BadCert(#[source] ssh_key::Error),
    #[error("the member certified another key than the one sent (a member bug)")]
    WrongCert,
    #[error(transparent)]
    Name(#[from] names::BadName),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// A freshly generated host key pair.
pub struct HostKey {
    private: PrivateKey,
}

impl HostKey {
    /// A new ed25519 key commented `root@<hostname>`, as ssh-keygen does.
    pub fn generate(rng: &SystemRandom, hostname: &str) -> Result<Self, SshError> {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed).map_err(|_| SshError::Rng)?;
        let mut private = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
        private.set_comment(format!("root@{hostname}"));
        Ok(HostKey { private })
    }

    /// The one-line public key, as sent to `sshcert`.
    pub fn public_line(&self) -> Result<String, SshError> {
        self.private
            .public_key()
            .to_openssh()
            .map_err(SshError::Encode)
    }

    /// Writes the private (0600) and public (0644) halves.
    pub fn write(&self, target: &Target) -> Result<Vec<PathBuf>, SshError> {
        let private = self
            .private
            .to_openssh(LineEnding::LF)
            .map_err(SshError::Encode)?;
        let public = format!("{}\n", self.public_line()?);
        Ok(vec![
            target.write(HOST_KEY, &private, Mode::Exact(0o600))?,
            target.write(HOST_PUB, &public, Mode::Exact(0o644))?,
        ])
    }

    /// Checks that `cert` certifies this key, then writes it.
    pub fn write_cert(&self, target: &Target, cert: &str) -> Result<PathBuf, SshError> {
        let parsed = Certificate::from_openssh(cert.trim()).map_err(SshError::BadCert)?;
        if parsed.public_key() != self.private.public_key().key_data() {
            return Err(SshError::WrongCert);
        }
        let text = format!("{}\n", cert.trim());
        Ok(target.write(HOST_CERT, &text, Mode::Exact(0o644))?)
    }
}

/// Parses one public key line, for the message naming where it came from.
fn check_key(line: &str, what: &str, fix: &'static str) -> Result<(), SshError> {
    names::one_line(what, line)?;
    PublicKey::from_openssh(line.trim())
        .map(|_| ())
        .map_err(|source| SshError::BadKey {
            what: format!("{what} {:?}", line.chars().take(40).collect::<String>()),
            fix,
            source,
        })
}

/// `existing` known_hosts with one `@cert-authority * KEY` per CA in the
/// managed block.
pub fn known_hosts(existing: &str, cas: &[String]) -> Result<String, SshError> {
    let mut lines = Vec::new();
    for ca in cas {
        check_key(ca, "member SSH CA", "public/site/ssh/<member>.ca")?;
        lines.push(format!("@cert-authority * {}", ca.trim()));
    }
    Ok(fsutil::replace_block(existing, &lines))
}

/// The union of `existing` lines and `keys`, first occurrence kept.
pub fn authorized_keys(existing: &str, keys: &[String]) -> Result<String, SshError> {
    for k in keys {
        check_key(k, "root key", "public/site/ssh/<name>.rootpubkey")?;
    }
    let mut out: Vec<&str> = Vec::new();
    let lines = existing
        .lines()
        .map(str::trim)
        .chain(keys.iter().map(|k| k.trim()));
    for line in lines.filter(|l| !l.is_empty()) {
        if !out.contains(&line) {
            out.push(line);
        }
    }
    let mut text = out.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Ok(text)
}

/// `shosts.equiv`: the nodes allowed in host-based, one per line.
pub fn shosts(nodes: &[String]) -> Result<String, SshError> {
    let mut text = String::new();
    for n in nodes {
        names::dns_name("ssh.trustnodes", n.trim())?;
        text.push_str(n.trim());
        text.push('\n');
    }
    Ok(text)
}

/// Writes the static config, the trust files and root's keys (the host
/// key and certificate are [`HostKey`]'s).
pub fn write_trust(
    target: &Target,
    cas: &[String],
    root_keys: &[String],
    nodes: &[String],
) -> Result<Vec<PathBuf>, SshError> {
    let mut written = vec![
        target.write(
            "etc/ssh/sshd_config.d/90-cohort.conf",
            SSHD_CONF,
            Mode::Exact(0o644),
        )?,
        target.write(
            "etc/ssh/ssh_config.d/90-cohort.conf",
            SSH_CONF,
            Mode::Exact(0o644),
        )?,
    ];
    let existing = target.read("etc/ssh/ssh_known_hosts")?.unwrap_or_default();
    let text = known_hosts(&existing, cas)?;
    written.push(target.write("etc/ssh/ssh_known_hosts", &text, Mode::KeepOr(0o644))?);

    let equiv = shosts(nodes)?;
    written.push(target.write("etc/ssh/shosts.equiv", &equiv, Mode::Exact(0o644))?);
    written.push(target.write("root/.shosts", &equiv, Mode::Exact(0o600))?);

    fsutil::ensure_dir(&target.path("root/.ssh"), Some(0o700))?;
    let existing = target
        .read("root/.ssh/authorized_keys")?
        .unwrap_or_default();
    let text = authorized_keys(&existing, root_keys)?;
    written.push(target.write("root/.ssh/authorized_keys", &text, Mode::Exact(0o600))?);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGXl0sALmd0Pne+4hoa/S4pYRlZh1fxwXZyk73qzbeYX admin";

    fn key2() -> String {
        let rng = SystemRandom::new();
        HostKey::generate(&rng, "ca")
            .unwrap()
            .public_line()
            .unwrap()
    }

    fn check<F: Fn(&str) -> String>(f: F, existing: &str, expected: &str) {
        let once = f(existing);
        assert_eq!(once, expected, "from {existing:?}");
        assert_eq!(f(&once), once, "not idempotent");
    }

    #[test]
    fn known_hosts_block_keeps_other_lines() {
        let k2 = key2();
        let cas = vec![K1.to_owned(), k2.clone()];
        let f = |e: &str| known_hosts(e, &cas).unwrap();
        let block = format!(
            "{}\n@cert-authority * {K1}\n@cert-authority * {k2}\n{}\n",
            fsutil::BLOCK_BEGIN,
            fsutil::BLOCK_END
        );
        check(f, "", &block);
        check(
            f,
            "host1 ssh-ed25519 AAAA\n",
            &format!("host1 ssh-ed25519 AAAA\n{block}"),
        );
        assert!(known_hosts("", &["not a key".to_owned()]).is_err());
        assert!(known_hosts("", &[format!("{K1}\n@cert-authority * x")]).is_err());
    }

    #[test]
    fn authorized_keys_union() {
        let k2 = key2();
        let keys = vec![K1.to_owned(), k2.clone(), K1.to_owned()];
        let f = |e: &str| authorized_keys(e, &keys).unwrap();
        check(f, "", &format!("{K1}\n{k2}\n"));
        check(
            f,
            "ssh-rsa AAAA old\n\n",
            &format!("ssh-rsa AAAA old\n{K1}\n{k2}\n"),
        );
        check(f, &format!("{k2}\n"), &format!("{k2}\n{K1}\n"));
    }

    #[test]
    fn host_key_and_certificate_checks() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::new(dir.path());
        let rng = SystemRandom::new();
        let key = HostKey::generate(&rng, "n1").unwrap();
        key.write(&target).unwrap();
        let written = std::fs::read_to_string(target.path(HOST_KEY)).unwrap();
        let parsed = PrivateKey::from_openssh(&written).unwrap();
        assert_eq!(
            parsed.public_key().to_openssh().unwrap(),
            key.public_line().unwrap()
        );
        assert!(key.public_line().unwrap().ends_with(" root@n1"));
        assert!(matches!(
            key.write_cert(&target, "ssh-ed25519-cert-v01@openssh.com AAAA"),
            Err(SshError::BadCert(_))
        ));
        assert!(shosts(&["n1".to_owned(), "n2.example.com".to_owned()]).is_ok());
        assert!(shosts(&["n1 n2".to_owned()]).is_err());
    }
}
