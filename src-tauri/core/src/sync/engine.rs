//! Sync passes to the bucket, and restores from it.
//!
//! `push` drains the journal: changed files are read, hashed and stored as blobs (once per
//! content; `concurrency` at a time; large files in parts), then one snapshot of the whole
//! project is committed with a conditional HEAD write. Only after that commit are the journal
//! entries dropped and the manifest updated (one SQLite transaction), so a crash or a dead
//! network at any point leaves the journal as it was: the next pass redoes the work (blobs
//! already stored are not sent again). A conflict leaves everything queued.
//!
//! A pass notes the snapshot it is committing (`sync_inflight`) before moving HEAD. If the
//! process dies after HEAD moved but before the commit was recorded, the next pass finds HEAD
//! at its own snapshot and takes it as its position instead of reporting a false conflict.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

use cap_std::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};

use futures::stream::{StreamExt, TryStreamExt};
use rusqlite::{params, OptionalExtension};

use super::journal::JournalOp;
use super::s3::{S3Target, Snapshot, SnapshotFile, SyncError};
use super::scan::{put_row, FileState};
use crate::paths::{rel_bytes, ProjectRoot};
use crate::store::{now_ms, Store, StoreError};
use crate::workspace::ignore_rules;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write '{path}': {message}")]
    Restore { path: String, message: String },
}

impl crate::error::UserFacing for EngineError {
    fn kind(&self) -> &'static str {
        match self {
            Self::Sync(e) => e.kind(),
            Self::Store(_) => "store",
            Self::Restore { .. } => "io",
        }
    }
}

/// How a pass uploads.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Uploads (files, or parts of one large file) in flight at once.
    pub concurrency: usize,
    /// Files at least this large go up in parts.
    pub multipart_threshold: u64,
    pub part_size: u64,
    /// Files larger than this are not synced (a per-file error says so).
    pub max_file_size: u64,
    /// Written into snapshots: which machine made them.
    pub machine: String,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            multipart_threshold: 64 * 1024 * 1024,
            part_size: 16 * 1024 * 1024,
            max_file_size: 1024 * 1024 * 1024,
            machine: machine_name(),
        }
    }
}

/// This machine's host name.
pub fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

#[derive(Debug, Default)]
pub struct PushReport {
    /// Paths whose content was sent.
    pub uploaded: Vec<Vec<u8>>,
    /// Blobs the bucket already had (same content elsewhere, or a retried pass).
    pub already_there: usize,
    pub bytes_sent: u64,
    pub deleted: Vec<Vec<u8>>,
    pub snapshot: Option<String>,
    /// Per-file problems; those files stay queued.
    pub errors: Vec<(Vec<u8>, String)>,
    /// Seen but not carried, with the reason (a link leading outside the project).
    pub skipped: Vec<(Vec<u8>, String)>,
}

/// Where a pass's snapshot goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitTo {
    /// Move HEAD from where this machine last saw it (the normal pass).
    Head,
    /// Move HEAD from wherever it is now: "keep mine" after a conflict (the other version
    /// stays in the history as HEAD's parent).
    HeadOverriding,
    /// Store the snapshot beside the history without moving HEAD (keeping local changes
    /// before taking another version).
    Side,
}

