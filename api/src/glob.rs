//! Shell-style globs (`*`, `?`) over attribute names and enumeration values.
//!
//! Only two metacharacters: attribute names never contain `[`, and the
//! enumerations of the catalog (confluent's `validvalues`) only use `*`.
//! Matching is iterative with one backtrack point, so it is linear-ish and
//! cannot blow up on hostile patterns the way a naive recursive matcher can.

/// `true` if `pattern` contains a glob metacharacter.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Matches `text` against `pattern` in full.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("net.*switch", "net.mgt.switch", true),
            ("net.*switch", "net.switch", true),
            ("net.*switch", "net_switch", false),
            ("net*switch", "net.switch", true),
            ("net.*switch", "net.mgt.switchport", false),
            ("lom_*", "lom_1", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("**a**", "bab", true),
        ] {
            assert_eq!(glob_match(p, t), want, "{p} ~ {t}");
        }
        assert!(is_glob("net.*") && !is_glob("net.switch"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let p = "*a*a*a*a*a*a*a*a*b";
        let t = "a".repeat(5000);
        assert!(!glob_match(p, &t));
    }
}
