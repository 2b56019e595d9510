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
use crate::sandbox::ledger::Ledger;
use crate::sandbox::{Provider, SandboxError};
use crate::store::Digest;
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
    /// Found already in the sandbox by the first copy (reattached: sent before).
    pub unchanged: u64,
    pub last_error: Option<String>,
    /// What is not copied, by path, with the reason (a link leading outside the project, a
    /// file over the size limit, a name the files API cannot carry).
    pub skipped: std::collections::BTreeMap<String, String>,
}

pub struct Mirror {
    provider: Arc<dyn Provider>,
    sandbox: String,
    root: ProjectRoot,
    queue: Mutex<BTreeSet<Vec<u8>>>,
    /// What this sandbox last received, by path.
    sent: Mutex<HashMap<Vec<u8>, Digest>>,
    /// The same, kept between sessions.
    ledger: Ledger,
    status: Mutex<MirrorStatus>,
    nudge: Notify,
    stopped: AtomicBool,
    /// Changes sent at once.
    concurrency: usize,
}

enum Outcome {
    Sent(Digest),
    Removed,
    /// Nothing to do (already there, or ignored).
    Unchanged,
    /// Not carried, with the reason.
    Skipped(String),
}

/// A project path as the host has it, read through the root capability (never content from
/// outside the project).
pub(crate) enum Local {
    File(Vec<u8>),
    Folder,
    /// A symbolic link inside the project: its target text.
    Link(Vec<u8>),
    Gone,
    /// Seen, not carried: why.
    Skipped(String),
}

impl Local {
    /// What identifies this state, to send only what changed.
    fn digest(&self) -> Digest {
        match self {
            Local::File(d) => *blake3::hash(d).as_bytes(),
            Local::Folder => *blake3::hash(b"\0folder").as_bytes(),
            Local::Link(t) => *blake3::hash(&[b"\0link\0", t.as_slice()].concat()).as_bytes(),
            Local::Gone | Local::Skipped(_) => [0; 32],
        }
    }
}

/// Reads project path `rel` for a remote sandbox (blocking).
pub(crate) fn read_local(root: &ProjectRoot, rel: &[u8]) -> std::io::Result<Local> {
    if std::str::from_utf8(rel).is_err() {
        return Ok(Local::Skipped("the name is not UTF-8, which the sandbox's files API cannot carry".into()));
    }
    let dir = root.dir().map_err(std::io::Error::other)?;
    let path = crate::paths::rel_bytes(rel);
    let m = match dir.symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Local::Gone),
        Err(e) => return Err(e),
    };
    if m.is_dir() {
        return Ok(Local::Folder);
    }
    if m.file_type().is_symlink() {
        let target = crate::sync::links::read_target(&dir, rel)?;
        return Ok(match crate::sync::links::skip_reason(rel, &target) {
            Some(why) => Local::Skipped(why.into()),
            None if std::str::from_utf8(&target).is_err() => Local::Skipped("the link's target is not UTF-8".into()),
            None => Local::Link(target),
        });
    }
    if !m.is_file() {
        return Ok(Local::Gone); // a FIFO or a socket: no content to copy
    }
    if m.len() > MAX_MIRROR_FILE {
        return Ok(Local::Skipped(format!(
            "{} MiB is over the {} MiB limit for copying a file into a remote sandbox",
            m.len() >> 20,
            MAX_MIRROR_FILE >> 20
        )));
    }
    let mut f = match crate::paths::open_read(&dir, path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Local::Gone),
        Err(e) => return Err(e),
    };
    let mut data = Vec::with_capacity(m.len() as usize);
    std::io::Read::read_to_end(&mut f, &mut data)?;
    Ok(Local::File(data))
}

/// Puts one entry into the sandbox's workspace at `name`. The files APIs (Daytona's toolbox,
/// E2B's envd) write files and make folders but cannot make a symbolic link, so a link is
/// made by a command in the sandbox (`ln -s`, the target text as written).
pub(crate) async fn put_local(p: &dyn Provider, sandbox: &str, name: &str, what: &Local) -> Result<(), SandboxError> {
    match what {
        Local::File(data) => p.put_file(sandbox, name, data).await,
        // Already there (made with a file inside it): envd answers `already_exists` (409).
        Local::Folder => match p.make_dir(sandbox, name).await {
            Err(SandboxError::Api { status: 409, .. }) => Ok(()),
            r => r,
        },
        Local::Link(target) => {
            let q = crate::sandbox::remote::shell_quote;
            let target = String::from_utf8_lossy(target);
            let command = format!("rm -rf -- {n} && ln -s -- {t} {n}", n = q(name), t = q(&target));
            let req = crate::sandbox::ExecRequest { command, cwd: None, env: Vec::new(), timeout_s: Some(30) };
            let mut out = Collect::default();
            let done = p.exec(sandbox, &req, &mut out).await?;
            match done.exit_code {
                Some(0) => Ok(()),
                _ => Err(SandboxError::Io(format!(
                    "{name}: could not make the link in the sandbox: {}",
                    String::from_utf8_lossy(&out.0).trim()
                ))),
            }
        }
        Local::Gone | Local::Skipped(_) => Ok(()),
    }
}

