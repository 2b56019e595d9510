//! The bucket side of sync (S3-compatible: Cloudflare R2, SeaweedFS, AWS): content-addressed
//! blobs (stored once: the key is the hash), one manifest per snapshot, and a `HEAD` object moved
//! with conditional writes (`If-Match` on its ETag) so two machines never overwrite each other:
//! the loser sees a conflict and keeps both versions.

use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use serde::{Deserialize, Serialize};

use crate::secrets::Secret;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the bucket is unreachable ({0}); changes stay queued and are sent when it is back")]
    Unreachable(String),
    #[error("another machine moved this project on (it is at snapshot {remote}); both versions are kept, choose one")]
    Conflict { remote: String },
    #[error("the stored object {key} does not match its hash; it was not used")]
    Corrupt { key: String },
    #[error("the bucket refused the request: {0}")]
    Refused(String),
    #[error("'{path}' changed while it was being uploaded; it is sent again on the next pass")]
    Changed { path: String },
    #[error("cannot read '{path}': {message}")]
    Local { path: String, message: String },
}

impl crate::error::UserFacing for SyncError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::Unreachable(_) => crate::error::ErrorKind::Offline,
            Self::Conflict { .. } => crate::error::ErrorKind::Conflict,
            Self::Corrupt { .. } => crate::error::ErrorKind::Corrupt,
            Self::Refused(_) => crate::error::ErrorKind::Refused,
            Self::Changed { .. } => crate::error::ErrorKind::Changed,
            Self::Local { .. } => crate::error::ErrorKind::Io,
        }
    }
}

#[derive(Debug, Clone)]
pub struct S3Config {
    /// `https://<account>.r2.cloudflarestorage.com`, or a local S3 server.
    pub endpoint: String,
    pub bucket: String,
    /// `auto` for R2.
    pub region: String,
    pub path_style: bool,
    /// Key prefix of this project in the bucket (`projects/<key>`).
    pub prefix: String,
    /// Attempts per request (the SDK's standard retry: exponential backoff with full jitter).
    pub max_attempts: u32,
}

impl S3Config {
    /// The prefix a project's key maps to.
    pub fn project_prefix(key: &str) -> String {
        format!("{PROJECTS}{key}")
    }
}

/// Where projects live in the bucket: `projects/<key>/{HEAD, snapshots/, blobs/}`.
pub const PROJECTS: &str = "projects/";

/// One blob in the bucket, for garbage collection.
#[derive(Debug, Clone)]
pub struct BlobInfo {
    pub hash: String,
    pub size: u64,
    pub modified_ms: i64,
}

/// One file of a snapshot. Paths are stored as bytes (base64 in JSON) so any name survives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFile {
    #[serde(with = "b64")]
    pub path: Vec<u8>,
    pub size: u64,
    pub blake3: String,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub parent: Option<String>,
    pub created_at_ms: i64,
    /// The machine that wrote it (host name), for the history and conflict views.
    #[serde(default)]
    pub machine: String,
    /// A snapshot kept aside when a conflict was resolved by taking the other version; HEAD
    /// never pointed at it.
    #[serde(default)]
    pub side: bool,
    /// Stored form only: a differential snapshot names the full snapshot it builds on; `files`
    /// then holds what differs from it and `removed` what it lacks. `S3Target::snapshot`
    /// always returns the resolved, full form (no base, nothing removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "b64list")]
    pub removed: Vec<Vec<u8>>,
    pub files: Vec<SnapshotFile>,
}