impl Store {
    pub fn sync_position(&self, project_id: i64) -> Result<(Option<String>, Option<String>), StoreError> {
        Ok(self
            .with(|c| {
                c.query_row("SELECT sync_snapshot, sync_head_etag FROM projects WHERE id = ?1", [project_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
            })?
            .unwrap_or((None, None)))
    }

    pub fn set_sync_position(&self, project_id: i64, snapshot: &str, etag: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE projects SET sync_snapshot = ?1, sync_head_etag = ?2, sync_inflight = NULL WHERE id = ?3",
                params![snapshot, etag, project_id],
            )
        })?;
        Ok(())
    }

    fn sync_inflight(&self, project_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .with(|c| {
                c.query_row("SELECT sync_inflight FROM projects WHERE id = ?1", [project_id], |r| r.get(0)).optional()
            })?
            .flatten())
    }

    fn set_sync_inflight(&self, project_id: i64, id: Option<&str>) -> Result<(), StoreError> {
        self.with(|c| c.execute("UPDATE projects SET sync_inflight = ?1 WHERE id = ?2", params![id, project_id]))?;
        Ok(())
    }

    /// The project's key in the bucket, made on first use (`<folder name>-<8 hex>`).
    pub fn sync_key(&self, project_id: i64) -> Result<String, StoreError> {
        let (key, name): (Option<String>, String) = self.with(|c| {
            c.query_row("SELECT sync_key, name FROM projects WHERE id = ?1", [project_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })?;
        if let Some(k) = key {
            return Ok(k);
        }
        let slug: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
            .take(40)
            .collect();
        let key = format!("{}-{}", slug.trim_matches('-'), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        self.set_sync_key(project_id, &key)?;
        Ok(key)
    }

    /// Binds the project to an existing key (restoring a project made on another machine).
    pub fn set_sync_key(&self, project_id: i64, key: &str) -> Result<(), StoreError> {
        self.with(|c| c.execute("UPDATE projects SET sync_key = ?1 WHERE id = ?2", params![key, project_id]))?;
        Ok(())
    }

    /// The full snapshot differential ones build on, with its file count.
    fn sync_base_info(&self, project_id: i64) -> Result<Option<(String, u64)>, StoreError> {
        let id: Option<String> = self
            .with(|c| {
                c.query_row("SELECT sync_base FROM projects WHERE id = ?1", [project_id], |r| r.get(0)).optional()
            })?
            .flatten();
        let Some(id) = id else { return Ok(None) };
        let n: i64 = self.with(|c| {
            c.query_row("SELECT COUNT(*) FROM sync_base WHERE project_id = ?1", [project_id], |r| r.get(0))
        })?;
        Ok(Some((id, n as u64)))
    }

    fn sync_base_file(&self, project_id: i64, path: &[u8]) -> Result<Option<SnapshotFile>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT blake3, size, mode FROM sync_base WHERE project_id = ?1 AND path = ?2",
                params![project_id, path],
                |r| {
                    Ok(SnapshotFile {
                        path: path.to_vec(),
                        blake3: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        mode: r.get::<_, i64>(2)? as u32,
                    })
                },
            )
            .optional()
        })
    }

    /// What differs from the base at this machine's position (`None`: removed).
    fn sync_delta(&self, project_id: i64) -> Result<BTreeMap<Vec<u8>, Option<SnapshotFile>>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare("SELECT path, blake3, size, mode FROM sync_delta WHERE project_id = ?1")?;
            let rows = st.query_map([project_id], |r| {
                let path: Vec<u8> = r.get(0)?;
                let hash: Option<String> = r.get(1)?;
                let f = hash.map(|blake3| SnapshotFile {
                    path: path.clone(),
                    blake3,
                    size: r.get::<_, i64>(2).unwrap_or(0) as u64,
                    mode: r.get::<_, i64>(3).unwrap_or(0) as u32,
                });
                Ok((path, f))
            })?;
            rows.collect()
        })
    }

    /// Forgets the differential state: the next pass writes a full snapshot.
    fn sync_reset_base(&self, project_id: i64) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute("DELETE FROM sync_base WHERE project_id = ?1", [project_id])?;
            tx.execute("DELETE FROM sync_delta WHERE project_id = ?1", [project_id])?;
            tx.execute("UPDATE projects SET sync_base = NULL WHERE id = ?1", [project_id])?;
            tx.commit()
        })
    }

    /// Forgets the bucket position, the manifest and the queue (sync turned off, or the
    /// project bound to another key).
    pub fn sync_forget(&self, project_id: i64) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute("DELETE FROM manifest WHERE project_id = ?1", [project_id])?;
            tx.execute("DELETE FROM journal WHERE project_id = ?1", [project_id])?;
            tx.execute("DELETE FROM sync_base WHERE project_id = ?1", [project_id])?;
            tx.execute("DELETE FROM sync_delta WHERE project_id = ?1", [project_id])?;
            tx.execute(
                "UPDATE projects SET sync_snapshot = NULL, sync_head_etag = NULL, sync_inflight = NULL, sync_base = NULL WHERE id = ?1",
                [project_id],
            )?;
            tx.commit()
        })
    }
}

/// How long a blob this machine stored is trusted to still be there without asking: well under
/// the garbage collector's grace period, so a collected blob is never assumed present.
const SENT_FRESH_MS: i64 = 20 * 60 * 1000;

impl Store {
    fn blob_sent_recently(&self, location: &str, hash: &[u8; 32]) -> bool {
        self.with(|c| {
            c.query_row(
                "SELECT 1 FROM sent_blobs WHERE location = ?1 AND hash = ?2 AND at_ms > ?3",
                params![location, hash.to_vec(), now_ms() - SENT_FRESH_MS],
                |_| Ok(()),
            )
            .optional()
        })
        .ok()
        .flatten()
        .is_some()
    }

    /// Drops blob records too old to be trusted anyway (the table would otherwise grow with
    /// every blob ever sent).
    pub fn prune_sent_blobs(&self) -> Result<usize, StoreError> {
        self.with(|c| c.execute("DELETE FROM sent_blobs WHERE at_ms <= ?1", [now_ms() - SENT_FRESH_MS]))
    }

    fn blobs_sent(&self, location: &str, hashes: &[[u8; 32]]) {
        let _ = self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let now = now_ms();
            for h in hashes {
                tx.execute(
                    "INSERT INTO sent_blobs (location, hash, at_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT(location, hash) DO UPDATE SET at_ms = excluded.at_ms",
                    params![location, h.to_vec(), now],
                )?;
            }
            tx.commit()
        });
    }
}

/// The blobs a pass stored, written to `sent_blobs` a few hundred at a time (one transaction
/// each) so a pass cut short keeps most of what it learned.
struct SentLog<'a> {
    store: &'a Store,
    location: String,
    buf: parking_lot::Mutex<Vec<[u8; 32]>>,
    /// Hashes this pass has claimed: two files with the same content upload it once.
    claimed: parking_lot::Mutex<HashSet<[u8; 32]>>,
}

impl<'a> SentLog<'a> {
    fn new(store: &'a Store, target: &S3Target) -> Self {
        Self {
            store,
            location: target.location(),
            buf: parking_lot::Mutex::new(Vec::new()),
            claimed: parking_lot::Mutex::new(HashSet::new()),
        }
    }

    fn known(&self, hash: &[u8; 32]) -> bool {
        self.store.blob_sent_recently(&self.location, hash)
    }

    /// True for the first caller with this hash in this pass. (Only for small files: their
    /// upload either succeeds or fails the whole pass, so a claimed blob is never missing from
    /// a committed snapshot.)
    fn claim(&self, hash: &[u8; 32]) -> bool {
        self.claimed.lock().insert(*hash)
    }

    fn add(&self, hash: [u8; 32]) {
        let full = {
            let mut b = self.buf.lock();
            b.push(hash);
            (b.len() >= 256).then(|| std::mem::take(&mut *b))
        };
        if let Some(batch) = full {
            self.store.blobs_sent(&self.location, &batch);
        }
    }

