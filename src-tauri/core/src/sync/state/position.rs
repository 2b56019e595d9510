//! The engine's position in the bucket: HEAD as last seen, the in-flight commit, the
//! differential base, sent blobs, and the transactions that record a pass or a followed HEAD.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, OptionalExtension};

use super::put_row;
use crate::store::{now_ms, Store, StoreError};
use crate::sync::engine::plan;
use crate::sync::scan::FileState;
use crate::sync::snapshot::SnapshotFile;

/// Moves this machine's position to `snapshot` (HEAD's ETag `etag`); nothing is in flight.
fn set_position(c: &rusqlite::Connection, project_id: i64, snapshot: &str, etag: &str) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE projects SET sync_snapshot = ?1, sync_head_etag = ?2, sync_inflight = NULL WHERE id = ?3",
        params![snapshot, etag, project_id],
    )
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
        self.with(|c| set_position(c, project_id, snapshot, etag))?;
        Ok(())
    }

    pub(crate) fn sync_inflight(&self, project_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .with(|c| {
                c.query_row("SELECT sync_inflight FROM projects WHERE id = ?1", [project_id], |r| r.get(0)).optional()
            })?
            .flatten())
    }

    pub(crate) fn set_sync_inflight(&self, project_id: i64, id: Option<&str>) -> Result<(), StoreError> {
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

    /// Binds the project to `key` and records `note` (a settings key and value) in the same
    /// transaction: a converted project is rebound and its old place noted for deletion
    /// together, never one without the other.
    pub fn rebind_sync_key(&self, project_id: i64, key: &str, note: (&str, &str)) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute("UPDATE projects SET sync_key = ?1 WHERE id = ?2", params![key, project_id])?;
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![note.0, note.1],
            )?;
            tx.commit()
        })
    }

    /// The full snapshot differential ones build on, with its file count.
    pub(crate) fn sync_base_info(&self, project_id: i64) -> Result<Option<(String, u64)>, StoreError> {
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

    pub(crate) fn sync_base_file(&self, project_id: i64, path: &[u8]) -> Result<Option<SnapshotFile>, StoreError> {
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
                        pack: None,
                    })
                },
            )
            .optional()
        })
    }

    /// The base's entries of `paths` (those it has).
    pub(crate) fn sync_base_files<'p>(
        &self,
        project_id: i64,
        paths: impl Iterator<Item = &'p Vec<u8>>,
    ) -> Result<HashMap<Vec<u8>, SnapshotFile>, StoreError> {
        let mut out = HashMap::new();
        for p in paths {
            if let Some(f) = self.sync_base_file(project_id, p)? {
                out.insert(p.clone(), f);
            }
        }
        Ok(out)
    }

    /// Records a committed pass in one transaction: the manifest takes its changes, the
    /// settled journal entries go, the position moves to `snapshot` (HEAD's ETag `etag`), and
    /// the differential state follows what the snapshot holds.
    pub(crate) fn record_pass(
        &self,
        project_id: i64,
        changes: &plan::Changes,
        settled: &[(i64, i64)],
        snapshot: &str,
        etag: &str,
        contents: &plan::Contents,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            for p in &changes.removed {
                tx.execute("DELETE FROM manifest WHERE project_id = ?1 AND path = ?2", params![project_id, p])?;
            }
            for (p, s) in &changes.changed {
                put_row(&tx, project_id, p, s)?;
            }
            for (seq, rev) in settled {
                tx.execute("DELETE FROM journal WHERE seq = ?1 AND rev = ?2", params![seq, rev])?;
            }
            set_position(&tx, project_id, snapshot, etag)?;
            tx.execute("DELETE FROM sync_delta WHERE project_id = ?1", [project_id])?;
            match contents {
                plan::Contents::Full(files) => {
                    tx.execute("DELETE FROM sync_base WHERE project_id = ?1", [project_id])?;
                    for f in files {
                        tx.execute(
                            "INSERT INTO sync_base (project_id, path, blake3, size, mode) VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![project_id, f.path, f.blake3, f.size as i64, f.mode as i64],
                        )?;
                    }
                    tx.execute("UPDATE projects SET sync_base = ?1 WHERE id = ?2", params![snapshot, project_id])?;
                }
                plan::Contents::Differential { delta, .. } => {
                    for (p, f) in delta {
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
            }
            tx.commit()
        })
    }

    /// Records that the folder now equals a snapshot and this machine follows HEAD (`snapshot`,
    /// ETag `etag`): the manifest is `files` as they are on disk now, the journal is empty, and
    /// the next pass starts a new full snapshot (this is another machine's history).
    pub(crate) fn record_followed(
        &self,
        project_id: i64,
        files: &[(Vec<u8>, FileState)],
        snapshot: &str,
        etag: &str,
    ) -> Result<(), StoreError> {
        self.sync_reset_base(project_id)?;
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute("DELETE FROM manifest WHERE project_id = ?1", [project_id])?;
            tx.execute("DELETE FROM journal WHERE project_id = ?1", [project_id])?;
            for (p, s) in files {
                put_row(&tx, project_id, p, s)?;
            }
            set_position(&tx, project_id, snapshot, etag)?;
            tx.commit()
        })
    }

    /// What differs from the base at this machine's position (`None`: removed).
    pub(crate) fn sync_delta(&self, project_id: i64) -> Result<BTreeMap<Vec<u8>, Option<SnapshotFile>>, StoreError> {
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
                    pack: None,
                });
                Ok((path, f))
            })?;
            rows.collect()
        })
    }

    /// Forgets the differential state: the next pass writes a full snapshot.
    pub(crate) fn sync_reset_base(&self, project_id: i64) -> Result<(), StoreError> {
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
    pub(crate) fn blob_sent_recently(&self, location: &str, hash: &[u8; 32]) -> bool {
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

    pub(crate) fn blobs_sent(&self, location: &str, hashes: &[[u8; 32]]) {
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
