//! What each remote sandbox was sent of its project: path → content digest (see
//! `sandbox::ledger`). Kept so that reattaching after a restart sends only the difference.

use std::collections::HashMap;

use rusqlite::params;

use super::{Store, StoreError};

/// A path's content digest (blake3 of what was sent).
pub type Digest = [u8; 32];

impl Store {
    /// What `sandbox` holds, as last recorded.
    pub fn mirror_manifest(&self, sandbox: &str) -> Result<HashMap<Vec<u8>, Digest>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached("SELECT path, digest FROM mirror_files WHERE sandbox = ?1")?;
        let rows = stmt.query_map(params![sandbox], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut out = HashMap::new();
        for row in rows {
            let (path, digest) = row?;
            if let Ok(d) = Digest::try_from(digest.as_slice()) {
                out.insert(path, d);
            }
        }
        Ok(out)
    }

    /// Records what was sent (`Some`) and removed (`None`, with everything under it), in one
    /// transaction.
    pub fn mirror_record(&self, sandbox: &str, changes: &[(Vec<u8>, Option<Digest>)]) -> Result<(), StoreError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO mirror_files (sandbox, path, digest) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sandbox, path) DO UPDATE SET digest = excluded.digest",
            )?;
            let mut del = tx.prepare_cached(
                "DELETE FROM mirror_files WHERE sandbox = ?1 AND (path = ?2 OR substr(path, 1, ?3) = ?4)",
            )?;
            for (path, digest) in changes {
                match digest {
                    Some(d) => {
                        put.execute(params![sandbox, path, d.as_slice()])?;
                    }
                    None => {
                        let mut prefix = path.clone();
                        prefix.push(b'/');
                        del.execute(params![sandbox, path, prefix.len() as i64, prefix])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets `sandbox` (deleted, or gone on its provider).
    pub fn mirror_forget(&self, sandbox: &str) -> Result<(), StoreError> {
        self.conn.lock().execute("DELETE FROM mirror_files WHERE sandbox = ?1", params![sandbox])?;
        Ok(())
    }
}
