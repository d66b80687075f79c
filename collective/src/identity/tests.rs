//! Tests of the identity files, the data key, invite tokens and join
//! proofs. TLS handshakes are in `tls_tests.rs`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::certs;
use super::*;

/// A fresh temporary directory; `member` inside it does not exist yet.
pub(super) fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cohort-identity-test-")
        .tempdir()
        .unwrap()
}

pub(super) fn member_dir(t: &tempfile::TempDir) -> PathBuf {
    t.path().join("member")
}

pub(super) fn make(dir: &Path, name: &str) -> MemberIdentity {
    MemberIdentity::load_or_create(dir, name, &["127.0.0.1".to_owned()]).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn leaf_info(id: &MemberIdentity) -> certs::CertInfo {
    certs::inspect(id.leaf_cert_der()).unwrap()
}

#[test]
fn first_start_creates_private_files_and_later_starts_load_the_same_identity() {
    let t = temp();
    let dir = member_dir(&t);
    let first = make(&dir, "m1");
    assert_eq!(mode(&dir), 0o700);
    for key in ["member-ca.key", "member.key", "ssh-ca"] {
        assert_eq!(mode(&dir.join(key)), 0o600, "{key}");
    }
    for public in ["member-ca.crt", "member.crt", "ssh-ca.pub"] {
        assert!(dir.join(public).is_file(), "{public}");
    }
    // No temporary files are left behind.
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");

    let second = make(&dir, "m1");
    assert_eq!(first.ca_fingerprint(), second.ca_fingerprint());
    assert_eq!(first.leaf_cert_der(), second.leaf_cert_der());
    assert_eq!(
        first.ssh_ca_public_openssh(),
        second.ssh_ca_public_openssh()
    );
    assert!(first.ssh_ca_public_openssh().starts_with("ssh-ed25519 "));
    let pub_file = fs::read_to_string(dir.join("ssh-ca.pub")).unwrap();
    assert_eq!(pub_file.trim_end(), first.ssh_ca_public_openssh());

    let info = leaf_info(&first);
    assert!(info.dns_names.contains(&"member-m1.cohort".to_owned()));
    assert!(info.ip_addresses.contains(&"127.0.0.1".parse().unwrap()));
    // Debug output names the member but shows no key material.
    let debug = format!("{first:?}");
    assert!(
        debug.contains("m1") && !debug.contains("PRIVATE"),
        "{debug}"
    );
}

#[test]
fn a_new_listen_address_reissues_the_leaf_from_the_same_ca() {
    let t = temp();
    let dir = member_dir(&t);
    let first = make(&dir, "m1");
    let sans = [
        "127.0.0.1".to_owned(),
        "node7.example".to_owned(),
        "::1".to_owned(),
    ];
    let second = MemberIdentity::load_or_create(&dir, "m1", &sans).unwrap();
    assert_eq!(first.ca_cert_der(), second.ca_cert_der());
    assert_ne!(first.leaf_cert_der(), second.leaf_cert_der());
    let info = leaf_info(&second);
    assert!(info.dns_names.contains(&"node7.example".to_owned()));
    assert!(info.ip_addresses.contains(&"::1".parse().unwrap()));
    // The new leaf verifies against the unchanged CA.
    certs::verify_leaf(
        second.leaf_cert_der(),
        first.ca_cert_der(),
        rustls::pki_types::UnixTime::now(),
        webpki::KeyUsage::server_auth(),
    )
    .unwrap();
    // Asking for a subset (or a differently cased name) does not reissue.
    let third = MemberIdentity::load_or_create(&dir, "m1", &["NODE7.example".to_owned()]).unwrap();
    assert_eq!(second.leaf_cert_der(), third.leaf_cert_der());
}

#[test]
fn a_leaf_near_expiry_or_from_the_future_is_reissued() {
    let t = temp();
    let dir = member_dir(&t);
    let first = make(&dir, "m1");
    let ca_key =
        rcgen::KeyPair::from_pem(&fs::read_to_string(dir.join("member-ca.key")).unwrap()).unwrap();
    let leaf_key =
        rcgen::KeyPair::from_pem(&fs::read_to_string(dir.join("member.key")).unwrap()).unwrap();
    let sans = [
        certs::San::Dns("member-m1.cohort".to_owned()),
        certs::San::Ip("127.0.0.1".parse().unwrap()),
    ];
    let day = Duration::from_secs(86_400);
    // Issued 700 days ago (expires in 30) and 10 days ahead (not yet valid).
    for issued in [SystemTime::now() - 700 * day, SystemTime::now() + 10 * day] {
        let leaf = certs::issue_leaf("m1", &sans, &leaf_key, &ca_key, issued).unwrap();
        fs::write(dir.join("member.crt"), leaf.pem()).unwrap();
        let again = make(&dir, "m1");
        assert_ne!(again.leaf_cert_der(), leaf.der());
        assert_eq!(again.ca_fingerprint(), first.ca_fingerprint());
        let info = leaf_info(&again);
        assert!(info.not_after > SystemTime::now() + 600 * day);
        assert!(info.not_before < SystemTime::now());
    }
}

#[test]
fn damaged_files_are_refused_with_their_name_and_the_way_out() {
    let t = temp();
    let dir = member_dir(&t);
    make(&dir, "m1");
    for file in ["member-ca.key", "member.crt", "ssh-ca", "member-ca.crt"] {
        let path = dir.join(file);
        let saved = fs::read(&path).unwrap();
        fs::write(&path, b"-----BEGIN GARBAGE-----\nxx\n").unwrap();
        let err = MemberIdentity::load_or_create(&dir, "m1", &[]).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, IdentityError::Corrupt { .. }),
            "{file}: {err:?}"
        );
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("move") && msg.contains("rejoin"), "{msg}");
        fs::write(&path, saved).unwrap();
    }
    // A key that parses but belongs to another certificate is caught too.
    let other = temp();
    make(&member_dir(&other), "m1");
    fs::copy(
        member_dir(&other).join("member.key"),
        dir.join("member.key"),
    )
    .unwrap();
    let msg = MemberIdentity::load_or_create(&dir, "m1", &[])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("member.key") && msg.contains("not the key"),
        "{msg}"
    );
}

