//! Folders in a snapshot, so an empty folder (an upload target, a `logs/` the app expects) and a
//! folder's permission bits survive a restore. Every folder sync walks is an entry of its own
//! with the mode `S_IFDIR | permissions` and no content: it references no blob, its size and
//! time are zero (a folder's mtime moves with every file added to it, which is not a change of
//! the folder).
//!
//! Restoring makes folders before the files in them and gives them their modes last, deepest
//! first, so a read-only folder does not stop its own files from being written.

use std::os::unix::fs::MetadataExt;

/// The type bits of a folder entry (`S_IFDIR`).
const DIR_TYPE: u32 = 0o040000;

pub fn is_dir(mode: u32) -> bool {
    mode & 0o170000 == DIR_TYPE
}

/// The entry mode for a folder with permission bits `perm`.
pub fn dir_mode(perm: u32) -> u32 {
    DIR_TYPE | (perm & 0o7777)
}

/// The hash a folder entry carries: that of no content (never fetched: a folder has no blob).
pub fn empty_hash() -> [u8; 32] {
    *blake3::hash(b"").as_bytes()
}

/// What the manifest records for the folder with metadata `m`.
pub fn state(m: &std::fs::Metadata) -> super::FileState {
    super::FileState { size: 0, mtime_ns: 0, inode: m.ino(), blake3: empty_hash(), mode: dir_mode(m.mode()) }
}

/// Folder entries ordered for giving them their modes: deepest first.
pub fn deepest_first<T>(mut dirs: Vec<(&[u8], T)>) -> Vec<(&[u8], T)> {
    dirs.sort_by(|a, b| {
        let depth = |p: &[u8]| p.iter().filter(|c| **c == b'/').count();
        depth(b.0).cmp(&depth(a.0)).then(b.0.cmp(a.0))
    });
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_order() {
        assert!(is_dir(dir_mode(0o755)) && !is_dir(0o644) && !is_dir(super::super::links::LINK_MODE));
        assert_eq!(dir_mode(0o40755), 0o40755);
        let order: Vec<&[u8]> =
            deepest_first(vec![(&b"a"[..], ()), (&b"a/b/c"[..], ()), (&b"a/b"[..], ()), (&b"z"[..], ())])
                .into_iter()
                .map(|d| d.0)
                .collect();
        assert_eq!(order, vec![&b"a/b/c"[..], &b"a/b"[..], &b"z"[..], &b"a"[..]]);
    }
}
