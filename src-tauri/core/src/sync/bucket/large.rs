//! Blobs that go to and from files: large files up in parts, read part by part; downloads
//! streamed into the file being restored.

use bytes::Bytes;

use super::{collect, Bucket};
use crate::sync::error::SyncError;

/// Blobs up to this size are read whole and written with one call.
const WHOLE: u64 = 4 * 1024 * 1024;

impl Bucket {
    /// Uploads a large open file as blob `hash` in parts of `part_size`, `concurrency` at a time,
    /// reading it part by part (never whole in memory). The file's metadata must still be
    /// `expect` (size, mtime, inode) once every part is read, otherwise the upload is aborted:
    /// the file changed under it and its hash no longer names its content. (`shown` names it in
    /// errors.) Returns false when the bucket had the blob already.
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
        let upload = self.store().start_upload(&key).await?;
        let size = expect.0;
        let part_size = part_size.max(5 * 1024 * 1024);
        let parts = size.div_ceil(part_size).max(1);
        let uploads: Vec<_> = (0..parts)
            .map(|i| {
                let (key, upload, file) = (&key, &upload, file.clone());
                async move {
                    let off = i * part_size;
                    let len = part_size.min(size - off);
                    let _held = self.reserve(len).await;
                    let data = read_part(file, off, len as usize, shown).await?;
                    let number = i as u32 + 1;
                    Ok((number, self.store().put_part(key, upload, number, data).await?))
                }
            })
            .collect();
        let result: Result<Vec<(u32, String)>, SyncError> =
            futures::stream::iter(uploads).buffered(concurrency.max(1)).try_collect().await;
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
            Ok(parts) => {
                self.store().finish_upload(&key, &upload, parts).await?;
                Ok(true)
            }
            Err(e) => {
                self.store().abort_upload(&key, &upload).await;
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
        use futures::TryStreamExt;
        use tokio::io::AsyncWriteExt;
        let key = self.blob_key(hash);
        let mut s = self.store().get_stream(&key).await?.ok_or_else(|| SyncError::Missing { key: key.clone() })?;
        let local = |e: std::io::Error| SyncError::Local { path: shown.to_string(), message: e.to_string() };
        let joined = |e: tokio::task::JoinError| SyncError::Local { path: shown.to_string(), message: e.to_string() };
        if s.len.is_some_and(|n| n <= WHOLE) {
            let bytes = collect(s).await?;
            if blake3::hash(&bytes).to_hex().as_str() != hash {
                return Err(SyncError::Corrupt { key });
            }
            let n = bytes.len() as u64;
            tokio::task::spawn_blocking(move || std::io::Write::write_all(&mut &file, &bytes))
                .await
                .map_err(joined)?
                .map_err(local)?;
            return Ok(n);
        }
        let mut f = tokio::fs::File::from_std(file);
        let mut h = blake3::Hasher::new();
        let mut n = 0u64;
        while let Some(chunk) = s.body.try_next().await? {
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
