//! The whole `cohort-agent deploy` flow, run as the real binary against
//! fake members: identify, register, configure, certify, report, and fail
//! over when a member is dead or goes down mid-deploy.

// Test code, helpers included: a panic is a failed test. clippy.toml's
// allow-unwrap-in-tests covers only the #[test] functions themselves.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use cohort_api::nodeapi::{
    DeployConfig, DeployStatus, Interface, IpMethod, MemberUrls, SshCertRequest,
};
use common::fake_member::{FakeMember, Faults, Pki, State, dead_url};
use sha_crypt::{PasswordVerifier, ShaCrypt};
use ssh_key::private::Ed25519Keypair;
use ssh_key::{Certificate, PrivateKey, PublicKey};

const ROOT_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGXl0sALmd0Pne+4hoa/S4pYRlZh1fxwXZyk73qzbeYX admin";

fn config(ca: &PrivateKey, members: Vec<MemberUrls>) -> DeployConfig {
    DeployConfig {
        version: 1,
        hostname: "n1".to_owned(),
        fqdn: Some("n1.example.com".to_owned()),
        profile: Some("debian-12".to_owned()),
        dnsdomain: Some("example.com".to_owned()),
        nameservers: vec!["10.1.0.2".to_owned()],
        ntpservers: vec!["10.1.0.3".to_owned()],
        timezone: "Europe/Paris".to_owned(),
        rootpassword: Some("$6$salt$roothash".to_owned()),
        interfaces: vec![Interface {
            name: "mgt".to_owned(),
            interface_names: vec!["eno1".to_owned()],
            hwaddr: Some("aa:bb:cc:dd:ee:01".to_owned()),
            ipv4_method: IpMethod::Static,
            ipv4_address: Some("10.1.0.5".to_owned()),
            ipv4_prefix: Some(16),
            ipv4_gateway: Some("10.1.0.1".to_owned()),
            ..Interface::default()
        }],
        members,
        ssh_cas: vec![ca.public_key().to_openssh().unwrap()],
        root_authorized_keys: vec![ROOT_KEY.to_owned()],
        ..DeployConfig::default()
    }
}

fn state(members: Vec<MemberUrls>) -> Arc<Mutex<State>> {
    let ca = PrivateKey::from(Ed25519Keypair::from_seed(&[9; 32]));
    Arc::new(Mutex::new(State {
        requests: Vec::new(),
        armed: true,
        hash: None,
        config: config(&ca, members),
        ssh_ca: ca,
        certs: Vec::new(),
        statuses: Vec::new(),
    }))
}

/// A target tree as a Debian/Ubuntu image has it, with admin lines that
/// must survive.
fn target() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let p = root.path();
    fs::create_dir_all(p.join("etc/netplan")).unwrap();
    fs::write(p.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    fs::write(
        p.join("etc/shadow"),
        "root:*:19000:0:99999:7:::\nbob:$y$j9T$x$y:19001:0:99999:7:::\n",
    )
    .unwrap();
    fs::set_permissions(p.join("etc/shadow"), fs::Permissions::from_mode(0o640)).unwrap();
    root
}

