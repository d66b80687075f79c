//! [`MemberIdentity`]: generating the member's keys once and loading them on
//! every later start (the module essay in `mod.rs` describes the files).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use cohort_api::names::{NameError, NameKind, validate_name};
use rcgen::{KeyPair, PublicKeyData};
use ring::rand::{SecureRandom, SystemRandom};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, DnsName, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::sign::CertifiedKey;
use ssh_key::private::Ed25519Keypair;
use ssh_key::{Algorithm, LineEnding, PrivateKey};

use super::certs::{self, CertInfo, San};
use super::files::{self, FileError, PRIVATE_FILE_MODE, PUBLIC_FILE_MODE};

const CA_KEY_FILE: &str = "member-ca.key";
const CA_CERT_FILE: &str = "member-ca.crt";
const LEAF_KEY_FILE: &str = "member.key";
const LEAF_CERT_FILE: &str = "member.crt";
const SSH_CA_FILE: &str = "ssh-ca";
const SSH_CA_PUB_FILE: &str = "ssh-ca.pub";

/// Why a member identity cannot be created or loaded. Every variant is
/// fatal for start-up; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot use {name:?} as a member name")]
    BadName {
        name: String,
        #[source]
        source: NameError,
    },
    #[error(
        "cannot use {name:?} as a member name: \"member-{name}.cohort\" is not a valid DNS name \
         (a dot-separated part is empty, longer than 63 characters or ends in '-')"
    )]
    NameNotDns { name: String },
    #[error(
        "listen address {san:?} cannot go into the member certificate: it is neither an IP \
         address nor a DNS name (give hosts without a port)"
    )]
    BadSan { san: String },
    #[error(
        "listen address {san:?} has the form member-<name>.cohort, which cohort reserves for \
         naming members in certificates; listen on an IP address or another host name"
    )]
    ReservedSan { san: String },
    #[error(
        "cannot read {}; fix its ownership/permissions, or move {} away to create a new \
         identity (the member must then rejoin)", path.display(), dir.display()
    )]
    Unreadable {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} is corrupt: {reason}; move {} away to create a new identity \
         (the member must then rejoin)", path.display(), dir.display()
    )]
    Corrupt {
        path: PathBuf,
        dir: PathBuf,
        reason: String,
    },
    #[error(
        "{} is missing although {} exists; move {} away to create a new identity \
         (the member must then rejoin)", path.display(), CA_CERT_FILE, dir.display()
    )]
    Missing { path: PathBuf, dir: PathBuf },
    #[error(
        "the identity in {} belongs to member {found:?}, not {requested:?}; start with that \
         name, or move {} away to create a new identity (the member must then rejoin)",
        dir.display(), dir.display()
    )]
    WrongMember {
        dir: PathBuf,
        found: String,
        requested: String,
    },
    #[error("cannot generate the {what}")]
    Generate {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    File(#[from] FileError),
}

/// This member's keys and certificates, loaded once at start-up.
pub struct MemberIdentity {
    name: String,
    dir: PathBuf,
    ca_cert: CertificateDer<'static>,
    leaf_cert: CertificateDer<'static>,
    /// Leaf chain `[leaf, CA]` with the leaf key, as rustls presents it.
    certified_key: Arc<CertifiedKey>,
    ssh_ca: PrivateKey,
    ssh_ca_public: String,
}

impl fmt::Debug for MemberIdentity {
    // Keys stay out of Debug output; the CA fingerprint identifies the member.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberIdentity")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("ca_fingerprint", &fingerprint_hex(&self.ca_fingerprint()))
            .finish_non_exhaustive()
    }
}

/// SHA-256 of a CA certificate's DER: what invites pin and admins compare.
pub fn ca_fingerprint_of(ca_cert_der: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, ca_cert_der);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Lower-case hex, the way fingerprints are shown to admins.
pub fn fingerprint_hex(fp: &[u8; 32]) -> String {
    fp.iter().map(|b| format!("{b:02x}")).collect()
}

/// The file paths of one identity directory.
struct Paths {
    dir: PathBuf,
}

impl Paths {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn corrupt(&self, file: &str, reason: impl Into<String>) -> IdentityError {
        IdentityError::Corrupt {
            path: self.file(file),
            dir: self.dir.clone(),
            reason: reason.into(),
        }
    }

