//! A profile's `profile.yaml`, and the boot files generated from it.
//!
//! A profile is a directory `public/os/<name>/` of the synchronized tree:
//! `profile.yaml` says what to boot (`kernel`, `initramfs`, `kernelargs`),
//! the installer files next to it (kickstart, preseed, ...) are the same
//! bytes for every node, and `boot.ipxe`/`grub.cfg` are derived from
//! `profile.yaml` plus the list of members. Nothing here takes a node: what
//! differs between nodes is fetched at install time from the node API.
//!
//! Boot files try every member in turn, so one dead member never stops a
//! boot. `kernelargs` may name the member that is being tried as
//! `{deployer}` (its base URL) and the profile's directory on it as
//! `{profile}`; every kernel command line also gets `cohort.deployer=`,
//! `cohort.members=` and `cohort.profile=` for the node's agent.
//!
//! `boot.ipxe` uses labels and `goto`: each member's block jumps to the
//! next on any failure, after `imgfree` drops what a half-successful
//! attempt had downloaded. GRUB's network stack has no TLS, so `grub.cfg`
//! lists only `http://` members, one menu entry each, chained by GRUB's
//! `fallback` variable.

use serde::Deserialize;

/// What went wrong with a profile; each message names the file and field.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{file} is not a valid profile.yaml")]
    Yaml {
        file: String,
        // Boxed: saphyr's error is large and this one is rare.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("{file}: field `{field}`: {reason}")]
    Field {
        file: String,
        field: &'static str,
        reason: String,
    },
    #[error("profile name {name:?} is not usable: {reason}")]
    Name { name: String, reason: &'static str },
    #[error("member URL {url:?} is not usable: {reason}")]
    Member { url: String, reason: &'static str },
}

/// The operating systems a profile can boot. confluent also knows `esxi`
/// and `windows`; their boot files differ and come when they are needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsType {
    Linux,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    label: String,
    ostype: OsType,
    kernel: String,
    #[serde(default)]
    initramfs: Vec<String>,
    #[serde(default)]
    kernelargs: String,
    #[serde(default)]
    installedargs: String,
}

/// A checked `profile.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileConfig {
    pub label: String,
    pub ostype: OsType,
    /// Tree paths (`public/...`) of the kernel and initramfs images.
    pub kernel: String,
    pub initramfs: Vec<String>,
    pub kernelargs: String,
    /// Arguments the installed system's boot loader gets (the agent applies them).
    pub installedargs: String,
}