#[test]
fn missing_files_wrong_owner_bad_names_and_bad_sans_are_refused() {
    let t = temp();
    let dir = member_dir(&t);
    make(&dir, "m1");
    let err = MemberIdentity::load_or_create(&dir, "m2", &[]).unwrap_err();
    assert!(
        matches!(&err, IdentityError::WrongMember { found, .. } if found == "m1"),
        "{err:?}"
    );

    fs::remove_file(dir.join("ssh-ca")).unwrap();
    let err = MemberIdentity::load_or_create(&dir, "m1", &[]).unwrap_err();
    assert!(matches!(err, IdentityError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("ssh-ca"));

    let fresh = member_dir(&temp());
    for bad in ["", "-x", "a b", "a..b", &"x".repeat(70)] {
        let err = MemberIdentity::load_or_create(&fresh, bad, &[]).unwrap_err();
        assert!(
            matches!(
                err,
                IdentityError::BadName { .. } | IdentityError::NameNotDns { .. }
            ),
            "{bad:?}: {err:?}"
        );
    }
    let err =
        MemberIdentity::load_or_create(&fresh, "m1", &["10.0.0.1:13001".to_owned()]).unwrap_err();
    assert!(matches!(err, IdentityError::BadSan { .. }), "{err:?}");
    assert!(err.to_string().contains("without a port"));
    let err =
        MemberIdentity::load_or_create(&fresh, "m1", &["member-m2.cohort".to_owned()]).unwrap_err();
    assert!(matches!(err, IdentityError::ReservedSan { .. }), "{err:?}");
    // Our own member name as a listen address is harmless.
    MemberIdentity::load_or_create(&fresh, "m1", &["Member-M1.cohort".to_owned()]).unwrap();
}

#[test]
fn data_key_round_trip_and_key_file() {
    let t = temp();
    let key = DataKey::generate().unwrap();
    for plain in ["", "hunter2", "pässwörd with ünïcode", &"x".repeat(10_000)] {
        let sealed = key.seal(plain).unwrap();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains(plain) || plain.is_empty());
        assert_eq!(key.open(&sealed).unwrap(), plain);
    }
    // Random nonces: sealing twice gives different text.
    assert_ne!(key.seal("same").unwrap(), key.seal("same").unwrap());

    let path = t.path().join("data.key");
    key.store(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let loaded = DataKey::load(&path).unwrap();
    assert_eq!(loaded.fingerprint(), key.fingerprint());
    assert_eq!(loaded.open(&key.seal("s").unwrap()).unwrap(), "s");

    fs::write(&path, "not a key\n").unwrap();
    let err = DataKey::load(&path).unwrap_err();
    assert!(matches!(err, DataKeyError::Format { .. }), "{err:?}");
    assert!(err.to_string().contains("data.key"));
}

#[test]
fn data_key_refuses_another_key_and_altered_text() {
    let key = DataKey::generate().unwrap();
    let other = DataKey::generate().unwrap();
    let sealed = key.seal("secret").unwrap();
    assert_eq!(other.open(&sealed), Err(SealError::WrongKeyOrCorrupt));

    // Flip each byte of the payload in turn: nothing opens.
    let raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
    for i in 0..raw.len() {
        let mut bad = raw.clone();
        bad[i] ^= 0x01;
        let text = format!("v1:{}", URL_SAFE_NO_PAD.encode(&bad));
        assert_eq!(
            key.open(&text),
            Err(SealError::WrongKeyOrCorrupt),
            "byte {i}"
        );
    }
    let truncated = format!("v1:{}", URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1]));
    assert_eq!(key.open(&truncated), Err(SealError::WrongKeyOrCorrupt));
    for not_sealed in ["secret", "v2:AAAA", "v1:***", "v1:", "v1:AAAA"] {
        assert_eq!(
            key.open(not_sealed),
            Err(SealError::NotSealed),
            "{not_sealed}"
        );
    }
}

