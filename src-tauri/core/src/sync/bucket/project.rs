//! One project in a bucket: its blobs, snapshot manifests and HEAD.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;

use super::sealing;
use super::{ObjectStore, Written, PROJECTS};
use crate::sync::crypto::Cipher;
use crate::sync::error::SyncError;
use crate::sync::snapshot::{BlobInfo, Head, PackRef, Snapshot, SnapshotFile};

pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    /// Key prefix of this project in the bucket (`projects/<key>`).
    prefix: String,
    /// Full snapshots recently read as bases of differential ones (immutable, so cacheable).
    bases: parking_lot::Mutex<HashMap<String, Arc<Snapshot>>>,
    /// Bytes of file content held in memory for uploads, in MiB permits: however many files and
    /// parts are in flight, a pass never holds more than this.
    memory: tokio::sync::Semaphore,
    /// Set for an encrypted project: every object is sealed, content addresses are keyed.
    cipher: Option<Cipher>,
    /// The highest HEAD sequence seen (encrypted projects): an older HEAD put back is refused.
    head_floor: std::sync::atomic::AtomicU64,
    /// Whether the prefix holds an encrypted project (asked once, for a Bucket without a key).
    locked: tokio::sync::OnceCell<bool>,
}

/// The upload memory budget (MiB).
pub const UPLOAD_MEMORY_MIB: u32 = 256;

