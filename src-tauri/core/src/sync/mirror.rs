//! The sandbox target: keeps a remote sandbox's workspace (Daytona, E2B) equal to the project
//! through the provider's files API. (The local sandbox needs no copy: the project folder is
//! bound into it at /workspace, so a save is visible there as soon as it is written.)
//!
//! Saves and watcher events name paths; a worker sends what changed (its content hash differs
//! from what this sandbox last received), removes what is gone, and skips what sync ignores
//! (`node_modules` and build outputs are produced inside the sandbox). Failed paths stay queued
//! and are retried with exponential backoff and jitter. Local disk stays the source of truth: a
//! sandbox that lost files gets them again on the next change or `resync`.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::StreamExt;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::paths::ProjectRoot;
use crate::sandbox::{Provider, SandboxError};
use crate::workspace::ignore_rules;

/// Files larger than this are not copied into a remote sandbox (reported once).
pub const MAX_MIRROR_FILE: u64 = 64 * 1024 * 1024;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorStatus {
    /// Paths waiting to be sent or removed.
    pub pending: usize,
    pub sent: u64,
    pub removed: u64,
    pub last_error: Option<String>,
}

pub struct Mirror {
    provider: Arc<dyn Provider>,
    sandbox: String,
    root: ProjectRoot,
    queue: Mutex<BTreeSet<Vec<u8>>>,
    /// What this sandbox last received, by path.
    sent: Mutex<HashMap<Vec<u8>, [u8; 32]>>,
    status: Mutex<MirrorStatus>,
    nudge: Notify,
    stopped: AtomicBool,
    /// Changes sent at once.
    concurrency: usize,
}

enum Outcome {
    Sent,
    Removed,
    Skipped,
}

impl Mirror {
    /// Starts mirroring into sandbox `sandbox` (whose workspace already holds the project, e.g.
    /// from `upload_project`). Call from inside a tokio runtime.
    pub fn start(provider: Arc<dyn Provider>, sandbox: String, root: ProjectRoot) -> Arc<Self> {
        let m = Arc::new(Self {
            provider,
            sandbox,
            root,
            queue: Mutex::new(BTreeSet::new()),
            sent: Mutex::new(HashMap::new()),
            status: Mutex::new(MirrorStatus::default()),
            nudge: Notify::new(),
            stopped: AtomicBool::new(false),
            concurrency: 8,
        });
        tokio::spawn(m.clone().run());
        m
    }

    pub fn sandbox_id(&self) -> &str {
        &self.sandbox
    }

    /// These project-relative paths changed (files, folders, or gone).
    pub fn hint(&self, paths: &[Vec<u8>]) {
        {
            let mut q = self.queue.lock();
            q.extend(paths.iter().cloned());
            self.status.lock().pending = q.len();
        }
        self.nudge.notify_one();
    }

    /// Sends the whole project again (after the sandbox was recreated or restored).
    pub fn resync(&self) {
        self.sent.lock().clear();
        self.hint(&[Vec::new()]);
    }

    pub fn status(&self) -> MirrorStatus {
        self.status.lock().clone()
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.nudge.notify_one();
    }

    async fn run(self: Arc<Self>) {
        let mut backoff = Duration::ZERO;
        loop {
            if backoff.is_zero() {
                self.nudge.notified().await;
            } else {
                // New changes do not cut a backoff short; they wait in the queue.
                tokio::time::sleep(backoff.mul_f64(0.5 + rand::random::<f64>() * 0.5)).await;
            }
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            let batch: Vec<Vec<u8>> = std::mem::take(&mut *self.queue.lock()).into_iter().collect();
            let files = self.expand(batch);
            let work: Vec<_> = files.iter().map(|p| self.one(p)).collect();
            let results: Vec<Result<Outcome, SandboxError>> =
                futures::stream::iter(work).buffer_unordered(self.concurrency).collect().await;
            let mut failed = Vec::new();
            let mut st = MirrorStatus::default();
            for (p, r) in files.iter().zip(results) {
                match r {
                    Ok(Outcome::Sent) => st.sent += 1,
                    Ok(Outcome::Removed) => st.removed += 1,
                    Ok(Outcome::Skipped) => {}
                    Err(e) => {
                        st.last_error = Some(format!("{}: {e}", String::from_utf8_lossy(p)));
                        failed.push(p.clone());
                    }
                }
            }
            {
                let mut q = self.queue.lock();
                q.extend(failed.iter().cloned());
                let mut s = self.status.lock();
                s.sent += st.sent;
                s.removed += st.removed;
                s.pending = q.len();
                if st.last_error.is_some() || failed.is_empty() {
                    s.last_error = st.last_error.clone();
                }
            }
            if failed.is_empty() {
                backoff = Duration::ZERO;
                if !self.queue.lock().is_empty() {
                    self.nudge.notify_one();
                }
            } else {
                tracing::warn!(failed = failed.len(), error = ?st.last_error, "sandbox sync: retrying later");
                backoff = if backoff.is_zero() { Duration::from_millis(250) } else { (backoff * 2).min(MAX_BACKOFF) };
            }
        }
    }

