//! Lazy file tree: one folder at a time, so opening a 100k-file project costs one `read_dir`.

use std::collections::HashSet;
use std::ffi::OsString;

use serde::Serialize;
use ts_rs::TS;

use super::{ignore_rules, WorkspaceError};
use crate::paths::ProjectRoot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One row of the file tree.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct DirEntry {
    pub name: String,
    /// Project-relative path with `/` separators.
    pub path: String,
    pub kind: EntryKind,
    /// True when the target of a symlink is a folder (so the tree can expand it).
    pub is_dir: bool,
    /// Matched by `.gitignore` / `.auraignore`: shown dimmed, never synced.
    pub ignored: bool,
    #[ts(type = "number")]
    pub size: u64,
}

/// Lists one folder: folders first, then files, each in case-insensitive name order.
/// `.git` is hidden, and so are a running sandbox's placeholders (see [`crate::host_run`]);
/// ignored entries are included and flagged.
pub fn list_dir(root: &ProjectRoot, rel: &str) -> Result<Vec<DirEntry>, WorkspaceError> {
    let dir = root.resolve(rel)?;
    let meta = std::fs::metadata(&dir).map_err(|e| WorkspaceError::io("list", rel, e))?;
    if !meta.is_dir() {
        return Err(WorkspaceError::NotADirectory(rel.to_string()));
    }
    // Inside an ignored folder everything is ignored; otherwise ask a one-level walk (which reads
    // the ignore files of parent folders too) which names the rules keep.
    let dir_ignored = !rel.is_empty() && ignore_rules::is_ignored(root.path(), rel, true);
    let kept: HashSet<OsString> = if dir_ignored {
        HashSet::new()
    } else {
        ignore_rules::walker(&dir)
            .max_depth(Some(1))
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.depth() == 1)
            .map(|e| e.file_name().to_os_string())
            .collect()
    };

    let prefix = root.relative(&dir).unwrap_or_default();
    // Listed through the root capability: a folder swapped for a link after the check above
    // fails the listing instead of showing what is outside the project.
    let cap = root.dir()?;
    let rel_path = root.rel_path(rel)?;
    let listing = cap.read_dir(&rel_path).map_err(|e| match crate::paths::escaped(rel, &e) {
        Some(p) => WorkspaceError::Path(p),
        None => WorkspaceError::io("list", rel, e),
    })?;
    let mut out = Vec::new();
    for item in listing {
        let Ok(item) = item else { continue };
        let name_os = item.file_name();
        if name_os == ".git" || crate::host_run::is_placeholder(&dir.join(&name_os)) {
            continue;
        }
        let Ok(ft) = item.file_type() else { continue };
        let name = name_os.to_string_lossy().into_owned();
        let (kind, is_dir, size) = if ft.is_symlink() {
            let target = cap.metadata(rel_path.join(&name_os)).ok();
            (EntryKind::Symlink, target.as_ref().is_some_and(|m| m.is_dir()), 0)
        } else if ft.is_dir() {
            (EntryKind::Dir, true, 0)
        } else {
            (EntryKind::File, false, item.metadata().map(|m| m.len()).unwrap_or(0))
        };
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        out.push(DirEntry { ignored: !kept.contains(&name_os), name, path, kind, is_dir, size });
    }
    out.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}

/// One folder's rows, as the tree shows them.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Listing {
    /// Project-relative folder ("" for the root).
    pub dir: String,
    pub entries: Vec<DirEntry>,
}

/// The root and every folder of `expanded` (a saved session) still shown as one: listed at once,
/// parents first, so a reopened project's tree is drawn without a call per folder. A folder that
/// is gone, or cannot be listed, is left out (the tree asks for it again and says why).
pub fn list_session(root: &ProjectRoot, expanded: &[String]) -> Vec<Listing> {
    let mut out: Vec<Listing> = Vec::new();
    let Ok(entries) = list_dir(root, "") else { return out };
    out.push(Listing { dir: String::new(), entries });
    let mut dirs: Vec<&String> = expanded.iter().filter(|d| !d.is_empty()).collect();
    // Sorted by depth: a folder's parent is listed before it.
    dirs.sort_by_key(|d| (d.matches('/').count(), d.as_str()));
    dirs.dedup();
    for dir in dirs {
        let parent = dir.rsplit_once('/').map_or("", |(p, _)| p);
        let shown = out.iter().any(|l| l.dir == parent && l.entries.iter().any(|e| e.is_dir && &e.path == dir));
        if shown {
            if let Ok(entries) = list_dir(root, dir) {
                out.push(Listing { dir: dir.clone(), entries });
            }
        }
    }
    out
}
