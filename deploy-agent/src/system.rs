//! The OS files that are not network or SSH: host name, `etc/hosts`,
//! root's password hash, time sources, resolver and time zone.
//!
//! Each file has a pure `render`/`merge` function (tested as text) and a
//! writer that reads the target's current file and writes the result.
//! Files the distribution or admin also edits keep their other lines:
//! `etc/shadow` is edited field by field, `etc/hosts` and `etc/chrony.conf`
//! get a managed block. Files that only say what cohort says
//! (`etc/hostname`, `etc/resolv.conf`, the chrony sources file) are
//! written whole.

use std::path::PathBuf;

use cohort_api::nodeapi::DeployConfig;

use crate::fsutil::{self, FsError, Mode, Target};
use crate::names::{self, BadName};

/// A system file could not be written from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error(transparent)]
    Name(#[from] BadName),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// `etc/hostname` and the `etc/hosts` block: `ADDR FQDN HOST`, ADDR the
/// node's first static address, else Debian's 127.0.1.1 convention.
pub fn write_hostname(
    target: &Target,
    hostname: &str,
    fqdn: Option<&str>,
    addr: Option<std::net::IpAddr>,
) -> Result<Vec<PathBuf>, SystemError> {
    names::dns_name("the node name", hostname)?;
    if let Some(f) = fqdn {
        names::dns_name("the node's FQDN (name + dns.domain)", f)?;
    }
    let short = hostname.split('.').next().unwrap_or(hostname);
    let mut written =
        vec![target.write("etc/hostname", &format!("{short}\n"), Mode::KeepOr(0o644))?];
    let addr = addr.map_or_else(|| "127.0.1.1".to_owned(), |a| a.to_string());
    let names: Vec<&str> = fqdn
        .into_iter()
        .chain([short])
        .filter(|n| !n.is_empty())
        .collect();
    let line = format!("{addr} {}", names.join(" "));
    let hosts = target.read("etc/hosts")?.unwrap_or_default();
    let text = fsutil::replace_block(&hosts, &[line]);
    written.push(target.write("etc/hosts", &text, Mode::KeepOr(0o644))?);
    Ok(written)
}

/// `existing` shadow text with root's hash replaced, every other line and
/// field untouched; a root line is added first when there is none.
pub fn shadow_with_root(existing: &str, hash: &str, today: u64) -> String {
    let mut found = false;
    let mut lines: Vec<String> = existing
        .lines()
        .map(|line| match line.split_once(':') {
            Some(("root", rest)) if !found => {
                found = true;
                let tail = rest.split_once(':').map_or("", |(_, tail)| tail);
                if rest.contains(':') {
                    format!("root:{hash}:{tail}")
                } else {
                    format!("root:{hash}")
                }
            }
            _ => line.to_owned(),
        })
        .collect();
    if !found {
        lines.insert(0, format!("root:{hash}:{today}:0:99999:7:::"));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Puts `hash` (a crypt string, never clear text) in root's shadow entry.
pub fn write_root_password(target: &Target, hash: &str) -> Result<PathBuf, SystemError> {
    names::one_line("crypted.rootpassword", hash)?;
    if !hash.starts_with('$') || hash.contains(':') {
        return Err(BadName {
            what: "crypted.rootpassword".to_owned(),
            value: "(hidden)".to_owned(),
            why: "expected a crypt hash like $6$salt$hash",
        }
        .into());
    }
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let existing = target.read("etc/shadow")?.unwrap_or_default();
    let text = shadow_with_root(&existing, hash, today);
    Ok(target.write("etc/shadow", &text, Mode::KeepOr(0o640))?)
}

/// chrony sources: `etc/chrony/sources.d/cohort.sources` where the
/// distribution has `etc/chrony/` (Debian, whose chrony.conf reads
/// sources.d), else a block in `etc/chrony.conf` (EL).
pub fn write_ntp(target: &Target, servers: &[String]) -> Result<Option<PathBuf>, SystemError> {
    if servers.is_empty() {
        return Ok(None);
    }
    let mut lines = Vec::new();
    for s in servers {
        let s = s.trim();
        if s.parse::<std::net::IpAddr>().is_err() {
            names::dns_name("ntp.servers", s)?;
        }
        lines.push(format!("server {s} iburst"));
    }
    if target.exists("etc/chrony") {
        let mut text = String::from("# Written by cohort-agent from ntp.servers.\n");
        text.push_str(&lines.join("\n"));
        text.push('\n');
        let rel = "etc/chrony/sources.d/cohort.sources";
        return Ok(Some(target.write(rel, &text, Mode::KeepOr(0o644))?));
    }
    let existing = target.read("etc/chrony.conf")?.unwrap_or_default();
    let text = fsutil::replace_block(&existing, &lines);
    Ok(Some(target.write(
        "etc/chrony.conf",
        &text,
        Mode::KeepOr(0o644),
    )?))
}

/// `etc/resolv.conf` text for checked servers and search domains.
pub fn resolv_conf(servers: &[std::net::IpAddr], search: &[String]) -> String {
    let mut text = String::from("# Written by cohort-agent from dns.servers and dns.domain.\n");
    if !search.is_empty() {
        text.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        text.push_str(&format!("nameserver {s}\n"));
    }
    text
}

/// Writes `etc/resolv.conf` when name servers are known. A symlink there
/// (systemd-resolved's stub) is replaced by a file: the node must resolve
/// before any resolver daemon runs, and the network files carry the same
/// servers for whichever daemon takes over.
pub fn write_resolv(
    target: &Target,
    servers: &[std::net::IpAddr],
    search: &[String],
) -> Result<Option<PathBuf>, SystemError> {
    if servers.is_empty() {
        return Ok(None);
    }
    let text = resolv_conf(servers, search);
    Ok(Some(target.write(
        "etc/resolv.conf",
        &text,
        Mode::Exact(0o644),
    )?))
}

/// `etc/localtime` -> `/usr/share/zoneinfo/<tz>` and `etc/timezone`.
pub fn write_timezone(target: &Target, tz: &str) -> Result<Vec<PathBuf>, SystemError> {
    let tz = tz.trim();
    if tz.is_empty() {
        return Ok(Vec::new());
    }
    names::timezone("location.timezone", tz)?;
    let link = target.path("etc/localtime");
    fsutil::symlink(&format!("/usr/share/zoneinfo/{tz}"), &link)?;
    let file = target.write("etc/timezone", &format!("{tz}\n"), Mode::KeepOr(0o644))?;
    Ok(vec![link, file])
}

/// Writes everything in this module that the configuration asks for.
pub fn write_all(
    target: &Target,
    cfg: &DeployConfig,
    addr: Option<std::net::IpAddr>,
    dns: &crate::network::Dns,
) -> Result<Vec<PathBuf>, SystemError> {
    let mut written = write_hostname(target, &cfg.hostname, cfg.fqdn.as_deref(), addr)?;
    if let Some(hash) = cfg.rootpassword.as_deref().filter(|h| !h.is_empty()) {
        written.push(write_root_password(target, hash)?);
    }
    written.extend(write_ntp(target, &cfg.ntpservers)?);
    written.extend(write_resolv(target, &dns.servers, &dns.search)?);
    written.extend(write_timezone(target, &cfg.timezone)?);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(existing: &str, expected: &str) {
        let once = shadow_with_root(existing, "$6$s$h", 20000);
        assert_eq!(once, expected, "from {existing:?}");
        assert_eq!(shadow_with_root(&once, "$6$s$h", 20000), once);
    }

    #[test]
    fn shadow_replaces_only_roots_hash() {
        check(
            "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nbob:$y$x$y:19001:0:99999:7:::\n",
            "root:$6$s$h:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nbob:$y$x$y:19001:0:99999:7:::\n",
        );
        check(
            "daemon:*:19000::::::\nroot:!:19000::::::\n",
            "daemon:*:19000::::::\nroot:$6$s$h:19000::::::\n",
        );
        check("root", "root:$6$s$h:20000:0:99999:7:::\nroot\n");
        check("root:old", "root:$6$s$h\n");
        check("", "root:$6$s$h:20000:0:99999:7:::\n");
        check(
            "rooty:x:1::::::\n",
            "root:$6$s$h:20000:0:99999:7:::\nrooty:x:1::::::\n",
        );
    }

    #[test]
    fn files_under_a_root() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::new(dir.path());
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        let addr = Some("10.1.0.5".parse().unwrap());
        for _ in 0..2 {
            write_hostname(&target, "n1", Some("n1.example.com"), addr).unwrap();
        }
        let hosts = std::fs::read_to_string(dir.path().join("etc/hosts")).unwrap();
        assert_eq!(
            hosts,
            fsutil::replace_block(
                "127.0.0.1 localhost\n",
                &["10.1.0.5 n1.example.com n1".to_owned()]
            )
        );
        assert!(write_hostname(&target, "n1\nevil", None, None).is_err());

        assert!(write_root_password(&target, "clear:text").is_err());
        write_root_password(&target, "$6$a$b").unwrap();
        let shadow = std::fs::read_to_string(dir.path().join("etc/shadow")).unwrap();
        assert!(shadow.starts_with("root:$6$a$b:"), "{shadow}");

        write_ntp(&target, &["ntp1.example.com".to_owned()]).unwrap();
        let chrony = std::fs::read_to_string(dir.path().join("etc/chrony.conf")).unwrap();
        assert!(
            chrony.contains("\nserver ntp1.example.com iburst\n"),
            "{chrony}"
        );

        write_timezone(&target, "Europe/Paris").unwrap();
        let link = std::fs::read_link(dir.path().join("etc/localtime")).unwrap();
        assert_eq!(
            link,
            std::path::Path::new("/usr/share/zoneinfo/Europe/Paris")
        );
        assert!(write_timezone(&target, "../../etc/shadow").is_err());
    }

    #[test]
    fn resolv() {
        let servers = ["10.0.0.2".parse().unwrap(), "fd00::2".parse().unwrap()];
        assert_eq!(
            resolv_conf(&servers, &["example.com".to_owned()]),
            "# Written by cohort-agent from dns.servers and dns.domain.\n\
             search example.com\nnameserver 10.0.0.2\nnameserver fd00::2\n"
        );
    }
}