mod b64list {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<String> = v.iter().map(|p| base64::engine::general_purpose::STANDARD.encode(p)).collect();
        list.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let list = Vec::<String>::deserialize(d)?;
        list.iter()
            .map(|p| base64::engine::general_purpose::STANDARD.decode(p).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    snapshot: String,
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

#[derive(Default)]
struct Listing {
    /// (key, size, last modified ms)
    objects: Vec<(String, u64, i64)>,
    prefixes: Vec<String>,
}

pub struct S3Target {
    client: aws_sdk_s3::Client,
    cfg: S3Config,
    /// Full snapshots recently read as bases of differential ones (immutable, so cacheable).
    bases: parking_lot::Mutex<std::collections::HashMap<String, std::sync::Arc<Snapshot>>>,
    /// Bytes of file content held in memory for uploads, in MiB permits: however many files and
    /// parts are in flight, a pass never holds more than this.
    memory: tokio::sync::Semaphore,
}

/// The upload memory budget (MiB).
pub const UPLOAD_MEMORY_MIB: u32 = 256;

type SdkError<E> = aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>;

/// The innermost cause of an error ("Connection refused (os error 111)"), not the SDK's
/// outer "dispatch failure".
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

fn err<E: std::error::Error + 'static>(e: SdkError<E>) -> SyncError {
    use aws_sdk_s3::error::SdkError;
    match &e {
        SdkError::TimeoutError(_) => SyncError::Unreachable("timed out".into()),
        SdkError::DispatchFailure(_) => SyncError::Unreachable(cause(&e)),
        SdkError::ServiceError(s) => SyncError::Refused(format!("{}", s.err())),
        _ => SyncError::Refused(format!("{e:?}")),
    }
}

fn status<E>(e: &SdkError<E>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

impl S3Target {
    pub fn new(cfg: S3Config, access_key: &Secret, secret_key: &Secret) -> Self {
        let creds = Credentials::new(access_key.expose(), secret_key.expose(), None, None, "aura-keychain");
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&cfg.endpoint)
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(creds)
            .force_path_style(cfg.path_style)
            // No CRC trailer on uploads: blobs are named by their blake3 hash and every read is
            // checked against it, and TLS protects the way there. (It costs an aws-chunked body
            // and a CRC per request, about a quarter of the client's CPU on small files.)
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(cfg.max_attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(conf),
            cfg,
            bases: Default::default(),
            memory: tokio::sync::Semaphore::new(UPLOAD_MEMORY_MIB as usize),
        }
    }

    /// Where this project's objects are (endpoint, bucket, prefix): names the blob cache.
    pub fn location(&self) -> String {
        format!("{}/{}/{}", self.cfg.endpoint.trim_end_matches('/'), self.cfg.bucket, self.cfg.prefix)
    }

    /// Holds `bytes` of the upload memory budget until the returned permit is dropped.
    pub async fn reserve(&self, bytes: u64) -> tokio::sync::SemaphorePermit<'_> {
        let mib = bytes.div_ceil(1024 * 1024).clamp(1, UPLOAD_MEMORY_MIB as u64) as u32;
        self.memory.acquire_many(mib).await.expect("the budget is never closed")
    }

    fn key(&self, rest: &str) -> String {
        format!("{}/{rest}", self.cfg.prefix.trim_end_matches('/'))
    }

    fn blob_key(&self, hash: &str) -> String {
        self.key(&format!("blobs/{}/{hash}", &hash[..2.min(hash.len())]))
    }

