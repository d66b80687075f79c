//! The node self-service API on real members, driven with curl as a node
//! would (trusting only the published CA bundle), and checked with the
//! real tools: `openssl passwd -6` re-derives the stored root hash, and
//! `ssh-keygen -L` reads the issued host certificate with its principals
//! and the signing member's CA.
//!
//! Covers: `nodedeploy` arming (unknown profile refused), `whoami` by MAC,
//! `registerapikey` only while armed and only once, `deploycfg` on a member
//! other than the one that registered, 401 for a wrong key, 403 for
//! another node's data, `sshcert`, `updatestatus`, `scriptlist`,
//! `private/` and its traversal refusal, `nodedeploy` listings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use cohort_integration::checks::{keep_on_error, one_at_a_time};
use cohort_integration::deploy::run_tool as run;
use cohort_integration::{Cluster, Member, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t130_node_api_serves_each_node_its_own_data() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    for tool in ["curl", "openssl", "ssh-keygen"] {
        ensure!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()?
                .status
                .success(),
            "{tool} is not installed: t130 needs it (scripts/test installs curl, openssl and openssh-client)"
        );
    }
    eprintln!("--- forming 3 voters");
    let mut cluster = Cluster::form("t130", 3, 0).await?;
    let result = scenario(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

fn cli(m: &Member, args: &[&str]) -> anyhow::Result<String> {
    m.run(args)
}

fn cli_refused(m: &Member, args: &[&str]) -> anyhow::Result<String> {
    let out = m.cli()?.args(args).output()?;
    ensure!(!out.status.success(), "cohort {args:?} should have failed");
    Ok(String::from_utf8(out.stderr)?)
}

/// One HTTPS request to a member's node API; (status, body).
fn api(
    cluster: &Cluster,
    m: usize,
    method: &str,
    route: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let member = &cluster.members[m];
    let bundle = member.data_dir.join("tree/public/site/tls/ca-bundle.pem");
    let out_file = cluster.root.join("curl-body");
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--path-as-is", "-X", method])
        .arg("--cacert")
        .arg(&bundle)
        .arg("--output")
        .arg(&out_file)
        .args(["--write-out", "%{http_code}"])
        .args(["-H", "Accept: application/json"]);
    for (k, v) in headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    if let Some(b) = body {
        cmd.args(["--data-binary", b]);
    }
    cmd.arg(format!("https://{}/api/self/{route}", member.https));
    let out = cmd.output().context("cannot run curl")?;
    ensure!(
        out.status.success(),
        "curl {method} {route} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: u16 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    let body = std::fs::read_to_string(&out_file).unwrap_or_default();
    Ok((status, body))
}

/// `GET whoami` on m2 with one `cohort-ids` value (`mac=...`).
fn whoami(cluster: &Cluster, ids: &str) -> anyhow::Result<(u16, String)> {
    api(cluster, 1, "GET", "whoami", &[("cohort-ids", ids)], None)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(path.parent().context("parent")?)?;
    std::fs::write(path, text)?;
    Ok(())
}

async fn scenario(cluster: &mut Cluster) -> anyhow::Result<()> {
    let root = cluster.root.clone();
    let m1 = &cluster.members[0];
    eprintln!("--- a profile with a script and a private file; an admin root key");
    let profile = root.join("p1");
    write(
        &profile.join("profile.yaml"),
        "label: test profile\nkernelargs: quiet\n",
    )?;
    write(&profile.join("scripts/post.d/10-first.sh"), "#!/bin/sh\n")?;
    write(&profile.join("scripts/post.d/20-second.sh"), "#!/bin/sh\n")?;
    let private = root.join("p1-private");
    write(&private.join("secret.txt"), "for n1's profile only\n")?;
    let admin_key = root.join("admin");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "admin@site", "-f"])
        .arg(&admin_key))?;
    let s = |p: &PathBuf| p.to_string_lossy().into_owned();
    cli(m1, &["tree", "put", &s(&profile), "public/os/p1"])?;
    cli(m1, &["tree", "put", &s(&private), "private/os/p1"])?;
    cli(
        m1,
        &[
            "osdeploy",
            "initialize",
            "--root-key",
            &s(&admin_key.with_extension("pub")),
        ],
    )?;

    eprintln!("--- nodes; a clear root password is stored as a $6$ hash");
    cli(
        m1,
        &[
            "nodedefine",
            "n1",
            "net.hwaddr=52:54:00:AA:00:01",
            "net.ipv4_address=10.1.0.1/16",
            "net.hostname=n1-alias",
            "dns.domain=cluster.test",
            "crypted.rootpassword=hunter2",
        ],
    )?;
    cli(m1, &["nodedefine", "n2", "net.hwaddr=52:54:00:aa:00:02"])?;
    let shown = cli(
        &cluster.members[1],
        &["nodeattrib", "n1", "crypted.rootpassword"],
    )?;
    ensure!(
        shown.trim() == "n1: crypted.rootpassword: ********",
        "{shown}"
    );

    eprintln!("--- nodedeploy: unknown profile refused, then armed");
    let err = cli_refused(m1, &["nodedeploy", "n1", "-n", "nope"])?;
    ensure!(err.contains("no OS profile \"nope\""), "{err}");
    cli(&cluster.members[2], &["nodedeploy", "n1", "-n", "p1"])?;
    let listing = cli(m1, &["nodedeploy", "n1,n2"])?;
    ensure!(
        listing == "n1: pending: p1\nn1: (node authentication armed)\nn2: no deployment\n",
        "{listing:?}"
    );

    eprintln!("--- whoami by MAC (any case), unknown MAC 404");
    wait_for(
        "the trust bundle on m2",
        Duration::from_secs(20),
        || async {
            cluster.members[1]
                .data_dir
                .join("tree/public/site/tls/ca-bundle.pem")
                .exists()
                .then_some(())
        },
    )
    .await?;
    let (code, body) = whoami(cluster, "mac=52:54:00:aa:00:01")?;
    ensure!(
        code == 200 && body.contains("\"node\": \"n1\""),
        "{code} {body}"
    );
    let (code, _) = whoami(cluster, "mac=52:54:00:ff:ff:ff")?;
    ensure!(code == 404, "unknown MAC: {code}");
    // whoami answers from an index (nodeapi/ids.rs): a MAC that moves from
    // one node to another is found on its new node, never on its old one.
    let (code, body) = whoami(cluster, "mac=52:54:00:aa:00:02")?;
    ensure!(
        code == 200 && body.contains("\"node\": \"n2\""),
        "{code} {body}"
    );
    cli(m1, &["nodeattrib", "n2", "net.hwaddr=52:54:00:aa:00:22"])?;
    cli(m1, &["nodedefine", "n3", "net.hwaddr=52:54:00:aa:00:02"])?;
    let shared: &Cluster = cluster;
    let moved = |mac: &'static str, want: &'static str| {
        move || {
            let found = whoami(shared, mac)
                .ok()
                .filter(|(code, body)| {
                    *code == 200 && body.contains(&format!("\"node\": \"{want}\""))
                })
                .map(|_| ());
            async move { found }
        }
    };
    wait_for(
        "the moved MAC on n3",
        Duration::from_secs(10),
        moved("mac=52:54:00:aa:00:02", "n3"),
    )
    .await?;
    wait_for(
        "n2's new MAC",
        Duration::from_secs(10),
        moved("mac=52:54:00:aa:00:22", "n2"),
    )
    .await?;

    eprintln!("--- registerapikey: unarmed 403 naming nodedeploy; armed once");
    let key = "k-0123456789abcdef0123456789abcdef";
    let hash = run(Command::new("openssl").args(["passwd", "-6", key]))?;
    let hash = hash.trim();
    let (code, body) = api(
        cluster,
        1,
        "POST",
        "registerapikey",
        &[("cohort-node", "n2")],
        Some(hash),
    )?;
    ensure!(
        code == 403 && body.contains("nodedeploy n2"),
        "{code} {body}"
    );
    let (code, body) = api(
        cluster,
        1,
        "POST",
        "registerapikey",
        &[("cohort-node", "n1")],
        Some(hash),
    )?;
    ensure!(code == 200, "{code} {body}");
    // The same hash again is a retry (its first answer may have been lost)
    // and succeeds; another key after the once-arm is used is refused.
    let (code, _) = api(
        cluster,
        2,
        "POST",
        "registerapikey",
        &[("cohort-node", "n1")],
        Some(hash),
    )?;
    ensure!(code == 200, "retried registration: {code}");
    let other = run(Command::new("openssl").args(["passwd", "-6", "another-key"]))?;
    let (code, body) = api(
        cluster,
        2,
        "POST",
        "registerapikey",
        &[("cohort-node", "n1")],
        Some(other.trim()),
    )?;
    ensure!(
        code == 403 && body.contains("not armed"),
        "second key: {code} {body}"
    );
    let listing = cli(m1, &["nodedeploy", "n1"])?;
    ensure!(!listing.contains("armed"), "disarmed after once: {listing}");

    eprintln!("--- deploycfg from another member; the root hash re-derives with openssl");
    let auth = [("cohort-node", "n1"), ("cohort-apikey", key)];
    let (code, body) = api(cluster, 2, "GET", "deploycfg", &auth, None)?;
    ensure!(code == 200, "{code} {body}");
    let cfg: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(
        cfg["hostname"] == "n1" && cfg["fqdn"] == "n1.cluster.test",
        "{cfg}"
    );
    ensure!(
        cfg["profile"] == "p1" && cfg["members"].as_array().map(Vec::len) == Some(3),
        "{cfg}"
    );
    ensure!(
        cfg["interfaces"][0]["ipv4_address"] == "10.1.0.1"
            && cfg["interfaces"][0]["ipv4_prefix"] == 16,
        "{cfg}"
    );
    ensure!(cfg["ssh_cas"].as_array().map(Vec::len) == Some(3), "{cfg}");
    ensure!(
        cfg["root_authorized_keys"][0]
            .as_str()
            .is_some_and(|k| k.ends_with("admin@site")),
        "{cfg}"
    );
    let root_hash = cfg["rootpassword"].as_str().context("rootpassword")?;
    let salt = root_hash.split('$').nth(2).context("salt")?;
    ensure!(root_hash.starts_with("$6$"), "{root_hash}");
    let again = run(Command::new("openssl").args(["passwd", "-6", "-salt", salt, "hunter2"]))?;
    ensure!(
        again.trim() == root_hash,
        "openssl gives {again:?} for {root_hash:?}"
    );
    let attrs = api(cluster, 0, "GET", "myattribs", &auth, None)?.1;
    ensure!(
        attrs.contains("net.hwaddr") && !attrs.contains("crypted") && !attrs.contains("$6$"),
        "{attrs}"
    );

    eprintln!("--- wrong key 401, another node's data 403, YAML by default");
    let (code, _) = api(
        cluster,
        0,
        "GET",
        "deploycfg",
        &[("cohort-node", "n1"), ("cohort-apikey", "wrong")],
        None,
    )?;
    ensure!(code == 401, "wrong key: {code}");
    let (code, _) = api(
        cluster,
        0,
        "GET",
        "deploycfg",
        &[("cohort-node", "n2"), ("cohort-apikey", key)],
        None,
    )?;
    ensure!(code == 401, "n1's key for n2: {code}");
    let (code, _) = api(cluster, 0, "GET", "deploycfg?node=n2", &auth, None)?;
    ensure!(code == 403, "another node's data: {code}");
    let yaml = Command::new("curl")
        .args(["--silent", "--cacert"])
        .arg(
            cluster.members[0]
                .data_dir
                .join("tree/public/site/tls/ca-bundle.pem"),
        )
        .args([
            "-H",
            "cohort-node: n1",
            "-H",
            &format!("cohort-apikey: {key}"),
        ])
        .arg(format!(
            "https://{}/api/self/deploycfg",
            cluster.members[0].https
        ))
        .output()?;
    let yaml = String::from_utf8(yaml.stdout)?;
    ensure!(yaml.contains("hostname: n1"), "YAML answer: {yaml}");

    eprintln!("--- sshcert: ssh-keygen -L reads a host certificate with the principals");
    let host_key = root.join("ssh_host_ed25519_key");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&host_key))?;
    let pubkey = std::fs::read_to_string(host_key.with_extension("pub"))?;
    let request = serde_json::json!({ "pubkey": pubkey.trim() }).to_string();
    let (code, body) = api(cluster, 2, "POST", "sshcert", &auth, Some(&request))?;
    ensure!(code == 200, "{code} {body}");
    let reply: serde_json::Value = serde_json::from_str(&body)?;
    let cert_path = root.join("ssh_host_ed25519_key-cert.pub");
    std::fs::write(
        &cert_path,
        format!(
            "{}\n",
            reply["certificate"].as_str().context("certificate")?
        ),
    )?;
    let listing = run(Command::new("ssh-keygen")
        .arg("-L")
        .arg("-f")
        .arg(&cert_path))?;
    ensure!(
        listing.contains("ssh-ed25519-cert-v01@openssh.com host certificate"),
        "{listing}"
    );
    for p in [
        "n1",
        "n1.cluster.test",
        "n1-alias",
        "n1-alias.cluster.test",
        "10.1.0.1",
    ] {
        ensure!(
            listing.lines().any(|l| l.trim() == p),
            "principal {p} missing:\n{listing}"
        );
    }
    let m3_ca = std::fs::read_to_string(cluster.members[2].data_dir.join("member/ssh-ca.pub"))?;
    let ca_fp = run(Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(cluster.members[2].data_dir.join("member/ssh-ca.pub")))?;
    let fp = ca_fp.split_whitespace().nth(1).context("fingerprint")?;
    ensure!(
        listing.contains(&format!("Signing CA: ED25519 {fp}")),
        "not signed by m3 ({m3_ca}):\n{listing}"
    );

    eprintln!("--- scriptlist, private files, traversal refused");
    let (code, body) = api(cluster, 0, "GET", "scriptlist/post", &auth, None)?;
    ensure!(
        code == 200
            && body.contains("10-first.sh")
            && body.find("10-first") < body.find("20-second"),
        "{code} {body}"
    );
    wait_for(
        "the private file on m2",
        Duration::from_secs(20),
        || async {
            let (code, body) = api(cluster, 1, "GET", "private/secret.txt", &auth, None).ok()?;
            (code == 200 && body == "for n1's profile only\n").then_some(())
        },
    )
    .await?;
    for bad in [
        "private/../../public/os/p1/profile.yaml",
        "private/%2e%2e/x",
        "private/",
    ] {
        let (code, _) = api(cluster, 1, "GET", bad, &auth, None)?;
        ensure!(code == 400 || code == 404, "{bad}: {code}");
    }
    let (code, _) = api(cluster, 1, "GET", "private/secret.txt", &[], None)?;
    ensure!(code == 401, "no key: {code}");

    eprintln!("--- updatestatus: staged, then completed");
    let staged = r#"{"status": "staged", "state": "installed"}"#;
    let (code, body) = api(cluster, 1, "POST", "updatestatus", &auth, Some(staged))?;
    ensure!(code == 200, "{code} {body}");
    let listing = cli(m1, &["nodedeploy", "n1"])?;
    ensure!(
        listing.starts_with("n1: pending: p1\nn1: staged: p1\nn1: state: installed ("),
        "{listing}"
    );
    let (code, _) = api(
        cluster,
        0,
        "POST",
        "updatestatus",
        &auth,
        Some(r#"{"status": "completed"}"#),
    )?;
    ensure!(code == 200, "completed: {code}");
    let json = cli(m1, &["nodedeploy", "n1", "--json"])?;
    let v: serde_json::Value = serde_json::from_str(&json)?;
    ensure!(
        v[0]["completed"] == "p1" && v[0]["pending"].is_null(),
        "{json}"
    );
    let (code, body) = api(
        cluster,
        0,
        "POST",
        "updatestatus",
        &auth,
        Some(r#"{"status": "staged"}"#),
    )?;
    if code != 409 {
        bail!("staged without a pending deployment: {code} {body}");
    }
    Ok(())
}