fn agent(members: &[&str], bundle: &Path, root: &Path, extra: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cohort-agent"))
        .arg("deploy")
        .args(["--members", &members.join(",")])
        .arg("--ca-bundle")
        .arg(bundle)
        .arg("--root")
        .arg(root)
        .args(extra)
        .env("COHORT_AGENT_LOG", "debug")
        .output()
        .unwrap();
    eprintln!(
        "--- agent stdout:\n{}--- agent stderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read(root: &Path, rel: &str) -> String {
    fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn mode(root: &Path, rel: &str) -> u32 {
    fs::metadata(root.join(rel)).unwrap().permissions().mode() & 0o777
}

#[test]
fn deploy_fails_over_and_writes_the_target() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca-bundle.pem");
    fs::write(&bundle, &pki.bundle_pem).unwrap();

    // m1 answers the first calls then goes down; m2 is known only from
    // deploycfg's member list; the first --members URL is dead.
    let shared = state(Vec::new());
    let down = Faults {
        fail_after_deploycfg: true,
    };
    let m1 = FakeMember::start("m1", &pki, shared.clone(), down);
    let m2 = FakeMember::start("m2", &pki, shared.clone(), Faults::default());
    shared.lock().unwrap().config.members = vec![
        MemberUrls {
            name: "m1".to_owned(),
            urls: vec![m1.url.clone()],
        },
        MemberUrls {
            name: "m2".to_owned(),
            urls: vec![m2.url.clone()],
        },
    ];
    let root = target();
    let r = root.path();
    let dead = dead_url();
    let out = agent(
        &[&dead, &m1.url],
        &bundle,
        r,
        &["--mac", "AA:BB:CC:DD:EE:01"],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("n1: "));

    let state = shared.lock().unwrap();
    let calls: Vec<(&str, &str)> = state
        .requests
        .iter()
        .map(|r| (r.member.as_str(), r.route.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("m1", "whoami"),
            ("m1", "registerapikey"),
            ("m1", "deploycfg"),
            ("m1", "sshcert"),
            ("m2", "sshcert"),
            ("m2", "nodelist"),
            ("m2", "updatestatus"),
        ]
    );
    check_requests(&state, r, &String::from_utf8_lossy(&out.stderr));
    drop(state);
    check_files(r);
}

/// The key registered is the one saved and then sent; the public key
/// posted is the written host key's; the certificate is the one signed.
fn check_requests(state: &State, r: &Path, stderr: &str) {
    let req = |route: &str| state.requests.iter().find(|r| r.route == route).unwrap();
    assert_eq!(req("whoami").headers["cohort-ids"], "mac=aa:bb:cc:dd:ee:01");

    // The key saved is the key whose hash was registered, and is the one
    // sent afterwards.
    let key = read(r, "etc/cohort/apikey");
    let key = key.trim();
    assert_eq!(mode(r, "etc/cohort/apikey"), 0o600);
    let hash = &req("registerapikey").body;
    assert!(hash.starts_with("$6$"), "{hash}");
    ShaCrypt::SHA512
        .verify_password(key.as_bytes(), hash.as_str())
        .unwrap();
    assert_eq!(req("registerapikey").headers["cohort-node"], "n1");
    assert_eq!(req("deploycfg").headers["cohort-apikey"], key);
    assert_eq!(req("deploycfg").headers["accept"], "application/json");
    assert!(!stderr.contains(key), "key logged");

    // The posted public key is the written host key's.
    let posted: SshCertRequest = serde_json::from_str(&req("sshcert").body).unwrap();
    let private = PrivateKey::from_openssh(read(r, "etc/ssh/ssh_host_ed25519_key")).unwrap();
    let public = PublicKey::from_openssh(&posted.pubkey).unwrap();
    assert_eq!(private.public_key().key_data(), public.key_data());
    assert_eq!(
        read(r, "etc/ssh/ssh_host_ed25519_key.pub").trim(),
        posted.pubkey
    );
    assert_eq!(mode(r, "etc/ssh/ssh_host_ed25519_key"), 0o600);
    let cert = read(r, "etc/ssh/ssh_host_ed25519_key-cert.pub");
    assert_eq!(cert.trim(), state.certs.last().unwrap());
    Certificate::from_openssh(cert.trim()).unwrap();

    assert_eq!(state.statuses.len(), 1);
    assert_eq!(state.statuses[0].status, Some(DeployStatus::Staged));
}

fn check_files(r: &Path) {
    assert_eq!(read(r, "etc/hostname"), "n1\n");
    let hosts = read(r, "etc/hosts");
    assert!(hosts.starts_with("127.0.0.1 localhost\n"), "{hosts}");
    assert!(hosts.contains("\n10.1.0.5 n1.example.com n1\n"), "{hosts}");
    let netplan = read(r, "etc/netplan/90-cohort.yaml");
    assert!(
        netplan.contains("\"eno1\":") && netplan.contains("- \"10.1.0.5/16\""),
        "{netplan}"
    );
    assert_eq!(mode(r, "etc/netplan/90-cohort.yaml"), 0o600);
    assert_eq!(
        read(r, "etc/shadow"),
        "root:$6$salt$roothash:19000:0:99999:7:::\nbob:$y$j9T$x$y:19001:0:99999:7:::\n"
    );
    assert_eq!(mode(r, "etc/shadow"), 0o640);
    let known = read(r, "etc/ssh/ssh_known_hosts");
    assert!(
        known.contains("\n@cert-authority * ssh-ed25519 "),
        "{known}"
    );
    assert_eq!(read(r, "etc/ssh/shosts.equiv"), "n1\nn2\nn2.example.com\n");
    assert_eq!(read(r, "root/.shosts"), "n1\nn2\nn2.example.com\n");
    assert_eq!(
        read(r, "root/.ssh/authorized_keys"),
        format!("{ROOT_KEY}\n")
    );
    assert_eq!(mode(r, "root/.ssh"), 0o700);
    let sshd = read(r, "etc/ssh/sshd_config.d/90-cohort.conf");
    assert!(sshd.contains("HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n"));
    assert!(read(r, "etc/ssh/ssh_config.d/90-cohort.conf").contains("EnableSSHKeysign yes"));
    assert!(read(r, "etc/chrony.conf").contains("\nserver 10.1.0.3 iburst\n"));
    assert!(read(r, "etc/resolv.conf").contains("search example.com\nnameserver 10.1.0.2\n"));
    assert_eq!(read(r, "etc/timezone"), "Europe/Paris\n");
    assert_eq!(
        fs::read_link(r.join("etc/localtime")).unwrap(),
        Path::new("/usr/share/zoneinfo/Europe/Paris")
    );
}

#[test]
fn second_run_reuses_the_key_and_completes() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca-bundle.pem");
    fs::write(&bundle, &pki.bundle_pem).unwrap();
    let shared = state(Vec::new());
    let m = FakeMember::start("m1", &pki, shared.clone(), Faults::default());
    let root = target();
    let r = root.path();

    assert!(
        agent(&[&m.url], &bundle, r, &["--node", "n1"])
            .status
            .success()
    );
    let first: Vec<String> = [
        "etc/hosts",
        "etc/ssh/ssh_known_hosts",
        "root/.ssh/authorized_keys",
    ]
    .iter()
    .map(|f| read(r, f))
    .collect();
    let key = read(r, "etc/cohort/apikey");
    // `once` was cleared: a second registration would be refused.
    assert!(!shared.lock().unwrap().armed);
    assert!(
        agent(&[&m.url], &bundle, r, &["--node", "n1", "--complete"])
            .status
            .success()
    );
    assert_eq!(read(r, "etc/cohort/apikey"), key);
    let again: Vec<String> = [
        "etc/hosts",
        "etc/ssh/ssh_known_hosts",
        "root/.ssh/authorized_keys",
    ]
    .iter()
    .map(|f| read(r, f))
    .collect();
    assert_eq!(first, again, "a rerun changed shared files");

    let state = shared.lock().unwrap();
    let registrations = state
        .requests
        .iter()
        .filter(|q| q.route == "registerapikey");
    assert_eq!(registrations.count(), 1);
    assert!(!state.requests.iter().any(|q| q.route == "whoami"));
    assert_eq!(
        state.statuses.last().unwrap().status,
        Some(DeployStatus::Completed)
    );
}

