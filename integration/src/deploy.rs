//! Deployment fixtures: a minimal OS profile in the tree, nodes armed for
//! it, and `cohort-agent` runs against the members, as the node-side tests
//! and the fleet benchmark need them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::{Cluster, Member};

/// Runs the CLI against `m` ([`Member::run`]).
pub fn cli(m: &Member, args: &[&str]) -> anyhow::Result<String> {
    m.run(args)
}

/// Runs a third-party tool (openssl, ssh-keygen, ...); its stdout, or an
/// error with its stderr.
pub fn run_tool(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// Puts profile `name` (a profile.yaml, one post script) into the tree
/// through member `via`.
pub fn put_profile(cluster: &Cluster, via: usize, name: &str) -> anyhow::Result<()> {
    let dir = cluster.root.join(format!("profile-{name}"));
    std::fs::create_dir_all(dir.join("scripts/post.d"))?;
    std::fs::write(
        dir.join("profile.yaml"),
        format!("label: {name}\nkernelargs: quiet\n"),
    )?;
    std::fs::write(
        dir.join("scripts/post.d/10-hello.sh"),
        "#!/bin/sh\necho hello\n",
    )?;
    let dir = dir.to_str().context("utf-8 temp dir")?;
    cli(
        &cluster.members[via],
        &["tree", "put", dir, &format!("public/os/{name}")],
    )?;
    Ok(())
}

/// The `https://ADDR` of every running member, starting at `first`.
pub fn member_urls(cluster: &Cluster, first: usize) -> Vec<String> {
    let n = cluster.members.len();
    (0..n)
        .map(|i| &cluster.members[(first + i) % n])
        .map(|m| format!("https://{}", m.https))
        .collect()
}

/// The CA bundle as `via` publishes it (waiting for it to be placed),
/// copied out of its tree (a node gets it in its initramfs; a member's
/// tree may change under a test).
pub async fn ca_bundle(cluster: &Cluster, via: usize) -> anyhow::Result<PathBuf> {
    let from = cluster.members[via]
        .data_dir
        .join("tree/public/site/tls/ca-bundle.pem");
    let to = cluster.root.join("ca-bundle.pem");
    crate::wait_for(
        "the trust bundle",
        std::time::Duration::from_secs(20),
        || async { std::fs::copy(&from, &to).ok() },
    )
    .await
    .with_context(|| format!("{}: no trust bundle", from.display()))?;
    Ok(to)
}

/// `cohort-agent deploy` for one node, with the agent binary `bin`
/// ([`crate::agent_bin`] or a copy fetched from a member), its output
/// captured to `log`.
pub fn agent(
    bin: &Path,
    urls: &[String],
    bundle: &Path,
    mac: &str,
    root: &Path,
    log: &Path,
    complete: bool,
) -> anyhow::Result<Command> {
    let log = std::fs::File::create(log)?;
    let mut cmd = Command::new(bin);
    cmd.arg("deploy")
        .arg("--members")
        .arg(urls.join(","))
        .arg("--ca-bundle")
        .arg(bundle)
        .args(["--mac", mac])
        .arg("--root")
        .arg(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if complete {
        cmd.arg("--complete");
    }
    Ok(cmd)
}

/// The MAC the fleet tests give node `i` (1-based).
pub fn mac_of(i: usize) -> String {
    format!("52:54:00:10:{:02x}:{:02x}", i / 256, i % 256)
}
