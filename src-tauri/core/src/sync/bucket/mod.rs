//! The bucket side of sync. [`Bucket`] is one project in a bucket: content-addressed blobs
//! (stored once: the key is the hash; small ones travel together in packs, as restic's do, so
//! ten thousand small files are a few requests, not ten thousand), one manifest per snapshot, and a `HEAD` object moved
//! with conditional writes (`If-Match` on its ETag) so two machines never overwrite each other:
//! the loser sees a conflict and keeps both versions.
//!
//! A `Bucket` speaks to an [`ObjectStore`]: the handful of object operations sync needs.
//! [`S3Store`] is any S3-compatible service (Cloudflare R2, SeaweedFS, AWS) through aws-sdk-s3;
//! [`MemoryStore`] keeps objects in memory for the engine's unit tests (the integration tests
//! run against a real S3 server).

mod large;
mod memory;
mod moving;
mod packs;
mod project;
mod s3;
mod sealing;

pub use memory::MemoryStore;
pub use packs::{PackBuilder, PACK_MAX_BLOB, PACK_TARGET};
pub use project::{Bucket, UPLOAD_MEMORY_MIB};
pub use s3::{S3Config, S3Store};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use super::error::SyncError;

/// Where projects live in a bucket: `projects/<key>/{HEAD, snapshots/, packs/, blobs/}`.
pub const PROJECTS: &str = "projects/";

/// The prefix a project's key maps to.
pub fn project_prefix(key: &str) -> String {
    format!("{PROJECTS}{key}")
}

/// An object read whole, with its ETag.
pub struct Object {
    pub body: Bytes,
    pub etag: String,
}

/// An object read as it arrives.
pub struct ObjectStream {
    /// Its size, when the store says.
    pub len: Option<u64>,
    pub body: BoxStream<'static, Result<Bytes, SyncError>>,
}

/// Keys under a prefix.
#[derive(Debug, Default)]
pub struct Listing {
    /// (key, size, last modified ms)
    pub objects: Vec<(String, u64, i64)>,
    /// With a delimiter: the common prefixes ("folders").
    pub prefixes: Vec<String>,
}

/// What a conditional write found.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Written; the object's new ETag.
    Done(String),
    /// The object was not as expected: nothing written.
    PreconditionFailed,
}

/// The object operations sync uses. Errors are [`SyncError`]s already sorted into
/// unreachable (retry later) and refused (the request is wrong).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Names the store (endpoint and bucket) for caches and messages.
    fn location(&self) -> String;
    /// Creates the bucket when the service allows it and it is missing.
    async fn ensure_bucket(&self) -> Result<(), SyncError>;
    /// The whole object, or `None` when there is none.
    async fn get(&self, key: &str) -> Result<Option<Object>, SyncError>;
    /// `len` bytes of the object from `offset` (fewer where it ends), or `None` when there is
    /// no object.
    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Bytes>, SyncError>;
    /// The object as a stream, or `None` when there is none.
    async fn get_stream(&self, key: &str) -> Result<Option<ObjectStream>, SyncError>;
    async fn exists(&self, key: &str) -> Result<bool, SyncError>;
    /// Writes the object; returns its ETag.
    async fn put(&self, key: &str, body: Bytes) -> Result<String, SyncError>;
    /// Writes the object only if its ETag is still `expected` (`None`: only if there is none).
    async fn put_if(&self, key: &str, body: Bytes, expected: Option<&str>) -> Result<Written, SyncError>;
    /// Every key under `prefix` (all pages); with a `delimiter`, the common prefixes too.
    async fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<Listing, SyncError>;
    async fn delete(&self, keys: &[String]) -> Result<(), SyncError>;
    /// Starts a multipart upload; returns its id.
    async fn start_upload(&self, key: &str) -> Result<String, SyncError>;
    /// Stores part `number` (from 1); returns the part's ETag.
    async fn put_part(&self, key: &str, upload: &str, number: u32, body: Bytes) -> Result<String, SyncError>;
    /// Joins the parts (number, ETag) into the object.
    async fn finish_upload(&self, key: &str, upload: &str, parts: Vec<(u32, String)>) -> Result<(), SyncError>;
    /// Drops an unfinished upload (best effort: the service expires it otherwise).
    async fn abort_upload(&self, key: &str, upload: &str);
}

/// Reads a stream to its end (one chunk is kept as it is, without a copy).
pub(crate) async fn collect(mut s: ObjectStream) -> Result<Bytes, SyncError> {
    use futures::TryStreamExt;
    let Some(first) = s.body.try_next().await? else { return Ok(Bytes::new()) };
    let Some(second) = s.body.try_next().await? else { return Ok(first) };
    let mut all = bytes::BytesMut::with_capacity(s.len.unwrap_or(0) as usize);
    all.extend_from_slice(&first);
    all.extend_from_slice(&second);
    while let Some(c) = s.body.try_next().await? {
        all.extend_from_slice(&c);
    }
    Ok(all.freeze())
}