impl ProfileConfig {
    /// Parses the `profile.yaml` of profile `name`; `file` names it in errors.
    /// `kernel`/`initramfs` are relative to the profile's directory, or tree
    /// paths when they start with `/` (`/public/distributions/...`).
    pub fn parse(name: &str, file: &str, bytes: &[u8]) -> Result<Self, ProfileError> {
        check_name(name)?;
        let raw: RawProfile =
            serde_saphyr::from_slice(bytes).map_err(|source| ProfileError::Yaml {
                file: file.into(),
                source: Box::new(source),
            })?;
        let field = |field: &'static str, reason: String| ProfileError::Field {
            file: file.into(),
            field,
            reason,
        };
        if raw.label.trim().is_empty() || raw.label.chars().any(char::is_control) {
            return Err(field("label", "must be one line of text".into()));
        }
        let kernel = resolve(name, &raw.kernel).map_err(|r| field("kernel", r))?;
        let initramfs = raw
            .initramfs
            .iter()
            .map(|p| resolve(name, p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| field("initramfs", r))?;
        check_args(&raw.kernelargs).map_err(|r| field("kernelargs", r))?;
        check_args(&raw.installedargs).map_err(|r| field("installedargs", r))?;
        for arg in raw.installedargs.split_whitespace() {
            if arg.contains('{') {
                return Err(field(
                    "installedargs",
                    format!("{arg:?}: placeholders only work in kernelargs"),
                ));
            }
        }
        Ok(ProfileConfig {
            label: raw.label.trim().to_string(),
            ostype: raw.ostype,
            kernel,
            initramfs,
            kernelargs: raw
                .kernelargs
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            installedargs: raw
                .installedargs
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
    }
}

/// `public/os/<name>/`: where a profile lives in the tree.
pub fn profile_dir(name: &str) -> String {
    format!("public/os/{name}/")
}

/// Profile (and distribution) names become path components and URL parts.
pub fn check_name(name: &str) -> Result<(), ProfileError> {
    let bad = |reason| {
        Err(ProfileError::Name {
            name: name.into(),
            reason,
        })
    };
    if name.is_empty() || name.len() > 128 {
        return bad("must be 1 to 128 characters");
    }
    if name.starts_with(['.', '-']) {
        return bad("must not start with `.` or `-`");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
    {
        return bad("may only hold letters, digits and `._-+`");
    }
    Ok(())
}

/// `boot.ipxe` and `grub.cfg` of a profile, as (tree path, bytes). The same
/// inputs always give the same bytes: there is no node input.
pub fn boot_files(
    name: &str,
    config: &ProfileConfig,
    members: &[String],
) -> Result<Vec<(String, Vec<u8>)>, ProfileError> {
    check_name(name)?;
    let members = members
        .iter()
        .map(|m| check_member(m))
        .collect::<Result<Vec<_>, _>>()?;
    if members.is_empty() {
        return Err(ProfileError::Member {
            url: String::new(),
            reason: "at least one member URL is needed",
        });
    }
    let dir = profile_dir(name);
    Ok(vec![
        (
            format!("{dir}boot.ipxe"),
            ipxe_script(name, config, &members).into_bytes(),
        ),
        (
            format!("{dir}grub.cfg"),
            grub_cfg(name, config, &members).into_bytes(),
        ),
    ])
}

/// The kernel command line used when booting from `member`.
fn command_line(name: &str, config: &ProfileConfig, member: &str, members: &[&str]) -> String {
    let profile_url = format!("{member}/{}", profile_dir(name).trim_end_matches('/'));
    let mut args: Vec<String> = config
        .kernelargs
        .split_whitespace()
        .map(|a| {
            a.replace("{deployer}", member)
                .replace("{profile}", &profile_url)
        })
        .collect();
    args.push(format!("cohort.deployer={member}"));
    args.push(format!("cohort.members={}", members.join(",")));
    args.push(format!("cohort.profile={name}"));
    args.join(" ")
}

fn ipxe_script(name: &str, config: &ProfileConfig, members: &[&str]) -> String {
    let mut s = String::new();
    s.push_str("#!ipxe\n");
    s.push_str(&format!(
        "# Generated by cohort from {dir}profile.yaml; `cohort osdeploy updateboot {name}` rewrites it.\n\
         # Each member is tried in turn: a member that is down or lacks a file sends the\n\
         # boot on to the next one.\n",
        dir = profile_dir(name)
    ));
    s.push_str(&format!(
        "echo cohort: booting profile {name} ({} members)\n",
        members.len()
    ));
    let count = members.len();
    for (i, member) in members.iter().enumerate() {
        let next = if i + 1 < count {
            format!("member{}", i + 2)
        } else {
            "failed".to_string()
        };
        let initrd_names: Vec<String> = (1..=config.initramfs.len())
            .map(|n| format!("initrd{n}"))
            .collect();
        // The EFI stub finds each initrd by its iPXE image name.
        let efi_args: String = initrd_names
            .iter()
            .map(|n| format!(" initrd={n}"))
            .collect();
        s.push_str(&format!(":member{}\n", i + 1));
        s.push_str(&format!(
            "echo cohort: trying member {} of {count}: {member}\n",
            i + 1
        ));
        // Drops a kernel (or initrds) a failed attempt had already fetched,
        // which iPXE would otherwise hand to the next kernel as initrds.
        s.push_str("imgfree\n");
        s.push_str(&format!(
            "kernel --name kernel {member}/{}{efi_args} {} || goto {next}\n",
            config.kernel,
            command_line(name, config, member, members)
        ));
        for (path, image) in config.initramfs.iter().zip(&initrd_names) {
            s.push_str(&format!(
                "initrd --name {image} {member}/{path} || goto {next}\n"
            ));
        }
        s.push_str(&format!("boot || goto {next}\n"));
    }
    s.push_str(":failed\n");
    s.push_str(&format!(
        "echo cohort: no member could boot profile {name}; tried {}\n",
        members.join(" ")
    ));
    s.push_str(&format!(
        "echo cohort: check that a member is up and serves {}\n",
        profile_dir(name)
    ));
    s.push_str("shell\n");
    s
}

fn grub_cfg(name: &str, config: &ProfileConfig, members: &[&str]) -> String {
    let mut s = format!(
        "# Generated by cohort from {dir}profile.yaml; `cohort osdeploy updateboot {name}` rewrites it.\n\
         # One entry per member reachable over plain HTTP (GRUB has no TLS); `fallback`\n\
         # moves on to the next entry when one fails to boot.\n",
        dir = profile_dir(name)
    );
    let plain: Vec<&str> = members
        .iter()
        .copied()
        .filter(|m| m.starts_with("http://"))
        .collect();
    for m in members.iter().filter(|m| !m.starts_with("http://")) {
        s.push_str(&format!("# {m} skipped: GRUB cannot fetch over HTTPS\n"));
    }
    s.push_str("set timeout=0\nset default=0\n");
    if plain.len() > 1 {
        let rest: Vec<String> = (1..plain.len()).map(|i| i.to_string()).collect();
        s.push_str(&format!("set fallback=\"{}\"\n", rest.join(" ")));
    }
    for member in &plain {
        let host = member.trim_start_matches("http://");
        let args: Vec<String> = command_line(name, config, member, members)
            .split(' ')
            .map(grub_quote)
            .collect();
        s.push_str(&format!("menuentry 'cohort {name} via {member}' {{\n"));
        s.push_str(&format!(
            "    echo 'cohort: loading profile {name} from {member}'\n"
        ));
        s.push_str(&format!(
            "    linux (http,{host})/{} {}\n",
            config.kernel,
            args.join(" ")
        ));
        if !config.initramfs.is_empty() {
            let initrds: Vec<String> = config
                .initramfs
                .iter()
                .map(|p| format!("(http,{host})/{p}"))
                .collect();
            s.push_str(&format!("    initrd {}\n", initrds.join(" ")));
        }
        s.push_str("}\n");
    }
    if plain.is_empty() {
        s.push_str(&format!(
            "echo 'cohort: profile {name} has no plain-HTTP member to boot from; enable a member HTTP listener'\n\
             sleep 60\n"
        ));
    }
    s
}

/// GRUB treats `;&|<>$"'\{}` and blanks specially; single quotes protect
/// everything but a quote, which is closed, escaped and reopened.
fn grub_quote(arg: &str) -> String {
    if arg
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.,:/=+@%".contains(&b))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A member base URL: `http(s)://host[:port]`, no path, no trailing slash.
fn check_member(url: &str) -> Result<&str, ProfileError> {
    let bad = |reason| {
        Err(ProfileError::Member {
            url: url.into(),
            reason,
        })
    };
    let trimmed = url.trim_end_matches('/');
    let Some(rest) = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
    else {
        return bad("must start with http:// or https://");
    };
    if rest.is_empty() || rest.contains('/') {
        return bad("must be scheme://host[:port] with no path");
    }
    if !rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    {
        return bad("the host may only hold letters, digits and `.-:[]`");
    }
    Ok(trimmed)
}

/// A kernel or initramfs path to a tree path, refusing what could escape
/// the tree or break a boot script line.
fn resolve(name: &str, path: &str) -> Result<String, String> {
    let tree = match path.strip_prefix('/') {
        Some(abs) => abs.to_string(),
        None => format!("{}{path}", profile_dir(name)),
    };
    if path.is_empty() {
        return Err("is empty".into());
    }
    if !tree.starts_with("public/") {
        return Err(format!(
            "{path:?} is outside public/ (nodes fetch boot files unauthenticated)"
        ));
    }
    for part in tree.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(format!("{path:?} has an empty, `.` or `..` component"));
        }
        if !part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+~@,=".contains(&b))
        {
            return Err(format!(
                "{path:?}: path components may only hold letters, digits and `._-+~@,=`"
            ));
        }
    }
    Ok(tree)
}

/// Kernel arguments end up in iPXE and GRUB script lines: printable ASCII,
/// no iPXE `${...}` expansion, no script operators, known placeholders only.
fn check_args(args: &str) -> Result<(), String> {
    if let Some(c) = args
        .chars()
        .find(|c| !(c.is_ascii_graphic() || *c == ' ' || *c == '\t'))
    {
        return Err(format!(
            "character {c:?} is not allowed (printable ASCII only)"
        ));
    }
    if args.contains("${") {
        return Err("`${` is not allowed (iPXE would expand it)".into());
    }
    for arg in args.split_whitespace() {
        if arg == "||" || arg == "&&" {
            return Err(format!("{arg:?} is not a kernel argument"));
        }
        let unknown = arg.replace("{deployer}", "").replace("{profile}", "");
        if unknown.contains(['{', '}']) {
            return Err(format!(
                "{arg:?}: the only placeholders are {{deployer}} and {{profile}}"
            ));
        }
    }
    Ok(())
}

/// YAML double-quoted scalar (for values cohort writes into profile.yaml).
pub fn yaml_quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