    fn flush(&self) {
        let batch = std::mem::take(&mut *self.buf.lock());
        if !batch.is_empty() {
            self.store.blobs_sent(&self.location, &batch);
        }
    }
}

pub(crate) fn hex(h: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*h).to_hex().to_string()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    blake3::Hash::from_hex(s).ok().map(|h| *h.as_bytes())
}

fn shown(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// What one changed path turned into.
enum Sent {
    Stored {
        state: FileState,
        uploaded: bool,
        bytes: u64,
    },
    Gone,
    /// Seen but not carried (a link leading outside the project): why.
    Skipped(String),
    Failed(String),
}

/// Runs file work off the async threads: a file that vanished is `Gone`, any other failure is
/// that file's error.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> Result<T, Sent> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(Sent::Gone),
        // A folder on its way is now a link out of the project: the file is no longer in it.
        Ok(Err(e)) if crate::paths::escaped("", &e).is_some() => Err(Sent::Gone),
        Ok(Err(e)) => Err(Sent::Failed(e.to_string())),
        Err(e) => Err(Sent::Failed(e.to_string())),
    }
}

/// The state of the symbolic link at `rel` (its own metadata, not its target's) and its target
/// text, read through the root capability; `None` when it is no longer a link.
fn read_link(dir: &cap_std::fs::Dir, rel: &[u8]) -> std::io::Result<Option<(Vec<u8>, FileState)>> {
    use cap_std::fs::MetadataExt;
    let m = match dir.symlink_metadata(rel_bytes(rel)) {
        Ok(m) if m.file_type().is_symlink() => m,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let target = super::links::read_target(dir, rel)?;
    let state = FileState {
        size: m.len(),
        mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        inode: m.ino(),
        blake3: *blake3::hash(&target).as_bytes(),
        mode: super::links::LINK_MODE,
    };
    Ok(Some((target, state)))
}

/// Stores a symbolic link's target text as its blob (see `links`); one outside the project is
/// skipped with the reason.
async fn send_link(
    sent: &SentLog<'_>,
    target: &S3Target,
    rel: &[u8],
    text: Vec<u8>,
    state: FileState,
) -> Result<Sent, SyncError> {
    if let Some(why) = super::links::skip_reason(rel, &text) {
        return Ok(Sent::Skipped(why.to_string()));
    }
    let hash = state.blake3;
    if !sent.claim(&hash) || sent.known(&hash) {
        return Ok(Sent::Stored { state, uploaded: false, bytes: 0 });
    }
    let bytes = text.len() as u64;
    target.put_blob(&hex(&hash), text).await?;
    sent.add(hash);
    Ok(Sent::Stored { state, uploaded: true, bytes })
}

/// Opens project file `rel` for a pass through the root capability: `None` when it is no
/// longer a regular file (gone, or now a symlink or a special file: sync carries regular files
/// only). Never blocks on a FIFO swapped in, never follows a link out of the project.
fn open_regular(dir: &cap_std::fs::Dir, rel: &[u8]) -> std::io::Result<Option<(std::fs::File, std::fs::Metadata)>> {
    let f = match crate::paths::open_read(dir, crate::paths::rel_bytes(rel)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = f.metadata()?;
    Ok(meta.is_file().then_some((f, meta)))
}

/// Reads, hashes and stores one file. `Err` only for what stops the whole pass (the bucket is
/// unreachable or refuses); anything about the file itself is `Sent::Failed`.
async fn send_file(
    sent: &SentLog<'_>,
    target: &S3Target,
    dir: std::sync::Arc<cap_std::fs::Dir>,
    rel: &[u8],
    opts: &PushOptions,
) -> Result<Sent, SyncError> {
    let (r, d) = (rel.to_vec(), dir.clone());
    match blocking(move || read_link(&d, &r)).await {
        Ok(Some((text, state))) => return send_link(sent, target, rel, text, state).await,
        Ok(None) => {}
        Err(s) => return Ok(s),
    }
    let r = rel.to_vec();
    let (file, meta) = match blocking(move || open_regular(&dir, &r)).await {
        Ok(Some(v)) => v,
        Ok(None) => return Ok(Sent::Gone),
        Err(s) => return Ok(s),
    };
    if meta.len() > opts.max_file_size {
        return Ok(Sent::Failed(format!(
            "{} MiB is over the {} MiB limit for one file (Settings → Sync); it is not synced",
            meta.len() / (1024 * 1024),
            opts.max_file_size / (1024 * 1024)
        )));
    }
    let before = FileState::from_meta(&meta, [0; 32]);
    let file = std::sync::Arc::new(file);
    if meta.len() >= opts.multipart_threshold {
        let f = file.clone();
        let hash = match blocking(move || super::scan::hash_open(&f)).await {
            Ok(h) => h,
            Err(s) => return Ok(s),
        };
        let expect = (before.size, before.mtime_ns, before.inode);
        if sent.known(&hash) {
            return Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: false, bytes: 0 });
        }
        let (key, name) = (hex(&hash), shown(rel));
        return match target.put_blob_file(&key, file, &name, expect, opts.part_size, opts.concurrency).await {
            Ok(up) => {
                sent.add(hash);
                Ok(Sent::Stored {
                    state: FileState { blake3: hash, ..before },
                    uploaded: up,
                    bytes: if up { meta.len() } else { 0 },
                })
            }
            Err(e @ (SyncError::Changed { .. } | SyncError::Local { .. })) => Ok(Sent::Failed(e.to_string())),
            Err(e) => Err(e),
        };
    }
    let _held = target.reserve(meta.len()).await;
    let data = match blocking(move || {
        let mut data = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut &*file, &mut data)?;
        Ok(data)
    })
    .await
    {
        Ok(d) => d,
        Err(s) => return Ok(s),
    };
    // The state recorded is the metadata from before the read: if the file changes after,
    // its new mtime makes the next scan look at it again.
    let hash = *blake3::hash(&data).as_bytes();
    let bytes = data.len() as u64;
    if !sent.claim(&hash) || sent.known(&hash) {
        return Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: false, bytes: 0 });
    }
    target.put_blob(&hex(&hash), data).await?;
    sent.add(hash);
    Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: true, bytes })
}