#[test]
fn refusals_and_dead_members_are_reported() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca-bundle.pem");
    fs::write(&bundle, &pki.bundle_pem).unwrap();
    let shared = state(Vec::new());
    shared.lock().unwrap().armed = false;
    let m = FakeMember::start("m1", &pki, shared.clone(), Faults::default());
    let root = target();

    // Not armed: the 403's message, naming the fix, reaches the admin.
    let out = agent(&[&m.url], &bundle, root.path(), &["--node", "n1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HTTP 403") && err.contains("cohort nodedeploy n1"),
        "{err}"
    );
    assert!(!root.path().join("etc/cohort/apikey").exists());

    // Unknown MAC: 404 is final, not retried on the next member.
    let out = agent(
        &[&m.url, &m.url.replace("127.0.0.1", "localhost")],
        &bundle,
        root.path(),
        &["--mac", "aa:bb:cc:dd:ee:99"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 404"));
    let whoamis = shared
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|q| q.route == "whoami")
        .count();
    assert_eq!(whoamis, 1);

    // Every member dead: each URL is named.
    let (d1, d2) = (dead_url(), dead_url());
    let out = agent(&[&d1, &d2], &bundle, root.path(), &["--node", "n1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("every member failed") && err.contains(&d1) && err.contains(&d2),
        "{err}"
    );

    // A server outside the bundle is not trusted.
    let other = Pki::new();
    fs::write(&bundle, &other.bundle_pem).unwrap();
    let out = agent(&[&m.url], &bundle, root.path(), &["--node", "n1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("every member failed"));
}
