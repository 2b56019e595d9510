//! The set of paths sync carries: what a snapshot holds, a remote sandbox receives and an agent's
//! undo point keeps — the same rules everywhere.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::paths::ProjectRoot;
use crate::workspace::ignore_rules;

/// Every path sync carries under the project (folders, files, links; files Git tracks even
/// where the ignore rules leave them out), sorted: parents before children.
pub(crate) fn carried_paths(root: &ProjectRoot, under: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out: BTreeSet<Vec<u8>> = ignore_rules::sync_walker(root.path(), under)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file() || t.is_dir() || t.is_symlink()))
        .filter_map(|e| Some(e.path().strip_prefix(root.path()).ok()?.as_os_str().as_bytes().to_vec()))
        .filter(|r| !r.is_empty())
        .collect();
    if let Ok(dir) = under.strip_prefix(root.path()) {
        let tracked = crate::workspace::tracked::tracked(root.path());
        out.extend(
            tracked
                .under(dir.as_os_str().as_bytes())
                .filter(|r| std::fs::symlink_metadata(root.path().join(OsStr::from_bytes(r))).is_ok())
                .cloned(),
        );
    }
    out.into_iter().collect()
}