/// If a pass died after moving HEAD to its snapshot but before recording that, take HEAD as
/// this machine's position (it is this machine's own snapshot).
async fn recover_inflight(store: &Store, project_id: i64, target: &S3Target) -> Result<(), EngineError> {
    if let Some(inflight) = store.sync_inflight(project_id)? {
        match target.head().await? {
            Some((id, etag)) if id == inflight => {
                tracing::info!(snapshot = %id, "recovering a sync pass that committed before it stopped");
                store.set_sync_position(project_id, &id, &etag)?;
            }
            _ => store.set_sync_inflight(project_id, None)?,
        }
    }
    Ok(())
}

/// Sends what the journal holds and commits a snapshot (a normal pass).
pub async fn push(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &S3Target,
    opts: &PushOptions,
) -> Result<PushReport, EngineError> {
    push_to(root, store, project_id, target, opts, CommitTo::Head).await
}

/// A pass with a chosen commit (see [`CommitTo`]). `Head` with an empty journal does nothing;
/// the others always write a snapshot.
pub async fn push_to(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &S3Target,
    opts: &PushOptions,
    commit: CommitTo,
) -> Result<PushReport, EngineError> {
    push_observed(root, store, project_id, target, opts, commit, None).await
}

/// Told (files done, files to send) as a pass goes.
pub type Progress<'a> = dyn Fn(usize, usize) + Send + Sync + 'a;

