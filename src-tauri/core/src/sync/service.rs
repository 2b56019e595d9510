//! Sync for the open project, running in the background: saves and watcher events are
//! journaled (durably) and wake a worker that pushes passes to the bucket. When the bucket is
//! unreachable the worker backs off exponentially with jitter while the queue grows (its size is
//! in the status); a conflict stops pushing until the user picks a version.
//!
//! Headless: the app passes a callback that forwards each status to the window.

use std::collections::VecDeque;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::Notify;
use ts_rs::TS;

use super::bucket::{project_prefix, Bucket, S3Config, S3Store};
use super::engine::{self, Afterwards, CommitTo, ProjectSync, PushOptions, PushReport};
use super::error::SyncError;
use super::settings::BucketSettings;
use crate::paths::ProjectRoot;
use crate::secrets::{SecretName, Secrets};
use crate::store::{now_ms, Store};

/// What the status bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SyncState {
    /// Sync is not on for this project, or not set up (the message says which).
    Off,
    Syncing,
    Synced,
    /// Changes are queued (failing files, or a pass about to run).
    Pending,
    /// The bucket cannot be reached; changes queue up and go when it is back.
    Offline,
    /// Another machine moved the project on; nothing is pushed until the user picks.
    Conflict,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ConflictInfo {
    pub remote_snapshot: String,
    pub remote_machine: String,
    #[ts(type = "number")]
    pub remote_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncStatus {
    pub state: SyncState,
    /// Journal entries not in the bucket yet.
    #[ts(type = "number")]
    pub pending: u64,
    /// Of those, entries whose last try failed (see the sync panel).
    #[ts(type = "number")]
    pub failing: u64,
    pub message: Option<String>,
    pub snapshot: Option<String>,
    pub conflict: Option<ConflictInfo>,
    /// The project's key in the bucket.
    pub key: Option<String>,
    /// While a pass sends files: (files done, files in this pass).
    #[ts(type = "[number, number] | null")]
    pub progress: Option<(u64, u64)>,
}

impl SyncStatus {
    fn off(message: impl Into<String>) -> Self {
        Self {
            state: SyncState::Off,
            pending: 0,
            failing: 0,
            message: Some(message.into()),
            snapshot: None,
            conflict: None,
            key: None,
            progress: None,
        }
    }
}

/// What a line of the sync panel is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SyncEventKind {
    Upload,
    Delete,
    Snapshot,
    Error,
    Offline,
    Conflict,
    Restore,
    /// Not synced, with the reason (the panel's "Not synced" list).
    Skipped,
    /// Kept on this machine beside what a restore wrote.
    Kept,
    Gc,
}

/// One line of the sync panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncEvent {
    #[ts(type = "number")]
    pub at_ms: i64,
    pub kind: SyncEventKind,
    pub path: Option<String>,
    pub message: String,
}

/// A snapshot in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SnapshotInfo {
    pub id: String,
    #[ts(type = "number")]
    pub created_at_ms: i64,
    pub machine: String,
    pub files: u32,
    #[ts(type = "number")]
    pub bytes: u64,
    /// Local changes kept aside when another version was taken.
    pub side: bool,
    pub head: bool,
}

/// One version of a file in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileVersionInfo {
    pub snapshot: String,
    #[ts(type = "number")]
    pub created_at_ms: i64,
    pub machine: String,
    pub blake3: String,
    #[ts(type = "number")]
    pub size: u64,
}

const EVENTS_KEPT: usize = 300;
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const RESCAN_EVERY: Duration = Duration::from_secs(600);

/// Builds the bucket client for a project from the settings and the keychain.
pub fn make_target(store: &Store, secrets: &Secrets, key: &str) -> Result<(Bucket, PushOptions), SyncError> {
    let s = store.bucket_settings()?;
    target_for(&s, secrets, key)
}

