//! Blobs that go to and from files: large files up in parts, read once, part by part;
//! downloads streamed into the file being restored.

use bytes::Bytes;

use super::{collect, Bucket, ObjectStream};
use crate::sync::error::SyncError;
use crate::sync::snapshot::PackRef;

/// Blobs up to this size are read whole and written with one call.
const WHOLE: u64 = 4 * 1024 * 1024;

impl Bucket {
    /// Uploads a large open file as a pack of its own, reading it once: part by part in order
    /// (never whole in memory), hashing what it reads, `concurrency` parts of `part_size` in
    /// flight. The pack's id is fresh (the content's hash is known only at the end). The file's
    /// metadata must still be `expect` (size, mtime, inode) once every part is read, otherwise
    /// the upload is aborted with [`SyncError::Changed`]: what was read is not one version of
    /// it. (`shown` names it in errors.) Returns the content's hash and where it now is.
    pub async fn put_file_once(
        &self,
        file: std::sync::Arc<std::fs::File>,
        shown: &str,
        expect: (u64, i64, u64),
        part_size: u64,
        concurrency: usize,
    ) -> Result<([u8; 32], PackRef), SyncError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let key = self.pack_key(&id);
        let upload = self.store().start_upload(&key).await?;
        let result = self.send_parts(&key, &id, &upload, file.clone(), shown, expect.0, part_size, concurrency).await;
        let unchanged = || {
            use std::os::unix::fs::MetadataExt;
            file.metadata()
                .map(|m| (m.len(), m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino()) == expect)
                .unwrap_or(false)
        };
        let result = match result {
            Ok(_) if !unchanged() => Err(SyncError::Changed { path: shown.to_string() }),
            other => other,
        };
        match result {
            Ok((hash, parts)) => {
                self.store().finish_upload(&key, &upload, parts).await?;
                let len = if self.cipher().is_some() { super::sealing::sealed_len(expect.0) } else { expect.0 };
                Ok((hash, PackRef { id, at: 0, len }))
            }
            Err(e) => {
                self.store().abort_upload(&key, &upload).await;
                Err(e)
            }
        }
    }

    /// Reads the file's parts in order (hashing each as it is read) and uploads them as they
    /// come, at most `concurrency` at once, the uploads going on while the next part is read.
    /// Returns the hash of everything read and the parts (number, ETag) in order. An encrypted
    /// project's parts are whole chunks, sealed as they go (`id`: the pack they are bound to).
    #[allow(clippy::too_many_arguments)]
    async fn send_parts(
        &self,
        key: &str,
        id: &str,
        upload: &str,
        file: std::sync::Arc<std::fs::File>,
        shown: &str,
        size: u64,
        part_size: u64,
        concurrency: usize,
    ) -> Result<([u8; 32], Vec<(u32, String)>), SyncError> {
        use futures::stream::{FuturesUnordered, StreamExt};
        let mut part_size = part_size.max(5 * 1024 * 1024);
        if self.cipher().is_some() {
            part_size = part_size.next_multiple_of(super::sealing::CHUNK);
        }
        let mut hasher = blake3::Hasher::new();
        let mut uploads = FuturesUnordered::new();
        let mut parts = Vec::new();
        for i in 0..size.div_ceil(part_size).max(1) {
            let (off, number) = (i * part_size, i as u32 + 1);
            let len = part_size.min(size - off);
            let mut read = std::pin::pin!(self.read_held(file.clone(), off, len, shown));
            let (data, held) = loop {
                tokio::select! {
                    r = &mut read => break r?,
                    Some(done) = uploads.next(), if !uploads.is_empty() => parts.push(done?),
                }
            };
            hasher.update(&data);
            let data = match self.cipher() {
                Some(c) => seal_part(c, id, off, size, &data),
                None => data,
            };
            uploads.push(self.put_part_held(key, upload, number, data, held));
            while uploads.len() >= concurrency.max(1) {
                parts.push(uploads.next().await.expect("not empty")?);
            }
        }
        while let Some(done) = uploads.next().await {
            parts.push(done?);
        }
        parts.sort_by_key(|p| p.0);
        Ok((*hasher.finalize().as_bytes(), parts))
    }

    /// Reads a part, holding its bytes against the upload memory budget.
    async fn read_held(
        &self,
        file: std::sync::Arc<std::fs::File>,
        off: u64,
        len: u64,
        shown: &str,
    ) -> Result<(Bytes, tokio::sync::SemaphorePermit<'_>), SyncError> {
        let held = self.reserve(len).await;
        Ok((read_part(file, off, len as usize, shown).await?, held))
    }

    /// Uploads a part; its memory is released once it is sent.
    async fn put_part_held(
        &self,
        key: &str,
        upload: &str,
        number: u32,
        data: Bytes,
        held: tokio::sync::SemaphorePermit<'_>,
    ) -> Result<(u32, String), SyncError> {
        let etag = self.store().put_part(key, upload, number, data).await?;
        drop(held);
        Ok((number, etag))
    }

    /// Downloads a blob (in a pack at `place`, or its own object) into a file the caller
    /// opened (named `shown` in errors), checking its hash; a mismatch is
    /// [`SyncError::Corrupt`] and the caller removes the file. The data is not flushed to the
    /// disk here: callers writing many files flush once (`syncfs`) before they rename them into
    /// place. A small blob arrives whole and is written with one call; a large one (a large
    /// file's own pack, or an object of its own) is written as it streams in.
    pub async fn get_blob_into(
        &self,
        hash: &str,
        place: Option<&PackRef>,
        file: std::fs::File,
        shown: &str,
    ) -> Result<u64, SyncError> {
        if let Some(p) = place.filter(|p| p.len <= WHOLE || p.at != 0) {
            return write_whole(file, self.get_blob_at(hash, Some(p)).await?, shown).await;
        }
        let key = place.map_or_else(|| self.blob_key(hash), |p| self.pack_key(&p.id));
        if let Some(c) = self.cipher() {
            let p =
                place.ok_or_else(|| SyncError::Corrupt { key: format!("{key} (unsealed in an encrypted project)") })?;
            let s = self.store().get_stream(&key).await?.ok_or_else(|| SyncError::Missing { key: key.clone() })?;
            let opener = super::sealing::EntryOpener::new(c.clone(), &p.id, p.at, p.len);
            return stream_into(s, Some(p.len), Some(opener), hash, key, file, shown).await;
        }
        let s = self.store().get_stream(&key).await?.ok_or_else(|| SyncError::Missing { key: key.clone() })?;
        if place.is_none() && s.len.is_some_and(|n| n <= WHOLE) {
            let bytes = collect(s).await?;
            if blake3::hash(&bytes).to_hex().as_str() != hash {
                return Err(SyncError::Corrupt { key });
            }
            return write_whole(file, bytes, shown).await;
        }
        stream_into(s, place.map(|p| p.len), None, hash, key, file, shown).await
    }
}

