//! A fleet: 200 `cohort-agent` processes, each its own node and `--root`,
//! deploy at once against 3 members; the leader is SIGKILLed when half of
//! them have finished. Every agent must exit 0, every node must end
//! `completed`, and every node's files must carry its own name, address
//! and host certificate principals and nobody else's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{Context, ensure};
use cohort_integration::checks::{keep_on_error, one_at_a_time};
use cohort_integration::deploy::{agent, ca_bundle, cli, mac_of, member_urls, put_profile};
use cohort_integration::{Cluster, wait_for};

const NODES: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t140_fleet_of_200_agents_survives_a_member_dying() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters");
    let mut cluster = Cluster::form("t140", 3, 0).await?;
    let result = scenario(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

/// Agent processes, killed if the test ends early.
struct Fleet(Vec<(usize, Option<Child>)>);

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            if let Some(c) = child {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

fn ip_of(i: usize) -> String {
    format!("10.40.{}.{}", i / 256, i % 256)
}

fn target(root: &Path, i: usize) -> PathBuf {
    root.join(format!("nodes/n{i}"))
}

async fn scenario(cluster: &mut Cluster) -> anyhow::Result<()> {
    let root = cluster.root.clone();
    put_profile(cluster, 0, "p1")?;
    let m1 = &cluster.members[0];
    cli(
        m1,
        &[
            "nodedefine",
            &format!("n[1-{NODES}]"),
            "net.hwaddr=52:54:00:10:{n1/256:02x}:{n1%256:02x}",
            "net.ipv4_address=10.40.{n1/256}.{n1%256}/16",
            "dns.domain=fleet.test",
            "crypted.rootpassword=$6$fleetsalt$0123456789abcdefABCDEF",
        ],
    )?;
    let mac = cli(m1, &["nodeattrib", "n300", "net.hwaddr"]).ok();
    ensure!(mac.is_none(), "n300 should not exist");
    let mac = cli(m1, &["nodeattrib", "n258", "net.hwaddr"]).unwrap_or_default();
    ensure!(NODES < 258 || mac.contains(&mac_of(258)), "{mac}");
    let mac = cli(m1, &["nodeattrib", "n17", "net.hwaddr"])?;
    ensure!(
        mac.trim() == format!("n17: net.hwaddr: {}", mac_of(17)),
        "{mac}"
    );
    cli(m1, &["nodedeploy", &format!("n[1-{NODES}]"), "-n", "p1"])?;
    let bundle = ca_bundle(cluster, 0).await?;

    eprintln!("--- {NODES} agents at once (netplan, NetworkManager and ifupdown targets)");
    let bin = cohort_integration::agent_bin()?;
    let mut fleet = Fleet(Vec::new());
    for i in 1..=NODES {
        let dir = target(&root, i);
        match i % 3 {
            0 => std::fs::create_dir_all(dir.join("etc/netplan"))?,
            1 => std::fs::create_dir_all(dir.join("etc/NetworkManager"))?,
            _ => std::fs::create_dir_all(dir.join("etc"))?,
        }
        let log = root.join(format!("nodes/n{i}.log"));
        let urls = member_urls(cluster, i % 3);
        let child = agent(&bin, &urls, &bundle, &mac_of(i), &dir, &log, true)?.spawn()?;
        fleet.0.push((i, Some(child)));
    }
    let leader = wait_for("a leader", Duration::from_secs(30), || async {
        cluster.leader(0).await.ok()
    })
    .await?;
    let mut statuses = vec![None; NODES + 1];
    let mut killed = false;
    let started = std::time::Instant::now();
    loop {
        for (i, child) in &mut fleet.0 {
            if let Some(c) = child
                && let Some(status) = c.try_wait()?
            {
                statuses[*i] = Some(status);
                *child = None;
            }
        }
        let done = statuses.iter().filter(|s| s.is_some()).count();
        if !killed && done >= NODES / 2 {
            eprintln!(
                "--- {done} agents done: SIGKILL the leader {}",
                cluster.members[leader].name
            );
            cluster.members[leader].kill()?;
            killed = true;
        }
        if done == NODES {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(300),
            "agents still running after 300 s: {} of {NODES} done",
            done
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ensure!(killed, "the leader was never killed");
    let failed: Vec<usize> = (1..=NODES)
        .filter(|&i| !statuses[i].is_some_and(|s| s.success()))
        .collect();
    if let Some(&first) = failed.first() {
        let log = std::fs::read_to_string(root.join(format!("nodes/n{first}.log")))?;
        anyhow::bail!(
            "{} agents failed ({failed:?}); n{first}'s log:\n{log}",
            failed.len()
        );
    }
    eprintln!("--- all {NODES} agents exited 0 in {:?}", started.elapsed());

    let survivor = (leader + 1) % 3;
    let json = cli(
        &cluster.members[survivor],
        &["nodedeploy", &format!("n[1-{NODES}]"), "--json"],
    )?;
    let views: serde_json::Value = serde_json::from_str(&json)?;
    let views = views.as_array().context("a list")?;
    ensure!(views.len() == NODES, "{} nodes listed", views.len());
    let not_done: Vec<&serde_json::Value> = views
        .iter()
        .filter(|v| v["completed"] != "p1" || !v["pending"].is_null())
        .collect();
    ensure!(not_done.is_empty(), "not completed: {not_done:?}");

    eprintln!("--- every node's files are its own");
    for i in 1..=NODES {
        check_node(&target(&root, i), i).with_context(|| format!("node n{i}"))?;
    }
    Ok(())
}

/// The node's own name, address and certificate, and no other node's.
fn check_node(dir: &Path, i: usize) -> anyhow::Result<()> {
    let name = format!("n{i}");
    let hostname = std::fs::read_to_string(dir.join("etc/hostname"))?;
    ensure!(hostname.trim() == name, "etc/hostname is {hostname:?}");
    let net_file = match i % 3 {
        0 => dir.join("etc/netplan/90-cohort.yaml"),
        1 => first_file(&dir.join("etc/NetworkManager/system-connections"))?,
        _ => dir.join("etc/network/interfaces.d/cohort"),
    };
    let net = std::fs::read_to_string(&net_file)?;
    let ip = ip_of(i);
    let owns = net.contains(&format!("{ip}/16")) || net.contains(&format!("address {ip}"));
    ensure!(owns, "{} lacks {ip}:\n{net}", net_file.display());
    let others = net.matches("10.40.").count();
    ensure!(
        others == 1,
        "{} names other addresses:\n{net}",
        net_file.display()
    );
    let cert = dir.join("etc/ssh/ssh_host_ed25519_key-cert.pub");
    let out = Command::new("ssh-keygen")
        .arg("-L")
        .arg("-f")
        .arg(&cert)
        .output()?;
    ensure!(
        out.status.success(),
        "ssh-keygen -L {}: {}",
        cert.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout)?;
    let principals: Vec<&str> = listing
        .split("Principals:")
        .nth(1)
        .and_then(|p| p.split("Critical Options:").next())
        .context("no principals")?
        .split_whitespace()
        .collect();
    let want = [name.clone(), format!("{name}.fleet.test"), ip];
    ensure!(
        principals == want,
        "principals {principals:?}, want {want:?}"
    );
    let key = std::fs::metadata(dir.join("etc/cohort/apikey"))?;
    ensure!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777 == 0o600,
        "apikey mode"
    );
    Ok(())
}

fn first_file(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_file())
        .with_context(|| format!("nothing in {}", dir.display()))
}