/// A command's output, kept for its error message.
#[derive(Default)]
struct Collect(Vec<u8>);

impl crate::sandbox::ExecSink for Collect {
    fn stdout(&mut self, d: &[u8]) {
        self.0.extend_from_slice(d);
    }
    fn stderr(&mut self, d: &[u8]) {
        self.0.extend_from_slice(d);
    }
}

impl Mirror {
    /// Starts mirroring into sandbox `sandbox` (whose workspace already holds the project, e.g.
    /// from `upload_project`). Call from inside a tokio runtime.
    /// `held` is what it holds now, by path.
    pub fn start(
        provider: Arc<dyn Provider>,
        sandbox: String,
        root: ProjectRoot,
        held: HashMap<Vec<u8>, Digest>,
        ledger: Ledger,
    ) -> Arc<Self> {
        let m = Arc::new(Self {
            provider,
            sandbox,
            root,
            queue: Mutex::new(BTreeSet::new()),
            sent: Mutex::new(held),
            ledger,
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
        self.ledger.forget();
        self.hint(&[Vec::new()]);
    }

    /// What the first copy did (counts, and what it did not copy with the reason).
    pub fn note_copy(&self, up: Upload) {
        let mut s = self.status.lock();
        s.sent += up.sent as u64;
        s.unchanged += up.unchanged as u64;
        s.removed += up.removed as u64;
        s.skipped.extend(up.skipped);
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
            // Each result carries its path: they arrive in the order they finish.
            let me = &*self;
            let work: Vec<_> = files.iter().map(|p| async move { (p, me.one(p).await) }).collect();
            let results: Vec<(&Vec<u8>, Result<Outcome, SandboxError>)> =
                futures::stream::iter(work).buffer_unordered(self.concurrency).collect().await;
            let mut failed = Vec::new();
            let mut st = MirrorStatus::default();
            let mut now_sent = Vec::new();
            let mut changes = Vec::new();
            for (p, r) in results {
                let shown = String::from_utf8_lossy(p).into_owned();
                match r {
                    Ok(Outcome::Sent(d)) => {
                        st.sent += 1;
                        changes.push((p.clone(), Some(d)));
                    }
                    Ok(Outcome::Removed) => {
                        st.removed += 1;
                        changes.push((p.clone(), None));
                    }
                    Ok(Outcome::Unchanged) => {}
                    Ok(Outcome::Skipped(why)) => {
                        st.skipped.insert(shown.clone(), why);
                    }
                    Err(e) => {
                        st.last_error = Some(format!("{shown}: {e}"));
                        failed.push(p.clone());
                    }
                }
                now_sent.push(shown);
            }
            self.ledger.record(&changes);
            {
                let mut q = self.queue.lock();
                q.extend(failed.iter().cloned());
                let mut s = self.status.lock();
                s.sent += st.sent;
                s.removed += st.removed;
                for p in &now_sent {
                    s.skipped.remove(p);
                }
                s.skipped.extend(st.skipped);
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

    /// Folders become themselves and what is under them (what sync keeps); other paths stay.
    fn expand(&self, batch: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut out = BTreeSet::new();
        for rel in batch {
            let abs = self.root.path().join(OsStr::from_bytes(&rel));
            match std::fs::symlink_metadata(&abs) {
                Ok(m) if m.is_dir() => {
                    if !rel.is_empty() && ignore_rules::sync_ignored(self.root.path(), &rel, true) {
                        continue;
                    }
                    out.extend(crate::sync::carried::carried_paths(&self.root, &abs));
                }
                _ => {
                    out.insert(rel);
                }
            }
        }
        // Sorted: a folder goes before what is in it (they are sent in order of readiness, but
        // making a file's folder is part of writing it in both files APIs).
        out.into_iter().collect()
    }

    async fn one(&self, rel: &[u8]) -> Result<Outcome, SandboxError> {
        let is_dir = std::fs::symlink_metadata(self.root.path().join(OsStr::from_bytes(rel))).is_ok_and(|m| m.is_dir());
        if rel.is_empty() || ignore_rules::sync_ignored(self.root.path(), rel, is_dir) {
            return Ok(Outcome::Unchanged);
        }
        let (root, path) = (self.root.clone(), rel.to_vec());
        let local = tokio::task::spawn_blocking(move || read_local(&root, &path))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let name = String::from_utf8_lossy(rel).into_owned();
        let local = match local {
            Ok(Local::Gone) => return self.remove(rel, &name).await,
            Ok(Local::Skipped(why)) => return Ok(Outcome::Skipped(why)),
            Ok(l) => l,
            Err(e) => return Err(SandboxError::Io(format!("{name}: {e}"))),
        };
        let digest = local.digest();
        if self.sent.lock().get(rel) == Some(&digest) {
            return Ok(Outcome::Unchanged);
        }
        put_local(self.provider.as_ref(), &self.sandbox, &name, &local).await?;
        self.sent.lock().insert(rel.to_vec(), digest);
        Ok(Outcome::Sent(digest))
    }

    async fn remove(&self, rel: &[u8], name: &str) -> Result<Outcome, SandboxError> {
        if ignore_rules::sync_ignored(self.root.path(), rel, false) {
            return Ok(Outcome::Unchanged);
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

/// One path of the copy: its digest and whether it was sent (else it was there), or why it is
/// not carried.
type Copied = Result<(Digest, bool), String>;

/// What [`upload_project`] did: sent, found already there, removed (deleted on disk since it
/// was sent), not carried (path → reason), and what the sandbox holds afterwards.
#[derive(Debug, Default)]
pub struct Upload {
    pub sent: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub skipped: std::collections::BTreeMap<String, String>,
    pub held: HashMap<Vec<u8>, Digest>,
}

/// Copies the project (what sync carries: folders, files, links inside the project) into
/// sandbox `id`, everything read through the root capability. What `held` says the sandbox
/// already has with the same content is not sent again, and what it has that the project no
/// longer carries is removed — so a sandbox reattached to gets the difference, a new one
/// everything. Folders go first, then the rest 8 at a time; the first failure stops the upload.
/// `ledger` records each step.
pub async fn upload_project(
    p: &dyn Provider,
    id: &str,
    root: &ProjectRoot,
    held: &HashMap<Vec<u8>, Digest>,
    ledger: &Ledger,
) -> Result<Upload, SandboxError> {
    use crate::sync::carried::carried_paths as entries;
    use futures::stream::TryStreamExt;
    let all = entries(root, root.path());
    let carried: std::collections::HashSet<&Vec<u8>> = all.iter().collect();
    let gone: Vec<Vec<u8>> = {
        let mut g: Vec<Vec<u8>> = held.keys().filter(|k| !carried.contains(k)).cloned().collect();
        g.sort();
        // A folder removed takes what is in it.
        let mut top: Vec<Vec<u8>> = Vec::new();
        for path in g {
            if !top.iter().any(|t| path.starts_with(t) && path.get(t.len()) == Some(&b'/')) {
                top.push(path);
            }
        }
        top
    };
    let (folders, rest): (Vec<Vec<u8>>, Vec<Vec<u8>>) = all.into_iter().partition(|r| {
        std::fs::symlink_metadata(root.path().join(crate::paths::rel_bytes(r))).is_ok_and(|m| m.is_dir())
    });
    // Sent(digest), Unchanged(digest) or Skipped(why), with its path.
    let one = |rel: Vec<u8>| async move {
        let r = root.clone();
        let rel2 = rel.clone();
        let local = tokio::task::spawn_blocking(move || read_local(&r, &rel2))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let name = String::from_utf8_lossy(&rel).into_owned();
        match local {
            Ok(Local::Skipped(why)) => Ok((rel, Err(why))),
            Ok(l) => {
                let d = l.digest();
                if held.get(&rel) == Some(&d) {
                    return Ok((rel, Ok((d, false))));
                }
                put_local(p, id, &name, &l).await?;
                Ok((rel, Ok((d, true))))
            }
            Err(e) => Err(SandboxError::Io(format!("{name}: {e}"))),
        }
    };
    let mut up = Upload::default();
    let note = |up: &mut Upload, rel: Vec<u8>, r: Copied| match r {
        Ok((d, sent)) => {
            if sent {
                up.sent += 1;
            } else {
                up.unchanged += 1;
            }
            up.held.insert(rel, d);
        }
        Err(why) => {
            up.skipped.insert(String::from_utf8_lossy(&rel).into_owned(), why);
        }
    };
    for path in &gone {
        match p.remove_file(id, &String::from_utf8_lossy(path)).await {
            Ok(()) | Err(SandboxError::NotFound(_)) => up.removed += 1,
            Err(e) => return Err(e),
        }
    }
    ledger.record(&gone.iter().map(|g| (g.clone(), None)).collect::<Vec<_>>());
    for rel in folders {
        let (rel, r) = one(rel).await?;
        note(&mut up, rel, r);
    }
    let results: Vec<(Vec<u8>, Copied)> =
        futures::stream::iter(rest.into_iter().map(one)).buffer_unordered(8).try_collect().await?;
    for (rel, r) in results {
        note(&mut up, rel, r);
    }
    ledger.record(&up.held.iter().map(|(k, v)| (k.clone(), Some(*v))).collect::<Vec<_>>());
    Ok(up)
}
