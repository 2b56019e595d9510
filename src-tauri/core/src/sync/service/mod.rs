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

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::bucket::{project_prefix, Bucket, S3Config, S3Store};
use super::crypto::{KdfParams, ProjectKey, RecoveryPhrase, WrappedKey};
use super::engine::{self, Afterwards, CommitTo, ProjectSync, PushOptions};
use super::error::SyncError;
use super::settings::BucketSettings;
use crate::paths::ProjectRoot;
use crate::secrets::{SecretName, Secrets};
use crate::store::{now_ms, Store};
use encryption::delete_left;
mod encryption;
mod status;
mod worker;

pub use status::*;
use worker::{note_kept, push_event, Worker};

/// Builds the bucket client for a project from the settings and the keychain; an encrypted
/// project whose key this machine has is sealed with it.
pub fn make_target(store: &Store, secrets: &Secrets, key: &str) -> Result<(Bucket, PushOptions), SyncError> {
    let s = store.bucket_settings()?;
    let (bucket, opts) = target_for(&s, secrets, key)?;
    let sealed = secrets.project_key(key).map_err(|e| SyncError::Invalid(e.to_string()))?;
    match sealed {
        Some(k) => {
            let k = ProjectKey::from_text(k.expose())
                .ok_or_else(|| SyncError::Invalid(format!("the keychain's key for project {key} is not a key")))?;
            Ok((bucket.sealed_with(k.cipher()), opts))
        }
        None => Ok((bucket, opts)),
    }
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
/// What Aura keeps in the bucket (see [`SyncService::storage`]).
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct StorageUse {
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub objects: u64,
    /// The open project's part, when it syncs.
    #[ts(type = "number | null")]
    pub project_bytes: Option<u64>,
    #[ts(type = "number | null")]
    pub project_objects: Option<u64>,
}

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
            Err(SyncError::Off(why)) => SyncStatus::off(why),
            Err(e) => SyncStatus::off(e.to_string()),
        };
        (self.on_status)(&status);
    }

    /// Starts the worker, or says why sync is off.
    fn start(&self, project_id: i64, root: ProjectRoot) -> Result<Arc<Active>, SyncError> {
        if !self.store.sync_enabled(project_id)? {
            return Err(SyncError::Off("sync is off for this project".into()));
        }
        let key = self.store.sync_key(project_id)?;
        let (target, opts) = make_target(&self.store, &self.secrets, &key)?;
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
                phrase_needed: false,
            }),
            events: Mutex::new(VecDeque::new()),
            stopped: AtomicBool::new(false),
            now: AtomicBool::new(false),
        });
        let worker = Worker {
            a: a.clone(),
            store: self.store.clone(),
            on_status: self.on_status.clone(),
            left: self.plaintext_left(project_id),
        };
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

    /// Writes an earlier version of one file (as snapshot `snapshot` holds it) over the
    /// project's copy (a change like a save).
    pub async fn restore_file(&self, path: &str, snapshot: &str) -> Result<(), SyncError> {
        let a = self.active()?;
        a.root.resolve(path).map_err(|e| SyncError::Invalid(e.to_string()))?;
        if snapshot.is_empty() || !snapshot.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(SyncError::Invalid("not a snapshot id".into()));
        }
        let restored = a.sync(&self.store).restore_file(path.as_bytes(), snapshot).await?;
        if let Some(aside) = restored.kept {
            push_event(
                &a,
                SyncEventKind::Kept,
                Some(aside.as_bytes()),
                "unsynced changes kept beside the restored file".into(),
            );
            self.hint(&[aside.into_bytes()]);
        }
        let blake3 = restored.blake3;
        push_event(
            &a,
            SyncEventKind::Restore,
            Some(path.as_bytes()),
            format!("restored the version {}", blake3.get(..12).unwrap_or(&blake3)),
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

    /// Prunes old snapshots (see `engine::Retention`), then deletes blobs and packs no
    /// snapshot references (older than an hour).
    pub async fn collect_garbage(&self) -> Result<String, SyncError> {
        let a = self.active()?;
        let _g = a.pass.lock().await;
        let pruned = engine::prune(&a.target, engine::Retention::default(), now_ms()).await?;
        let r = engine::gc(&a.target, 3_600_000).await?;
        let msg = format!(
            "{pruned} old snapshots pruned (kept: all of the last 7 days, one a day to 90 days, one a week after); {} unreferenced objects deleted ({} blobs, {} packs: {} KiB), {} kept, {} snapshots",
            r.blobs_deleted + r.packs_deleted,
            r.blobs_deleted,
            r.packs_deleted,
            r.bytes_freed / 1024,
            r.blobs_kept + r.packs_kept,
            r.snapshots
        );
        push_event(&a, SyncEventKind::Gc, None, msg.clone());
        Ok(msg)
    }

    /// What the bucket holds of Aura's (all projects) and of the open project when it syncs.
    pub async fn storage(&self) -> Result<StorageUse, SyncError> {
        let active = self.active().ok();
        let made;
        let target = match &active {
            Some(a) => &a.target,
            None => {
                made = make_target(&self.store, &self.secrets, "_")?.0;
                &made
            }
        };
        let ((bytes, objects), (own_bytes, own_objects)) = target.stored().await?;
        let project = active.map(|_| (own_bytes, own_objects));
        Ok(StorageUse { bytes, objects, project_bytes: project.map(|p| p.0), project_objects: project.map(|p| p.1) })
    }

    /// The projects in the bucket (for "Restore from cloud").
    pub async fn cloud_projects(&self) -> Result<Vec<String>, SyncError> {
        let (t, _) = make_target(&self.store, &self.secrets, "_")?;
        t.list_projects().await
    }

    pub async fn cloud_snapshots(&self, key: &str, limit: usize) -> Result<Vec<SnapshotInfo>, SyncError> {
        let key = self.follow_moves(key).await?;
        let (t, _) = make_target(&self.store, &self.secrets, &key)?;
        if t.cipher().is_none() && t.wrapped_key().await?.is_some() {
            return Err(SyncError::PhraseNeeded);
        }
        snapshot_list(&t, limit).await
    }

    /// Restores project `key` (snapshot `id`, HEAD by default) into `dest`, which must be an
    /// empty or new folder, and registers it as a project that syncs to the same key. An
    /// encrypted project needs its recovery `phrase`.
    pub async fn restore_project(
        &self,
        key: &str,
        id: Option<&str>,
        dest: &std::path::Path,
        phrase: Option<&str>,
    ) -> Result<ProjectRoot, SyncError> {
        let key = self.follow_moves(key).await?;
        self.unlock(&key, phrase).await?;
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

/// Project-relative byte paths from the watcher's strings.
pub fn hint_paths(paths: &[String]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::ffi::OsStr::new(p).as_bytes().to_vec()).collect()
}