/// Writes `bytes` into `file` with one call, off the async threads.
async fn write_whole(file: std::fs::File, bytes: Bytes, shown: &str) -> Result<u64, SyncError> {
    let err = |m: String| SyncError::Local { path: shown.to_string(), message: m };
    let n = bytes.len() as u64;
    tokio::task::spawn_blocking(move || std::io::Write::write_all(&mut &file, &bytes))
        .await
        .map_err(|e| err(e.to_string()))?
        .map_err(|e| err(e.to_string()))?;
    Ok(n)
}

/// Writes a stream into `file` as it arrives (at most `limit` bytes, which must all come),
/// opened chunk by chunk when it is a sealed entry, checking the hash of what was written.
#[allow(clippy::too_many_arguments)]
async fn stream_into(
    mut s: ObjectStream,
    limit: Option<u64>,
    mut opener: Option<super::sealing::EntryOpener>,
    hash: &str,
    key: String,
    file: std::fs::File,
    shown: &str,
) -> Result<u64, SyncError> {
    use futures::TryStreamExt;
    use tokio::io::AsyncWriteExt;
    let local = |e: std::io::Error| SyncError::Local { path: shown.to_string(), message: e.to_string() };
    let corrupt = || SyncError::Corrupt { key: key.clone() };
    let mut f = tokio::fs::File::from_std(file);
    let mut h = blake3::Hasher::new();
    let (mut read, mut written) = (0u64, 0u64);
    // A sealed entry's plaintext, chunk by chunk, in one buffer reused.
    let mut opened = Vec::new();
    while let Some(mut chunk) = s.body.try_next().await? {
        if let Some(l) = limit {
            chunk.truncate((l - read).min(chunk.len() as u64) as usize);
        }
        read += chunk.len() as u64;
        let plain: &[u8] = match opener.as_mut() {
            Some(o) => {
                opened.clear();
                o.feed_into(&chunk, &mut opened).map_err(|_| corrupt())?;
                &opened
            }
            None => &chunk,
        };
        if !plain.is_empty() {
            h.update(plain);
            written += plain.len() as u64;
            f.write_all(plain).await.map_err(local)?;
        }
        if limit == Some(read) {
            break;
        }
    }
    if let Some(o) = opener.as_mut() {
        let last = o.finish().map_err(|_| corrupt())?;
        h.update(&last);
        written += last.len() as u64;
        f.write_all(&last).await.map_err(local)?;
    }
    f.flush().await.map_err(local)?;
    if limit.is_some_and(|l| l != read) || h.finalize().to_hex().as_str() != hash {
        return Err(corrupt());
    }
    Ok(written)
}

/// Part `data` of a large file (plaintext from offset `off` of `size` bytes, whole chunks but
/// perhaps the last), sealed chunk by chunk for pack `id`.
fn seal_part(c: &crate::sync::crypto::Cipher, id: &str, off: u64, size: u64, data: &[u8]) -> Bytes {
    use super::sealing::{seal_chunk, CHUNK};
    let mut out = Vec::with_capacity(super::sealing::sealed_len(data.len() as u64) as usize);
    for (j, chunk) in data.chunks(CHUNK as usize).enumerate() {
        out.extend(seal_chunk(c, id, 0, off / CHUNK + j as u64, size, chunk));
    }
    Bytes::from(out)
}

/// Reads `len` bytes at `off` off the async threads; a file that shrank or vanished is
/// [`SyncError::Changed`].
async fn read_part(file: std::sync::Arc<std::fs::File>, off: u64, len: usize, shown: &str) -> Result<Bytes, SyncError> {
    let read = tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, off)?;
        Ok::<_, std::io::Error>(Bytes::from(buf))
    })
    .await
    .map_err(|e| SyncError::Local { path: shown.to_string(), message: e.to_string() })?;
    read.map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::NotFound => {
            SyncError::Changed { path: shown.to_string() }
        }
        _ => SyncError::Local { path: shown.to_string(), message: e.to_string() },
    })
}