/// [`push_to`], reporting progress.
pub async fn push_observed(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &S3Target,
    opts: &PushOptions,
    commit: CommitTo,
    progress: Option<&Progress<'_>>,
) -> Result<PushReport, EngineError> {
    let mut report = PushReport::default();
    let pending = store.journal_pending(project_id, 1_000_000)?;
    if pending.is_empty() && commit == CommitTo::Head {
        return Ok(report);
    }
    recover_inflight(store, project_id, target).await?;

    // Fold the entries into one action per path (the last one wins).
    let mut upload: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
    for e in &pending {
        match &e.op {
            JournalOp::Upsert(p) => {
                upload.insert(p.clone(), true);
            }
            JournalOp::Delete(p) => {
                upload.insert(p.clone(), false);
            }
            JournalOp::Rename { from, to } => {
                upload.insert(from.clone(), false);
                upload.insert(to.clone(), true);
            }
        }
    }

    let to_send: Vec<Vec<u8>> = upload.iter().filter(|(_, up)| **up).map(|(p, _)| p.clone()).collect();
    // Paths removed this pass (that the manifest knew).
    let mut removed: Vec<Vec<u8>> = Vec::new();
    for (p, up) in &upload {
        if !*up && store.manifest_get(project_id, p)?.is_some() {
            removed.push(p.clone());
        }
    }

    // Large files upload their parts `concurrency` at a time themselves: count them as one.
    // (The futures are made before they go into the stream: a closure inside the stream's type
    // trips rustc's higher-ranked Send check in callers.)
    let log = SentLog::new(store, target);
    let log = &log;
    let dir = std::sync::Arc::new(
        root.dir().map_err(|e| SyncError::Local { path: root.path().display().to_string(), message: e.to_string() })?,
    );
    let dir = &dir;
    let total = to_send.len();
    let done_count = std::sync::atomic::AtomicUsize::new(0);
    let done_count = &done_count;
    let sends: Vec<_> = to_send
        .into_iter()
        .map(|rel| async move {
            let sent = send_file(log, target, dir.clone(), &rel, opts).await?;
            let n = done_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(p) = progress {
                p(n, total);
            }
            Ok::<_, SyncError>((rel, sent))
        })
        .collect();
    let results: Result<Vec<(Vec<u8>, Sent)>, SyncError> =
        futures::stream::iter(sends).buffer_unordered(opts.concurrency.max(1)).try_collect().await;
    log.flush();
    let results = results?;

    let mut failed: HashMap<Vec<u8>, String> = HashMap::new();
    let mut changed: Vec<(Vec<u8>, FileState)> = Vec::new();
    for (rel, sent) in results {
        match sent {
            Sent::Stored { state, uploaded, bytes } => {
                if uploaded {
                    report.uploaded.push(rel.clone());
                    report.bytes_sent += bytes;
                } else {
                    report.already_there += 1;
                }
                changed.push((rel, state));
            }
            Sent::Gone => {
                if store.manifest_get(project_id, &rel)?.is_some() {
                    removed.push(rel);
                }
            }
            Sent::Skipped(why) => {
                if store.manifest_get(project_id, &rel)?.is_some() {
                    removed.push(rel.clone());
                }
                report.skipped.push((rel, why));
            }
            Sent::Failed(msg) => {
                // The snapshot keeps the last version that was synced, if any.
                failed.insert(rel, msg);
            }
        }
    }
    removed.sort();
    removed.dedup();
    report.deleted = removed.clone();
    report.uploaded.sort();

    let (parent, etag) = store.sync_position(project_id)?;
    let (parent, expected) = match commit {
        CommitTo::Head | CommitTo::Side => (parent, etag),
        CommitTo::HeadOverriding => match target.head().await? {
            Some((id, etag)) => (Some(id), Some(etag)),
            None => (None, None),
        },
    };

    // A differential snapshot (what differs from the last full one) unless there is no base
    // yet or the difference has grown past a quarter of the project: then a full one.
    let file_of = |p: &Vec<u8>, s: &FileState| SnapshotFile {
        path: p.clone(),
        size: s.size,
        blake3: hex(&s.blake3),
        mode: s.mode,
    };
    let base = store.sync_base_info(project_id)?;
    let mut delta = store.sync_delta(project_id)?;
    for (p, st) in &changed {
        let f = file_of(p, st);
        match store.sync_base_file(project_id, p)? {
            Some(b) if b.blake3 == f.blake3 && b.mode == f.mode => {
                delta.remove(p);
            }
            _ => {
                delta.insert(p.clone(), Some(f));
            }
        }
    }
    for p in &removed {
        if store.sync_base_file(project_id, p)?.is_some() {
            delta.insert(p.clone(), None);
        } else {
            delta.remove(p);
        }
    }
    let full = match &base {
        None => true,
        Some((_, count)) => delta.len() as u64 > 512.max(count / 4),
    };
    let id = format!("{:013}-{}", now_ms(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (base_id, removed_list, files) = if full {
        let mut files: BTreeMap<Vec<u8>, FileState> = store.manifest_all(project_id)?.into_iter().collect();
        for p in &removed {
            files.remove(p);
        }
        for (p, st) in &changed {
            files.insert(p.clone(), st.clone());
        }
        (None, Vec::new(), files.iter().map(|(p, s)| file_of(p, s)).collect())
    } else {
        (
            base.as_ref().map(|b| b.0.clone()),
            delta.iter().filter(|(_, f)| f.is_none()).map(|(p, _)| p.clone()).collect(),
            delta.values().flatten().cloned().collect(),
        )
    };
    let snap = Snapshot {
        id,
        parent: parent.clone(),
        created_at_ms: now_ms(),
        machine: opts.machine.clone(),
        side: commit == CommitTo::Side,
        base: base_id,
        removed: removed_list,
        files,
    };
    target.put_snapshot(&snap).await?;
    let new_etag = if commit == CommitTo::Side {
        None
    } else {
        store.set_sync_inflight(project_id, Some(&snap.id))?;
        // A conflict returns here: nothing below runs, the journal keeps every entry.
        match target.move_head(&snap.id, expected.as_deref()).await {
            Ok(e) => Some(e),
            Err(e) => {
                store.set_sync_inflight(project_id, None)?;
                return Err(e.into());
            }
        }
    };

    // Record the commit: manifest, journal, position and the differential state together.
    let done: Vec<(i64, i64)> = pending
        .iter()
        .filter(|e| {
            let paths: Vec<&Vec<u8>> = match &e.op {
                JournalOp::Upsert(p) | JournalOp::Delete(p) => vec![p],
                JournalOp::Rename { from, to } => vec![from, to],
            };
            !paths.iter().any(|p| failed.contains_key(*p))
        })
        .map(|e| (e.seq, e.rev))
        .collect();
    if let Some(etag) = &new_etag {
        store.with(|c| {
            let tx = c.unchecked_transaction()?;
            for p in &removed {
                tx.execute("DELETE FROM manifest WHERE project_id = ?1 AND path = ?2", params![project_id, p])?;
            }
            for (p, s) in &changed {
                put_row(&tx, project_id, p, s)?;
            }
            for (seq, rev) in &done {
                tx.execute("DELETE FROM journal WHERE seq = ?1 AND rev = ?2", params![seq, rev])?;
            }
            tx.execute(
                "UPDATE projects SET sync_snapshot = ?1, sync_head_etag = ?2, sync_inflight = NULL WHERE id = ?3",
                params![snap.id, etag, project_id],
            )?;
            tx.execute("DELETE FROM sync_delta WHERE project_id = ?1", [project_id])?;
            if full {
                tx.execute("DELETE FROM sync_base WHERE project_id = ?1", [project_id])?;
                for f in &snap.files {
                    tx.execute(
                        "INSERT INTO sync_base (project_id, path, blake3, size, mode) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![project_id, f.path, f.blake3, f.size as i64, f.mode as i64],
                    )?;
                }
                tx.execute("UPDATE projects SET sync_base = ?1 WHERE id = ?2", params![snap.id, project_id])?;
            } else {
                for (p, f) in &delta {
                    tx.execute(
                        "INSERT INTO sync_delta (project_id, path, blake3, size, mode) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            project_id,
                            p,
                            f.as_ref().map(|f| f.blake3.clone()),
                            f.as_ref().map(|f| f.size as i64).unwrap_or(0),
                            f.as_ref().map(|f| f.mode as i64).unwrap_or(0)
                        ],
                    )?;
                }
            }
            tx.commit()
        })?;
    }
    for (p, msg) in failed {
        for e in pending.iter().filter(|e| match &e.op {
            JournalOp::Upsert(q) | JournalOp::Delete(q) => *q == p,
            JournalOp::Rename { from, to } => *from == p || *to == p,
        }) {
            store.journal_failed(e.seq, &msg)?;
        }
        report.errors.push((p, msg));
    }
    report.errors.sort();
    report.snapshot = Some(snap.id);
    Ok(report)
}

/// Checks a snapshot path and makes its parent folders under `dest`, refusing to pass through
/// a symlink (which could lead out of the folder) or to write into `.git`. Returns the path
/// relative to `dest`; everything goes through `dir` (`dest` as a capability), so a folder that
/// sandboxed code swaps for a symlink meanwhile makes the write fail instead of leading outside.
fn prepare_path(dir: &cap_std::fs::Dir, raw: &[u8]) -> Result<PathBuf, EngineError> {
    let rel = Path::new(OsStr::from_bytes(raw));
    let bad = |m: &str| EngineError::Restore { path: shown(raw), message: m.into() };
    let parts: Vec<&OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(n) => Ok(n),
            _ => Err(bad("path outside the project")),
        })
        .collect::<Result<_, _>>()?;
    if parts.is_empty() || parts.iter().any(|p| p.as_bytes() == b".git") {
        return Err(bad("not a project file path"));
    }
    let mut folder = PathBuf::new();
    for p in &parts[..parts.len() - 1] {
        folder.push(p);
        match dir.symlink_metadata(&folder) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(bad("a folder on its path is a symlink or a file")),
            Err(_) => dir.create_dir(&folder).map_err(|e| bad(&outside_or(e)))?,
        }
    }
    let path = folder.join(parts[parts.len() - 1]);
    if dir.symlink_metadata(&path).is_ok_and(|m| m.is_dir() || m.file_type().is_symlink()) {
        return Err(bad("a folder or symlink is in the way"));
    }
    Ok(path)
}

