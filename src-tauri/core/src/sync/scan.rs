//! Finds what changed since the manifest was written, in O(changes) hashing: a file whose size,
//! mtime and inode match its manifest row is taken as unchanged without being read; otherwise
//! it is hashed (blake3) and only a different hash is a change. Deleted files are found by
//! difference. Unreadable files become per-file errors; the rest of the scan goes on.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use rusqlite::params;

use super::journal::JournalOp;
use crate::paths::ProjectRoot;
use crate::store::{Store, StoreError};
use crate::workspace::ignore_rules;

/// What the manifest knows of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    pub blake3: [u8; 32],
}

#[derive(Debug, Default)]
pub struct ScanReport {
    /// Journaled as changed (new or different content).
    pub changed: Vec<Vec<u8>>,
    /// Journaled as deleted.
    pub deleted: Vec<Vec<u8>>,
    /// Files whose content was read to hash it.
    pub hashed: usize,
    /// Files taken as unchanged from their metadata alone.
    pub unchanged: usize,
    /// Files that could not be read: (path, reason).
    pub errors: Vec<(Vec<u8>, String)>,
}

impl Store {
    pub fn manifest_all(&self, project_id: i64) -> Result<HashMap<Vec<u8>, FileState>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare("SELECT path, size, mtime_ns, inode, blake3 FROM manifest WHERE project_id = ?1")?;
            let rows = st.query_map([project_id], |r| {
                let hash: Vec<u8> = r.get::<_, Option<Vec<u8>>>(4)?.unwrap_or_default();
                let mut blake3 = [0u8; 32];
                if hash.len() == 32 {
                    blake3.copy_from_slice(&hash);
                }
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    FileState {
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        inode: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u64,
                        blake3,
                    },
                ))
            })?;
            rows.collect()
        })
    }

    /// Records what was synced (or, for a metadata-only change, what the file looks like now).
    pub fn manifest_put(&self, project_id: i64, path: &[u8], s: &FileState) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO manifest (project_id, path, size, mtime_ns, inode, blake3, synced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(project_id, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                   inode = excluded.inode, blake3 = excluded.blake3, synced_at = excluded.synced_at",
                params![project_id, path, s.size as i64, s.mtime_ns, s.inode as i64, s.blake3.to_vec(), crate::store::now_ms()],
            )
        })?;
        Ok(())
    }

    pub fn manifest_remove(&self, project_id: i64, path: &[u8]) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM manifest WHERE project_id = ?1 AND path = ?2", params![project_id, path])
        })?;
        Ok(())
    }
}

/// Hashes a file's content as it is on disk now.
pub fn hash_file(path: &std::path::Path) -> std::io::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path)?)?;
    Ok(*h.finalize().as_bytes())
}

/// Scans the project against the manifest and journals what changed.
pub fn scan(root: &ProjectRoot, store: &Store, project_id: i64) -> Result<ScanReport, StoreError> {
    let mut known = store.manifest_all(project_id)?;
    let mut report = ScanReport::default();
    for entry in ignore_rules::walker(root.path()).build() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                report.errors.push((Vec::new(), e.to_string()));
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root.path()) else { continue };
        let rel = rel.as_os_str().as_bytes().to_vec();
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) => {
                report.errors.push((rel, e.to_string()));
                continue;
            }
        };
        let now = (meta.len(), meta.mtime() * 1_000_000_000 + meta.mtime_nsec(), meta.ino());
        let before = known.remove(&rel);
        if let Some(b) = &before {
            if (b.size, b.mtime_ns, b.inode) == now {
                report.unchanged += 1;
                continue;
            }
        }
        let hash = match hash_file(entry.path()) {
            Ok(h) => h,
            Err(e) => {
                report.errors.push((rel, e.to_string()));
                continue;
            }
        };
        report.hashed += 1;
        match before {
            // Same content, new metadata (a touch, a copy back): remember the metadata only.
            Some(b) if b.blake3 == hash => {
                store.manifest_put(
                    project_id,
                    &rel,
                    &FileState { size: now.0, mtime_ns: now.1, inode: now.2, blake3: hash },
                )?;
            }
            _ => {
                store.journal_record(project_id, &JournalOp::Upsert(rel.clone()))?;
                report.changed.push(rel);
            }
        }
    }
    // Whatever the manifest still holds is gone from disk.
    for (path, _) in known {
        store.journal_record(project_id, &JournalOp::Delete(path.clone()))?;
        report.deleted.push(path);
    }
    report.changed.sort();
    report.deleted.sort();
    Ok(report)
}
