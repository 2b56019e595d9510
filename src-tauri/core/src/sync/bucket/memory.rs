//! [`ObjectStore`] in memory: the engine's unit tests run passes, conflicts and restores
//! against it in milliseconds. It keeps S3's rules that sync relies on (ETags change on every
//! write, conditional writes, multipart parts joined in order) and can be switched offline.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;

use super::{Listing, Object, ObjectStore, ObjectStream, Written};
use crate::sync::error::SyncError;

struct Stored {
    body: Bytes,
    etag: String,
    modified_ms: i64,
}

#[derive(Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Stored>>,
    uploads: Mutex<HashMap<String, BTreeMap<u32, Bytes>>>,
    next: AtomicU64,
    offline: AtomicBool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// While offline every request fails as an unreachable bucket does.
    pub fn set_offline(&self, offline: bool) {
        self.offline.store(offline, Ordering::SeqCst);
    }

    /// The keys stored, in order.
    pub fn keys(&self) -> Vec<String> {
        self.objects.lock().keys().cloned().collect()
    }

    /// Replaces an object's bytes as a damaged or tampered bucket would.
    pub fn overwrite(&self, key: &str, body: &[u8]) {
        let etag = self.etag();
        if let Some(o) = self.objects.lock().get_mut(key) {
            o.body = Bytes::copy_from_slice(body);
            o.etag = etag;
        }
    }

    fn up(&self) -> Result<(), SyncError> {
        if self.offline.load(Ordering::SeqCst) {
            return Err(SyncError::Unreachable("the in-memory store is offline".into()));
        }
        Ok(())
    }

    fn etag(&self) -> String {
        format!("\"{}\"", self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn store(&self, key: &str, body: Bytes) -> String {
        let etag = self.etag();
        let stored = Stored { body, etag: etag.clone(), modified_ms: crate::store::now_ms() };
        self.objects.lock().insert(key.to_string(), stored);
        etag
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    fn location(&self) -> String {
        format!("memory:{:p}", self)
    }

    async fn ensure_bucket(&self) -> Result<(), SyncError> {
        self.up()
    }

    async fn get(&self, key: &str) -> Result<Option<Object>, SyncError> {
        self.up()?;
        Ok(self.objects.lock().get(key).map(|o| Object { body: o.body.clone(), etag: o.etag.clone() }))
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Bytes>, SyncError> {
        let Some(o) = self.get(key).await? else { return Ok(None) };
        let start = (offset as usize).min(o.body.len());
        let end = (offset.saturating_add(len) as usize).min(o.body.len());
        Ok(Some(o.body.slice(start..end)))
    }

    async fn get_stream(&self, key: &str) -> Result<Option<ObjectStream>, SyncError> {
        let Some(o) = self.get(key).await? else { return Ok(None) };
        // In chunks, as a network read arrives.
        let chunks: Vec<Result<Bytes, SyncError>> = (0..o.body.len())
            .step_by(64 * 1024)
            .map(|i| Ok(o.body.slice(i..(i + 64 * 1024).min(o.body.len()))))
            .collect();
        Ok(Some(ObjectStream { len: Some(o.body.len() as u64), body: Box::pin(futures::stream::iter(chunks)) }))
    }

    async fn exists(&self, key: &str) -> Result<bool, SyncError> {
        self.up()?;
        Ok(self.objects.lock().contains_key(key))
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<String, SyncError> {
        self.up()?;
        Ok(self.store(key, body))
    }

    async fn put_if(&self, key: &str, body: Bytes, expected: Option<&str>) -> Result<Written, SyncError> {
        self.up()?;
        let mut objects = self.objects.lock();
        let now = objects.get(key).map(|o| o.etag.as_str());
        if now != expected {
            return Ok(Written::PreconditionFailed);
        }
        let etag = self.etag();
        objects.insert(key.to_string(), Stored { body, etag: etag.clone(), modified_ms: crate::store::now_ms() });
        Ok(Written::Done(etag))
    }

    async fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<Listing, SyncError> {
        self.up()?;
        let mut out = Listing::default();
        for (k, o) in self.objects.lock().range(prefix.to_string()..).take_while(|(k, _)| k.starts_with(prefix)) {
            let rest = &k[prefix.len()..];
            match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
                Some(end) => {
                    let p = format!("{prefix}{}", &rest[..end]);
                    if out.prefixes.last() != Some(&p) {
                        out.prefixes.push(p);
                    }
                }
                None => out.objects.push((k.clone(), o.body.len() as u64, o.modified_ms)),
            }
        }
        Ok(out)
    }

    async fn delete(&self, keys: &[String]) -> Result<(), SyncError> {
        self.up()?;
        let mut objects = self.objects.lock();
        for k in keys {
            objects.remove(k);
        }
        Ok(())
    }

    async fn start_upload(&self, key: &str) -> Result<String, SyncError> {
        self.up()?;
        let id = format!("{key}#{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.uploads.lock().insert(id.clone(), BTreeMap::new());
        Ok(id)
    }

    async fn put_part(&self, _key: &str, upload: &str, number: u32, body: Bytes) -> Result<String, SyncError> {
        self.up()?;
        let mut uploads = self.uploads.lock();
        let parts = uploads.get_mut(upload).ok_or_else(|| SyncError::Refused(format!("no upload {upload}")))?;
        parts.insert(number, body);
        Ok(format!("\"part-{number}\""))
    }

    async fn finish_upload(&self, key: &str, upload: &str, parts: Vec<(u32, String)>) -> Result<(), SyncError> {
        self.up()?;
        let stored =
            self.uploads.lock().remove(upload).ok_or_else(|| SyncError::Refused(format!("no upload {upload}")))?;
        let mut all = bytes::BytesMut::new();
        for (n, _) in &parts {
            let part = stored.get(n).ok_or_else(|| SyncError::Refused(format!("part {n} was never uploaded")))?;
            all.extend_from_slice(part);
        }
        self.store(key, all.freeze());
        Ok(())
    }

    async fn abort_upload(&self, _key: &str, upload: &str) {
        self.uploads.lock().remove(upload);
    }
}