impl Bucket {
    /// The project at `prefix` (see [`super::project_prefix`]) in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: impl Into<String>) -> Self {
        Self {
            store,
            prefix: prefix.into(),
            bases: Default::default(),
            memory: tokio::sync::Semaphore::new(UPLOAD_MEMORY_MIB as usize),
            cipher: None,
            head_floor: Default::default(),
            locked: Default::default(),
        }
    }

    /// The project encrypted with `cipher` (see [`crate::sync::crypto`]).
    pub fn sealed_with(mut self, cipher: Cipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    /// The cipher of an encrypted project.
    pub fn cipher(&self) -> Option<&Cipher> {
        self.cipher.as_ref()
    }

    /// A HEAD older than this sequence is refused as put back (a replay); this machine's
    /// highest seen, kept between runs by the caller.
    pub fn set_head_floor(&self, seq: u64) {
        self.head_floor.fetch_max(seq, std::sync::atomic::Ordering::SeqCst);
    }

    /// The highest HEAD sequence seen.
    pub fn head_floor(&self) -> u64 {
        self.head_floor.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// An encrypted project's pack id for `plain` content: keyed, so equal content is stored
    /// once but a known file cannot be confirmed from the name.
    pub(super) fn keyed_pack_id(c: &Cipher, plain: &[u8]) -> String {
        c.keyed_id(plain)[..32].to_string()
    }

    /// The store this project is in.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where this project's objects are (endpoint, bucket, prefix): names the blob cache.
    pub fn location(&self) -> String {
        format!("{}/{}", self.store.location(), self.prefix)
    }

    /// Holds `bytes` of the upload memory budget until the returned permit is dropped.
    pub async fn reserve(&self, bytes: u64) -> tokio::sync::SemaphorePermit<'_> {
        let mib = bytes.div_ceil(1024 * 1024).clamp(1, UPLOAD_MEMORY_MIB as u64) as u32;
        self.memory.acquire_many(mib).await.expect("the budget is never closed")
    }

    pub(super) fn key(&self, rest: &str) -> String {
        format!("{}/{rest}", self.prefix.trim_end_matches('/'))
    }

    pub(super) fn blob_key(&self, hash: &str) -> String {
        self.key(&format!("blobs/{}/{hash}", &hash[..2.min(hash.len())]))
    }

    fn snapshot_key(&self, id: &str) -> String {
        self.key(&format!("snapshots/{id}.json"))
    }

    /// The project key wrapped by its recovery phrase (`key.json`): an encrypted project has
    /// one; it holds no secret without the phrase.
    pub async fn wrapped_key(&self) -> Result<Option<crate::sync::crypto::WrappedKey>, SyncError> {
        let key = self.key("key.json");
        let Some(o) = self.store.get(&key).await? else { return Ok(None) };
        serde_json::from_slice(&o.body).map(Some).map_err(|_| SyncError::Corrupt { key })
    }

    pub async fn put_wrapped_key(&self, w: &crate::sync::crypto::WrappedKey) -> Result<(), SyncError> {
        let body = serde_json::to_vec_pretty(w).expect("a wrapped key serializes");
        self.store.put(&self.key("key.json"), Bytes::from(body)).await?;
        Ok(())
    }

    /// Refuses to write plaintext into an encrypted project (one with `key.json`) from a
    /// machine that has not its key; asked once per `Bucket`.
    pub async fn check_unlocked(&self) -> Result<(), SyncError> {
        if self.cipher.is_some() {
            return Ok(());
        }
        let locked =
            self.locked.get_or_try_init(|| async { Ok::<_, SyncError>(self.wrapped_key().await?.is_some()) }).await?;
        if *locked {
            return Err(SyncError::Locked);
        }
        Ok(())
    }

    /// Creates the bucket when it does not exist (local S3 servers; R2 buckets are made in the
    /// Cloudflare dashboard, and a missing one is reported).
    pub async fn ensure_bucket(&self) -> Result<(), SyncError> {
        self.store.ensure_bucket().await
    }

    /// Stores a blob under its hash. Unconditional on purpose: the key is the content's hash,
    /// so writing it again writes the same bytes (no duplicate, nothing lost), and a conditional
    /// `If-None-Match` PUT costs the server a lookup per object without saving the upload (the
    /// body is sent either way). Callers skip blobs they know are there (`sent_blobs`, HEAD for
    /// large files).
    /// An encrypted project stores it sealed as a pack of its own, and says where.
    pub async fn put_blob(&self, hash: &str, data: Vec<u8>) -> Result<Option<PackRef>, SyncError> {
        if let Some(c) = &self.cipher {
            let id = Self::keyed_pack_id(c, &data);
            let body = sealing::seal_entry(c, &id, 0, &data);
            let len = body.len() as u64;
            self.store.put(&self.pack_key(&id), Bytes::from(body)).await?;
            return Ok(Some(PackRef { id, at: 0, len }));
        }
        self.store.put(&self.blob_key(hash), Bytes::from(data)).await?;
        Ok(None)
    }

    /// Reads a blob and checks it against its hash.
    pub async fn get_blob(&self, hash: &str) -> Result<Vec<u8>, SyncError> {
        let key = self.blob_key(hash);
        if self.cipher.is_some() {
            return Err(SyncError::Corrupt {
                key: format!("{key} (an unsealed object named in an encrypted project)"),
            });
        }
        let o = self.store.get(&key).await?.ok_or_else(|| SyncError::Missing { key: key.clone() })?;
        if blake3::hash(&o.body).to_hex().as_str() != hash {
            return Err(SyncError::Corrupt { key });
        }
        Ok(o.body.to_vec())
    }

    /// Whether the bucket has this blob already.
    pub async fn has_blob(&self, hash: &str) -> Result<bool, SyncError> {
        self.store.exists(&self.blob_key(hash)).await
    }

    /// The snapshot the project is at in the bucket, with the HEAD object's ETag.
    pub async fn head(&self) -> Result<Option<(String, String)>, SyncError> {
        Ok(self.read_head().await?.map(|(h, etag)| (h.snapshot, etag)))
    }

    /// What sealed HEAD is bound to: this project's HEAD, nothing else.
    fn head_aad(&self) -> Vec<u8> {
        format!("aura HEAD {}", self.prefix).into_bytes()
    }

    async fn read_head(&self) -> Result<Option<(Head, String)>, SyncError> {
        let Some(o) = self.store.get(&self.key("HEAD")).await? else { return Ok(None) };
        let corrupt = |why: String| SyncError::Corrupt { key: format!("{} ({why})", self.key("HEAD")) };
        let body = match &self.cipher {
            Some(c) => c.open(&self.head_aad(), &o.body).map_err(|e| corrupt(e.to_string()))?,
            None => o.body.to_vec(),
        };
        let head: Head = serde_json::from_slice(&body).map_err(|e| corrupt(e.to_string()))?;
        if let Some(to) = head.moved {
            return Err(SyncError::Moved { to });
        }
        if self.cipher.is_some() {
            let floor = self.head_floor();
            if head.seq < floor {
                return Err(corrupt(format!(
                    "an older HEAD was put back: it is number {}, this machine has seen {floor}",
                    head.seq
                )));
            }
            self.set_head_floor(head.seq);
        }
        Ok(Some((head, o.etag)))
    }

    /// Writes a snapshot manifest and moves HEAD to it, only if HEAD is still where this
    /// machine last saw it (`expected`: its ETag, or `None` for a project new in the bucket).
    pub async fn commit(&self, snap: &Snapshot, expected: Option<&str>) -> Result<String, SyncError> {
        self.put_snapshot(snap).await?;
        self.move_head(&snap.id, expected).await
    }

    /// Stores a snapshot manifest. Ids are unique per pass (time + random), so a plain PUT
    /// never replaces another pass's snapshot.
    pub async fn put_snapshot(&self, snap: &Snapshot) -> Result<(), SyncError> {
        let body = serde_json::to_vec(snap).map_err(|e| SyncError::Refused(e.to_string()))?;
        let body = match &self.cipher {
            Some(c) => c.seal(&self.snapshot_aad(&snap.id), &body),
            None => body,
        };
        self.store.put(&self.snapshot_key(&snap.id), Bytes::from(body)).await?;
        Ok(())
    }

    /// Moves HEAD to snapshot `id` if it is still at `expected`; returns HEAD's new ETag.
    pub async fn move_head(&self, id: &str, expected: Option<&str>) -> Result<String, SyncError> {
        // An encrypted HEAD counts up, so an older one put back is known (see `read_head`).
        let seq = match &self.cipher {
            Some(_) => {
                let now = match self.read_head().await {
                    Ok(h) => h.map(|(h, _)| h.seq).unwrap_or(0),
                    // Whatever is there now, the conditional write below decides.
                    Err(SyncError::Corrupt { .. }) => 0,
                    Err(e) => return Err(e),
                };
                now.max(self.head_floor()) + 1
            }
            None => 0,
        };
        let head =
            serde_json::to_vec(&Head { snapshot: id.to_string(), seq, moved: None }).expect("a string serializes");
        let head = match &self.cipher {
            Some(c) => c.seal(&self.head_aad(), &head),
            None => head,
        };
        match self.store.put_if(&self.key("HEAD"), Bytes::from(head), expected).await? {
            Written::Done(etag) => {
                self.set_head_floor(seq);
                Ok(etag)
            }
            Written::PreconditionFailed => {
                let remote = self.head().await?.map(|h| h.0).unwrap_or_default();
                Err(SyncError::Conflict { remote })
            }
        }
    }

    /// Snapshot `id` as stored (a differential one is not resolved).
    pub async fn snapshot_stored(&self, id: &str) -> Result<Snapshot, SyncError> {
        let key = self.snapshot_key(id);
        let o = self.store.get(&key).await?.ok_or_else(|| SyncError::Missing { key: key.clone() })?;
        let body = match &self.cipher {
            Some(c) => c.open(&self.snapshot_aad(id), &o.body).map_err(|_| SyncError::Corrupt { key: key.clone() })?,
            None => o.body.to_vec(),
        };
        let snap: Snapshot = serde_json::from_slice(&body).map_err(|_| SyncError::Corrupt { key: key.clone() })?;
        if snap.id != id {
            return Err(SyncError::Corrupt { key });
        }
        Ok(snap)
    }

    /// What a sealed snapshot is bound to: its id in this project.
    fn snapshot_aad(&self, id: &str) -> Vec<u8> {
        format!("aura snapshot {} {id}", self.prefix).into_bytes()
    }

    /// Snapshot `id` with every file it holds (a differential snapshot is applied to its base).
    pub async fn snapshot(&self, id: &str) -> Result<Snapshot, SyncError> {
        let mut snap = self.snapshot_stored(id).await?;
        let Some(base_id) = snap.base.take() else { return Ok(snap) };
        let base = self.base(&base_id).await?;
        let mut files: BTreeMap<Vec<u8>, SnapshotFile> =
            base.files.iter().map(|f| (f.path.clone(), f.clone())).collect();
        for p in std::mem::take(&mut snap.removed) {
            files.remove(&p);
        }
        for f in std::mem::take(&mut snap.files) {
            files.insert(f.path.clone(), f);
        }
        snap.files = files.into_values().collect();
        Ok(snap)
    }

    /// The full snapshot a differential one builds on (cached: stored snapshots never change).
    async fn base(&self, id: &str) -> Result<Arc<Snapshot>, SyncError> {
        if let Some(b) = self.bases.lock().get(id).cloned() {
            return Ok(b);
        }
        let b = self.snapshot_stored(id).await?;
        if b.base.is_some() {
            return Err(SyncError::Corrupt { key: format!("snapshots/{id}.json (a base that is not full)") });
        }
        let b = Arc::new(b);
        let mut cache = self.bases.lock();
        if cache.len() >= 8 {
            cache.clear();
        }
        cache.insert(id.to_string(), b.clone());
        Ok(b)
    }

    /// Every snapshot id of the project, oldest first (ids start with their time).
    pub async fn list_snapshots(&self) -> Result<Vec<String>, SyncError> {
        let prefix = self.key("snapshots/");
        let mut ids: Vec<String> = self
            .store
            .list(&prefix, None)
            .await?
            .objects
            .into_iter()
            .filter_map(|(k, _, _)| k.strip_prefix(&prefix)?.strip_suffix(".json").map(str::to_string))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The project keys the bucket holds (for "Restore from cloud").
    /// What Aura keeps in the bucket — every project's objects — and this project's part:
    /// ((bytes, objects), (bytes, objects)), counted from a full listing.
    pub async fn stored(&self) -> Result<((u64, u64), (u64, u64)), SyncError> {
        let all = self.store.list(PROJECTS, None).await?;
        let mine = format!("{}/", self.prefix.trim_end_matches('/'));
        let (mut total, mut own) = ((0u64, 0u64), (0u64, 0u64));
        for (key, size, _) in &all.objects {
            total = (total.0 + size, total.1 + 1);
            if key.starts_with(&mine) {
                own = (own.0 + size, own.1 + 1);
            }
        }
        Ok((total, own))
    }

    pub async fn list_projects(&self) -> Result<Vec<String>, SyncError> {
        let mut out: Vec<String> = self
            .store
            .list(PROJECTS, Some("/"))
            .await?
            .prefixes
            .iter()
            .filter_map(|p| p.strip_prefix(PROJECTS).map(|k| k.trim_end_matches('/').to_string()))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Every blob of the project.
    pub async fn list_blobs(&self) -> Result<Vec<BlobInfo>, SyncError> {
        self.list_named("blobs/").await
    }

    /// The objects under `dir` (`blobs/`, `packs/`), each named by its last key segment.
    pub(super) async fn list_named(&self, dir: &str) -> Result<Vec<BlobInfo>, SyncError> {
        Ok(self
            .store
            .list(&self.key(dir), None)
            .await?
            .objects
            .into_iter()
            .filter_map(|(k, size, modified_ms)| {
                let hash = k.rsplit('/').next()?.to_string();
                Some(BlobInfo { hash, size, modified_ms })
            })
            .collect())
    }

    /// Deletes blobs (only garbage collection calls this, with unreferenced hashes).
    pub async fn delete_blobs(&self, hashes: &[String]) -> Result<(), SyncError> {
        let keys: Vec<String> = hashes.iter().map(|h| self.blob_key(h)).collect();
        self.store.delete(&keys).await
    }

    /// Deletes snapshot manifests (only pruning calls this; never HEAD's, never a full one).
    pub async fn delete_snapshots(&self, ids: &[String]) -> Result<(), SyncError> {
        let keys: Vec<String> = ids.iter().map(|id| self.snapshot_key(id)).collect();
        self.store.delete(&keys).await
    }
}