#[test]
fn data_key_fingerprint_is_stable_and_debug_hides_the_key() {
    let key = DataKey::from_bytes(&[7u8; 32]).unwrap();
    let again = DataKey::from_bytes(&[7u8; 32]).unwrap();
    assert_eq!(key.fingerprint(), again.fingerprint());
    assert_ne!(
        key.fingerprint(),
        DataKey::from_bytes(&[8u8; 32]).unwrap().fingerprint()
    );
    // Domain separated: not the plain SHA-256 of the key.
    assert_ne!(key.fingerprint(), ca_fingerprint_of(&[7u8; 32]));
    let debug = format!("{key:?}");
    let fp = fingerprint_hex(&key.fingerprint());
    assert!(debug.contains(&fp[..8]), "{debug}");
    assert!(!debug.contains("0707") && !debug.contains("[7"), "{debug}");
    assert!(matches!(
        DataKey::from_bytes(&[0u8; 31]),
        Err(DataKeyError::Length { len: 31 })
    ));
}

fn sample_token() -> InviteToken {
    InviteToken::new(
        [3u8; 16],
        vec!["10.0.0.1:13001".to_owned(), "[fd00::1]:13001".to_owned()],
        [9u8; 32],
        "m2",
        true,
        1_700_000_000_000,
    )
    .unwrap()
}

#[test]
fn invite_token_round_trips() {
    let token = sample_token();
    assert_eq!(token.version, TOKEN_VERSION);
    let text = token.encode();
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(InviteToken::decode(&text).unwrap(), token);
    // Copy-and-paste whitespace is forgiven.
    assert_eq!(InviteToken::decode(&format!("  {text}\n")).unwrap(), token);
    let voting = InviteToken {
        nonvoting: false,
        ..token.clone()
    };
    assert!(!InviteToken::decode(&voting.encode()).unwrap().nonvoting);
    // Fresh secrets.
    assert_ne!(sample_token().secret, token.secret);
    assert_eq!(token.secret_sha256(), ca_fingerprint_of(&token.secret));
    assert!(token.is_expired(1_700_000_000_000));
    assert!(!token.is_expired(1_699_999_999_999));
    let debug = format!("{token:?}");
    assert!(!debug.contains("secret") && debug.contains("m2"), "{debug}");
}

#[test]
fn invite_token_layout_is_frozen() {
    let token = InviteToken {
        version: 1,
        collective_id: [0x11; 16],
        inviter_addresses: vec!["h:1".to_owned()],
        ca_fingerprint: [0x22; 32],
        name: "n".to_owned(),
        nonvoting: true,
        secret: [0x33; 32],
        expires_ms: 0x0102_0304_0506_0708,
    };
    let mut want = vec![1u8];
    want.extend([0x11; 16]);
    want.extend([0x22; 32]);
    want.extend([0x33; 32]);
    want.extend([1, 2, 3, 4, 5, 6, 7, 8]);
    want.extend([1, 1, b'n', 1, 3, b'h', b':', b'1']);
    assert_eq!(URL_SAFE_NO_PAD.decode(token.encode()).unwrap(), want);
}