    /// Folders become the files under them (what sync keeps); files and gone paths stay.
    fn expand(&self, batch: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut out = BTreeSet::new();
        for rel in batch {
            let abs = self.root.path().join(OsStr::from_bytes(&rel));
            match std::fs::symlink_metadata(&abs) {
                Ok(m) if m.is_dir() => {
                    if !rel.is_empty() && ignore_rules::sync_ignored(self.root.path(), &rel, true) {
                        continue;
                    }
                    for e in ignore_rules::sync_walker(self.root.path(), &abs).build().filter_map(Result::ok) {
                        if e.file_type().is_some_and(|t| t.is_file()) {
                            if let Ok(r) = e.path().strip_prefix(self.root.path()) {
                                out.insert(r.as_os_str().as_bytes().to_vec());
                            }
                        }
                    }
                }
                _ => {
                    out.insert(rel);
                }
            }
        }
        out.into_iter().collect()
    }

    async fn one(&self, rel: &[u8]) -> Result<Outcome, SandboxError> {
        let Ok(name) = std::str::from_utf8(rel) else {
            // The files APIs take UTF-8 paths.
            return Ok(Outcome::Skipped);
        };
        let abs = self.root.path().join(OsStr::from_bytes(rel));
        match std::fs::symlink_metadata(&abs) {
            Ok(m) if m.is_file() => {
                if ignore_rules::sync_ignored(self.root.path(), rel, false) || m.len() > MAX_MIRROR_FILE {
                    return Ok(Outcome::Skipped);
                }
                let root = self.root.clone();
                let path = rel.to_vec();
                // Read through the root capability: never content from outside the project.
                let read = tokio::task::spawn_blocking(move || {
                    let mut f = crate::paths::open_read(
                        &root.dir().map_err(std::io::Error::other)?,
                        crate::paths::rel_bytes(&path),
                    )?;
                    let mut data = Vec::new();
                    std::io::Read::read_to_end(&mut f, &mut data)?;
                    Ok::<_, std::io::Error>(data)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                let data = match read {
                    Ok(d) => d,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return self.remove(rel, name).await,
                    Err(e) => return Err(SandboxError::Io(format!("{name}: {e}"))),
                };
                let hash = *blake3::hash(&data).as_bytes();
                if self.sent.lock().get(rel) == Some(&hash) {
                    return Ok(Outcome::Skipped);
                }
                self.provider.put_file(&self.sandbox, name, &data).await?;
                self.sent.lock().insert(rel.to_vec(), hash);
                Ok(Outcome::Sent)
            }
            Ok(_) => Ok(Outcome::Skipped),
            Err(_) => self.remove(rel, name).await,
        }
    }

    async fn remove(&self, rel: &[u8], name: &str) -> Result<Outcome, SandboxError> {
        if ignore_rules::sync_ignored(self.root.path(), rel, false) {
            return Ok(Outcome::Skipped);
        }
        match self.provider.remove_file(&self.sandbox, name).await {
            Ok(()) | Err(SandboxError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let mut prefix = rel.to_vec();
        prefix.push(b'/');
        self.sent.lock().retain(|p, _| p != rel && !p.starts_with(&prefix));
        Ok(Outcome::Removed)
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
    }
}
