//! Rules for paths of the synchronized tree, shared by the state (which
//! refuses a bad path before anything changes) and by every member that
//! turns a path into a file name under `<data>/tree/` (which must never
//! leave that directory, whatever the log says).

/// Longest tree path, in bytes (Linux's `PATH_MAX` less room for the data
/// directory in front of it).
pub const MAX_TREE_PATH: usize = 3072;
/// Longest path component, in bytes (Linux's `NAME_MAX`).
const MAX_COMPONENT: usize = 255;

/// Checks a tree path: relative, `public/...` or `private/...`, at least
/// one component after that, no empty, `.` or `..` component, no NUL,
/// no backslash (so no second reading of the path can differ), within the
/// length limits. The error says what is wrong and how a good path looks.
pub fn validate_tree_path(path: &str) -> Result<(), String> {
    let hint = "tree paths look like public/os/rocky9/boot.ipxe or private/os/rocky9/kickstart";
    if path.len() > MAX_TREE_PATH {
        return Err(format!(
            "tree path is {} bytes long, more than the {MAX_TREE_PATH} allowed",
            path.len()
        ));
    }
    if path.contains('\0') {
        return Err("tree path contains a NUL byte".to_owned());
    }
    if path.contains('\\') {
        return Err(format!(
            "tree path \"{path}\" contains a backslash; separate components with /"
        ));
    }
    if path.starts_with('/') {
        return Err(format!(
            "tree path \"{path}\" is absolute; give it relative to the tree root ({hint})"
        ));
    }
    let mut parts = path.split('/');
    match parts.next() {
        Some("public" | "private") => {}
        _ => {
            return Err(format!(
                "tree path \"{path}\" is outside public/ and private/ ({hint})"
            ));
        }
    }
    let mut count = 0;
    for part in parts {
        count += 1;
        match part {
            "" => {
                return Err(format!(
                    "tree path \"{path}\" has an empty component (// or a trailing /)"
                ));
            }
            "." | ".." => {
                return Err(format!(
                    "tree path \"{path}\" has a \"{part}\" component; give the path without it"
                ));
            }
            _ if part.len() > MAX_COMPONENT => {
                return Err(format!(
                    "tree path \"{path}\" has a component longer than {MAX_COMPONENT} bytes"
                ));
            }
            _ => {}
        }
    }
    if count == 0 {
        return Err(format!(
            "tree path \"{path}\" names the top directory itself, not a file under it ({hint})"
        ));
    }
    Ok(())
}

/// Where a relative symlink at `link` pointing at `target` lands, as a tree
/// path, or `None` if it climbs out of the link's half of the tree
/// (`public/` or `private/`) or is absolute.
pub(crate) fn resolve_symlink(link: &str, target: &str) -> Option<String> {
    if target.is_empty() || target.starts_with('/') || target.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop(); // the link's own name
    let top = parts.first().copied()?;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
                // Climbing to the tree root or above leaves the half.
                if parts.is_empty() {
                    return None;
                }
            }
            other => parts.push(other),
        }
    }
    (parts.first() == Some(&top)).then(|| parts.join("/"))
}