    /// Reads one file of an existing identity, mapping "absent" and
    /// "unreadable" to errors that say how to recover.
    fn read(&self, file: &str) -> Result<Vec<u8>, IdentityError> {
        let path = self.file(file);
        files::read(&path).map_err(|e| match e.source.kind() {
            io::ErrorKind::NotFound => IdentityError::Missing {
                path: path.clone(),
                dir: self.dir.clone(),
            },
            _ => IdentityError::Unreadable {
                path: path.clone(),
                dir: self.dir.clone(),
                source: e.source,
            },
        })
    }

    fn read_text(&self, file: &str) -> Result<String, IdentityError> {
        String::from_utf8(self.read(file)?).map_err(|_| self.corrupt(file, "not UTF-8 text"))
    }

    fn read_cert(&self, file: &str) -> Result<(CertificateDer<'static>, CertInfo), IdentityError> {
        let der = CertificateDer::from_pem_slice(&self.read(file)?)
            .map_err(|e| self.corrupt(file, format!("no PEM certificate in it ({e})")))?;
        let info = certs::inspect(&der).map_err(|reason| self.corrupt(file, reason))?;
        Ok((der, info))
    }

    fn read_key(&self, file: &str) -> Result<KeyPair, IdentityError> {
        KeyPair::from_pem(&self.read_text(file)?)
            .map_err(|e| self.corrupt(file, format!("not a PEM private key ({e})")))
    }
}

impl MemberIdentity {
    /// Loads the identity in `member_dir`, creating it on first start.
    ///
    /// `sans` are the listen addresses (hosts without port) the leaf must
    /// carry besides `member-<name>.cohort`; if the current leaf lacks one,
    /// or expires within 90 days, a new leaf is issued from the same CA.
    pub fn load_or_create(
        member_dir: &Path,
        name: &str,
        sans: &[String],
    ) -> Result<MemberIdentity, IdentityError> {
        validate_member_name(name)?;
        let wanted = wanted_sans(name, sans)?;
        files::ensure_private_dir(member_dir)?;
        let paths = Paths {
            dir: member_dir.to_path_buf(),
        };
        let ca_cert_path = paths.file(CA_CERT_FILE);
        match std::fs::symlink_metadata(&ca_cert_path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => create(&paths, name, &wanted)?,
            Err(source) => {
                return Err(IdentityError::Unreadable {
                    path: ca_cert_path,
                    dir: paths.dir,
                    source,
                });
            }
        }
        load(&paths, name, &wanted)
    }

    /// The member name this identity was made for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory holding the identity files.
    pub fn member_dir(&self) -> &Path {
        &self.dir
    }

    /// The member CA certificate (DER), as recorded in the member table.
    pub fn ca_cert_der(&self) -> &CertificateDer<'static> {
        &self.ca_cert
    }

    /// SHA-256 of the member CA certificate: what invites pin.
    pub fn ca_fingerprint(&self) -> [u8; 32] {
        ca_fingerprint_of(&self.ca_cert)
    }

    /// The current TLS leaf (DER); join proofs are computed over it.
    pub fn leaf_cert_der(&self) -> &CertificateDer<'static> {
        &self.leaf_cert
    }

    /// The SSH CA public key in OpenSSH format (`ssh-ed25519 AAAA... comment`).
    pub fn ssh_ca_public_openssh(&self) -> String {
        self.ssh_ca_public.clone()
    }

    /// The SSH CA private key, for signing node host certificates.
    pub fn ssh_ca_key(&self) -> &PrivateKey {
        &self.ssh_ca
    }

    /// The leaf chain `[leaf, CA]` and its key, as the TLS configs present it.
    pub(crate) fn certified_key(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.certified_key)
    }
}

/// A member name must be a valid node name and make a valid DNS SAN.
fn validate_member_name(name: &str) -> Result<(), IdentityError> {
    validate_name(NameKind::Node, name).map_err(|source| IdentityError::BadName {
        name: name.to_owned(),
        source,
    })?;
    DnsName::try_from(certs::member_dns_name(name)).map_err(|_| IdentityError::NameNotDns {
        name: name.to_owned(),
    })?;
    Ok(())
}

/// `member-<name>.cohort` followed by the requested SANs, deduplicated.
fn wanted_sans(name: &str, sans: &[String]) -> Result<Vec<San>, IdentityError> {
    let mut wanted = vec![San::Dns(certs::member_dns_name(name))];
    for s in sans {
        let san = San::parse(s).ok_or_else(|| IdentityError::BadSan { san: s.clone() })?;
        // A second member-<name>.cohort SAN would make every peer refuse
        // the leaf as naming two members.
        let lower = s.to_ascii_lowercase();
        let own = certs::member_dns_name(name).to_ascii_lowercase();
        if certs::member_name_from_dns(&lower).is_some() && lower != own {
            return Err(IdentityError::ReservedSan { san: s.clone() });
        }
        if !wanted.contains(&san) {
            wanted.push(san);
        }
    }
    Ok(wanted)
}