/// An I/O error's text, saying so plainly when the path led outside the project.
fn outside_or(e: std::io::Error) -> String {
    match crate::paths::escaped("", &e) {
        Some(_) => "a folder on its path was replaced by a link leading outside the project".into(),
        None => e.to_string(),
    }
}

fn open_dest(dest: &Path) -> Result<cap_std::fs::Dir, EngineError> {
    cap_std::fs::Dir::open_ambient_dir(dest, cap_std::ambient_authority())
        .map_err(|e| EngineError::Restore { path: dest.display().to_string(), message: e.to_string() })
}

/// Writes one snapshot file (downloaded to a temporary name beside it, hash-checked, then
/// renamed over the old one, so a failure never leaves half a file).
async fn write_file(target: &S3Target, dest: &Path, f: &SnapshotFile) -> Result<(), EngineError> {
    let dir = open_dest(dest)?;
    let path = prepare_path(&dir, &f.path)?;
    let io = |e: std::io::Error| EngineError::Restore { path: shown(&f.path), message: outside_or(e) };
    let tmp = path.with_file_name(format!(".aura-restore-{}", uuid::Uuid::new_v4().simple()));
    if super::links::is_link(f.mode) {
        // A link: its blob is the target text, made again as written (never followed).
        let text = target.get_blob(&f.blake3).await?;
        if super::links::skip_reason(&f.path, &text).is_some() {
            return Err(EngineError::Restore {
                path: shown(&f.path),
                message: "the snapshot holds a link leading outside the project; it is not made".into(),
            });
        }
        let made = dir.symlink(crate::paths::rel_bytes(&text), &tmp).and_then(|()| dir.rename(&tmp, &dir, &path));
        if made.is_err() {
            let _ = dir.remove_file(&tmp);
        }
        return made.map_err(io);
    }
    let file = dir.open_with(&tmp, cap_std::fs::OpenOptions::new().write(true).create_new(true)).map_err(io)?;
    let file = file.into_std();
    let perms = file.try_clone().and_then(|c| c.set_permissions(std::fs::Permissions::from_mode(f.mode)));
    let done = match target.get_blob_into(&f.blake3, file, &shown(&f.path)).await {
        Ok(_) => perms.map_err(io).and_then(|()| dir.rename(&tmp, &dir, &path).map_err(io)),
        Err(e) => Err(e.into()),
    };
    if done.is_err() {
        let _ = dir.remove_file(&tmp);
    }
    done
}

async fn resolve_id(target: &S3Target, id: Option<&str>) -> Result<String, EngineError> {
    Ok(match id {
        Some(i) => i.to_string(),
        None => target
            .head()
            .await?
            .map(|h| h.0)
            .ok_or(SyncError::Refused("the bucket has no snapshot of this project".into()))?,
    })
}

/// Writes snapshot `id` (or the bucket's HEAD) into `dest`, every file checked against its hash.
pub async fn restore(target: &S3Target, id: Option<&str>, dest: &Path) -> Result<Snapshot, EngineError> {
    let id = resolve_id(target, id).await?;
    let snap = target.snapshot(&id).await?;
    let writes: Vec<_> = snap.files.iter().map(|f| write_file(target, dest, f)).collect();
    futures::stream::iter(writes).buffer_unordered(16).try_collect::<Vec<()>>().await?;
    Ok(snap)
}

/// What [`adopt`] did.
#[derive(Debug, Default)]
pub struct AdoptReport {
    pub snapshot: String,
    /// Local changes not in the bucket were first kept as this side snapshot.
    pub kept_local_as: Option<String>,
    pub written: usize,
    pub removed: usize,
    /// Local files whose content is in no snapshot (too large, unreadable): never removed or
    /// overwritten. Ones the snapshot has another version of are renamed aside first.
    pub kept: Vec<String>,
}