    /// Creates the bucket when it does not exist (local S3 servers; R2 buckets are made in the
    /// Cloudflare dashboard, and a missing one is reported).
    pub async fn ensure_bucket(&self) -> Result<(), SyncError> {
        match self.client.head_bucket().bucket(&self.cfg.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => {
                self.client.create_bucket().bucket(&self.cfg.bucket).send().await.map_err(err)?;
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Stores a blob under its hash. Unconditional on purpose: the key is the content's hash,
    /// so writing it again writes the same bytes (no duplicate, nothing lost), and a conditional
    /// `If-None-Match` PUT costs the server a lookup per object without saving the upload (the
    /// body is sent either way). Callers skip blobs they know are there (`sent_blobs`, HEAD for
    /// large files).
    pub async fn put_blob(&self, hash: &str, data: Vec<u8>) -> Result<(), SyncError> {
        self.client
            .put_object()
            .bucket(&self.cfg.bucket)
            .key(self.blob_key(hash))
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Reads a blob and checks it against its hash.
    pub async fn get_blob(&self, hash: &str) -> Result<Vec<u8>, SyncError> {
        let key = self.blob_key(hash);
        let r = self.client.get_object().bucket(&self.cfg.bucket).key(&key).send().await.map_err(err)?;
        let bytes = r.body.collect().await.map_err(|e| SyncError::Unreachable(e.to_string()))?.into_bytes().to_vec();
        if blake3::hash(&bytes).to_hex().as_str() != hash {
            return Err(SyncError::Corrupt { key });
        }
        Ok(bytes)
    }

    /// The snapshot the project is at in the bucket, with the HEAD object's ETag.
    pub async fn head(&self) -> Result<Option<(String, String)>, SyncError> {
        let r = self.client.get_object().bucket(&self.cfg.bucket).key(self.key("HEAD")).send().await;
        match r {
            Ok(o) => {
                let etag = o.e_tag().unwrap_or_default().to_string();
                let bytes = o.body.collect().await.map_err(|e| SyncError::Unreachable(e.to_string()))?.into_bytes();
                let head: Head =
                    serde_json::from_slice(&bytes).map_err(|e| SyncError::Corrupt { key: format!("HEAD ({e})") })?;
                Ok(Some((head.snapshot, etag)))
            }
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(err(e)),
        }
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
        self.client
            .put_object()
            .bucket(&self.cfg.bucket)
            .key(self.key(&format!("snapshots/{}.json", snap.id)))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Moves HEAD to snapshot `id` if it is still at `expected`; returns HEAD's new ETag.
    pub async fn move_head(&self, id: &str, expected: Option<&str>) -> Result<String, SyncError> {
        let head = serde_json::to_vec(&Head { snapshot: id.to_string() }).unwrap();
        let put = self.client.put_object().bucket(&self.cfg.bucket).key(self.key("HEAD")).body(ByteStream::from(head));
        let put = match expected {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(o) => Ok(o.e_tag().unwrap_or_default().to_string()),
            Err(e) if matches!(status(&e), Some(412) | Some(409)) => {
                let remote = self.head().await?.map(|h| h.0).unwrap_or_default();
                Err(SyncError::Conflict { remote })
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Snapshot `id` as stored (a differential one is not resolved).
    pub async fn snapshot_stored(&self, id: &str) -> Result<Snapshot, SyncError> {
        let key = self.key(&format!("snapshots/{id}.json"));
        let o = self.client.get_object().bucket(&self.cfg.bucket).key(&key).send().await.map_err(err)?;
        let bytes = o.body.collect().await.map_err(|e| SyncError::Unreachable(e.to_string()))?.into_bytes();
        serde_json::from_slice(&bytes).map_err(|_| SyncError::Corrupt { key })
    }

    /// Snapshot `id` with every file it holds (a differential snapshot is applied to its base).
    pub async fn snapshot(&self, id: &str) -> Result<Snapshot, SyncError> {
        let mut snap = self.snapshot_stored(id).await?;
        let Some(base_id) = snap.base.take() else { return Ok(snap) };
        let cached = self.bases.lock().get(&base_id).cloned();
        let base = match cached {
            Some(b) => b,
            None => {
                let b = self.snapshot_stored(&base_id).await?;
                if b.base.is_some() {
                    return Err(SyncError::Corrupt {
                        key: format!("snapshots/{base_id}.json (a base that is not full)"),
                    });
                }
                let b = std::sync::Arc::new(b);
                let mut cache = self.bases.lock();
                if cache.len() >= 8 {
                    cache.clear();
                }
                cache.insert(base_id.clone(), b.clone());
                b
            }
        };
        let mut files: std::collections::BTreeMap<Vec<u8>, SnapshotFile> =
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

    /// Keys under `prefix` (paginated), with their sizes and times; with a `delimiter`, the
    /// common prefixes too.
    async fn list_pages(&self, prefix: &str, delimiter: Option<&str>) -> Result<Listing, SyncError> {
        let mut out = Listing::default();
        let mut token = None;
        loop {
            let r = self
                .client
                .list_objects_v2()
                .bucket(&self.cfg.bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(str::to_string))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(err)?;
            for o in r.contents() {
                let t = o.last_modified().and_then(|t| t.to_millis().ok()).unwrap_or(0);
                out.objects.push((o.key().unwrap_or_default().to_string(), o.size().unwrap_or(0) as u64, t));
            }
            out.prefixes.extend(r.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_string)));
            match r.next_continuation_token() {
                Some(t) if r.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, u64, i64)>, SyncError> {
        Ok(self.list_pages(prefix, None).await?.objects)
    }

    /// Every snapshot id of the project, oldest first (ids start with their time).
    pub async fn list_snapshots(&self) -> Result<Vec<String>, SyncError> {
        let prefix = self.key("snapshots/");
        let mut ids: Vec<String> = self
            .list(&prefix)
            .await?
            .into_iter()
            .filter_map(|(k, _, _)| k.strip_prefix(&prefix)?.strip_suffix(".json").map(str::to_string))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The project keys the bucket holds (for "Restore from cloud").
    pub async fn list_projects(&self) -> Result<Vec<String>, SyncError> {
        let mut out: Vec<String> = self
            .list_pages(PROJECTS, Some("/"))
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
        Ok(self
            .list(&self.key("blobs/"))
            .await?
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
        self.delete_keys(&keys).await
    }

    /// Deletes snapshot manifests (only pruning calls this; never HEAD's, never a full one).
    pub async fn delete_snapshots(&self, ids: &[String]) -> Result<(), SyncError> {
        let keys: Vec<String> = ids.iter().map(|id| self.key(&format!("snapshots/{id}.json"))).collect();
        self.delete_keys(&keys).await
    }

    async fn delete_keys(&self, keys: &[String]) -> Result<(), SyncError> {
        for chunk in keys.chunks(1000) {
            let objects: Vec<ObjectIdentifier> =
                chunk.iter().filter_map(|k| ObjectIdentifier::builder().key(k).build().ok()).collect();
            let del = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| SyncError::Refused(e.to_string()))?;
            self.client.delete_objects().bucket(&self.cfg.bucket).delete(del).send().await.map_err(err)?;
        }
        Ok(())
    }

    /// Whether the bucket has this blob already.
    pub async fn has_blob(&self, hash: &str) -> Result<bool, SyncError> {
        match self.client.head_object().bucket(&self.cfg.bucket).key(self.blob_key(hash)).send().await {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(err(e)),
        }
    }

    /// Uploads a large open file as blob `hash` in parts of `part_size`, `concurrency` at a time,
    /// reading it part by part (never whole in memory). The file's metadata must still be
    /// `expect` (size, mtime, inode) once every part is read, otherwise the upload is aborted:
    /// the file changed under it and its hash no longer names its content. (`shown` names it in
    /// errors.)
    pub async fn put_blob_file(
        &self,
        hash: &str,
        file: std::sync::Arc<std::fs::File>,
        shown: &str,
        expect: (u64, i64, u64),
        part_size: u64,
        concurrency: usize,
    ) -> Result<bool, SyncError> {
        use futures::stream::{StreamExt, TryStreamExt};
        if self.has_blob(hash).await? {
            return Ok(false);
        }
        let key = self.blob_key(hash);
        let up = self.client.create_multipart_upload().bucket(&self.cfg.bucket).key(&key).send().await.map_err(err)?;
        let upload_id = up.upload_id().unwrap_or_default().to_string();
        let size = expect.0;
        let part_size = part_size.max(5 * 1024 * 1024);
        let parts = size.div_ceil(part_size).max(1);
        let shown = shown.to_string();
        let uploads: Vec<_> = (0..parts)
            .map(|i| {
                let (key, upload_id, file, shown) = (key.clone(), upload_id.clone(), file.clone(), shown.clone());
                async move {
                    let off = i * part_size;
                    let len = part_size.min(size - off) as usize;
                    let _held = self.reserve(len as u64).await;
                    let data = tokio::task::spawn_blocking(move || {
                        use std::os::unix::fs::FileExt;
                        let mut buf = vec![0u8; len];
                        file.read_exact_at(&mut buf, off)?;
                        Ok::<_, std::io::Error>(buf)
                    })
                    .await
                    .map_err(|e| SyncError::Local { path: shown.clone(), message: e.to_string() })?
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::NotFound => {
                            SyncError::Changed { path: shown.clone() }
                        }
                        _ => SyncError::Local { path: shown.clone(), message: e.to_string() },
                    })?;
                    let r = self
                        .client
                        .upload_part()
                        .bucket(&self.cfg.bucket)
                        .key(&key)
                        .upload_id(&upload_id)
                        .part_number(i as i32 + 1)
                        .body(ByteStream::from(data))
                        .send()
                        .await
                        .map_err(err)?;
                    Ok(CompletedPart::builder()
                        .part_number(i as i32 + 1)
                        .set_e_tag(r.e_tag().map(str::to_string))
                        .build())
                }
            })
            .collect();
        let result: Result<Vec<CompletedPart>, SyncError> =
            futures::stream::iter(uploads).buffered(concurrency.max(1)).try_collect().await;
        let unchanged = || {
            use std::os::unix::fs::MetadataExt;
            file.metadata()
                .map(|m| (m.len(), m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino()) == expect)
                .unwrap_or(false)
        };
        let result = match result {
            Ok(_) if !unchanged() => Err(SyncError::Changed { path: shown }),
            other => other,
        };
        match result {
            Ok(parts) => {
                self.client
                    .complete_multipart_upload()
                    .bucket(&self.cfg.bucket)
                    .key(&key)
                    .upload_id(&upload_id)
                    .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                    .send()
                    .await
                    .map_err(err)?;
                Ok(true)
            }
            Err(e) => {
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.cfg.bucket)
                    .key(&key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                Err(e)
            }
        }
    }

    /// Streams a blob into `dest` (a new file), checking it against its hash; a mismatch
    /// removes `dest` and is reported.
    pub async fn get_blob_to_file(&self, hash: &str, dest: &std::path::Path) -> Result<u64, SyncError> {
        let local = |e: std::io::Error| SyncError::Local { path: dest.display().to_string(), message: e.to_string() };
        let f = std::fs::File::create(dest).map_err(local)?;
        let synced = f.try_clone().map_err(local)?;
        let r = match self.get_blob_into(hash, f, &dest.display().to_string()).await {
            Ok(n) => tokio::task::spawn_blocking(move || synced.sync_all())
                .await
                .map_err(|e| SyncError::Unreachable(e.to_string()))?
                .map(|()| n)
                .map_err(local),
            Err(e) => Err(e),
        };
        if r.is_err() {
            let _ = tokio::fs::remove_file(dest).await;
        }
        r
    }

    /// Downloads a blob into a file the caller opened (named `shown` in errors), checking its
    /// hash; a mismatch is [`SyncError::Corrupt`] and the caller removes the file. The data is
    /// not flushed to the disk here: callers writing many files flush once (`syncfs`) before
    /// they rename them into place. A small blob arrives whole and is written with one call; a
    /// large one is written as it streams in.
    pub async fn get_blob_into(&self, hash: &str, file: std::fs::File, shown: &str) -> Result<u64, SyncError> {
        use tokio::io::AsyncWriteExt;
        const WHOLE: i64 = 4 * 1024 * 1024;
        let key = self.blob_key(hash);
        let mut r = self.client.get_object().bucket(&self.cfg.bucket).key(&key).send().await.map_err(err)?;
        let local = |e: std::io::Error| SyncError::Local { path: shown.to_string(), message: e.to_string() };
        let unreachable = |e: &dyn std::fmt::Display| SyncError::Unreachable(e.to_string());
        if r.content_length().is_some_and(|n| n <= WHOLE) {
            let bytes = r.body.collect().await.map_err(|e| unreachable(&e))?.into_bytes();
            if blake3::hash(&bytes).to_hex().as_str() != hash {
                return Err(SyncError::Corrupt { key });
            }
            let n = bytes.len() as u64;
            tokio::task::spawn_blocking(move || std::io::Write::write_all(&mut &file, &bytes))
                .await
                .map_err(|e| unreachable(&e))?
                .map_err(local)?;
            return Ok(n);
        }
        let mut f = tokio::fs::File::from_std(file);
        let mut h = blake3::Hasher::new();
        let mut n = 0u64;
        while let Some(chunk) = r.body.try_next().await.map_err(|e| unreachable(&e))? {
            h.update(&chunk);
            n += chunk.len() as u64;
            f.write_all(&chunk).await.map_err(local)?;
        }
        f.flush().await.map_err(local)?;
        if h.finalize().to_hex().as_str() != hash {
            return Err(SyncError::Corrupt { key });
        }
        Ok(n)
    }
}
