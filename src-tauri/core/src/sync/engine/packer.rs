//! A pass's small blobs on their way into packs: files are read and hashed `concurrency` at a
//! time and add their content here; whichever adds the byte that fills a pack sends it while
//! the others go on filling the next one.

use super::*;
use crate::sync::bucket::PackBuilder;
use crate::sync::snapshot::PackRef;

pub(super) struct Packer<'a> {
    target: &'a Bucket,
    store: &'a Store,
    location: String,
    open: parking_lot::Mutex<PackBuilder>,
}

impl<'a> Packer<'a> {
    pub(super) fn new(store: &'a Store, target: &'a Bucket) -> Self {
        Self { target, store, location: target.location(), open: Default::default() }
    }

    /// Adds a blob; sends the pack when this fills it. Returns the blobs now stored (to be
    /// noted as sent), empty when the pack is still filling.
    pub(super) async fn add(&self, hash: [u8; 32], data: &[u8]) -> Result<Vec<[u8; 32]>, SyncError> {
        let full = {
            let mut open = self.open.lock();
            open.add(hash, data);
            open.full().then(|| std::mem::take(&mut *open))
        };
        match full {
            Some(pack) => self.send(pack).await,
            None => Ok(Vec::new()),
        }
    }

    /// Sends what is left (the pass's last, partly filled pack).
    pub(super) async fn finish(&self) -> Result<Vec<[u8; 32]>, SyncError> {
        let pack = std::mem::take(&mut *self.open.lock());
        if pack.is_empty() {
            return Ok(Vec::new());
        }
        self.send(pack).await
    }

    /// Stores a pack, then records where its blobs are before anyone may count them as sent:
    /// a blob known to be in the bucket always has its place known too.
    /// (Its memory is not counted against the upload budget: the files in it already were, and
    /// at most one pack per file in flight is ever held.)
    async fn send(&self, pack: PackBuilder) -> Result<Vec<[u8; 32]>, SyncError> {
        let placed: Vec<([u8; 32], PackRef)> = self.target.put_pack(pack).await?;
        self.store.pack_index_put(&self.location, &placed)?;
        Ok(placed.into_iter().map(|(h, _)| h).collect())
    }
}

impl ProjectSync<'_> {
    /// Fills in where each entry's content is packed (from the pack index); an entry with no
    /// row is its own object.
    pub(super) fn place(&self, files: &mut [SnapshotFile]) -> Result<(), SyncError> {
        let has_content = |f: &SnapshotFile| !crate::sync::folders::is_dir(f.mode);
        let hashes: Vec<[u8; 32]> = files.iter().filter(|f| has_content(f)).filter_map(|f| unhex(&f.blake3)).collect();
        let found = self.store.pack_index_find(&self.bucket.location(), hashes.iter())?;
        for f in files.iter_mut().filter(|f| has_content(f)) {
            f.pack = unhex(&f.blake3).and_then(|h| found.get(&h).cloned());
        }
        Ok(())
    }

    /// Remembers where the packed entries of a snapshot read from the bucket are, so this
    /// machine's own snapshots can name them later.
    pub(super) fn learn_places(&self, snap: &Snapshot) -> Result<(), SyncError> {
        let rows: Vec<([u8; 32], PackRef)> =
            snap.files.iter().filter_map(|f| Some((unhex(&f.blake3)?, f.pack.clone()?))).collect();
        Ok(self.store.pack_index_put(&self.bucket.location(), &rows)?)
    }
}
