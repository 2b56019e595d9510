//! Live changes from disk: a debounced `notify` watcher over the project, reduced to the folders
//! whose listing changed and the files whose content may have changed.

use std::collections::BTreeSet;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use serde::Serialize;
use ts_rs::TS;

use super::WorkspaceError;
use crate::paths::ProjectRoot;

/// How long the watcher waits for a burst of events to settle.
pub const DEBOUNCE: Duration = Duration::from_millis(120);

/// One settled batch of changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FsChange {
    /// Folders (project-relative, `""` for the root) whose entries changed.
    pub dirs: Vec<String>,
    /// Paths that were created, modified, renamed or removed.
    pub paths: Vec<String>,
}

/// Keeps the watch alive; dropping it stops watching.
pub struct ProjectWatcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

impl ProjectWatcher {
    /// Watches the whole project and calls `on_change` with each settled batch (from the
    /// watcher's own thread). `.git` internals and Aura's temporary save files are left out.
    pub fn start(
        root: &ProjectRoot,
        mut on_change: impl FnMut(FsChange) + Send + 'static,
    ) -> Result<Self, WorkspaceError> {
        let r = root.clone();
        let mut debouncer = new_debouncer(DEBOUNCE, None, move |res: DebounceEventResult| {
            let events = match res {
                Ok(events) => events,
                Err(errors) => {
                    for e in errors {
                        tracing::warn!(error = %e, "file watcher error");
                    }
                    return;
                }
            };
            let change = reduce(&r, events.iter().flat_map(|e| e.paths.iter()));
            if !change.paths.is_empty() {
                on_change(change);
            }
        })
        .map_err(|e| watch_error(root, e))?;
        debouncer.watch(root.path(), RecursiveMode::Recursive).map_err(|e| watch_error(root, e))?;
        Ok(Self { _debouncer: debouncer })
    }
}

fn watch_error(root: &ProjectRoot, e: notify::Error) -> WorkspaceError {
    WorkspaceError::Io {
        action: "watch",
        path: root.path().display().to_string(),
        message: format!(
            "{e}; live updates are off (on Linux, raising fs.inotify.max_user_watches helps)"
        ),
    }
}

/// Reduces raw event paths to a deduplicated change set.
pub fn reduce<'a>(root: &ProjectRoot, paths: impl Iterator<Item = &'a std::path::PathBuf>) -> FsChange {
    let mut dirs = BTreeSet::new();
    let mut files = BTreeSet::new();
    for p in paths {
        let Some(rel) = root.relative(p) else { continue };
        if rel.is_empty() || rel.split('/').any(|c| c == ".git") {
            continue;
        }
        if rel.rsplit('/').next().is_some_and(|n| n.starts_with(".aura-save-")) {
            continue;
        }
        let parent = rel.rfind('/').map(|i| rel[..i].to_string()).unwrap_or_default();
        dirs.insert(parent);
        files.insert(rel);
    }
    FsChange { dirs: dirs.into_iter().collect(), paths: files.into_iter().collect() }
}
