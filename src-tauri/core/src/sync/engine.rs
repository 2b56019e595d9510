//! One sync pass to the bucket, and restore from it.
//!
//! `push` drains the journal: each changed file is read, hashed and stored as a blob (once per
//! content), then one snapshot of the whole project is committed with a conditional HEAD
//! write. Only after that commit are the journal entries dropped and the manifest updated, so a
//! crash or a dead network at any point leaves the journal as it was: the next pass redoes
//! the work (blobs already stored are not sent again). A conflict leaves everything queued.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use rusqlite::{params, OptionalExtension};

use super::journal::JournalOp;
use super::s3::{S3Target, Snapshot, SnapshotFile, SyncError};
use super::scan::FileState;
use crate::paths::ProjectRoot;
use crate::store::{now_ms, Store, StoreError};

/// Files larger than this are reported, not uploaded, until multipart upload lands.
pub const MAX_SINGLE_PUT: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write '{path}': {message}")]
    Restore { path: String, message: String },
}

#[derive(Debug, Default)]
pub struct PushReport {
    pub uploaded: usize,
    /// Blobs the bucket already had (same content elsewhere, or a retried pass).
    pub already_there: usize,
    pub deleted: usize,
    pub snapshot: Option<String>,
    /// Per-file problems; those files stay queued.
    pub errors: Vec<(Vec<u8>, String)>,
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
                "UPDATE projects SET sync_snapshot = ?1, sync_head_etag = ?2 WHERE id = ?3",
                params![snapshot, etag, project_id],
            )
        })?;
        Ok(())
    }
}

fn hex(h: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*h).to_hex().to_string()
}

/// Sends what the journal holds and commits a snapshot.
pub async fn push(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &S3Target,
) -> Result<PushReport, EngineError> {
    let mut report = PushReport::default();
    let pending = store.journal_pending(project_id, 100_000)?;
    if pending.is_empty() {
        return Ok(report);
    }
    // The project as the manifest knows it, plus this pass's changes.
    // (Modes are not in the manifest: read them from disk, a stat per file, no reads.)
    let mode_of = |p: &[u8]| {
        std::fs::metadata(root.path().join(OsStr::from_bytes(p)))
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644)
    };
    let mut files: BTreeMap<Vec<u8>, (FileState, u32)> = store
        .manifest_all(project_id)?
        .into_iter()
        .map(|(p, s)| {
            let m = mode_of(&p);
            (p, (s, m))
        })
        .collect();
    let mut done = Vec::new();
    for entry in &pending {
        let (path, removed_from) = match &entry.op {
            JournalOp::Upsert(p) => (Some(p.clone()), None),
            JournalOp::Delete(p) => (None, Some(p.clone())),
            JournalOp::Rename { from, to } => (Some(to.clone()), Some(from.clone())),
        };
        if let Some(p) = removed_from {
            files.remove(&p);
            report.deleted += 1;
        }
        if let Some(p) = path {
            let abs = root.path().join(OsStr::from_bytes(&p));
            let meta = match std::fs::metadata(&abs) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // Vanished since it was journaled: it is a delete now.
                    files.remove(&p);
                    done.push(entry.seq);
                    continue;
                }
                Err(e) => {
                    store.journal_failed(entry.seq, &e.to_string())?;
                    report.errors.push((p, e.to_string()));
                    continue;
                }
            };
            if meta.len() > MAX_SINGLE_PUT {
                let msg = format!("{} bytes: larger than {MAX_SINGLE_PUT}, not synced by this version", meta.len());
                store.journal_failed(entry.seq, &msg)?;
                report.errors.push((p, msg));
                continue;
            }
            let data = match std::fs::read(&abs) {
                Ok(d) => d,
                Err(e) => {
                    store.journal_failed(entry.seq, &e.to_string())?;
                    report.errors.push((p, e.to_string()));
                    continue;
                }
            };
            let hash = *blake3::hash(&data).as_bytes();
            if target.put_blob(&hex(&hash), data).await? {
                report.uploaded += 1;
            } else {
                report.already_there += 1;
            }
            let state = FileState {
                size: meta.len(),
                mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                inode: meta.ino(),
                blake3: hash,
            };
            files.insert(p, (state, meta.permissions().mode() & 0o7777));
        }
        done.push(entry.seq);
    }
    let (parent, etag) = store.sync_position(project_id)?;
    let snap = Snapshot {
        id: format!("{}-{}", now_ms(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
        parent,
        created_at_ms: now_ms(),
        files: files
            .iter()
            .map(|(p, (s, mode))| SnapshotFile { path: p.clone(), size: s.size, blake3: hex(&s.blake3), mode: *mode })
            .collect(),
    };
    // A conflict returns here: nothing below runs, the journal keeps every entry.
    let new_etag = target.commit(&snap, etag.as_deref()).await?;
    store.set_sync_position(project_id, &snap.id, &new_etag)?;
    let known = store.manifest_all(project_id)?;
    for p in known.keys() {
        if !files.contains_key(p) {
            store.manifest_remove(project_id, p)?;
        }
    }
    for (p, (s, _)) in &files {
        store.manifest_put(project_id, p, s)?;
    }
    for seq in done {
        store.journal_done(seq)?;
    }
    report.snapshot = Some(snap.id);
    Ok(report)
}

/// Writes snapshot `id` (or the bucket's HEAD) into `dest`, every file checked against its hash.
pub async fn restore(target: &S3Target, id: Option<&str>, dest: &std::path::Path) -> Result<Snapshot, EngineError> {
    let id = match id {
        Some(i) => i.to_string(),
        None => target
            .head()
            .await?
            .map(|h| h.0)
            .ok_or(SyncError::Refused("the bucket has no snapshot of this project".into()))?,
    };
    let snap = target.snapshot(&id).await?;
    for f in &snap.files {
        let rel = std::path::Path::new(OsStr::from_bytes(&f.path));
        if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            return Err(EngineError::Restore {
                path: rel.display().to_string(),
                message: "path outside the project".into(),
            });
        }
        let data = target.get_blob(&f.blake3).await?;
        let path = dest.join(rel);
        let io = |e: std::io::Error| EngineError::Restore { path: rel.display().to_string(), message: e.to_string() };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, &data).map_err(io)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode)).map_err(io)?;
    }
    Ok(snap)
}
