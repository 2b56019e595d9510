//! Symbolic links in a snapshot, stored the way Git stores them: the link's target text is its
//! content (a blob like any other) and the mode `0o120777` marks the entry as a link. A link is
//! never followed to read what it points at; only links whose target stays inside the project
//! are kept. The others are skipped, with the reason, in the scan and the push report.

use crate::paths::rel_bytes;

/// The mode of a link entry (`S_IFLNK | 0o777`, as Git writes it).
pub const LINK_MODE: u32 = 0o120777;

pub fn is_link(mode: u32) -> bool {
    mode & 0o170000 == 0o120000
}

/// Why the link at `link_rel` with target text `target` is left out of a snapshot, or `None`
/// when the target stays inside the project (read as written, relative to the link's folder;
/// it may be dangling or part of a loop: it is restored as the same text).
pub fn skip_reason(link_rel: &[u8], target: &[u8]) -> Option<&'static str> {
    if target.is_empty() {
        return Some("an empty symbolic link");
    }
    if target.starts_with(b"/") {
        return Some(
            "a symbolic link to an absolute path (it would name something else on another machine); not followed",
        );
    }
    let mut depth = link_rel.split(|b| *b == b'/').filter(|p| !p.is_empty()).count() as i64 - 1;
    for part in target.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return Some("a symbolic link that points outside the project; not followed");
                }
            }
            _ => depth += 1,
        }
    }
    None
}

/// Reads the target text of the link at project-relative `rel` through the root capability.
pub fn read_target(dir: &cap_std::fs::Dir, rel: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    Ok(dir.read_link_contents(rel_bytes(rel))?.into_os_string().into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_absolute() {
        assert_eq!(skip_reason(b"AGENTS.md", b"CLAUDE.md"), None);
        assert_eq!(skip_reason(b"a/b/link", b"../../top.txt"), None);
        assert_eq!(skip_reason(b"a/link", b"./x/../y"), None);
        assert_eq!(skip_reason(b"a/link", b"missing"), None, "dangling inside: kept as written");
        assert!(skip_reason(b"a/b/link", b"../../../LICENSE").unwrap().contains("outside"));
        assert!(skip_reason(b"link", b"..").unwrap().contains("outside"));
        assert!(skip_reason(b"a/link", b"x/../../..").unwrap().contains("outside"));
        assert!(skip_reason(b"link", b"/etc/passwd").unwrap().contains("absolute"));
        assert!(skip_reason(b"link", b"").is_some());
        assert!(is_link(LINK_MODE) && !is_link(0o755));
    }
}
