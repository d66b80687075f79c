//! Making and reading member certificates: the self-signed member CA, the
//! leaf it issues, and the few facts cohort reads back from a certificate
//! (SANs, common name, expiry, public key).
//!
//! Generation uses rcgen; reading uses x509-parser; chain checks use webpki
//! with exactly one trust anchor, which is how every check in this module
//! tree is shaped: "does this leaf verify against *that* CA".

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls::pki_types::{CertificateDer, DnsName, UnixTime};
use time::OffsetDateTime;
use webpki::KeyUsage;
use x509_parser::extensions::GeneralName;

/// Member CA lifetime. The CA never changes during a member's life (its
/// certificate is the member's identity in the member table), so it is
/// long; a member that outlives it must be re-created and rejoin.
const CA_LIFETIME: Duration = Duration::from_secs(20 * 366 * 86_400);
/// Leaf lifetime. The leaf is reissued from the same CA at start-up when
/// it gets close to expiry (see [`LEAF_RENEW_BEFORE`]), so no peer notices.
const LEAF_LIFETIME: Duration = Duration::from_secs(730 * 86_400);
/// A leaf with less than this left is reissued at the next start.
pub(crate) const LEAF_RENEW_BEFORE: Duration = Duration::from_secs(90 * 86_400);
/// Certificates start a day in the past: bare-metal clocks are often wrong
/// at first boot, and a peer whose clock lags must not see a fresh
/// certificate as "not yet valid".
const BACKDATE: Duration = Duration::from_secs(86_400);

/// The DNS SAN that names a member in its leaf certificate.
pub(crate) fn member_dns_name(name: &str) -> String {
    format!("member-{name}.cohort")
}

/// Extracts `<name>` from `member-<name>.cohort`, if the SAN has that shape.
pub(crate) fn member_name_from_dns(san: &str) -> Option<&str> {
    let name = san.strip_prefix("member-")?.strip_suffix(".cohort")?;
    (!name.is_empty()).then_some(name)
}

/// The common name of a member CA; also how a stored identity tells which
/// member it belongs to.
pub(crate) fn ca_common_name(name: &str) -> String {
    format!("cohort member CA {name}")
}

/// One subject alternative name a leaf must carry.
#[derive(Debug, Clone, Eq)]
pub(crate) enum San {
    /// As given; compared case-insensitively, like DNS.
    Dns(String),
    Ip(IpAddr),
}

impl PartialEq for San {
    /// DNS names compare case-insensitively, like DNS itself.
    fn eq(&self, other: &San) -> bool {
        match (self, other) {
            (San::Dns(a), San::Dns(b)) => a.eq_ignore_ascii_case(b),
            (San::Ip(a), San::Ip(b)) => a == b,
            _ => false,
        }
    }
}

impl San {
    /// Parses a listen address (without port): an IP address, else a DNS
    /// name. `None` if it is neither.
    pub(crate) fn parse(s: &str) -> Option<San> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Some(San::Ip(ip));
        }
        DnsName::try_from(s).ok().map(|_| San::Dns(s.to_owned()))
    }

    fn to_rcgen(&self) -> Result<SanType, rcgen::Error> {
        Ok(match self {
            San::Dns(d) => SanType::DnsName(d.clone().try_into()?),
            San::Ip(ip) => SanType::IpAddress(*ip),
        })
    }
}

/// What cohort reads back from a certificate.
#[derive(Debug, Clone)]
pub(crate) struct CertInfo {
    pub(crate) common_name: Option<String>,
    /// DNS SANs as written in the certificate (member names keep their case).
    pub(crate) dns_names: Vec<String>,
    pub(crate) ip_addresses: Vec<IpAddr>,
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
    /// DER SubjectPublicKeyInfo, to check a key file matches its certificate.
    pub(crate) spki_der: Vec<u8>,
}

impl CertInfo {
    /// Whether the certificate carries this SAN.
    pub(crate) fn covers(&self, san: &San) -> bool {
        match san {
            San::Dns(d) => self
                .dns_names
                .iter()
                .any(|have| have.eq_ignore_ascii_case(d)),
            San::Ip(ip) => self.ip_addresses.contains(ip),
        }
    }

    /// Member names claimed through `member-<name>.cohort` SANs.
    pub(crate) fn member_names(&self) -> Vec<&str> {
        self.dns_names
            .iter()
            .filter_map(|d| member_name_from_dns(d))
            .collect()
    }
}

