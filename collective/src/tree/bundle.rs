//! The trust bundle: every member's CA certificate under
//! `public/site/tls/`, so nodes (and installers) can verify whichever
//! member answers them, and every member's SSH CA public key at
//! `public/site/ssh/<member>.ca`, so nodes trust host certificates signed
//! by any of them.
//!
//! These files derive from the replicated member table, so every member
//! computes the same bytes and writes them itself while materializing,
//! rather than carrying them as manifest entries: no admin action is
//! needed when a member joins or leaves, and the bundle cannot go stale
//! because nobody re-ran a put. The paths are reserved: a manifest entry
//! at one of them is overridden.

use std::collections::BTreeMap;

use base64::Engine;
use cohort_state::{MemberRecord, validate_tree_path};

/// Where the bundle lives in the tree.
pub const DIR: &str = "public/site/tls";
/// Where the members' SSH CA public keys live in the tree.
pub const SSH_DIR: &str = "public/site/ssh";

/// `(tree path, PEM bytes)`: `ca-bundle.pem` with every member's CA (in
/// member name order) and `<member>.pem` for each.
pub fn files(members: &BTreeMap<String, MemberRecord>) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut bundle = String::new();
    for record in members.values() {
        if record.ca_cert_der.is_empty() {
            continue;
        }
        let pem = pem(&record.ca_cert_der);
        bundle.push_str(&pem);
        let path = format!("{DIR}/{}.pem", record.name);
        // Member names are node names; a name the tree refuses is skipped
        // here rather than written anywhere unexpected.
        if validate_tree_path(&path).is_ok() && record.name != "ca-bundle" {
            out.push((path, pem.into_bytes()));
        }
    }
    if !bundle.is_empty() {
        out.push((format!("{DIR}/ca-bundle.pem"), bundle.into_bytes()));
    }
    for record in members.values() {
        let key = record.ssh_ca_public.trim();
        let path = format!("{SSH_DIR}/{}.ca", record.name);
        if !key.is_empty() && !key.contains('\n') && validate_tree_path(&path).is_ok() {
            out.push((path, format!("{key}\n").into_bytes()));
        }
    }
    out
}

/// One certificate in PEM: base64 lines of 64 characters.
fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use cohort_state::MemberRole;

    use super::*;

    fn record(name: &str, der: &[u8]) -> MemberRecord {
        MemberRecord {
            name: name.to_owned(),
            raft_id: 1,
            addresses: Vec::new(),
            https_addresses: Vec::new(),
            role: MemberRole::Voter,
            ca_cert_der: der.to_vec(),
            ssh_ca_public: format!("ssh-ed25519 AAAA{name} {name}"),
        }
    }

    #[test]
    fn one_file_per_member_and_a_bundle_of_all() {
        let members = BTreeMap::from([
            ("m1".to_owned(), record("m1", &[1u8; 100])),
            ("m2".to_owned(), record("m2", &[2u8; 10])),
        ]);
        let files = files(&members);
        let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "public/site/tls/m1.pem",
                "public/site/tls/m2.pem",
                "public/site/tls/ca-bundle.pem",
                "public/site/ssh/m1.ca",
                "public/site/ssh/m2.ca",
            ]
        );
        assert_eq!(files[3].1, b"ssh-ed25519 AAAAm1 m1\n");
        let bundle = String::from_utf8(files[2].1.clone()).expect("utf8");
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(
            bundle
                .lines()
                .all(|l| l.len() <= 64 || l.starts_with("-----"))
        );
    }
}
