//! The synchronized tree across 3 real members: a directory put through
//! one member appears byte for byte on all three (modes and symlinks
//! kept), a removal removes everywhere, a member SIGKILLed in the middle
//! of fetching a large file resumes and converges after its restart, a
//! corrupted file on one member's disk is found by the scrubber at restart
//! and fetched again, a member that joins afterwards fetches the whole tree
//! and serves it over HTTPS, and `tree status` ends with nothing missing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use cohort_integration::checks::{keep_on_error, one_at_a_time};
use cohort_integration::{Cluster, Member, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t110_tree_synchronizes_resumes_and_repairs() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters");
    let mut cluster = Cluster::form("t110", 3, 0).await?;
    let result = scenario(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

/// Deterministic, incompressible-looking content.
fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn cli(m: &Member, args: &[&str]) -> anyhow::Result<String> {
    m.run(args)
}

fn tree(m: &Member) -> PathBuf {
    m.data_dir.join("tree")
}

/// `true` when `path` under `m`'s tree holds exactly `want`.
fn same(m: &Member, path: &str, want: &[u8]) -> bool {
    std::fs::read(tree(m).join(path)).is_ok_and(|got| got == want)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o777)
}

async fn scenario(cluster: &mut Cluster) -> anyhow::Result<()> {
    let src = cluster.root.join("src");
    std::fs::create_dir_all(src.join("sub"))?;
    let small = content(1000, 1);
    let big = content(6 * 1024 * 1024 + 7, 2);
    let script = b"#!/bin/sh\necho hello\n".to_vec();
    std::fs::write(src.join("a.txt"), &small)?;
    std::fs::write(src.join("sub/b.bin"), &big)?;
    std::fs::write(src.join("run.sh"), &script)?;
    std::fs::set_permissions(src.join("run.sh"), std::fs::Permissions::from_mode(0o755))?;
    std::os::unix::fs::symlink("sub/b.bin", src.join("link"))?;
    let src_arg = src.to_str().context("utf-8 temp dir")?;

    eprintln!("--- tree put of a directory through m1");
    let said = cli(&cluster.members[0], &["tree", "put", src_arg, "public/t"])?;
    eprintln!("    {}", said.trim());
    wait_for(
        "byte-identical files, modes and symlinks on all 3 members",
        Duration::from_secs(30),
        || async {
            cluster
                .members
                .iter()
                .all(|m| {
                    same(m, "public/t/a.txt", &small)
                        && same(m, "public/t/sub/b.bin", &big)
                        && same(m, "public/t/run.sh", &script)
                        && mode(&tree(m).join("public/t/run.sh")) == 0o755
                        && std::fs::read_link(tree(m).join("public/t/link"))
                            .is_ok_and(|t| t == Path::new("sub/b.bin"))
                })
                .then_some(())
        },
    )
    .await?;
    let listing = cli(&cluster.members[1], &["tree", "ls", "public/t", "--json"])?;
    ensure!(listing.matches("\"path\"").count() == 4, "ls: {listing}");

    eprintln!("--- the trust bundle names every member's CA");
    wait_for(
        "ca-bundle.pem with 3 certificates everywhere",
        Duration::from_secs(20),
        || async {
            cluster
                .members
                .iter()
                .all(|m| {
                    let bundle =
                        std::fs::read_to_string(tree(m).join("public/site/tls/ca-bundle.pem"))
                            .unwrap_or_default();
                    bundle.matches("BEGIN CERTIFICATE").count() == 3
                        && tree(m).join("public/site/tls/m3.pem").is_file()
                })
                .then_some(())
        },
    )
    .await?;

    eprintln!("--- tree rm of a directory through m2");
    cli(&cluster.members[1], &["tree", "rm", "public/t/sub"])?;
    wait_for(
        "public/t/sub gone everywhere",
        Duration::from_secs(20),
        || async {
            cluster
                .members
                .iter()
                .all(|m| {
                    !tree(m).join("public/t/sub").exists() && same(m, "public/t/a.txt", &small)
                })
                .then_some(())
        },
    )
    .await?;

    let large = interrupted_fetch(cluster).await?;
    corruption(cluster, &small).await?;
    newcomer(cluster, &large).await?;

    eprintln!("--- tree status: nothing missing anywhere");
    wait_for(
        "tree status --json with 0 files missing on 4 members",
        Duration::from_secs(20),
        || async {
            let out = cli(&cluster.members[0], &["tree", "status", "--json"]).ok()?;
            (out.matches("\"files_missing\": 0").count() == 4
                && out.matches("\"reachable\": true").count() == 4)
                .then_some(())
        },
    )
    .await?;
    Ok(())
}

/// Whether `dir` holds a fetch's `.part` with some bytes in it.
fn has_part(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name().to_string_lossy().ends_with(".part")
                && e.metadata().is_ok_and(|m| m.len() > 0)
        })
    })
}

