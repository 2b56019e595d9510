//! The pack index: where each packed blob is (pack, offset, length) in one bucket location.
//! Rows come from this machine's own passes and from every snapshot it adopts; a blob with no
//! row is its own object (large files, and blobs stored before packs).

use std::collections::HashMap;

use rusqlite::params;

use crate::store::{Store, StoreError};
use crate::sync::snapshot::PackRef;

impl Store {
    /// Records where packed blobs are (one transaction).
    pub(crate) fn pack_index_put(&self, location: &str, rows: &[([u8; 32], PackRef)]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO pack_index (location, hash, pack, at, len) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(location, hash) DO UPDATE SET pack = excluded.pack, at = excluded.at, len = excluded.len",
                )?;
                for (h, r) in rows {
                    st.execute(params![location, h.to_vec(), r.id, r.at as i64, r.len as i64])?;
                }
            }
            tx.commit()
        })
    }

    /// The places of those of `hashes` that are packed.
    pub(crate) fn pack_index_find<'h>(
        &self,
        location: &str,
        hashes: impl Iterator<Item = &'h [u8; 32]>,
    ) -> Result<HashMap<[u8; 32], PackRef>, StoreError> {
        use rusqlite::OptionalExtension;
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT pack, at, len FROM pack_index WHERE location = ?1 AND hash = ?2")?;
            let mut out = HashMap::new();
            for h in hashes {
                let found = st
                    .query_row(params![location, h.to_vec()], |r| {
                        Ok(PackRef { id: r.get(0)?, at: r.get::<_, i64>(1)? as u64, len: r.get::<_, i64>(2)? as u64 })
                    })
                    .optional()?;
                if let Some(p) = found {
                    out.insert(*h, p);
                }
            }
            Ok(out)
        })
    }

    /// Whether a packed blob of exactly `len` bytes is known at `location`.
    pub(crate) fn pack_index_has_len(&self, location: &str, len: u64) -> Result<bool, StoreError> {
        use rusqlite::OptionalExtension;
        self.with(|c| {
            c.query_row(
                "SELECT 1 FROM pack_index WHERE location = ?1 AND len = ?2 LIMIT 1",
                params![location, len as i64],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
        })
    }
}
