//! Live changes from disk: a debounced `notify` watcher over the project, reduced to the folders
//! whose listing changed and the paths that changed.
//!
//! Only folders the ignore rules keep are watched (one non-recursive watch each), so
//! `node_modules` or `target` neither eat inotify watches nor flood the UI. The watches are added
//! by a background thread, first by walking the project, then for every new folder that appears;
//! opening a project never waits for that walk.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Weak};
use std::time::Duration;

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use parking_lot::Mutex;
use serde::Serialize;
use ts_rs::TS;

use super::{ignore_rules, WorkspaceError};
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

type Inner = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

/// Keeps the watch alive; dropping it stops watching.
pub struct ProjectWatcher {
    debouncer: Arc<Mutex<Option<Inner>>>,
}

impl Drop for ProjectWatcher {
    fn drop(&mut self) {
        // Dropping the debouncer drops its handler and with it the sender the setup thread
        // waits on, so that thread ends too.
        self.debouncer.lock().take();
    }
}

impl ProjectWatcher {
    /// Starts watching and calls `on_change` with each settled batch (from the watcher's own
    /// thread). `.git` internals and Aura's temporary save files are left out.
    pub fn start(root: &ProjectRoot, on_change: impl FnMut(FsChange) + Send + 'static) -> Result<Self, WorkspaceError> {
        let (new_dirs, new_dirs_rx) = channel::<PathBuf>();
        let handler = on_events(root.clone(), new_dirs, on_change);
        let debouncer = new_debouncer(DEBOUNCE, None, handler).map_err(|e| watch_error(root, e))?;
        let shared = Arc::new(Mutex::new(Some(debouncer)));
        // The root is watched before returning, so changes at the top level are never missed.
        if let Some(d) = shared.lock().as_mut() {
            d.watch(root.path(), RecursiveMode::NonRecursive).map_err(|e| watch_error(root, e))?;
        }
        let (weak, r) = (Arc::downgrade(&shared), root.clone());
        std::thread::Builder::new()
            .name("watch-setup".into())
            .spawn(move || add_folders(weak, r, new_dirs_rx))
            .map_err(|e| WorkspaceError::Io {
                action: "watch",
                path: root.path().display().to_string(),
                message: e.to_string(),
            })?;
        Ok(Self { debouncer: shared })
    }
}

/// The debouncer's handler: new folders go to the setup thread (to be watched), the rest of a
/// settled batch to `on_change`.
fn on_events(
    root: ProjectRoot,
    new_dirs: Sender<PathBuf>,
    mut on_change: impl FnMut(FsChange) + Send + 'static,
) -> impl FnMut(DebounceEventResult) + Send + 'static {
    move |res: DebounceEventResult| {
        let events = match res {
            Ok(events) => events,
            Err(errors) => {
                for e in errors {
                    tracing::warn!(error = %e, "file watcher error");
                }
                return;
            }
        };
        for e in &events {
            if matches!(e.kind, EventKind::Create(_) | EventKind::Modify(notify::event::ModifyKind::Name(_))) {
                for p in e.paths.iter().filter(|p| p.is_dir()) {
                    let _ = new_dirs.send(p.clone());
                }
            }
        }
        // Reads are not changes (and sync reading a file must not look like one, or hashing a
        // saved file would report it again, for ever).
        let change = reduce(
            &root,
            events.iter().filter(|e| !matches!(e.kind, EventKind::Access(_))).flat_map(|e| e.paths.iter()),
        );
        if !change.paths.is_empty() {
            on_change(change);
        }
    }
}

/// Adds a watch for every folder of the project the ignore rules keep, then for the ignored
/// ones that hold files Git tracks, then for each new folder as it appears. Runs on its own
/// thread; ends when the watcher is dropped.
fn add_folders(shared: Weak<Mutex<Option<Inner>>>, root: ProjectRoot, new_dirs: Receiver<PathBuf>) {
    let mut warned = false;
    let mut watch = |dir: &std::path::Path| {
        let Some(shared) = shared.upgrade() else { return false };
        let mut guard = shared.lock();
        let Some(deb) = guard.as_mut() else { return false };
        if let Err(e) = deb.watch(dir, RecursiveMode::NonRecursive) {
            if !warned {
                tracing::warn!(error = %e, dir = %dir.display(), "cannot watch all folders; live updates are partial (raise fs.inotify.max_user_watches)");
                warned = true;
            }
        }
        true
    };
    let add_tree = |dir: PathBuf, watch: &mut dyn FnMut(&std::path::Path) -> bool| {
        let rel = root.relative(&dir).unwrap_or_default();
        if !rel.is_empty() && ignore_rules::is_ignored(root.path(), &rel, true) {
            return true;
        }
        let dirs = ignore_rules::walker(&dir)
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| t.is_dir()));
        for d in dirs {
            if !watch(d.path()) {
                return false;
            }
        }
        true
    };
    if !add_tree(root.path().to_path_buf(), &mut watch) {
        return;
    }
    // Folders the ignore rules leave out but that hold files Git tracks (sync carries those).
    let tracked = super::tracked::tracked(root.path());
    let folders: BTreeSet<&[u8]> =
        tracked.under(b"").filter_map(|p| p.iter().rposition(|b| *b == b'/').map(|i| &p[..i])).collect();
    for f in folders {
        let f = std::str::from_utf8(f).unwrap_or_default();
        if !f.is_empty() && ignore_rules::is_ignored(root.path(), f, true) && !watch(&root.path().join(f)) {
            return;
        }
    }
    while let Ok(dir) = new_dirs.recv() {
        if !add_tree(dir, &mut watch) {
            return;
        }
    }
}

fn watch_error(root: &ProjectRoot, e: notify::Error) -> WorkspaceError {
    WorkspaceError::Io {
        action: "watch",
        path: root.path().display().to_string(),
        message: format!("{e}; live updates are off (on Linux, raising fs.inotify.max_user_watches helps)"),
    }
}

/// Reduces raw event paths to a deduplicated change set.
pub fn reduce<'a>(root: &ProjectRoot, paths: impl Iterator<Item = &'a PathBuf>) -> FsChange {
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