fn target_for(s: &BucketSettings, secrets: &Secrets, key: &str) -> Result<(Bucket, PushOptions), SyncError> {
    if let Some(p) = s.problem() {
        return Err(SyncError::Invalid(p));
    }
    let get = |n: SecretName| secrets.get(n).map_err(|e| SyncError::Invalid(e.to_string()));
    let (Some(id), Some(secret)) = (get(SecretName::R2AccessKeyId)?, get(SecretName::R2SecretAccessKey)?) else {
        return Err(SyncError::Invalid(
            "add the bucket's access key id and secret (Settings → Sync; kept in the OS keychain)".into(),
        ));
    };
    let cfg = S3Config {
        endpoint: s.endpoint.trim().to_string(),
        bucket: s.bucket.trim().to_string(),
        region: if s.region.trim().is_empty() { "auto".into() } else { s.region.trim().to_string() },
        path_style: s.path_style,
        max_attempts: 3,
    };
    let opts = PushOptions {
        concurrency: s.concurrency as usize,
        max_file_size: s.max_file_mib as u64 * 1024 * 1024,
        ..PushOptions::default()
    };
    Ok((Bucket::new(Arc::new(S3Store::new(cfg, &id, &secret)), project_prefix(key)), opts))
}

/// The project being synced.
struct Active {
    project_id: i64,
    root: ProjectRoot,
    target: Bucket,
    opts: PushOptions,
    nudge: Notify,
    /// Passes and user actions (resolve, restore) never overlap.
    pass: tokio::sync::Mutex<()>,
    status: Mutex<SyncStatus>,
    events: Mutex<VecDeque<SyncEvent>>,
    stopped: AtomicBool,
    /// "Sync now": retry at once even while backing off.
    now: AtomicBool,
}

impl Active {
    fn sync<'a>(&'a self, store: &'a Store) -> ProjectSync<'a> {
        ProjectSync { root: &self.root, store, project_id: self.project_id, bucket: &self.target, opts: &self.opts }
    }
}

type StatusFn = Arc<dyn Fn(&SyncStatus) + Send + Sync>;

pub struct SyncService {
    store: Arc<Store>,
    secrets: Secrets,
    runtime: tokio::runtime::Handle,
    on_status: StatusFn,
    active: Mutex<Option<Arc<Active>>>,
    /// The project open in the window (sync may be off for it).
    open: Mutex<Option<(i64, ProjectRoot)>>,
}

