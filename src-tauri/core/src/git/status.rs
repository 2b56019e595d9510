//! What changed in the project's repository: staged (HEAD → index) and unstaged (index → work
//! tree, untracked files included), per file, with the branch; and HEAD's text of a file.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{read, GitError};
use super::repo;
use crate::paths::ProjectRoot;

/// How a file differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ChangeKind {
    Modified,
    Added,
    Deleted,
    Renamed,
    Copied,
    TypeChanged,
    Untracked,
    Conflicted,
}

/// One file with changes: against HEAD in the index (`staged`), and in the work tree against
/// the index (`unstaged`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct FileChange {
    pub path: String,
    pub staged: Option<ChangeKind>,
    pub unstaged: Option<ChangeKind>,
    /// Where a renamed or copied file came from.
    pub from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct GitStatus {
    /// The current branch; `None` when HEAD is detached.
    pub branch: Option<String>,
    /// HEAD's commit, abbreviated; `None` before the first commit.
    pub head: Option<String>,
    pub files: Vec<FileChange>,
    /// More files changed than are listed (see [`MAX_FILES`]).
    pub truncated: bool,
}

/// Files listed at most: a status of a huge change (a vendored tree added) stays small.
pub const MAX_FILES: usize = 5000;

/// A file (executable or not), a link or a submodule: a change between them is a type change.
fn class(m: &gix::index::entry::Mode) -> u8 {
    use gix::index::entry::Mode;
    match *m {
        Mode::SYMLINK => 1,
        Mode::COMMIT => 2,
        _ => 0,
    }
}

fn text(p: &gix::bstr::BStr) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// The repository's status; [`GitError::NotARepository`] for a project without one.
pub fn status(root: &ProjectRoot) -> Result<GitStatus, GitError> {
    let repo = repo::open(root)?;
    let branch = repo.head_name().ok().flatten().map(|n| n.shorten().to_string());
    let head = repo.head_id().ok().map(|id| id.to_hex_with_len(7).to_string());
    let iter = repo
        .status(gix::progress::Discard)
        .map_err(read)?
        .untracked_files(gix::status::UntrackedFiles::Files)
        .into_iter(None)
        .map_err(read)?;
    let mut files: BTreeMap<String, FileChange> = BTreeMap::new();
    fn entry(files: &mut BTreeMap<String, FileChange>, path: String) -> &mut FileChange {
        files.entry(path.clone()).or_insert(FileChange { path, staged: None, unstaged: None, from: None })
    }
    for item in iter {
        match item.map_err(read)? {
            gix::status::Item::TreeIndex(change) => {
                use gix::diff::index::ChangeRef;
                let (path, kind, from) = match &change {
                    ChangeRef::Addition { location, .. } => (text(location), ChangeKind::Added, None),
                    ChangeRef::Deletion { location, .. } => (text(location), ChangeKind::Deleted, None),
                    ChangeRef::Modification { location, previous_entry_mode, entry_mode, .. } => {
                        let kind = if class(previous_entry_mode) == class(entry_mode) {
                            ChangeKind::Modified
                        } else {
                            ChangeKind::TypeChanged
                        };
                        (text(location), kind, None)
                    }
                    ChangeRef::Rewrite { source_location, location, copy, .. } => {
                        let kind = if *copy { ChangeKind::Copied } else { ChangeKind::Renamed };
                        (text(location), kind, Some(text(source_location)))
                    }
                };
                let e = entry(&mut files, path);
                e.staged = Some(kind);
                if from.is_some() {
                    e.from = from;
                }
            }
            gix::status::Item::IndexWorktree(item) => {
                use gix::status::index_worktree::iter::Summary;
                let Some(summary) = item.summary() else { continue };
                let kind = match summary {
                    Summary::Removed => ChangeKind::Deleted,
                    Summary::Added => ChangeKind::Untracked,
                    Summary::Modified => ChangeKind::Modified,
                    Summary::TypeChange => ChangeKind::TypeChanged,
                    Summary::Renamed => ChangeKind::Renamed,
                    Summary::Copied => ChangeKind::Copied,
                    Summary::IntentToAdd => ChangeKind::Added,
                    Summary::Conflict => ChangeKind::Conflicted,
                };
                entry(&mut files, text(item.rela_path())).unstaged = Some(kind);
            }
        }
    }
    let truncated = files.len() > MAX_FILES;
    Ok(GitStatus { branch, head, files: files.into_values().take(MAX_FILES).collect(), truncated })
}

/// HEAD's version of `path` (project-relative) as text; `None` when HEAD has no such file (or
/// there is no commit yet). A binary file is refused.
pub fn head_text(root: &ProjectRoot, path: &str) -> Result<Option<String>, GitError> {
    root.resolve(path).map_err(|e| GitError::Refused(e.to_string()))?;
    let repo = repo::open(root)?;
    let Ok(commit) = repo.head_commit() else { return Ok(None) };
    let tree = commit.tree().map_err(read)?;
    let Some(entry) = tree.lookup_entry_by_path(path).map_err(read)? else { return Ok(None) };
    if !entry.mode().is_blob() {
        return Ok(None);
    }
    let blob = entry.object().map_err(read)?;
    if blob.data.contains(&0) {
        return Err(GitError::Refused(format!("'{path}' is a binary file in HEAD")));
    }
    Ok(Some(String::from_utf8_lossy(&blob.data).into_owned()))
}
