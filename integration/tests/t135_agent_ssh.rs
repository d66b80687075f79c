//! The real agent against real members, then real OpenSSH: an `sshd`
//! started on loopback with the host key and certificate the agent wrote
//! is accepted by an `ssh` client whose known_hosts holds only the lines
//! the agent wrote (StrictHostKeyChecking=yes), logging in as root with
//! the admin key published by `osdeploy initialize`. The same client with
//! a known_hosts naming another CA is refused, so the check can fail.
//! Also: the root hash the agent wrote to etc/shadow re-derives with
//! `openssl passwd -6`, and the node ends `staged`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, ensure};
use cohort_integration::checks::{keep_on_error, one_at_a_time};
use cohort_integration::deploy::run_tool as run;
use cohort_integration::deploy::{agent, ca_bundle, cli, member_urls, put_profile};
use cohort_integration::{Cluster, free_port, wait_for};

const SSHD: &str = "/usr/sbin/sshd";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t135_agent_output_satisfies_openssh() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    ensure!(
        Path::new(SSHD).exists(),
        "{SSHD} is missing: t135 needs openssh-server (scripts/test installs it)"
    );
    eprintln!("--- forming 3 voters");
    let mut cluster = Cluster::form("t135", 3, 0).await?;
    let result = scenario(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

/// An sshd process, killed when dropped.
struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn scenario(cluster: &mut Cluster) -> anyhow::Result<()> {
    let root = cluster.root.clone();
    let admin = root.join("admin");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "admin@site", "-f"])
        .arg(&admin))?;
    put_profile(cluster, 0, "p1")?;
    let admin_pub = admin.with_extension("pub");
    let m1 = &cluster.members[0];
    cli(
        m1,
        &[
            "osdeploy",
            "initialize",
            "--root-key",
            admin_pub.to_str().context("utf-8")?,
        ],
    )?;
    cli(
        m1,
        &[
            "nodedefine",
            "n1",
            "net.hwaddr=52:54:00:35:00:01",
            "net.ipv4_address=10.35.0.1/24",
            "net.ipv4_gateway=10.35.0.254",
            "dns.domain=cluster.test",
            "dns.servers=10.35.0.53",
            "ntp.servers=10.35.0.123",
            "crypted.rootpassword=correct horse",
        ],
    )?;
    cli(m1, &["nodedeploy", "n1", "-n", "p1"])?;
    let bundle = ca_bundle(cluster, 0).await?;

    eprintln!("--- the agent binary is published and fetched from a member, as profiles do");
    let built = cohort_integration::agent_bin()?;
    cli(
        m1,
        &[
            "osdeploy",
            "initialize",
            "--agent",
            built.to_str().context("utf-8")?,
        ],
    )?;
    let fetched = root.join("fetched-cohort-agent");
    let m2 = &cluster.members[1];
    wait_for("m2 to serve the agent", Duration::from_secs(30), || async {
        let ok = Command::new("curl")
            .args(["-fsS", "--cacert"])
            .arg(&bundle)
            .arg("-o")
            .arg(&fetched)
            .arg(format!(
                "https://{}/public/site/agent/cohort-agent",
                m2.https
            ))
            .status()
            .ok()?
            .success();
        ok.then_some(())
    })
    .await?;
    ensure!(
        std::fs::read(&fetched)? == std::fs::read(&built)?,
        "the fetched agent differs"
    );
    std::fs::set_permissions(
        &fetched,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;

    eprintln!("--- cohort-agent deploys n1 into a target tree (netplan flavour)");
    let target = root.join("target");
    std::fs::create_dir_all(target.join("etc/netplan"))?;
    std::fs::create_dir_all(target.join("etc/chrony"))?;
    std::fs::write(
        target.join("etc/shadow"),
        "root:*:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n",
    )?;
    let log = root.join("agent.log");
    let status = agent(
        &fetched,
        &member_urls(cluster, 1),
        &bundle,
        "52:54:00:35:00:01",
        &target,
        &log,
        false,
    )?
    .status()?;
    ensure!(
        status.success(),
        "agent failed:\n{}",
        std::fs::read_to_string(&log)?
    );
    let listing = cli(m1, &["nodedeploy", "n1"])?;
    ensure!(listing.contains("n1: staged: p1"), "{listing}");

    eprintln!("--- etc/shadow: root's hash re-derives with openssl; other lines kept");
    let shadow = std::fs::read_to_string(target.join("etc/shadow"))?;
    let hash = shadow
        .lines()
        .find_map(|l| l.strip_prefix("root:"))
        .and_then(|rest| rest.split(':').next())
        .context("no root line")?;
    let salt = hash.split('$').nth(2).context("salt")?;
    let again =
        run(Command::new("openssl").args(["passwd", "-6", "-salt", salt, "correct horse"]))?;
    ensure!(again.trim() == hash, "{hash} vs {again}");
    ensure!(shadow.contains("bin:*:19000:"), "{shadow}");

    eprintln!("--- sshd with the agent's host certificate; ssh with the agent's known_hosts");
    let etc_ssh = target.join("etc/ssh");
    let conf = std::fs::read_to_string(etc_ssh.join("sshd_config.d/90-cohort.conf"))?;
    ensure!(
        conf.contains("HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub"),
        "{conf}"
    );
    let known = etc_ssh.join("ssh_known_hosts");
    let known_text = std::fs::read_to_string(&known)?;
    ensure!(
        known_text.matches("@cert-authority * ssh-ed25519 ").count() == 3,
        "{known_text}"
    );
    let ip = std::net::Ipv4Addr::LOCALHOST;
    let port = free_port(ip)?;
    let sshd_conf = root.join("sshd_config");
    std::fs::write(
        &sshd_conf,
        format!(
            "Port {port}\nListenAddress {ip}\nHostKey {k}\nHostCertificate {k}-cert.pub\n\
             AuthorizedKeysFile {ak}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {pid}\n",
            k = etc_ssh.join("ssh_host_ed25519_key").display(),
            ak = target.join("root/.ssh/authorized_keys").display(),
            pid = root.join("sshd.pid").display(),
        ),
    )?;
    std::fs::create_dir_all("/run/sshd")?;
    run(Command::new(SSHD).arg("-t").arg("-f").arg(&sshd_conf))?;
    let sshd = Sshd(
        Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&sshd_conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("sshd.log"))?)
            .spawn()?,
    );
    wait_for("sshd to listen", Duration::from_secs(10), || async {
        std::net::TcpStream::connect((ip, port)).ok().map(|_| ())
    })
    .await?;
    let ssh = |known_hosts: &Path| {
        let mut c = Command::new("ssh");
        c.args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
        ])
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .args([
            "-o",
            "HostKeyAlias=n1.cluster.test",
            "-o",
            "ConnectTimeout=10",
        ])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .arg("-i")
        .arg(&admin)
        .args([
            "-p",
            &port.to_string(),
            &format!("root@{ip}"),
            "echo",
            "cert-ok",
        ])
        .stdin(Stdio::null());
        c
    };
    let out = ssh(&known).output()?;
    ensure!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "cert-ok",
        "ssh with the agent's known_hosts failed: {}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(root.join("sshd.log")).unwrap_or_default()
    );

    eprintln!("--- the same client trusting another CA is refused");
    let other = root.join("other-ca");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other))?;
    let other_known = root.join("other_known_hosts");
    std::fs::write(
        &other_known,
        format!(
            "@cert-authority * {}",
            std::fs::read_to_string(other.with_extension("pub"))?
        ),
    )?;
    let out = ssh(&other_known).output()?;
    ensure!(
        !out.status.success(),
        "ssh trusted a host certificate of a CA it was not given"
    );
    let why = String::from_utf8_lossy(&out.stderr);
    ensure!(
        why.contains("verification failed") || why.contains("Host key"),
        "{why}"
    );
    drop(sshd);
    Ok(())
}
