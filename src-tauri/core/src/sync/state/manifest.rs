//! The manifest: what this machine last synced of each path (size, mtime, inode, hash, mode).

use std::collections::HashMap;

use rusqlite::params;

use crate::store::{Store, StoreError};
use crate::sync::scan::FileState;

fn row_to_state(r: &rusqlite::Row<'_>, from: usize) -> rusqlite::Result<FileState> {
    let hash: Vec<u8> = r.get::<_, Option<Vec<u8>>>(from + 3)?.unwrap_or_default();
    let mut blake3 = [0u8; 32];
    if hash.len() == 32 {
        blake3.copy_from_slice(&hash);
    }
    Ok(FileState {
        size: r.get::<_, i64>(from)? as u64,
        mtime_ns: r.get(from + 1)?,
        inode: r.get::<_, Option<i64>>(from + 2)?.unwrap_or(0) as u64,
        blake3,
        mode: r.get::<_, i64>(from + 4)? as u32,
    })
}

impl Store {
    pub fn manifest_all(&self, project_id: i64) -> Result<HashMap<Vec<u8>, FileState>, StoreError> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT path, size, mtime_ns, inode, blake3, mode FROM manifest WHERE project_id = ?1")?;
            let rows = st.query_map([project_id], |r| Ok((r.get::<_, Vec<u8>>(0)?, row_to_state(r, 1)?)))?;
            rows.collect()
        })
    }

    pub fn manifest_get(&self, project_id: i64, path: &[u8]) -> Result<Option<FileState>, StoreError> {
        use rusqlite::OptionalExtension;
        self.with(|c| {
            c.query_row(
                "SELECT size, mtime_ns, inode, blake3, mode FROM manifest WHERE project_id = ?1 AND path = ?2",
                params![project_id, path],
                |r| row_to_state(r, 0),
            )
            .optional()
        })
    }

    /// Paths the manifest holds under the folder `dir` (project-relative, no trailing slash).
    pub fn manifest_under(&self, project_id: i64, dir: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut lo = dir.to_vec();
        lo.push(b'/');
        let mut hi = dir.to_vec();
        hi.push(b'/' + 1);
        self.with(|c| {
            let mut st = c.prepare("SELECT path FROM manifest WHERE project_id = ?1 AND path >= ?2 AND path < ?3")?;
            let rows = st.query_map(params![project_id, lo, hi], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Records what was synced (or, for a metadata-only change, what the file looks like now).
    pub fn manifest_put(&self, project_id: i64, path: &[u8], s: &FileState) -> Result<(), StoreError> {
        self.with(|c| put_row(c, project_id, path, s))?;
        Ok(())
    }

    /// Records many rows in one transaction (metadata-only changes a scan found).
    pub fn manifest_put_many(&self, project_id: i64, rows: &[(Vec<u8>, FileState)]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            for (p, st) in rows {
                put_row(&tx, project_id, p, st)?;
            }
            tx.commit()
        })
    }

    pub fn manifest_remove(&self, project_id: i64, path: &[u8]) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM manifest WHERE project_id = ?1 AND path = ?2", params![project_id, path])
        })?;
        Ok(())
    }
}

pub(crate) fn put_row(
    c: &rusqlite::Connection,
    project_id: i64,
    path: &[u8],
    s: &FileState,
) -> rusqlite::Result<usize> {
    c.execute(
        "INSERT INTO manifest (project_id, path, size, mtime_ns, inode, blake3, mode, synced_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(project_id, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
           inode = excluded.inode, blake3 = excluded.blake3, mode = excluded.mode, synced_at = excluded.synced_at",
        params![
            project_id,
            path,
            s.size as i64,
            s.mtime_ns,
            s.inode as i64,
            s.blake3.to_vec(),
            s.mode as i64,
            crate::store::now_ms()
        ],
    )
}