/// Parses a DER certificate. The error is a short reason for a message.
pub(crate) fn inspect(der: &[u8]) -> Result<CertInfo, String> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not an X.509 certificate ({e})"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".to_owned());
    }
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("unreadable subject alternative names ({e})"))?;
    for name in san.iter().flat_map(|ext| ext.value.general_names.iter()) {
        match name {
            GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
            GeneralName::IPAddress(bytes) => {
                if let Some(ip) = ip_from_bytes(bytes) {
                    ip_addresses.push(ip);
                }
            }
            _ => {}
        }
    }
    Ok(CertInfo {
        common_name,
        dns_names,
        ip_addresses,
        not_before: system_time(cert.validity().not_before.timestamp()),
        not_after: system_time(cert.validity().not_after.timestamp()),
        spki_der: cert.public_key().raw.to_vec(),
    })
}

/// Seconds since the epoch as a SystemTime; times before 1970 clamp to it.
fn system_time(secs: i64) -> SystemTime {
    u64::try_from(secs)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        .unwrap_or(UNIX_EPOCH)
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// A fresh ECDSA P-256 key pair (widest TLS interoperability).
pub(crate) fn generate_key() -> Result<KeyPair, rcgen::Error> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
}

/// The member CA's parameters. Also used to rebuild the issuer after a
/// restart: rcgen's issuer needs only the subject, key usages and key
/// identifier method, all of which follow from the member name, so the CA
/// certificate never has to be re-parsed into rcgen types. A leaf issued
/// this way is checked against the stored CA certificate before use.
fn ca_params(name: &str, now: SystemTime) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, ca_common_name(name));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = offset_time(now.checked_sub(BACKDATE).unwrap_or(now));
    params.not_after = offset_time(now.checked_add(CA_LIFETIME).unwrap_or(now));
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

/// Makes a self-signed member CA.
pub(crate) fn self_signed_ca(
    name: &str,
    ca_key: &KeyPair,
    now: SystemTime,
) -> Result<Certificate, rcgen::Error> {
    ca_params(name, now)?.self_signed(ca_key)
}

/// Issues a leaf for `name` with the given extra SANs, signed by the CA key.
pub(crate) fn issue_leaf(
    name: &str,
    sans: &[San],
    leaf_key: &KeyPair,
    ca_key: &KeyPair,
    now: SystemTime,
) -> Result<Certificate, rcgen::Error> {
    let issuer = Issuer::new(ca_params(name, now)?, ca_key);
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("cohort member {name}"));
    params.distinguished_name = dn;
    params.subject_alt_names = sans.iter().map(San::to_rcgen).collect::<Result<_, _>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    params.not_before = offset_time(now.checked_sub(BACKDATE).unwrap_or(now));
    params.not_after = offset_time(now.checked_add(LEAF_LIFETIME).unwrap_or(now));
    params.serial_number = Some(random_serial()?);
    params.signed_by(leaf_key, &issuer)
}

/// 16 random bytes with the top bit clear (serials must be positive), so a
/// reissued leaf never repeats a serial of the same CA.
fn random_serial() -> Result<SerialNumber, rcgen::Error> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| rcgen::Error::RingUnspecified)?;
    bytes[0] &= 0x7f;
    Ok(SerialNumber::from_slice(&bytes))
}

fn offset_time(t: SystemTime) -> OffsetDateTime {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The signature algorithms cohort accepts in certificates and handshakes:
/// the ring provider's, independent of any process-wide default provider.
pub(crate) fn signature_algorithms() -> rustls::crypto::WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// Verifies that `leaf` chains to `ca` (used as the only trust anchor, with
/// no intermediates), is valid at `now` and allows `usage`.
pub(crate) fn verify_leaf(
    leaf: &CertificateDer<'_>,
    ca: &CertificateDer<'_>,
    now: UnixTime,
    usage: KeyUsage,
) -> Result<(), webpki::Error> {
    let anchor = webpki::anchor_from_trusted_cert(ca)?;
    let end_entity = webpki::EndEntityCert::try_from(leaf)?;
    end_entity.verify_for_usage(
        signature_algorithms().all,
        &[anchor],
        &[],
        now,
        usage,
        None,
        None,
    )?;
    Ok(())
}
