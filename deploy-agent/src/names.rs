//! Checks on the names the server sends before they reach a file.
//!
//! Everything in `DeployConfig` comes from a member, and ends up in file
//! names (`<ifname>.nmconnection`), symlink targets (the time zone) or
//! line-oriented files where a newline or a `:` would add a line or a
//! field. So every name is checked against the narrow alphabet it needs,
//! and a refusal names the attribute an admin would fix.

/// A name from the server does not fit where it goes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not valid: {why}")]
pub struct BadName {
    /// The attribute it came from, e.g. `net.eth0.interface_names`.
    pub what: String,
    pub value: String,
    pub why: &'static str,
}

fn bad(what: &str, value: &str, why: &'static str) -> BadName {
    BadName {
        what: what.to_owned(),
        value: value.to_owned(),
        why,
    }
}

/// A DNS name (host name, FQDN, search domain): labels of letters, digits
/// and `-`, separated by dots, at most 253 characters.
pub fn dns_name(what: &str, value: &str) -> Result<(), BadName> {
    if value.is_empty() || value.len() > 253 {
        return Err(bad(what, value, "expected 1 to 253 characters"));
    }
    let ok_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if value.trim_end_matches('.').split('.').all(ok_label) {
        Ok(())
    } else {
        Err(bad(
            what,
            value,
            "expected dot-separated labels of letters, digits and '-'",
        ))
    }
}

/// A Linux network interface name: 1 to 15 characters, no `/`, no blank,
/// not `.` or `..` (it also becomes a file name).
pub fn ifname(what: &str, value: &str) -> Result<(), BadName> {
    let chars_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if value.is_empty() || value.len() > 15 || !chars_ok || value == "." || value == ".." {
        return Err(bad(
            what,
            value,
            "expected 1 to 15 letters, digits, '-', '_', '.' or '@'",
        ));
    }
    Ok(())
}

/// A MAC address, returned lower case with colons.
pub fn mac(what: &str, value: &str) -> Result<String, BadName> {
    let norm = value.trim().to_ascii_lowercase().replace('-', ":");
    let parts: Vec<&str> = norm.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(norm)
    } else {
        Err(bad(
            what,
            value,
            "expected six hex pairs like aa:bb:cc:dd:ee:ff",
        ))
    }
}

/// An IANA time zone name such as `Europe/Paris` (it becomes the target of
/// `etc/localtime`, so no `..` and no leading `/`).
pub fn timezone(what: &str, value: &str) -> Result<(), BadName> {
    let chars_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    let parts_ok = value
        .split('/')
        .all(|p| !p.is_empty() && p != "." && p != "..");
    if chars_ok && parts_ok {
        Ok(())
    } else {
        Err(bad(what, value, "expected an IANA name like Europe/Paris"))
    }
}

/// One line of text with no control characters (keys, crypt hashes).
pub fn one_line(what: &str, value: &str) -> Result<(), BadName> {
    if value.trim().is_empty() || value.chars().any(char::is_control) {
        Err(bad(what, value, "expected one non-empty line"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: fn(&str, &str) -> Result<(), BadName>, value: &str, ok: bool) {
        assert_eq!(f("x", value).is_ok(), ok, "{value:?}");
    }

    #[test]
    fn names_accept_and_refuse() {
        for (f, value, ok) in [
            (
                dns_name as fn(&str, &str) -> Result<(), BadName>,
                "n1",
                true,
            ),
            (dns_name, "n1.example.com", true),
            (dns_name, "n1\nx", false),
            (dns_name, "-n1", false),
            (dns_name, "a..b", false),
            (ifname, "eth0", true),
            (ifname, "enp1s0f0.100", true),
            (ifname, "../x", false),
            (ifname, "..", false),
            (ifname, "averyveryverylongname", false),
            (timezone, "Europe/Paris", true),
            (timezone, "Etc/GMT+1", true),
            (timezone, "../../etc/shadow", false),
            (timezone, "/UTC", false),
            (one_line, "$6$a$b", true),
            (one_line, "a\nb", false),
        ] {
            check(f, value, ok);
        }
    }

    #[test]
    fn macs_normalise() {
        assert_eq!(mac("m", "AA-BB-cc-dd-ee-0F").unwrap(), "aa:bb:cc:dd:ee:0f");
        assert!(mac("m", "aa:bb:cc:dd:ee").is_err());
        assert!(mac("m", "aa:bb:cc:dd:ee:fg").is_err());
    }
}
