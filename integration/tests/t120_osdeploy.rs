//! `cohort osdeploy` against real members: a synthetic Rocky 9 ISO (built
//! here with xorriso) is imported through one member and its files and
//! default profile appear on every member; `osdeploy list --json` shows
//! both; importing it again, or media without marker files, fails with
//! exit status 1 and a message naming the fix or the markers looked for; a
//! generic profile from Debian's netboot kernel and initrd lands everywhere;
//! after a third member joins, `osdeploy updateboot` rewrites boot.ipxe to
//! try all three.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use cohort_integration::checks::{keep_on_error, one_at_a_time};
use cohort_integration::{Cluster, Member, wait_for};

/// Kernel and initrd of package debian-installer-12-netboot-amd64.
const NETBOOT: &str = "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64";
const DIST: &str = "rocky-9.4-x86_64";
const PROFILE: &str = "rocky-9.4-x86_64-default";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t120_osdeploy_import_list_updateboot() -> anyhow::Result<()> {
    // Before any member starts: a missing tool is a set-up error, not a failure.
    let xorriso = installed("xorriso", "xorriso")?;
    let netboot = Path::new(NETBOOT);
    ensure!(
        netboot.join("linux").is_file() && netboot.join("initrd.gz").is_file(),
        "{NETBOOT}/linux and initrd.gz are missing: install the Debian package \
         debian-installer-12-netboot-amd64 (scripts/test does this in its set-up)"
    );
    let _serial = one_at_a_time().await;
    // A voter and a non-voter: two voters would not be a shape the
    // collective keeps (it wants an odd number), and writes through the
    // non-voter are forwarded, which the imports then cover too.
    eprintln!("--- forming a voter and a non-voter");
    let mut cluster = Cluster::form("t120", 1, 1).await?;
    let result = scenario(&mut cluster, &xorriso).await;
    keep_on_error(&mut cluster, result)
}

/// The path of an installed tool, or an error naming its package.
fn installed(tool: &str, package: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .with_context(|| {
            format!("{tool} is missing: install the Debian package {package} (scripts/test does)")
        })
}

/// Bytes that differ from file to file and do not repeat within one.
fn filler(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) ^ 0x9e37_79b9;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        })
        .collect()
}

/// Writes `files` under `dir` and makes `iso` of it (Rock Ridge and Joliet,
/// as distributions ship them).
fn make_iso(xorriso: &Path, dir: &Path, iso: &Path, files: &[(&str, &[u8])]) -> anyhow::Result<()> {
    for (rel, bytes) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().context("no parent")?)?;
        std::fs::write(&path, bytes)?;
    }
    let out = Command::new(xorriso)
        .args(["-as", "mkisofs", "-quiet", "-R", "-J", "-V", "TEST"])
        .arg("-o")
        .arg(iso)
        .arg(dir)
        .output()?;
    ensure!(
        out.status.success(),
        "xorriso failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn run(m: &Member, args: &[&str]) -> anyhow::Result<Output> {
    Ok(m.cli()?.args(args).output()?)
}

