//! Converting a plaintext project to an end-to-end encrypted one, history included: every
//! snapshot (oldest first, differential ones kept differential) is carried from the project's
//! old place in the bucket to its new, sealed one, its content re-stored sealed (small files
//! packed again, large ones streamed through a temporary file, each content once); then the
//! new place's HEAD names the same snapshot as the old, and the old HEAD is swapped —
//! conditionally — for a pointer to the new place. If another machine committed meanwhile,
//! its snapshots are carried over too and the swap is tried again; a machine still syncing
//! the old place is stopped by the pointer at its next commit.
//!
//! Killed at any point, nothing is lost: the old place is untouched until the swap, and a
//! new attempt skips the snapshots already carried.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::sync::bucket::{PackBuilder, PACK_MAX_BLOB};
use crate::sync::snapshot::PackRef;

/// Where each content (by its hash) is stored in the new place.
type Placed = HashMap<String, PackRef>;

/// Contents read from the old place: (hash, bytes), a pack's span or one content of its own.
type Read<'a> = futures::future::BoxFuture<'a, Result<Vec<(String, bytes::Bytes)>, SyncError>>;

/// Snapshots carried so far, and how many there are.
pub type ConvertProgress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

/// Carries every snapshot of `from` (plaintext) into `to` (sealed), moves `to`'s HEAD to the
/// snapshot `from`'s HEAD names and leaves `from`'s HEAD pointing at `to_key`. Returns the
/// HEAD snapshot and `to`'s HEAD ETag.
pub async fn convert_history(
    from: &Bucket,
    to: &Bucket,
    to_key: &str,
    opts: &PushOptions,
    progress: ConvertProgress<'_>,
) -> Result<(String, String), SyncError> {
    let mut placed = Placed::new();
    loop {
        let (head, etag) = match from.head().await {
            Ok(Some(h)) => h,
            Ok(None) => return Err(SyncError::Refused("the project has no HEAD to convert".into())),
            // Done already (cut short after the swap): the new place is the project.
            Err(SyncError::Moved { to: there }) if there == to_key => {
                return to.head().await?.ok_or_else(|| SyncError::Missing { key: format!("{to_key}/HEAD") });
            }
            Err(e) => return Err(e),
        };
        let carried: HashSet<String> = to.list_snapshots().await?.into_iter().collect();
        if placed.is_empty() {
            if let Some(last) = carried.iter().max() {
                learn(&mut placed, &to.snapshot(last).await?);
            }
        }
        let ids = from.list_snapshots().await?;
        let total = ids.len();
        for (i, id) in ids.iter().enumerate() {
            if !carried.contains(id) {
                carry(from, to, id, opts, &mut placed).await?;
            }
            progress(i + 1, total);
        }
        let to_etag = to.head().await?.map(|h| h.1);
        let new_etag = match to.move_head(&head, to_etag.as_deref()).await {
            Ok(e) => e,
            Err(SyncError::Conflict { .. }) => {
                return Err(SyncError::Refused("the project is being converted elsewhere at the same time".into()))
            }
            Err(e) => return Err(e),
        };
        match from.mark_moved(to_key, &etag).await {
            Ok(()) => return Ok((head, new_etag)),
            // Another machine committed meanwhile: carry its snapshots over too.
            Err(SyncError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
}

fn learn(placed: &mut Placed, snap: &Snapshot) {
    for f in &snap.files {
        if let Some(p) = &f.pack {
            placed.insert(f.blake3.clone(), p.clone());
        }
    }
}

/// Carries snapshot `id` as stored (a differential one stays differential: its base is older,
/// so carried already).
async fn carry(from: &Bucket, to: &Bucket, id: &str, opts: &PushOptions, placed: &mut Placed) -> Result<(), SyncError> {
    let mut snap = from.snapshot_stored(id).await?;
    let has_content = |f: &SnapshotFile| !crate::sync::folders::is_dir(f.mode);
    let mut small = PackBuilder::default();
    let mut wanted: Vec<(String, Option<PackRef>, u64)> = Vec::new();
    let mut seen = HashSet::new();
    for f in snap.files.iter().filter(|f| has_content(f)) {
        if !placed.contains_key(&f.blake3) && seen.insert(f.blake3.clone()) {
            wanted.push((f.blake3.clone(), f.pack.clone(), f.size));
        }
    }
    let (few, large): (Vec<_>, Vec<_>) = wanted.into_iter().partition(|w| w.2 < opts.multipart_threshold);
    // Packed contents are read a pack's span at a time (one request for all a snapshot needs of
    // it), contents of their own one by one.
    let mut by_pack: HashMap<String, Vec<(String, PackRef)>> = HashMap::new();
    let mut own = Vec::new();
    for (hash, place, _) in few {
        match place {
            Some(p) => by_pack.entry(p.id.clone()).or_default().push((hash, p)),
            None => own.push(hash),
        }
    }
    let packs = by_pack.into_values().map(|group| async move {
        let lo = group.iter().map(|(_, p)| p.at).min().unwrap_or(0);
        let hi = group.iter().map(|(_, p)| p.at + p.len).max().unwrap_or(0);
        let span = from.read_pack(&group[0].1.id, lo, hi - lo).await?;
        group
            .iter()
            .map(|(hash, p)| Ok((hash.clone(), from.unpack(&span, lo, p, hash)?)))
            .collect::<Result<Vec<_>, SyncError>>()
    });
    let owns = own.into_iter().map(|hash| async move {
        let data = from.get_blob_at(&hash, None).await?;
        Ok::<_, SyncError>(vec![(hash, data)])
    });
    let reads: Vec<Read<'_>> = packs.map(|f| Box::pin(f) as _).chain(owns.map(|f| Box::pin(f) as _)).collect();
    let mut read = futures::stream::iter(reads).buffer_unordered(opts.concurrency.clamp(1, 16));
    while let Some(got) = read.try_next().await? {
        for (hash, data) in got {
            if data.len() as u64 <= PACK_MAX_BLOB {
                let h = unhex(&hash)
                    .ok_or_else(|| SyncError::Corrupt { key: format!("snapshots/{id}.json (hash {hash})") })?;
                small.add(h, &data);
                if small.full() {
                    place_pack(to, std::mem::take(&mut small), placed).await?;
                }
            } else if let Some(p) = to.put_blob(&hash, data.to_vec()).await? {
                placed.insert(hash, p);
            }
        }
    }
    drop(read);
    if !small.is_empty() {
        place_pack(to, small, placed).await?;
    }
    for (hash, place, _) in large {
        let p = carry_large(from, to, &hash, place.as_ref(), opts).await?;
        placed.insert(hash, p);
    }
    for f in snap.files.iter_mut().filter(|f| has_content(f)) {
        f.pack = Some(placed.get(&f.blake3).cloned().ok_or_else(|| SyncError::Missing { key: f.blake3.clone() })?);
    }
    to.put_snapshot(&snap).await
}

async fn place_pack(to: &Bucket, pack: PackBuilder, placed: &mut Placed) -> Result<(), SyncError> {
    for (h, p) in to.put_pack(pack).await? {
        placed.insert(hex(&h), p);
    }
    Ok(())
}

/// A large content, downloaded into a temporary file and streamed up sealed, part by part.
async fn carry_large(
    from: &Bucket,
    to: &Bucket,
    hash: &str,
    place: Option<&PackRef>,
    opts: &PushOptions,
) -> Result<PackRef, SyncError> {
    use std::os::unix::fs::MetadataExt;
    let local =
        |e: std::io::Error| SyncError::Local { path: format!("(a temporary copy of {hash})"), message: e.to_string() };
    let tmp = tempfile::tempfile().map_err(local)?;
    from.get_blob_into(hash, place, tmp.try_clone().map_err(local)?, hash).await?;
    let m = tmp.metadata().map_err(local)?;
    let expect = (m.len(), m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino());
    let (got, p) = to.put_file_once(Arc::new(tmp), hash, expect, opts.part_size, opts.concurrency).await?;
    if hex(&got) != hash {
        return Err(SyncError::Corrupt { key: format!("(content {hash} read back differently)") });
    }
    Ok(p)
}

impl ProjectSync<'_> {
    /// After the project moved to `self.bucket` (converted): this machine's position is the new
    /// place's HEAD `head` (ETag `etag`) when it was at that snapshot, and the places of the
    /// contents of that snapshot and of its own position are learnt, so its next snapshots name
    /// them.
    pub async fn settle_after_move(&self, head: &str, etag: &str) -> Result<(), SyncError> {
        let (at, _) = self.store.sync_position(self.project_id)?;
        if at.as_deref() == Some(head) {
            self.store.set_sync_position(self.project_id, head, etag)?;
        }
        self.learn_places(&self.bucket.snapshot(head).await?)?;
        if let Some(at) = at.filter(|a| a != head) {
            match self.bucket.snapshot(&at).await {
                Ok(s) => self.learn_places(&s)?,
                Err(SyncError::Missing { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.keep_head_floor();
        Ok(())
    }
}
