//! The change journal: every local change is written here (durably, in SQLite) before anything
//! tries to upload it; workers take entries in order and mark them done or failed. A crash or a
//! dead network loses nothing: on restart the pending entries are still there.

use rusqlite::{params, OptionalExtension};

use crate::store::{now_ms, Store, StoreError};

/// What happened to a path. Paths are raw bytes: file names need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalOp {
    Upsert(Vec<u8>),
    Delete(Vec<u8>),
    Rename { from: Vec<u8>, to: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: i64,
    pub op: JournalOp,
    /// Bumped when a later change to the same path is folded into this row: a pass that
    /// uploaded an earlier revision must not drop the row.
    pub rev: i64,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl Store {
    /// Records a change; a pending upsert of the same path is not recorded twice (its revision
    /// goes up instead, so a pass that is uploading it keeps the row for the next pass).
    pub fn journal_record(&self, project_id: i64, op: &JournalOp) -> Result<i64, StoreError> {
        self.with(|c| record_in(c, project_id, op))
    }

    /// Records many changes in one transaction (a scan).
    pub fn journal_record_many(&self, project_id: i64, ops: &[JournalOp]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            for op in ops {
                record_in(&tx, project_id, op)?;
            }
            tx.commit()
        })
    }

    /// Pending entries, oldest first.
    pub fn journal_pending(&self, project_id: i64, limit: u32) -> Result<Vec<JournalEntry>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT seq, op, path, from_path, attempts, last_error, rev FROM journal WHERE project_id = ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![project_id, limit], |r| {
                let op: String = r.get(1)?;
                let path: Vec<u8> = r.get(2)?;
                let from: Option<Vec<u8>> = r.get(3)?;
                let op = match (op.as_str(), from) {
                    ("delete", _) => JournalOp::Delete(path),
                    ("rename", Some(from)) => JournalOp::Rename { from, to: path },
                    _ => JournalOp::Upsert(path),
                };
                Ok(JournalEntry { seq: r.get(0)?, op, rev: r.get(6)?, attempts: r.get(4)?, last_error: r.get(5)? })
            })?;
            rows.collect()
        })
    }

    pub fn journal_count(&self, project_id: i64) -> Result<u64, StoreError> {
        let n: i64 = self
            .with(|c| c.query_row("SELECT COUNT(*) FROM journal WHERE project_id = ?1", [project_id], |r| r.get(0)))?;
        Ok(n as u64)
    }

    /// The entry (at revision `rev`) reached the bucket: forget it, unless a newer change was
    /// folded into it meanwhile.
    pub fn journal_done(&self, seq: i64, rev: i64) -> Result<(), StoreError> {
        self.with(|c| c.execute("DELETE FROM journal WHERE seq = ?1 AND rev = ?2", [seq, rev]))?;
        Ok(())
    }

    /// Entries that failed at least once, with their last error (for the sync panel).
    pub fn journal_failing(&self, project_id: i64) -> Result<u64, StoreError> {
        let n: i64 = self.with(|c| {
            c.query_row("SELECT COUNT(*) FROM journal WHERE project_id = ?1 AND attempts > 0", [project_id], |r| {
                r.get(0)
            })
        })?;
        Ok(n as u64)
    }

    /// A try failed; the entry stays for the next one.
    pub fn journal_failed(&self, seq: i64, error: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute("UPDATE journal SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1", params![seq, error])
        })?;
        Ok(())
    }
}

fn record_in(c: &rusqlite::Connection, project_id: i64, op: &JournalOp) -> rusqlite::Result<i64> {
    let (kind, path, from): (&str, &[u8], Option<&[u8]>) = match op {
        JournalOp::Upsert(p) => ("upsert", p, None),
        JournalOp::Delete(p) => ("delete", p, None),
        JournalOp::Rename { from, to } => ("rename", to, Some(from)),
    };
    if kind == "upsert" {
        // Fold into the path's newest row only when that row is an upsert: folding into
        // an older one would put this change before a later delete of the same path.
        // Two indexed look-ups (an OR across both columns would scan the whole journal).
        let by_path: Option<(i64, String, Vec<u8>)> = c
            .query_row(
                "SELECT seq, op, path FROM journal WHERE project_id = ?1 AND path = ?2 ORDER BY seq DESC LIMIT 1",
                params![project_id, path],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let by_from: Option<i64> = c
            .query_row(
                "SELECT seq FROM journal WHERE project_id = ?1 AND from_path = ?2 ORDER BY seq DESC LIMIT 1",
                params![project_id, path],
                |r| r.get(0),
            )
            .optional()?;
        let newest = by_path.filter(|(seq, _, _)| by_from.is_none_or(|f| f < *seq));
        if let Some((seq, op, p)) = newest {
            if op == "upsert" && p == path {
                c.execute("UPDATE journal SET rev = rev + 1 WHERE seq = ?1", [seq])?;
                return Ok(seq);
            }
        }
    }
    c.query_row(
        "INSERT INTO journal (project_id, op, path, from_path, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING seq",
        params![project_id, kind, path, from, now_ms()],
        |r| r.get(0),
    )
}