/// Makes the project folder equal to a bucket snapshot (HEAD when `id` is `None`) without
/// losing anything: local changes the bucket does not have are first stored as a side
/// snapshot. Files already identical are not downloaded; files the snapshot does not have are
/// removed (ignored ones are left alone).
///
/// With `follow`, the project's position becomes the bucket's HEAD ("take theirs", a restore
/// onto a new machine). Without it the restored content is journaled as a new change on top
/// of HEAD (restoring an old snapshot from the history).
pub async fn adopt(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &S3Target,
    id: Option<&str>,
    follow: bool,
    opts: &PushOptions,
) -> Result<AdoptReport, EngineError> {
    let mut report = AdoptReport::default();
    // Keep what is only here first.
    super::scan::scan(root, store, project_id)?;
    if store.journal_count(project_id)? > 0 {
        let side = push_to(root, store, project_id, target, opts, CommitTo::Side).await?;
        report.kept_local_as = side.snapshot;
    }
    let id = resolve_id(target, id).await?;
    let snap = target.snapshot(&id).await?;
    let want: HashMap<&[u8], &SnapshotFile> = snap.files.iter().map(|f| (f.path.as_slice(), f)).collect();

    // What is on disk now (sync's view), hashed only where the metadata differs from the manifest.
    let known = store.manifest_all(project_id)?;
    let dir = open_dest(root.path())?;
    let mut on_disk: HashMap<Vec<u8>, [u8; 32]> = HashMap::new();
    for e in ignore_rules::sync_walker(root.path(), root.path()).build().filter_map(Result::ok) {
        let is_link = e.file_type().is_some_and(|t| t.is_symlink());
        if !is_link && !e.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = e.path().strip_prefix(root.path()) else { continue };
        let rel = rel.as_os_str().as_bytes().to_vec();
        let hash = match (known.get(&rel), e.metadata()) {
            (Some(k), Ok(m)) if FileState::from_meta(&m, k.blake3) == *k => k.blake3,
            _ if is_link => match read_link(&dir, &rel) {
                // A link sync does not carry is left alone, like an ignored file.
                Ok(Some((text, _))) if super::links::skip_reason(&rel, &text).is_some() => continue,
                Ok(Some((_, state))) => state.blake3,
                _ => [0; 32],
            },
            _ => super::scan::hash_file(&dir, &rel).map(|h| h.0).unwrap_or([0; 32]),
        };
        on_disk.insert(rel, hash);
    }
    // A local file may only be overwritten or removed if its content is in the bucket: in the
    // side snapshot just written, or synced before (the manifest). Anything else (over the size
    // limit, unreadable) is kept: moved aside when the snapshot has a version of that path.
    let mut safe: HashSet<[u8; 32]> = known.values().map(|k| k.blake3).collect();
    if let Some(side) = &report.kept_local_as {
        safe.extend(target.snapshot(side).await?.files.iter().filter_map(|f| unhex(&f.blake3)));
    }
    let unsafe_here = |p: &[u8]| on_disk.get(p).is_some_and(|h| *h == [0; 32] || !safe.contains(h));
    let to_write: Vec<&SnapshotFile> = snap
        .files
        .iter()
        .filter(|f| {
            let same = on_disk.get(&f.path).is_some_and(|h| Some(*h) == unhex(&f.blake3));
            let mode_ok = if super::links::is_link(f.mode) {
                dir.symlink_metadata(rel_bytes(&f.path)).is_ok_and(|m| m.file_type().is_symlink())
            } else {
                dir.symlink_metadata(rel_bytes(&f.path))
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o7777 == f.mode)
            };
            !(same && mode_ok)
        })
        .collect();
    for f in &to_write {
        if unsafe_here(&f.path) {
            let suffix = format!(".aura-kept-{}", now_ms());
            let aside = [f.path.as_slice(), suffix.as_bytes()].concat();
            dir.rename(rel_bytes(&f.path), &dir, rel_bytes(&aside))
                .map_err(|e| EngineError::Restore { path: shown(&f.path), message: outside_or(e) })?;
            report.kept.push(format!("{}{suffix}", shown(&f.path)));
        }
    }
    report.written = to_write.len();
    let writes: Vec<_> = to_write.into_iter().map(|f| write_file(target, root.path(), f)).collect();
    futures::stream::iter(writes).buffer_unordered(opts.concurrency.max(1)).try_collect::<Vec<()>>().await?;
    for p in on_disk.keys().filter(|p| !want.contains_key(p.as_slice())) {
        if unsafe_here(p) {
            report.kept.push(shown(p));
            continue;
        }
        match dir.remove_file(rel_bytes(p)) {
            Ok(()) => report.removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(EngineError::Restore { path: shown(p), message: outside_or(e) }),
        }
    }

    if follow {
        let (head_id, etag) = target.head().await?.ok_or(SyncError::Refused("the bucket has no HEAD".into()))?;
        // Another machine's history: this machine's next pass starts a new full snapshot.
        store.sync_reset_base(project_id)?;
        store.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute("DELETE FROM manifest WHERE project_id = ?1", [project_id])?;
            tx.execute("DELETE FROM journal WHERE project_id = ?1", [project_id])?;
            for f in &snap.files {
                if super::links::is_link(f.mode) {
                    if let Ok(Some((_, state))) = read_link(&dir, &f.path) {
                        put_row(&tx, project_id, &f.path, &state)?;
                    }
                    continue;
                }
                let meta = crate::paths::open_read(&dir, rel_bytes(&f.path)).and_then(|f| f.metadata());
                if let (Ok(m), Some(h)) = (meta, unhex(&f.blake3)) {
                    put_row(&tx, project_id, &f.path, &FileState::from_meta(&m, h))?;
                }
            }
            tx.execute(
                "UPDATE projects SET sync_snapshot = ?1, sync_head_etag = ?2, sync_inflight = NULL WHERE id = ?3",
                params![head_id, etag, project_id],
            )?;
            tx.commit()
        })?;
        if head_id != snap.id {
            // Following HEAD but restoring an older snapshot: the difference is a new change.
            super::scan::scan(root, store, project_id)?;
        }
    } else {
        super::scan::scan(root, store, project_id)?;
    }
    report.snapshot = snap.id;
    Ok(report)
}

/// One version of a file in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    pub snapshot: String,
    pub created_at_ms: i64,
    pub machine: String,
    pub blake3: String,
    pub size: u64,
}