fn generate_error(
    what: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> IdentityError {
    IdentityError::Generate {
        what,
        source: Box::new(e),
    }
}

/// Generates every key and certificate and writes them, the CA certificate
/// last (its presence marks a complete identity).
fn create(paths: &Paths, name: &str, wanted: &[San]) -> Result<(), IdentityError> {
    let now = SystemTime::now();
    let ssh_ca = generate_ssh_ca(name)?;
    let ssh_private = ssh_ca
        .to_openssh(LineEnding::LF)
        .map_err(|e| generate_error("SSH CA key", e))?;
    let ssh_public = ssh_ca
        .public_key()
        .to_openssh()
        .map_err(|e| generate_error("SSH CA key", e))?;
    let ca_key = certs::generate_key().map_err(|e| generate_error("member CA key", e))?;
    let ca_cert = certs::self_signed_ca(name, &ca_key, now)
        .map_err(|e| generate_error("member CA certificate", e))?;
    let leaf_key = certs::generate_key().map_err(|e| generate_error("TLS leaf key", e))?;
    let leaf_cert = certs::issue_leaf(name, wanted, &leaf_key, &ca_key, now)
        .map_err(|e| generate_error("TLS leaf certificate", e))?;

    let write = |file: &str, contents: &[u8], mode: u32| {
        files::write_atomic(&paths.file(file), contents, mode)
    };
    write(SSH_CA_FILE, ssh_private.as_bytes(), PRIVATE_FILE_MODE)?;
    write(
        SSH_CA_PUB_FILE,
        format!("{ssh_public}\n").as_bytes(),
        PUBLIC_FILE_MODE,
    )?;
    write(
        LEAF_KEY_FILE,
        leaf_key.serialize_pem().as_bytes(),
        PRIVATE_FILE_MODE,
    )?;
    write(LEAF_CERT_FILE, leaf_cert.pem().as_bytes(), PUBLIC_FILE_MODE)?;
    write(
        CA_KEY_FILE,
        ca_key.serialize_pem().as_bytes(),
        PRIVATE_FILE_MODE,
    )?;
    write(CA_CERT_FILE, ca_cert.pem().as_bytes(), PUBLIC_FILE_MODE)?;
    Ok(())
}

/// An ed25519 key from 32 bytes of ring's system RNG (ssh-key's own
/// generator would need a second RNG stack).
fn generate_ssh_ca(name: &str) -> Result<PrivateKey, IdentityError> {
    let mut seed = [0u8; 32];
    SystemRandom::new()
        .fill(&mut seed)
        .map_err(|_| generate_error("SSH CA key", io::Error::other("system RNG failed")))?;
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    seed.fill(0);
    key.set_comment(format!("cohort member SSH CA {name}"));
    Ok(key)
}

/// Loads and cross-checks an existing identity, reissuing the leaf if it
/// lacks a wanted SAN or is close to expiry.
fn load(paths: &Paths, name: &str, wanted: &[San]) -> Result<MemberIdentity, IdentityError> {
    let (ca_cert, ca_info) = paths.read_cert(CA_CERT_FILE)?;
    check_owner(paths, name, &ca_info)?;
    let ca_key = paths.read_key(CA_KEY_FILE)?;
    if ca_key.subject_public_key_info() != ca_info.spki_der {
        return Err(paths.corrupt(CA_KEY_FILE, format!("it is not the key of {CA_CERT_FILE}")));
    }
    let leaf_key = paths.read_key(LEAF_KEY_FILE)?;
    let (mut leaf_cert, leaf_info) = paths.read_cert(LEAF_CERT_FILE)?;
    if leaf_key.subject_public_key_info() != leaf_info.spki_der {
        return Err(paths.corrupt(
            LEAF_KEY_FILE,
            format!("it is not the key of {LEAF_CERT_FILE}"),
        ));
    }
    let now = SystemTime::now();
    let renew_at = leaf_info
        .not_after
        .checked_sub(certs::LEAF_RENEW_BEFORE)
        .unwrap_or(leaf_info.not_after);
    // A leaf "not yet valid" means the clock went back: a new leaf, dated
    // by this clock minus a day, is valid here and on peers with good clocks.
    let reissue = wanted.iter().any(|s| !leaf_info.covers(s))
        || now >= renew_at
        || now < leaf_info.not_before;
    if reissue {
        leaf_cert = reissue_leaf(paths, name, wanted, &leaf_key, &ca_key, &ca_cert, now)?;
    } else {
        check_leaf(&leaf_cert, &ca_cert, UnixTime::now())
            .map_err(|reason| paths.corrupt(LEAF_CERT_FILE, reason))?;
    }
    drop(ca_key);

    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = rustls::crypto::ring::default_provider();
    let certified_key =
        CertifiedKey::from_der(vec![leaf_cert.clone(), ca_cert.clone()], key_der, &provider)
            .map_err(|e| paths.corrupt(LEAF_KEY_FILE, format!("unusable for TLS ({e})")))?;
    let (ssh_ca, ssh_ca_public) = load_ssh_ca(paths)?;
    Ok(MemberIdentity {
        name: name.to_owned(),
        dir: paths.dir.clone(),
        ca_cert,
        leaf_cert,
        certified_key: Arc::new(certified_key),
        ssh_ca,
        ssh_ca_public,
    })
}

/// The CA's common name records which member the directory belongs to.
fn check_owner(paths: &Paths, name: &str, ca_info: &CertInfo) -> Result<(), IdentityError> {
    let cn = ca_info.common_name.as_deref().unwrap_or_default();
    if cn == certs::ca_common_name(name) {
        return Ok(());
    }
    match cn.strip_prefix("cohort member CA ") {
        Some(found) => Err(IdentityError::WrongMember {
            dir: paths.dir.clone(),
            found: found.to_owned(),
            requested: name.to_owned(),
        }),
        None => Err(paths.corrupt(CA_CERT_FILE, "it is not a cohort member CA certificate")),
    }
}

/// A member leaf must chain to the member CA for both directions of use.
fn check_leaf(
    leaf: &CertificateDer<'_>,
    ca: &CertificateDer<'_>,
    now: UnixTime,
) -> Result<(), String> {
    for usage in [
        webpki::KeyUsage::server_auth(),
        webpki::KeyUsage::client_auth(),
    ] {
        certs::verify_leaf(leaf, ca, now, usage)
            .map_err(|e| format!("it does not verify against {CA_CERT_FILE} ({e})"))?;
    }
    Ok(())
}

/// Issues, checks and stores a new leaf with the same key and CA.
fn reissue_leaf(
    paths: &Paths,
    name: &str,
    wanted: &[San],
    leaf_key: &KeyPair,
    ca_key: &KeyPair,
    ca_cert: &CertificateDer<'static>,
    now: SystemTime,
) -> Result<CertificateDer<'static>, IdentityError> {
    let leaf = certs::issue_leaf(name, wanted, leaf_key, ca_key, now)
        .map_err(|e| generate_error("TLS leaf certificate", e))?;
    // The issuer was rebuilt from the member name, not parsed from the CA
    // certificate: prove the result chains before replacing the old leaf.
    check_leaf(leaf.der(), ca_cert, UnixTime::now()).map_err(|reason| {
        paths.corrupt(
            CA_KEY_FILE,
            format!("a leaf signed with it fails: {reason}"),
        )
    })?;
    files::write_atomic(
        &paths.file(LEAF_CERT_FILE),
        leaf.pem().as_bytes(),
        PUBLIC_FILE_MODE,
    )?;
    Ok(leaf.der().clone())
}

fn load_ssh_ca(paths: &Paths) -> Result<(PrivateKey, String), IdentityError> {
    let text = paths.read_text(SSH_CA_FILE)?;
    let key = PrivateKey::from_openssh(text.as_bytes())
        .map_err(|e| paths.corrupt(SSH_CA_FILE, format!("not an OpenSSH private key ({e})")))?;
    if key.is_encrypted() {
        return Err(paths.corrupt(
            SSH_CA_FILE,
            "it is passphrase-protected; cohort needs it in clear",
        ));
    }
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(paths.corrupt(SSH_CA_FILE, "it is not an ed25519 key"));
    }
    let public = key.public_key().to_openssh().map_err(|e| {
        paths.corrupt(
            SSH_CA_FILE,
            format!("its public key cannot be encoded ({e})"),
        )
    })?;
    Ok((key, public))
}