/// m3 is SIGKILLed while it fetches a large file, then restarted.
async fn interrupted_fetch(cluster: &mut Cluster) -> anyhow::Result<Vec<u8>> {
    let large = content(96 * 1024 * 1024, 3);
    let path = cluster.root.join("large.img");
    std::fs::write(&path, &large)?;
    eprintln!("--- m3 down while a 96 MiB file is put through m1");
    cluster.members[2].kill()?;
    let path_arg = path.to_str().context("utf-8 temp dir")?;
    cli(
        &cluster.members[0],
        &["tree", "put", path_arg, "public/large.img"],
    )?;
    cluster.members[2].restart()?;
    let parts = cluster.members[2].data_dir.join("member/blobs/tmp");
    let caught = wait_for(
        "m3 to start fetching (a .part appears)",
        Duration::from_secs(30),
        || async {
            let started = has_part(&parts);
            let done = same(&cluster.members[2], "public/large.img", &large);
            (started || done).then_some(started)
        },
    )
    .await?;
    cluster.members[2].kill()?;
    // The fetch may have finished between the look and the kill (96 MiB
    // over loopback is quick): only a part still there once m3 is dead
    // must be resumed.
    let interrupted = caught && has_part(&parts);
    eprintln!("--- SIGKILL m3 mid-transfer (part seen: {caught}, left: {interrupted})");
    cluster.members[2].restart()?;
    cluster.wait_ready(2).await?;
    // Killed inside a round of (unsynced) fetches: the restarted member
    // checks every blob before it places or serves anything.
    ensure!(
        cluster.log(2).contains("scrubbing before serving"),
        "m3 restarted after a crash mid-fetch without scrubbing first"
    );
    if interrupted {
        wait_for("m3 to resume its part", Duration::from_secs(20), || async {
            cluster.log(2).contains("resuming blob fetch").then_some(())
        })
        .await?;
    }
    wait_for(
        "m3 to resume and hold the large file",
        Duration::from_secs(40),
        || async { same(&cluster.members[2], "public/large.img", &large).then_some(()) },
    )
    .await?;
    eprintln!("--- every member holds it");
    wait_for(
        "the large file on all 3",
        Duration::from_secs(30),
        || async {
            cluster
                .members
                .iter()
                .all(|m| same(m, "public/large.img", &large))
                .then_some(())
        },
    )
    .await?;
    Ok(large)
}

/// A tree file (and so its blob, which it is linked to) corrupted on m2's
/// disk is found by the scrubber when m2 restarts, and fetched again.
async fn corruption(cluster: &mut Cluster, small: &[u8]) -> anyhow::Result<()> {
    eprintln!("--- corrupt public/t/a.txt on m2's disk, restart m2");
    let file = tree(&cluster.members[1]).join("public/t/a.txt");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&file)?;
        f.seek(SeekFrom::Start(10))?;
        f.write_all(b"CORRUPTED")?;
    }
    ensure!(!same(&cluster.members[1], "public/t/a.txt", small));
    cluster.members[1].restart()?;
    cluster.wait_ready(1).await?;
    wait_for("m2 to repair a.txt", Duration::from_secs(30), || async {
        same(&cluster.members[1], "public/t/a.txt", small).then_some(())
    })
    .await?;
    ensure!(
        cluster.log(1).contains("is corrupt on disk"),
        "m2 repaired a.txt without its scrubber reporting the corruption"
    );
    Ok(())
}

/// A member that joins after all this fetches the whole tree and serves
/// it over HTTPS, checked with curl trusting only the bundle it publishes.
async fn newcomer(cluster: &mut Cluster, large: &[u8]) -> anyhow::Result<()> {
    eprintln!("--- m4 joins (non-voting) and fetches the whole tree");
    let index = cluster.spawn("m4")?;
    cluster.wait_ready(index).await?;
    cluster.join(index, 1, true).await?;
    // (public/t/sub went with the `tree rm` above.)
    let files = ["public/t/a.txt", "public/t/run.sh", "public/large.img"];
    wait_for(
        "m4 to hold every file of m1's tree",
        Duration::from_secs(60),
        || async {
            let m1 = &cluster.members[0];
            let m4 = &cluster.members[index];
            files
                .iter()
                .all(|f| std::fs::read(tree(m1).join(f)).is_ok_and(|want| same(m4, f, &want)))
                .then_some(())
        },
    )
    .await?;
    let m4 = &cluster.members[index];
    let bundle = tree(m4).join("public/site/tls/ca-bundle.pem");
    let body = cluster.root.join("m4-large.img");
    let out = std::process::Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--cacert"])
        .arg(&bundle)
        .arg("--output")
        .arg(&body)
        .arg(format!("https://{}/public/large.img", m4.https))
        .output()
        .context("cannot run curl (apt-get install curl; scripts/test installs it)")?;
    ensure!(
        out.status.success(),
        "curl from m4 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        std::fs::read(&body)? == large,
        "m4 served public/large.img with other bytes"
    );
    Ok(())
}