/// The distinct versions of `path` in the newest `limit` snapshots, newest first (a version
/// shows once, at the newest snapshot that has it... and the snapshot where it first appeared
/// is the one after it in the list).
pub async fn file_history(target: &S3Target, path: &[u8], limit: usize) -> Result<Vec<FileVersion>, EngineError> {
    let ids = target.list_snapshots().await?;
    let ids: Vec<String> = ids.into_iter().rev().take(limit).collect();
    let snaps: Vec<Snapshot> = futures::stream::iter(ids.iter().map(|id| target.snapshot(id)).collect::<Vec<_>>())
        .buffered(8)
        .try_collect()
        .await?;
    let mut out: Vec<FileVersion> = Vec::new();
    for s in snaps {
        if let Some(f) = s.files.iter().find(|f| f.path == path) {
            if out.last().is_none_or(|v| v.blake3 != f.blake3) {
                out.push(FileVersion {
                    snapshot: s.id.clone(),
                    created_at_ms: s.created_at_ms,
                    machine: s.machine.clone(),
                    blake3: f.blake3.clone(),
                    size: f.size,
                });
            }
        }
    }
    Ok(out)
}

/// Writes one version of one file (from the history) over the project's copy; the watcher or
/// the caller journals it as a change like any save. If the copy on disk has content the
/// bucket does not have yet (not synced), it is first moved aside as `<name>.aura-kept-<time>`,
/// whose project-relative path is returned.
pub async fn restore_file(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &S3Target,
    path: &[u8],
    blake3: &str,
) -> Result<Option<String>, EngineError> {
    let dir = open_dest(root.path())?;
    let io = |e: std::io::Error| EngineError::Restore { path: shown(path), message: outside_or(e) };
    let mode = dir.metadata(rel_bytes(path)).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
    let mut kept = None;
    if let Some((file, _)) = open_regular(&dir, path).map_err(io)? {
        let now = super::scan::hash_open(&file).map_err(io)?;
        let synced = store.manifest_get(project_id, path)?.is_some_and(|m| m.blake3 == now);
        if !synced {
            let suffix = format!(".aura-kept-{}", now_ms());
            let aside = [path, suffix.as_bytes()].concat();
            dir.rename(rel_bytes(path), &dir, rel_bytes(&aside)).map_err(io)?;
            kept = Some(format!("{}{suffix}", shown(path)));
        }
    }
    let f = SnapshotFile { path: path.to_vec(), size: 0, blake3: blake3.to_string(), mode };
    write_file(target, root.path(), &f).await?;
    Ok(kept)
}

#[derive(Debug, Default)]
pub struct GcReport {
    pub snapshots: usize,
    pub blobs_kept: usize,
    pub blobs_deleted: usize,
    pub bytes_freed: u64,
}

/// Which snapshots history keeps: every one of the last `all_days`, then the newest of each
/// day up to `daily_days`, then the newest of each week.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub all_days: i64,
    pub daily_days: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self { all_days: 7, daily_days: 90 }
    }
}

/// Deletes snapshots the retention policy does not keep. Never HEAD, never a full snapshot
/// (differential ones, kept or written later by any machine, build on them), never one whose
/// id does not carry its time.
pub async fn prune(target: &S3Target, policy: Retention, now: i64) -> Result<usize, EngineError> {
    const DAY: i64 = 24 * 3600 * 1000;
    let head = target.head().await?.map(|h| h.0);
    let ids = target.list_snapshots().await?;
    // Newest first: the first snapshot seen in a day (or week) bucket is the one kept.
    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    for id in ids.iter().rev() {
        let Some(t) = id.split('-').next().and_then(|t| t.parse::<i64>().ok()) else { continue };
        let age = now - t;
        let bucket = if age < policy.all_days * DAY {
            continue;
        } else if age < policy.daily_days * DAY {
            (0, t / DAY)
        } else {
            (1, t / (7 * DAY))
        };
        if seen.insert(bucket) || Some(id) == head.as_ref() {
            continue;
        }
        candidates.push(id.clone());
    }
    let stored: Vec<Snapshot> =
        futures::stream::iter(candidates.iter().map(|id| target.snapshot_stored(id)).collect::<Vec<_>>())
            .buffered(8)
            .try_collect()
            .await?;
    let doomed: Vec<String> = stored.into_iter().filter(|s| s.base.is_some()).map(|s| s.id).collect();
    target.delete_snapshots(&doomed).await?;
    Ok(doomed.len())
}

/// Deletes blobs no snapshot references. Blobs newer than `grace_ms` are kept: a pass on
/// another machine may have stored them for a snapshot it has not committed yet.
pub async fn gc(target: &S3Target, grace_ms: i64) -> Result<GcReport, EngineError> {
    let ids = target.list_snapshots().await?;
    let mut referenced = HashSet::new();
    let snaps: Vec<Snapshot> = futures::stream::iter(ids.iter().map(|id| target.snapshot(id)).collect::<Vec<_>>())
        .buffered(8)
        .try_collect()
        .await?;
    for s in &snaps {
        for f in &s.files {
            referenced.insert(f.blake3.clone());
        }
    }
    let cutoff = now_ms() - grace_ms;
    let mut report = GcReport { snapshots: snaps.len(), ..Default::default() };
    let mut doomed = Vec::new();
    for b in target.list_blobs().await? {
        if referenced.contains(&b.hash) || b.modified_ms > cutoff {
            report.blobs_kept += 1;
        } else {
            report.bytes_freed += b.size;
            doomed.push(b.hash);
        }
    }
    report.blobs_deleted = doomed.len();
    target.delete_blobs(&doomed).await?;
    Ok(report)
}