fn lossy(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

impl SyncService {
    pub fn new(
        store: Arc<Store>,
        secrets: Secrets,
        runtime: tokio::runtime::Handle,
        on_status: impl Fn(&SyncStatus) + Send + Sync + 'static,
    ) -> Self {
        Self {
            store,
            secrets,
            runtime,
            on_status: Arc::new(on_status),
            active: Mutex::new(None),
            open: Mutex::new(None),
        }
    }

    /// The window opened a project: start syncing it if sync is on for it.
    pub fn open_project(&self, project_id: i64, root: ProjectRoot) {
        *self.open.lock() = Some((project_id, root));
        self.restart();
    }

    /// Stops the worker of the project that was open (its journal stays for next time).
    pub fn close(&self) {
        if let Some(a) = self.active.lock().take() {
            a.stopped.store(true, Ordering::SeqCst);
            a.nudge.notify_one();
        }
    }

    /// Stops the worker once the pass under way, if any, has committed: an update or a quit must
    /// not cut a commit in half. `waiting` is called first when there is a pass to wait for. The
    /// journal stays, so pending changes go out at the next start; [`Self::restart`] resumes.
    pub async fn stop_after_pass(&self, waiting: impl FnOnce()) {
        let Some(a) = self.active.lock().take() else { return };
        a.stopped.store(true, Ordering::SeqCst);
        a.nudge.notify_one();
        let _pass = match a.pass.try_lock() {
            Ok(g) => g,
            Err(_) => {
                waiting();
                a.pass.lock().await
            }
        };
    }

    /// (Re)starts the worker after the project, the settings or the keys changed.
    pub fn restart(&self) {
        self.close();
        let Some((project_id, root)) = self.open.lock().clone() else { return };
        let status = match self.start(project_id, root) {
            Ok(a) => {
                let s = a.status.lock().clone();
                *self.active.lock() = Some(a);
                s
            }
            Err(why) => SyncStatus::off(why),
        };
        (self.on_status)(&status);
    }

    /// Starts the worker, or says why sync is off.
    fn start(&self, project_id: i64, root: ProjectRoot) -> Result<Arc<Active>, String> {
        match self.store.sync_enabled(project_id) {
            Ok(true) => {}
            Ok(false) => return Err("sync is off for this project".into()),
            Err(e) => return Err(e.to_string()),
        }
        let key = self.store.sync_key(project_id).map_err(|e| e.to_string())?;
        let (target, opts) = make_target(&self.store, &self.secrets, &key).map_err(|e| e.to_string())?;
        let (snapshot, _) = self.store.sync_position(project_id).unwrap_or((None, None));
        let a = Arc::new(Active {
            project_id,
            root,
            target,
            opts,
            nudge: Notify::new(),
            pass: tokio::sync::Mutex::new(()),
            status: Mutex::new(SyncStatus {
                state: SyncState::Syncing,
                pending: self.store.journal_count(project_id).unwrap_or(0),
                failing: 0,
                message: None,
                snapshot,
                conflict: None,
                key: Some(key),
                progress: None,
            }),
            events: Mutex::new(VecDeque::new()),
            stopped: AtomicBool::new(false),
            now: AtomicBool::new(false),
        });
        let worker = Worker { a: a.clone(), store: self.store.clone(), on_status: self.on_status.clone() };
        self.runtime.spawn(worker.run());
        Ok(a)
    }

    fn active(&self) -> Result<Arc<Active>, SyncError> {
        self.active.lock().clone().ok_or_else(|| {
            SyncError::Off(self.status().message.unwrap_or_else(|| "turn it on in the sync panel".into()))
        })
    }

    pub fn status(&self) -> SyncStatus {
        if let Some(a) = self.active.lock().as_ref() {
            return a.status.lock().clone();
        }
        match self.open.lock().as_ref() {
            Some((id, _)) => match self.store.sync_enabled(*id) {
                Ok(true) => match self.store.sync_key(*id).map(|k| make_target(&self.store, &self.secrets, &k)) {
                    Ok(Err(why)) => SyncStatus::off(why.to_string()),
                    _ => SyncStatus::off("sync is starting"),
                },
                _ => SyncStatus::off("sync is off for this project"),
            },
            None => SyncStatus::off("no project is open"),
        }
    }

    pub fn events(&self) -> Vec<SyncEvent> {
        self.active.lock().as_ref().map(|a| a.events.lock().iter().rev().cloned().collect()).unwrap_or_default()
    }

    /// Journals the changes at these project-relative paths (a save, a watcher batch) and wakes
    /// the worker. The journal is written before this returns.
    pub fn hint(&self, paths: &[Vec<u8>]) {
        let Some(a) = self.active.lock().clone() else { return };
        match super::scan::scan_hints(&a.root, &self.store, a.project_id, paths) {
            Ok(r) => {
                for (p, e) in r.errors {
                    push_event(&a, SyncEventKind::Error, Some(&p), e);
                }
                for (p, why) in r.skipped {
                    push_event(&a, SyncEventKind::Skipped, Some(&p), why);
                }
            }
            Err(e) => push_event(&a, SyncEventKind::Error, None, e.to_string()),
        }
        a.nudge.notify_one();
    }

    /// Runs a pass now, even while backing off.
    pub fn sync_now(&self) -> Result<(), SyncError> {
        let a = self.active()?;
        a.now.store(true, Ordering::SeqCst);
        a.nudge.notify_one();
        Ok(())
    }

    /// Turns sync on or off for the open project. Off forgets the bucket position and the queue
    /// (nothing in the bucket is deleted).
    pub fn set_enabled(&self, on: bool) -> Result<(), SyncError> {
        let Some((id, _)) = self.open.lock().clone() else {
            return Err(SyncError::Invalid("no project is open".into()));
        };
        if on {
            let key = self.store.sync_key(id)?;
            make_target(&self.store, &self.secrets, &key)?;
        }
        self.close();
        self.store.set_sync_enabled(id, on)?;
        if !on {
            self.store.sync_forget(id)?;
        }
        self.restart();
        Ok(())
    }

    /// Checks settings and keys against the bucket (creating it on local S3 servers).
    pub async fn test_bucket(&self, s: &BucketSettings) -> Result<(), SyncError> {
        let (t, _) = target_for(s, &self.secrets, "connection-test")?;
        t.ensure_bucket().await?;
        t.list_projects().await?;
        Ok(())
    }

    /// The user picked a version after a conflict. `keep_mine`: this machine's files become
    /// HEAD (the other version stays in the history). Otherwise the other version is written
    /// here (this machine's changes are kept first as a side snapshot).
    pub async fn resolve(&self, keep_mine: bool) -> Result<(), SyncError> {
        let a = self.active()?;
        {
            let _g = a.pass.lock().await;
            if keep_mine {
                let r = a.sync(&self.store).push_to(CommitTo::HeadOverriding).await?;
                push_event(
                    &a,
                    SyncEventKind::Conflict,
                    None,
                    format!("kept this machine's version as {}", r.snapshot.unwrap_or_default()),
                );
            } else {
                let r = a.sync(&self.store).adopt(None, Afterwards::FollowHead).await?;
                let kept =
                    r.kept_local_as.map(|s| format!("; this machine's version is kept as {s}")).unwrap_or_default();
                push_event(
                    &a,
                    SyncEventKind::Conflict,
                    None,
                    format!("took {} ({} files written){kept}", r.snapshot, r.written),
                );
                note_kept(&a, &r.kept);
            }
            let mut st = a.status.lock();
            st.conflict = None;
            st.state = SyncState::Syncing;
        }
        a.now.store(true, Ordering::SeqCst);
        a.nudge.notify_one();
        Ok(())
    }

    /// The project's snapshots, newest first (at most `limit`).
    pub async fn snapshots(&self, limit: usize) -> Result<Vec<SnapshotInfo>, SyncError> {
        let a = self.active()?;
        snapshot_list(&a.target, limit).await
    }

    /// Why `path` of the open project is synced or not (works with sync off too).
    pub fn explain(&self, path: &str) -> Result<super::explain::SyncExplanation, SyncError> {
        let root = self.open.lock().as_ref().map(|o| o.1.clone()).ok_or(SyncError::Off("no project is open".into()))?;
        let max = self.store.bucket_settings()?.max_file_mib as u64 * 1024 * 1024;
        super::explain::explain(&root, path, max).map_err(|e| SyncError::Invalid(e.to_string()))
    }

    pub async fn file_history(&self, path: &str) -> Result<Vec<FileVersionInfo>, SyncError> {
        let a = self.active()?;
        a.root.resolve(path).map_err(|e| SyncError::Invalid(e.to_string()))?;
        Ok(engine::file_history(&a.target, path.as_bytes(), 200)
            .await?
            .into_iter()
            .map(|v| FileVersionInfo {
                snapshot: v.snapshot,
                created_at_ms: v.created_at_ms,
                machine: v.machine,
                blake3: v.blake3,
                size: v.size,
            })
            .collect())
    }

    /// Writes an earlier version of one file over the project's copy (a change like a save).
    pub async fn restore_file(&self, path: &str, blake3: &str) -> Result<(), SyncError> {
        let a = self.active()?;
        a.root.resolve(path).map_err(|e| SyncError::Invalid(e.to_string()))?;
        if blake3::Hash::from_hex(blake3).is_err() {
            return Err(SyncError::Invalid("not a content hash".into()));
        }
        if let Some(aside) = a.sync(&self.store).restore_file(path.as_bytes(), blake3).await? {
            push_event(
                &a,
                SyncEventKind::Kept,
                Some(aside.as_bytes()),
                "unsynced changes kept beside the restored file".into(),
            );
            self.hint(&[aside.into_bytes()]);
        }
        push_event(
            &a,
            SyncEventKind::Restore,
            Some(path.as_bytes()),
            format!("restored the version {}", &blake3[..12]),
        );
        self.hint(&[path.as_bytes().to_vec()]);
        Ok(())
    }

    /// Makes the project's files those of snapshot `id` (local changes kept first as a side
    /// snapshot); the result is pushed as a new snapshot on top of HEAD.
    pub async fn restore_snapshot(&self, id: &str) -> Result<(), SyncError> {
        let a = self.active()?;
        {
            let _g = a.pass.lock().await;
            let r = a.sync(&self.store).adopt(Some(id), Afterwards::NewChange).await?;
            push_event(
                &a,
                SyncEventKind::Restore,
                None,
                format!("restored snapshot {id}: {} written, {} removed", r.written, r.removed),
            );
            note_kept(&a, &r.kept);
        }
        a.nudge.notify_one();
        Ok(())
    }

    /// Prunes old snapshots (see `engine::Retention`), then deletes blobs no snapshot
    /// references (older than an hour).
    pub async fn collect_garbage(&self) -> Result<String, SyncError> {
        let a = self.active()?;
        let _g = a.pass.lock().await;
        let pruned = engine::prune(&a.target, engine::Retention::default(), now_ms()).await?;
        let r = engine::gc(&a.target, 3_600_000).await?;
        let msg = format!(
            "{pruned} old snapshots pruned (kept: all of the last 7 days, one a day to 90 days, one a week after); {} unreferenced blobs deleted ({} KiB), {} kept, {} snapshots",
            r.blobs_deleted,
            r.bytes_freed / 1024,
            r.blobs_kept,
            r.snapshots
        );
        push_event(&a, SyncEventKind::Gc, None, msg.clone());
        Ok(msg)
    }

    /// The projects in the bucket (for "Restore from cloud").
    pub async fn cloud_projects(&self) -> Result<Vec<String>, SyncError> {
        let (t, _) = make_target(&self.store, &self.secrets, "_")?;
        t.list_projects().await
    }

    pub async fn cloud_snapshots(&self, key: &str, limit: usize) -> Result<Vec<SnapshotInfo>, SyncError> {
        let (t, _) = make_target(&self.store, &self.secrets, &valid_key(key)?)?;
        snapshot_list(&t, limit).await
    }

    /// Restores project `key` (snapshot `id`, HEAD by default) into `dest`, which must be an
    /// empty or new folder, and registers it as a project that syncs to the same key.
    pub async fn restore_project(
        &self,
        key: &str,
        id: Option<&str>,
        dest: &std::path::Path,
    ) -> Result<ProjectRoot, SyncError> {
        let key = valid_key(key)?;
        if dest.exists() {
            let empty = std::fs::read_dir(dest).map(|mut d| d.next().is_none()).unwrap_or(false);
            if !empty {
                return Err(SyncError::Invalid(format!(
                    "{} is not empty; restore into an empty or new folder",
                    dest.display()
                )));
            }
        } else {
            std::fs::create_dir_all(dest)
                .map_err(|e| SyncError::Invalid(format!("cannot create {}: {e}", dest.display())))?;
        }
        let root = ProjectRoot::open(dest).map_err(|e| SyncError::Invalid(e.to_string()))?;
        let rec = self.store.touch_project(&root.path().display().to_string(), &root.name())?;
        self.store.sync_forget(rec.id)?;
        self.store.set_sync_key(rec.id, &key)?;
        let (t, opts) = make_target(&self.store, &self.secrets, &key)?;
        let sync = ProjectSync { root: &root, store: &self.store, project_id: rec.id, bucket: &t, opts: &opts };
        sync.adopt(id, Afterwards::FollowHead).await?;
        self.store.set_sync_enabled(rec.id, true)?;
        Ok(root)
    }
}

fn valid_key(key: &str) -> Result<String, SyncError> {
    let ok = !key.is_empty()
        && key.len() <= 80
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !key.starts_with('.');
    ok.then(|| key.to_string()).ok_or_else(|| SyncError::Invalid(format!("'{key}' is not a project key")))
}

async fn snapshot_list(t: &Bucket, limit: usize) -> Result<Vec<SnapshotInfo>, SyncError> {
    use futures::stream::{StreamExt, TryStreamExt};
    let head = t.head().await?.map(|h| h.0);
    let ids: Vec<String> = t.list_snapshots().await?.into_iter().rev().take(limit).collect();
    let snaps: Vec<super::snapshot::Snapshot> =
        futures::stream::iter(ids.iter().map(|id| t.snapshot(id)).collect::<Vec<_>>())
            .buffered(8)
            .try_collect()
            .await?;
    Ok(snaps
        .into_iter()
        .map(|s| SnapshotInfo {
            head: head.as_deref() == Some(s.id.as_str()),
            files: s.files.iter().filter(|f| !super::folders::is_dir(f.mode)).count() as u32,
            bytes: s.files.iter().map(|f| f.size).sum(),
            id: s.id,
            created_at_ms: s.created_at_ms,
            machine: s.machine,
            side: s.side,
        })
        .collect())
}

/// Files a restore left in place because their content is in no snapshot.
fn note_kept(a: &Active, kept: &[String]) {
    for k in kept {
        push_event(
            a,
            SyncEventKind::Kept,
            Some(k.as_bytes()),
            "in no snapshot (too large or unreadable): kept here".into(),
        );
    }
}

fn push_event(a: &Active, kind: SyncEventKind, path: Option<&[u8]>, message: String) {
    let mut ev = a.events.lock();
    if ev.len() >= EVENTS_KEPT {
        ev.pop_front();
    }
    ev.push_back(SyncEvent { at_ms: now_ms(), kind, path: path.map(lossy), message });
}

struct Worker {
    a: Arc<Active>,
    store: Arc<Store>,
    on_status: StatusFn,
}

impl Worker {
    fn publish(&self, f: impl FnOnce(&mut SyncStatus)) {
        let s = {
            let mut st = self.a.status.lock();
            f(&mut st);
            st.pending = self.store.journal_count(self.a.project_id).unwrap_or(st.pending);
            st.failing = self.store.journal_failing(self.a.project_id).unwrap_or(0);
            st.clone()
        };
        if !self.a.stopped.load(Ordering::SeqCst) {
            (self.on_status)(&s);
        }
    }

    /// Finds changes made while Aura was closed, or missed by the watcher (names that are not
    /// UTF-8, events dropped under load): cheap, only changed metadata is hashed.
    async fn full_scan(&self) {
        let a = self.a.clone();
        let (root, store, id) = (a.root.clone(), self.store.clone(), a.project_id);
        match tokio::task::spawn_blocking(move || {
            let _ = store.prune_sent_blobs();
            super::scan::scan(&root, &store, id)
        })
        .await
        {
            Ok(Ok(r)) => {
                for (p, e) in r.errors {
                    push_event(&a, SyncEventKind::Error, Some(&p), e);
                }
                // Seen, not carried (a link out of the project): said, never silently dropped.
                for (p, why) in r.skipped {
                    push_event(&a, SyncEventKind::Skipped, Some(&p), why);
                }
            }
            Ok(Err(e)) => push_event(&a, SyncEventKind::Error, None, e.to_string()),
            Err(e) => push_event(&a, SyncEventKind::Error, None, e.to_string()),
        }
    }

    async fn run(self) {
        let a = self.a.clone();
        self.full_scan().await;
        let mut backoff = Duration::ZERO;
        loop {
            if a.stopped.load(Ordering::SeqCst) {
                return;
            }
            let in_conflict = a.status.lock().conflict.is_some();
            if !in_conflict {
                backoff = self.pass(backoff).await;
            }
            if a.stopped.load(Ordering::SeqCst) {
                return;
            }
            let conflict = a.status.lock().conflict.is_some();
            if conflict || backoff.is_zero() {
                if tokio::time::timeout(RESCAN_EVERY, a.nudge.notified()).await.is_err() && !conflict {
                    self.full_scan().await;
                }
            } else {
                // Back off: new saves queue up; only the timer or "sync now" starts a pass.
                let jittered = backoff.mul_f64(0.5 + rand::random::<f64>() * 0.5);
                let sleep = tokio::time::sleep(jittered);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        _ = &mut sleep => break,
                        _ = a.nudge.notified() => {
                            if a.now.swap(false, Ordering::SeqCst) || a.stopped.load(Ordering::SeqCst) {
                                break;
                            }
                            self.publish(|_| {});
                        }
                    }
                }
            }
            a.now.store(false, Ordering::SeqCst);
        }
    }

    /// One pass; returns the backoff before the next one (zero: wait for a change).
    async fn pass(&self, backoff: Duration) -> Duration {
        let a = &self.a;
        let _g = a.pass.lock().await;
        if self.store.journal_count(a.project_id).unwrap_or(0) == 0 {
            self.publish(|s| {
                if s.state != SyncState::Offline || backoff.is_zero() {
                    s.state = SyncState::Synced;
                    s.message = None;
                }
            });
            return Duration::ZERO;
        }
        self.publish(|s| s.state = SyncState::Syncing);
        // Progress goes to the window at most every 250 ms.
        let last = Mutex::new(std::time::Instant::now());
        let on_progress = |done: usize, total: usize| {
            let mut l = last.lock();
            if l.elapsed() >= Duration::from_millis(250) || done == total {
                *l = std::time::Instant::now();
                drop(l);
                self.publish(|s| s.progress = Some((done as u64, total as u64)));
            }
        };
        let r = a.sync(&self.store).push_observed(CommitTo::Head, Some(&on_progress)).await;
        self.a.status.lock().progress = None;
        let grow = |b: Duration| if b.is_zero() { Duration::from_millis(500) } else { (b * 2).min(MAX_BACKOFF) };
        match r {
            Ok(report) => {
                self.record(&report);
                let failing = !report.errors.is_empty();
                let more = self.store.journal_count(a.project_id).unwrap_or(0) > 0;
                self.publish(|s| {
                    s.state = if more { SyncState::Pending } else { SyncState::Synced };
                    s.message = report.errors.first().map(|(p, e)| format!("{}: {e}", lossy(p)));
                    if report.snapshot.is_some() {
                        s.snapshot = report.snapshot.clone();
                    }
                });
                if failing {
                    // Files that failed are retried, less and less often.
                    grow(backoff).max(Duration::from_secs(2))
                } else if more {
                    a.nudge.notify_one();
                    Duration::ZERO
                } else {
                    Duration::ZERO
                }
            }
            Err(SyncError::Conflict { remote }) => {
                let snap = a.target.snapshot(&remote).await.ok();
                let info = ConflictInfo {
                    remote_snapshot: remote.clone(),
                    remote_machine: snap.as_ref().map(|s| s.machine.clone()).unwrap_or_default(),
                    remote_at_ms: snap.as_ref().map(|s| s.created_at_ms).unwrap_or(0),
                };
                let msg = format!(
                    "{} moved this project on (snapshot {remote}); your changes are kept here — keep yours or take theirs",
                    if info.remote_machine.is_empty() { "another machine" } else { &info.remote_machine }
                );
                push_event(a, SyncEventKind::Conflict, None, msg.clone());
                self.publish(|s| {
                    s.state = SyncState::Conflict;
                    s.message = Some(msg);
                    s.conflict = Some(info);
                });
                Duration::ZERO
            }
            Err(e) => {
                let offline = matches!(e, SyncError::Unreachable(_));
                let next = grow(backoff);
                let msg = format!("{e}; retrying in about {} s", next.as_secs().max(1));
                // One line in the panel per outage, not one per retry.
                if backoff.is_zero() {
                    push_event(
                        a,
                        if offline { SyncEventKind::Offline } else { SyncEventKind::Error },
                        None,
                        e.to_string(),
                    );
                }
                tracing::warn!(error = %e, "sync pass failed");
                self.publish(|s| {
                    s.state = if offline { SyncState::Offline } else { SyncState::Error };
                    s.message = Some(msg);
                });
                next
            }
        }
    }

    fn record(&self, r: &PushReport) {
        let a = &self.a;
        for p in r.uploaded.iter().take(100) {
            push_event(a, SyncEventKind::Upload, Some(p), "uploaded".into());
        }
        if r.uploaded.len() > 100 {
            push_event(a, SyncEventKind::Upload, None, format!("and {} more files", r.uploaded.len() - 100));
        }
        for p in r.deleted.iter().take(100) {
            push_event(a, SyncEventKind::Delete, Some(p), "deleted".into());
        }
        for (p, e) in &r.errors {
            push_event(a, SyncEventKind::Error, Some(p), e.clone());
        }
        for (p, why) in &r.skipped {
            push_event(a, SyncEventKind::Skipped, Some(p), why.clone());
        }
        if let Some(s) = &r.snapshot {
            push_event(
                a,
                SyncEventKind::Snapshot,
                None,
                format!(
                    "snapshot {s}: {} sent ({} KiB), {} already there",
                    r.uploaded.len(),
                    r.bytes_sent / 1024,
                    r.already_there
                ),
            );
        }
    }
}

/// Project-relative byte paths from the watcher's strings.
pub fn hint_paths(paths: &[String]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::ffi::OsStr::new(p).as_bytes().to_vec()).collect()
}
