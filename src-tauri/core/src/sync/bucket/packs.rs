//! Packs: small blobs stored together in one object (`packs/<id>`), as restic does. A pass
//! with ten thousand small files sends a handful of objects instead of ten thousand, and a
//! restore reads them back with a handful of requests; the server's cost per request, not the
//! bytes, is what bounds both.
//!
//! A large file (from the multipart threshold) is a pack of its own, uploaded in parts as it is
//! read (its hash is known only at the end, so its id is fresh, not a hash).
//!
//! A pack is the blobs' bytes one after another, nothing else: where each blob is (pack,
//! offset, length) is written in every snapshot entry that uses it ([`PackRef`]), so the
//! snapshots are the index. A pack of small blobs is named by the start of its content's
//! hash, so storing the same pack twice writes the same object. Every blob read from a pack is checked against its
//! own hash.

use bytes::Bytes;

use super::Bucket;
use crate::sync::error::SyncError;
use crate::sync::snapshot::{BlobInfo, PackRef};

/// A pack is sent once it holds this many bytes (the last one of a pass is smaller).
pub const PACK_TARGET: usize = 4 * 1024 * 1024;

/// Blobs up to this size go into packs; larger ones are objects of their own (a large file's
/// is a pack with only it, uploaded in parts).
pub const PACK_MAX_BLOB: u64 = 512 * 1024;

/// Blobs gathered for one pack.
#[derive(Default)]
pub struct PackBuilder {
    body: Vec<u8>,
    /// (hash, offset, length) of each blob in `body`.
    blobs: Vec<([u8; 32], u64, u64)>,
}

impl PackBuilder {
    pub fn add(&mut self, hash: [u8; 32], data: &[u8]) {
        let at = self.body.len() as u64;
        self.body.extend_from_slice(data);
        self.blobs.push((hash, at, data.len() as u64));
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Holds enough to be sent.
    pub fn full(&self) -> bool {
        self.body.len() >= PACK_TARGET
    }
}

impl Bucket {
    pub(super) fn pack_key(&self, id: &str) -> String {
        self.key(&format!("packs/{}/{id}", &id[..2.min(id.len())]))
    }

    /// Stores a pack; returns where each of its blobs now is.
    pub async fn put_pack(&self, pack: PackBuilder) -> Result<Vec<([u8; 32], PackRef)>, SyncError> {
        if let Some(c) = self.cipher() {
            // Each blob sealed as an entry of its own (still read alone, by range).
            let id = Self::keyed_pack_id(c, &pack.body);
            let mut body = Vec::with_capacity(pack.body.len() + pack.blobs.len() * 64);
            let mut placed = Vec::with_capacity(pack.blobs.len());
            for (h, at, len) in pack.blobs {
                let entry_at = body.len() as u64;
                body.extend(super::sealing::seal_entry(c, &id, entry_at, &pack.body[at as usize..(at + len) as usize]));
                placed.push((h, PackRef { id: id.clone(), at: entry_at, len: body.len() as u64 - entry_at }));
            }
            self.store().put(&self.pack_key(&id), Bytes::from(body)).await?;
            return Ok(placed);
        }
        let id = blake3::hash(&pack.body).to_hex()[..32].to_string();
        self.store().put(&self.pack_key(&id), Bytes::from(pack.body)).await?;
        Ok(pack.blobs.into_iter().map(|(h, at, len)| (h, PackRef { id: id.clone(), at, len })).collect())
    }

    /// Whether the bucket has pack `id`.
    pub async fn has_pack(&self, id: &str) -> Result<bool, SyncError> {
        self.store().exists(&self.pack_key(id)).await
    }

    /// `len` bytes of pack `id` from `at` (one request, however many blobs they hold).
    pub async fn read_pack(&self, id: &str, at: u64, len: u64) -> Result<Bytes, SyncError> {
        let key = self.pack_key(id);
        let body =
            self.store().get_range(&key, at, len).await?.ok_or_else(|| SyncError::Missing { key: key.clone() })?;
        if body.len() as u64 != len {
            return Err(SyncError::Corrupt { key: format!("{key} (shorter than its snapshot says)") });
        }
        Ok(body)
    }

    /// The blob `hash` at `place` inside `span` (bytes of its pack read from offset `from`),
    /// checked against its hash.
    pub fn unpack(&self, span: &Bytes, from: u64, place: &PackRef, hash: &str) -> Result<Bytes, SyncError> {
        let corrupt = || SyncError::Corrupt { key: format!("{} (blob {hash})", self.pack_key(&place.id)) };
        let start = place.at.checked_sub(from).ok_or_else(corrupt)? as usize;
        let end = start.checked_add(place.len as usize).filter(|e| *e <= span.len()).ok_or_else(corrupt)?;
        let blob = match self.cipher() {
            Some(c) => Bytes::from(
                super::sealing::open_entry(c, &place.id, place.at, &span[start..end]).map_err(|_| corrupt())?,
            ),
            None => span.slice(start..end),
        };
        if blake3::hash(&blob).to_hex().as_str() != hash {
            return Err(corrupt());
        }
        Ok(blob)
    }

    /// One blob, wherever it is (in a pack, or its own object), checked against its hash.
    pub async fn get_blob_at(&self, hash: &str, place: Option<&PackRef>) -> Result<Bytes, SyncError> {
        match place {
            Some(p) => {
                let span = self.read_pack(&p.id, p.at, p.len).await?;
                self.unpack(&span, p.at, p, hash)
            }
            None => self.get_blob(hash).await.map(Bytes::from),
        }
    }

    /// Every pack of the project (`hash` holds the pack's id).
    pub async fn list_packs(&self) -> Result<Vec<BlobInfo>, SyncError> {
        self.list_named("packs/").await
    }

    /// Deletes packs (only garbage collection calls this, with packs no snapshot uses).
    pub async fn delete_packs(&self, ids: &[String]) -> Result<(), SyncError> {
        let keys: Vec<String> = ids.iter().map(|id| self.pack_key(id)).collect();
        self.store().delete(&keys).await
    }
}