/// Runs the CLI against `m`; its stdout, or an error with its stderr.
fn cli(m: &Member, args: &[&str]) -> anyhow::Result<String> {
    let out = run(m, args)?;
    ensure!(
        out.status.success(),
        "cohort {args:?} on {} failed: {}",
        m.name,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// Runs a command that must fail with status 1; its stderr.
fn refused(m: &Member, args: &[&str]) -> anyhow::Result<String> {
    let out = run(m, args)?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(
        out.status.code() == Some(1),
        "cohort {args:?} should have failed with status 1, got {:?}; stderr: {stderr}",
        out.status.code()
    );
    Ok(stderr)
}

/// `true` when every member's tree holds `path` with exactly `want`.
fn everywhere(cluster: &Cluster, path: &str, want: &[u8]) -> bool {
    cluster
        .members
        .iter()
        .all(|m| std::fs::read(m.data_dir.join("tree").join(path)).is_ok_and(|got| got == want))
}

/// Every member's `path`, once all members hold it.
async fn read_everywhere(cluster: &Cluster, path: &str) -> anyhow::Result<Vec<String>> {
    wait_for(
        &format!("{path} on every member"),
        Duration::from_secs(30),
        || async {
            cluster
                .members
                .iter()
                .map(|m| std::fs::read_to_string(m.data_dir.join("tree").join(path)).ok())
                .collect::<Option<Vec<_>>>()
        },
    )
    .await
}

fn url(m: &Member) -> String {
    format!("https://{}", m.https)
}

async fn scenario(cluster: &mut Cluster, xorriso: &Path) -> anyhow::Result<()> {
    let root = cluster.root.clone();
    let treeinfo = "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n\
         [release]\nname = Rocky Linux\nshort = Rocky\nversion = 9.4\n\n\
         [tree]\narch = x86_64\nplatforms = x86_64\n\n\
         [images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n";
    let kernel = filler(700_000, 1);
    // Over two upload chunks (1 MiB), so streaming from the image is tested.
    let initrd = filler(2 * 1024 * 1024 + 4321, 2);
    let repomd = b"<repomd/>\n".to_vec();
    let iso = root.join("rocky.iso");
    make_iso(
        xorriso,
        &root.join("rocky"),
        &iso,
        &[
            (".treeinfo", treeinfo.as_bytes()),
            (".discinfo", b"1715000000.0\n9.4\nx86_64\nALL\n"),
            ("images/pxeboot/vmlinuz", &kernel),
            ("images/pxeboot/initrd.img", &initrd),
            ("BaseOS/repodata/repomd.xml", &repomd),
        ],
    )?;
    let iso_arg = iso.to_str().context("utf-8 temp dir")?;

    eprintln!("--- osdeploy import of a Rocky 9 ISO through m1");
    let said = cli(&cluster.members[0], &["osdeploy", "import", iso_arg])?;
    eprintln!("    {}", said.trim());
    ensure!(said.contains(DIST), "import output: {said}");
    let media = format!("public/distributions/{DIST}");
    wait_for(
        "the media's files on both members",
        Duration::from_secs(30),
        || async {
            (everywhere(
                cluster,
                &format!("{media}/images/pxeboot/initrd.img"),
                &initrd,
            ) && everywhere(cluster, &format!("{media}/images/pxeboot/vmlinuz"), &kernel)
                && everywhere(cluster, &format!("{media}/.treeinfo"), treeinfo.as_bytes())
                && everywhere(
                    cluster,
                    &format!("{media}/BaseOS/repodata/repomd.xml"),
                    &repomd,
                ))
            .then_some(())
        },
    )
    .await?;
    let boot = read_everywhere(cluster, &format!("public/os/{PROFILE}/boot.ipxe")).await?;
    for (m, script) in cluster.members.iter().zip(&boot) {
        ensure!(
            script.starts_with("#!ipxe")
                && script.contains(&url(&cluster.members[0]))
                && script.contains(&url(&cluster.members[1])),
            "boot.ipxe on {} does not try both members:\n{script}",
            m.name
        );
    }
    read_everywhere(cluster, &format!("public/os/{PROFILE}/kickstart")).await?;

    eprintln!("--- osdeploy list --json on m2");
    let listing = cli(&cluster.members[1], &["osdeploy", "list", "--json"])?;
    for want in [
        format!("\"name\": \"{DIST}\""),
        format!("\"name\": \"{PROFILE}\""),
        "\"label\": \"Rocky Linux 9.4 x86_64 (default)\"".to_owned(),
        format!("\"distribution\": \"{DIST}\""),
        "\"files\": 5".to_owned(),
    ] {
        ensure!(listing.contains(&want), "list lacks {want}:\n{listing}");
    }

    eprintln!("--- importing it again is refused");
    let err = refused(&cluster.members[1], &["osdeploy", "import", iso_arg])?;
    ensure!(
        err.contains("already exists") && err.contains("--name"),
        "second import: {err}"
    );

    eprintln!("--- media without marker files are refused, naming the markers");
    let blank = root.join("blank.iso");
    make_iso(
        xorriso,
        &root.join("blank"),
        &blank,
        &[("README", b"hello\n")],
    )?;
    let err = refused(
        &cluster.members[0],
        &["osdeploy", "import", blank.to_str().context("utf-8")?],
    )?;
    for marker in [".treeinfo", ".discinfo", ".disk/info", "media.1/products"] {
        ensure!(
            err.contains(marker),
            "unknown media: {marker} not named in: {err}"
        );
    }
    ensure!(
        err.contains("blank.iso"),
        "unknown media: the file is not named: {err}"
    );

    generic(cluster).await?;
    update_boot(cluster).await
}

/// A generic profile from Debian's netboot kernel and initrd.
async fn generic(cluster: &Cluster) -> anyhow::Result<()> {
    eprintln!("--- osdeploy import --generic with Debian's netboot kernel and initrd");
    let (kernel, initrd) = (format!("{NETBOOT}/linux"), format!("{NETBOOT}/initrd.gz"));
    let said = cli(
        &cluster.members[1],
        &[
            "osdeploy",
            "import",
            "--generic",
            "d-i",
            "--kernel",
            &kernel,
            "--initramfs",
            &initrd,
            "--kernelargs",
            "priority=critical console=ttyS0",
        ],
    )?;
    eprintln!("    {}", said.trim());
    let (kernel, initrd) = (std::fs::read(kernel)?, std::fs::read(initrd)?);
    wait_for(
        "the netboot kernel and initrd on both members",
        Duration::from_secs(60),
        || async {
            (everywhere(cluster, "public/os/d-i/boot/kernel", &kernel)
                && everywhere(cluster, "public/os/d-i/boot/initramfs/initrd.gz", &initrd))
            .then_some(())
        },
    )
    .await?;
    let boot = read_everywhere(cluster, "public/os/d-i/boot.ipxe").await?;
    ensure!(
        boot[0].contains("priority=critical console=ttyS0"),
        "kernelargs missing from boot.ipxe:\n{}",
        boot[0]
    );
    Ok(())
}

/// m3 joins; `updateboot` makes the Rocky profile try all three members.
async fn update_boot(cluster: &mut Cluster) -> anyhow::Result<()> {
    eprintln!("--- m3 joins");
    let index = cluster.spawn("m3")?;
    cluster.wait_ready(index).await?;
    let token = cli(
        &cluster.members[0],
        &["collective", "invite", "m3", "--nonvoting"],
    )?;
    let address = cluster.members[0].peer.to_string();
    cli(
        &cluster.members[2],
        &["collective", "join", &address, "--token", token.trim()],
    )?;
    wait_for("3 reachable members", Duration::from_secs(60), || async {
        let out = cli(&cluster.members[0], &["collective", "show", "--json"]).ok()?;
        (out.matches("\"reachable\": true").count() == 3).then_some(())
    })
    .await?;

    eprintln!("--- osdeploy updateboot on m3");
    let path = format!("public/os/{PROFILE}/boot.ipxe");
    // m3 reads profile.yaml from its own tree: wait until it has synchronized.
    read_everywhere(cluster, &format!("public/os/{PROFILE}/profile.yaml")).await?;
    let said = cli(&cluster.members[2], &["osdeploy", "updateboot", PROFILE])?;
    eprintln!("    {}", said.trim());
    let urls: Vec<String> = cluster.members.iter().map(url).collect();
    wait_for(
        "boot.ipxe trying all 3 members on all 3",
        Duration::from_secs(30),
        || async {
            cluster
                .members
                .iter()
                .all(|m| {
                    std::fs::read_to_string(m.data_dir.join("tree").join(&path))
                        .is_ok_and(|s| urls.iter().all(|u| s.contains(u.as_str())))
                })
                .then_some(())
        },
    )
    .await?;

    let err = refused(&cluster.members[0], &["osdeploy", "updateboot", "no-such"])?;
    if !err.contains("no-such") || !err.contains("osdeploy list") {
        bail!("updateboot of a missing profile: {err}");
    }
    Ok(())
}
