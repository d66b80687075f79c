//! profile.yaml parsing, boot file generation, the embedded templates and
//! generic profiles.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::profile::{self, ProfileConfig};
use super::templates::{self, TEMPLATES};
use super::testutil::{chain, require_tool};
use super::{CopyKind, boot_files, generic_profile};

const FILE: &str = "public/os/p/profile.yaml";

fn parse(yaml: &str) -> Result<ProfileConfig, String> {
    ProfileConfig::parse("p", FILE, yaml.as_bytes()).map_err(|e| chain(&e))
}

/// A profile.yaml that is fine, with one line replaced.
fn yaml_with(key: &str, line: &str) -> String {
    let good = [
        ("label", "label: Test profile"),
        ("ostype", "ostype: linux"),
        ("kernel", "kernel: boot/kernel"),
        (
            "initramfs",
            "initramfs: [boot/initramfs/a.gz, /public/site/site.cpio]",
        ),
        ("kernelargs", "kernelargs: console=ttyS0 url={profile}/x"),
        ("installedargs", "installedargs: quiet"),
    ];
    good.iter()
        .map(|(k, l)| if *k == key { line } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn profile_yaml_is_read_and_resolved() {
    let config = parse(&yaml_with("", "")).unwrap();
    assert_eq!(config.label, "Test profile");
    assert_eq!(config.kernel, "public/os/p/boot/kernel");
    assert_eq!(
        config.initramfs,
        ["public/os/p/boot/initramfs/a.gz", "public/site/site.cpio"]
    );
    assert_eq!(config.kernelargs, "console=ttyS0 url={profile}/x");
    assert_eq!(config.installedargs, "quiet");
}

#[test]
fn profile_yaml_errors_name_file_and_field() {
    // (replaced key, replacement line, texts the error must contain)
    let table: &[(&str, &str, &[&str])] = &[
        ("label", "", &[FILE, "missing field `label`"]),
        (
            "label",
            "label: [not, text]",
            &[FILE, "line 1 column 8", "label: [not, text]"],
        ),
        (
            "ostype",
            "ostype: windows",
            &[FILE, "unknown variant `windows`"],
        ),
        (
            "kernel",
            "kernel: ../../private/secret",
            &[FILE, "field `kernel`", "`..`"],
        ),
        (
            "kernel",
            "kernel: /private/os/p/kernel",
            &[FILE, "field `kernel`", "outside public/"],
        ),
        (
            "kernel",
            "kernel: boot/my kernel",
            &[FILE, "field `kernel`"],
        ),
        (
            "initramfs",
            "initramfs: [a//b]",
            &[FILE, "field `initramfs`", "empty"],
        ),
        (
            "kernelargs",
            "kernelargs: a=${net0/ip}",
            &[FILE, "field `kernelargs`", "iPXE"],
        ),
        (
            "kernelargs",
            "kernelargs: url={node}/x",
            &[FILE, "field `kernelargs`", "{deployer}"],
        ),
        (
            "kernelargs",
            "kernelargs: a || shell",
            &[FILE, "field `kernelargs`", "||"],
        ),
        (
            "installedargs",
            "installedargs: x={profile}",
            &[FILE, "field `installedargs`"],
        ),
        (
            "installedargs",
            "colour: blue",
            &[FILE, "unknown field `colour`"],
        ),
    ];
    for (key, line, wants) in table {
        let err = parse(&yaml_with(key, line)).expect_err(line);
        for want in *wants {
            assert!(
                err.contains(want),
                "{line:?}: {err:?} should contain {want:?}"
            );
        }
    }
    let err = ProfileConfig::parse("../p", FILE, b"").unwrap_err();
    assert!(chain(&err).contains("profile name \"../p\" is not usable"));
}

fn members() -> Vec<String> {
    vec![
        "https://10.0.0.1:8443".into(),
        "http://10.0.0.2:8080/".into(),
        "https://[fd00::3]:8443".into(),
    ]
}

#[test]
fn boot_ipxe_tries_every_member_in_order() {
    let config = parse(&yaml_with("", "")).unwrap();
    let files = profile::boot_files("p", &config, &members()).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["public/os/p/boot.ipxe", "public/os/p/grub.cfg"]);
    let ipxe = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(ipxe.starts_with("#!ipxe\n"));
    let expected_blocks = [
        (":member1", "https://10.0.0.1:8443", "goto member2"),
        (":member2", "http://10.0.0.2:8080", "goto member3"),
        (":member3", "https://[fd00::3]:8443", "goto failed"),
    ];
    let mut at = 0;
    for (label, url, next) in expected_blocks {
        let block = &ipxe[at..];
        let start = block
            .find(label)
            .unwrap_or_else(|| panic!("{label} missing in\n{ipxe}"));
        let kernel = format!(
            "kernel --name kernel {url}/public/os/p/boot/kernel initrd=initrd1 initrd=initrd2 console=ttyS0 \
             url={url}/public/os/p/x cohort.deployer={url} \
             cohort.members=https://10.0.0.1:8443,http://10.0.0.2:8080,https://[fd00::3]:8443 cohort.profile=p || {next}"
        );
        assert!(
            block[start..].contains(&kernel),
            "missing {kernel:?} in\n{ipxe}"
        );
        assert!(block[start..].contains(&format!(
            "initrd --name initrd2 {url}/public/site/site.cpio || {next}"
        )));
        assert!(block[start..].contains(&format!("boot || {next}")));
        at += start + label.len();
    }
    assert!(ipxe.ends_with(":failed\necho cohort: no member could boot profile p; tried https://10.0.0.1:8443 http://10.0.0.2:8080 https://[fd00::3]:8443\necho cohort: check that a member is up and serves public/os/p/\nshell\n"), "{ipxe}");

    let grub = String::from_utf8(files[1].1.clone()).unwrap();
    assert!(grub.contains("# https://10.0.0.1:8443 skipped: GRUB cannot fetch over HTTPS"));
    assert_eq!(grub.matches("menuentry").count(), 1, "{grub}");
    assert!(grub.contains("linux (http,10.0.0.2:8080)/public/os/p/boot/kernel console=ttyS0 url=http://10.0.0.2:8080/public/os/p/x cohort.deployer=http://10.0.0.2:8080"), "{grub}");
    assert!(grub.contains("initrd (http,10.0.0.2:8080)/public/os/p/boot/initramfs/a.gz (http,10.0.0.2:8080)/public/site/site.cpio"));
}

#[test]
fn grub_cfg_falls_back_and_quotes() {
    let mut config = parse(&yaml_with(
        "kernelargs",
        "kernelargs: ds=nocloud-net;s={profile}/ a='b'",
    ))
    .unwrap();
    config.initramfs.clear();
    let http = vec![
        "http://10.0.0.1:8080".to_string(),
        "http://10.0.0.2:8080".to_string(),
    ];
    let files = profile::boot_files("p", &config, &http).unwrap();
    let grub = String::from_utf8(files[1].1.clone()).unwrap();
    assert!(grub.contains("set fallback=\"1\""), "{grub}");
    assert!(
        grub.contains(r"'ds=nocloud-net;s=http://10.0.0.2:8080/public/os/p/' 'a='\''b'\'''"),
        "{grub}"
    );
    assert!(!grub.contains("initrd "), "{grub}");
    // Only HTTPS members: GRUB says so at boot instead of failing silently.
    let https = vec!["https://10.0.0.1:8443".to_string()];
    let grub = String::from_utf8(
        profile::boot_files("p", &config, &https).unwrap()[1]
            .1
            .clone(),
    )
    .unwrap();
    assert!(grub.contains("has no plain-HTTP member"), "{grub}");
}

#[test]
fn member_urls_are_checked() {
    let config = parse(&yaml_with("", "")).unwrap();
    for (url, want) in [
        ("10.0.0.1:8443", "must start with http"),
        ("https://10.0.0.1:8443/base", "no path"),
        ("https://host name", "letters, digits"),
        ("https://h${x}", "letters, digits"),
    ] {
        let err = profile::boot_files("p", &config, &[url.to_string()]).unwrap_err();
        assert!(chain(&err).contains(want), "{url}: {}", chain(&err));
    }
    assert!(
        chain(&profile::boot_files("p", &config, &[]).unwrap_err()).contains("at least one member")
    );
}

#[test]
fn boot_files_are_deterministic() {
    // The generator has no node input; the same profile and members give
    // the same bytes, so every node of a profile boots identical files.
    let config = parse(&yaml_with("", "")).unwrap();
    let a = profile::boot_files("p", &config, &members()).unwrap();
    let b = profile::boot_files("p", &config.clone(), &members()).unwrap();
    assert_eq!(a, b);
    let tmp = tempfile::tempdir().unwrap();
    let (kernel, initrd) = (tmp.path().join("k"), tmp.path().join("i.gz"));
    std::fs::write(&kernel, b"k").unwrap();
    std::fs::write(&initrd, b"i").unwrap();
    let one = generic_profile("g", &kernel, std::slice::from_ref(&initrd), "quiet").unwrap();
    let two = generic_profile("g", &kernel, &[initrd], "quiet").unwrap();
    assert_eq!(one.profiles, two.profiles);
    assert_eq!(
        boot_files(&one.profiles[0], &members()).unwrap(),
        boot_files(&two.profiles[0], &members()).unwrap()
    );
}

#[test]
fn embedded_templates_match_the_profiles_directory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let mut on_disk = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                on_disk.push(
                    path.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    on_disk.retain(|p| p != "README.md");
    on_disk.sort();
    let embedded: Vec<String> = TEMPLATES.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(
        embedded, on_disk,
        "profiles/ and the table in templates.rs differ"
    );
    for (path, bytes) in TEMPLATES {
        assert_eq!(std::fs::read(root.join(path)).unwrap(), *bytes, "{path}");
    }
}

#[test]
fn every_family_template_renders_to_a_valid_profile() {
    let values = [
        ("PROFILE", "x-default"),
        ("DISTRIBUTION", "x"),
        ("PRODUCT", "Some OS"),
        ("VERSION", "1.0"),
        ("ARCH", "x86_64"),
        ("KERNEL", "k/vmlinuz"),
        ("INITRAMFS", "k/initrd"),
    ];
    for family in ["el", "debian", "ubuntu", "suse"] {
        let files = templates::render_family(family, &values).unwrap();
        assert!(
            files.contains_key("scripts/cohort-agent.sh"),
            "{family} gets the common scripts"
        );
        let config = ProfileConfig::parse("x-default", family, &files["profile.yaml"])
            .unwrap_or_else(|e| panic!("{family}: {}", chain(&e)));
        assert_eq!(config.kernel, "public/distributions/x/k/vmlinuz");
        assert_eq!(config.label, "Some OS 1.0 x86_64 (default)");
        for (path, bytes) in &files {
            assert!(
                !String::from_utf8_lossy(bytes).contains("%%"),
                "{family}/{path} keeps a placeholder"
            );
        }
    }
    let err = templates::render_family("el", &values[..3]).unwrap_err();
    assert!(
        chain(&err).contains("unknown placeholder %%VERSION%%"),
        "{}",
        chain(&err)
    );
    assert!(templates::render_family("windows", &values).is_err());
}

/// The kernel and initrd of Debian's netboot installer (package
/// debian-installer-12-netboot-amd64).
fn debian_netboot() -> (PathBuf, PathBuf) {
    let dir = Path::new("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64");
    let (kernel, initrd) = (dir.join("linux"), dir.join("initrd.gz"));
    if !kernel.is_file() || !initrd.is_file() {
        require_tool(
            "no-such-tool-debian-installer-netboot",
            "debian-installer-12-netboot-amd64",
        );
    }
    (kernel, initrd)
}

#[test]
fn generic_profile_from_debian_netboot_files() {
    let (kernel, initrd) = debian_netboot();
    let plan = generic_profile(
        "d-i",
        &kernel,
        std::slice::from_ref(&initrd),
        "priority=critical console=ttyS0",
    )
    .unwrap();
    assert!(plan.media.is_none() && plan.distribution.is_none());
    let dests: Vec<&str> = plan.copies.iter().map(|c| c.dest.as_str()).collect();
    assert_eq!(
        dests,
        [
            "public/os/d-i/boot/kernel",
            "public/os/d-i/boot/initramfs/initrd.gz"
        ]
    );
    for (item, source) in plan.copies.iter().zip([&kernel, &initrd]) {
        let expected = std::fs::read(source).unwrap();
        assert_eq!(
            item.kind,
            CopyKind::File {
                size: expected.len() as u64
            }
        );
        let mut got = Vec::new();
        item.open().unwrap().read_to_end(&mut got).unwrap();
        assert!(
            got == expected,
            "{} differs from {}",
            item.dest,
            source.display()
        );
    }
    assert_eq!(
        plan.total_bytes(),
        std::fs::metadata(&kernel).unwrap().len() + std::fs::metadata(&initrd).unwrap().len()
    );
    let profile = &plan.profiles[0];
    assert_eq!(profile.config.kernel, "public/os/d-i/boot/kernel");
    assert_eq!(
        profile.config.initramfs,
        ["public/os/d-i/boot/initramfs/initrd.gz"]
    );
    assert_eq!(profile.config.kernelargs, "priority=critical console=ttyS0");
    assert_eq!(profile.config.label, "d-i (generic)");
    let names: Vec<&str> = profile.files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "public/os/d-i/profile.yaml",
            "public/os/d-i/scripts/cohort-agent.sh"
        ]
    );
    let boot = boot_files(profile, &members()).unwrap();
    let ipxe = String::from_utf8(boot[0].1.clone()).unwrap();
    assert!(ipxe.contains("initrd --name initrd1 https://10.0.0.1:8443/public/os/d-i/boot/initramfs/initrd.gz || goto member2"));

    // Kernel arguments are checked like any profile.yaml's, quotes included.
    let quoted = generic_profile("q", &kernel, &[], "a=\"b c\" d\\e").unwrap();
    assert_eq!(quoted.profiles[0].config.kernelargs, "a=\"b c\" d\\e");
    let err = generic_profile("bad", &kernel, &[], "x=${y}").unwrap_err();
    assert!(
        chain(&err).contains("field `kernelargs`"),
        "{}",
        chain(&err)
    );
    let err = generic_profile("missing", Path::new("/nonexistent/kernel"), &[], "").unwrap_err();
    assert!(
        chain(&err).contains("/nonexistent/kernel"),
        "{}",
        chain(&err)
    );
    let err = generic_profile("dup", &kernel, &[initrd.clone(), initrd], "").unwrap_err();
    assert!(
        chain(&err).contains("two initramfs files share this name"),
        "{}",
        chain(&err)
    );
}