/// Table-driven decode errors: the token bytes after a tweak, and the error.
#[test]
fn invite_token_decode_errors_are_distinct() {
    let good = URL_SAFE_NO_PAD.decode(sample_token().encode()).unwrap();
    let enc = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let check = |text: &str, want: fn(&TokenError) -> bool| {
        let err = InviteToken::decode(text).unwrap_err();
        assert!(want(&err), "{text:?}: {err:?}");
        assert!(!err.to_string().is_empty());
    };
    check("not a token!", |e| *e == TokenError::NotBase64);
    check("", |e| {
        matches!(
            e,
            TokenError::Truncated {
                field: "format version"
            }
        )
    });
    check(&"A".repeat(10_000), |e| {
        matches!(e, TokenError::TooLong { .. })
    });
    let mut v2 = good.clone();
    v2[0] = 2;
    check(&enc(&v2), |e| *e == TokenError::UnknownVersion(2));
    check(&enc(&good[..40]), |e| {
        matches!(
            e,
            TokenError::Truncated {
                field: "CA fingerprint"
            }
        )
    });
    check(&enc(&good[..good.len() - 1]), |e| {
        matches!(e, TokenError::Truncated { .. })
    });
    let mut trailing = good.clone();
    trailing.extend([0, 0]);
    check(&enc(&trailing), |e| {
        *e == TokenError::TrailingBytes { count: 2 }
    });
    let mut flags = good.clone();
    flags[89] = 0x80;
    check(&enc(&flags), |e| matches!(e, TokenError::Corrupt { .. }));
    let mut bad_name = good.clone();
    bad_name[91] = b'/';
    check(&enc(&bad_name), |e| matches!(e, TokenError::Corrupt { .. }));
    let mut zero_addrs = good[..94].to_vec();
    zero_addrs[93] = 0;
    check(&enc(&zero_addrs), |e| {
        matches!(e, TokenError::Corrupt { .. })
    });
    // Tokens that cannot be made.
    let long = "x".repeat(300);
    assert!(InviteToken::new([0; 16], vec![], [0; 32], "m", false, 0).is_err());
    assert!(InviteToken::new([0; 16], vec![long], [0; 32], "m", false, 0).is_err());
    assert!(InviteToken::new([0; 16], vec!["a:1".into()], [0; 32], "a b", false, 0).is_err());
    // An over-long field built by hand encodes to a token decode refuses.
    let hand = InviteToken {
        inviter_addresses: vec!["y".repeat(1000)],
        ..sample_token()
    };
    check(&hand.encode(), |e| matches!(e, TokenError::Corrupt { .. }));
}

proptest! {
    #[test]
    fn invite_token_decode_never_panics_on_text(text in "\\PC{0,300}") {
        let _ = InviteToken::decode(&text);
    }

    #[test]
    fn invite_token_decode_never_panics_on_bytes(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..400),
        v1 in any::<bool>(),
    ) {
        if v1 && !bytes.is_empty() {
            bytes[0] = 1;
        }
        let _ = InviteToken::decode(&URL_SAFE_NO_PAD.encode(&bytes));
    }

    #[test]
    fn invite_token_round_trips_any_valid_fields(
        id in any::<[u8; 16]>(),
        fp in any::<[u8; 32]>(),
        name in "[a-z0-9][a-z0-9._-]{0,60}",
        addrs in proptest::collection::vec("[ -~]{1,60}", 1..16),
        nonvoting in any::<bool>(),
        expires in any::<u64>(),
    ) {
        let token = InviteToken::new(id, addrs, fp, &name, nonvoting, expires).unwrap();
        prop_assert_eq!(InviteToken::decode(&token.encode()).unwrap(), token);
    }
}

#[test]
fn join_proof_and_approval_verify_and_bind_both_certificates() {
    let key = sample_token().secret_sha256();
    let (inviter, joiner, other) = (b"inviter leaf".as_slice(), b"joiner leaf".as_slice(), b"x");
    let proof = join_proof(&key, inviter, joiner);
    verify_join_proof(&key, inviter, joiner, &proof).unwrap();
    let approval = join_approval(&key, joiner, inviter);
    verify_join_approval(&key, joiner, inviter, &approval).unwrap();
    assert_ne!(proof, approval);

    let wrong_key = sample_token().secret_sha256();
    let mismatch = Err(JoinProofError::ProofMismatch);
    assert_eq!(
        verify_join_proof(&wrong_key, inviter, joiner, &proof),
        mismatch
    );
    assert_eq!(verify_join_proof(&key, other, joiner, &proof), mismatch);
    assert_eq!(verify_join_proof(&key, inviter, other, &proof), mismatch);
    assert_eq!(verify_join_proof(&key, joiner, inviter, &proof), mismatch);
    assert_eq!(
        verify_join_proof(&key, inviter, joiner, &proof[..31]),
        mismatch
    );
    // A proof is never accepted as an approval (different label).
    assert_eq!(
        verify_join_approval(&key, inviter, joiner, &proof),
        Err(JoinProofError::ApprovalMismatch)
    );
    assert_eq!(
        verify_join_approval(&key, joiner, other, &approval),
        Err(JoinProofError::ApprovalMismatch)
    );
    // Length prefixes: moving bytes between the two certificates changes it.
    assert_ne!(join_proof(&key, b"ab", b"c"), join_proof(&key, b"a", b"bc"));
}
