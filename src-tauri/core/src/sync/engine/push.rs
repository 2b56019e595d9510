//! A pass: journal → blobs → one snapshot committed with a conditional HEAD write.

use super::*;

/// The blobs a pass stored, written to `sent_blobs` a few hundred at a time (one transaction
/// each) so a pass cut short keeps most of what it learned.
struct SentLog<'a> {
    store: &'a Store,
    location: String,
    buf: parking_lot::Mutex<Vec<[u8; 32]>>,
    /// Hashes this pass has claimed: two files with the same content upload it once.
    claimed: parking_lot::Mutex<HashSet<[u8; 32]>>,
}

impl<'a> SentLog<'a> {
    fn new(store: &'a Store, target: &Bucket) -> Self {
        Self {
            store,
            location: target.location(),
            buf: parking_lot::Mutex::new(Vec::new()),
            claimed: parking_lot::Mutex::new(HashSet::new()),
        }
    }

    fn known(&self, hash: &[u8; 32]) -> bool {
        self.store.blob_sent_recently(&self.location, hash)
    }

    /// True for the first caller with this hash in this pass. (Only for small files: their
    /// upload either succeeds or fails the whole pass, so a claimed blob is never missing from
    /// a committed snapshot.)
    fn claim(&self, hash: &[u8; 32]) -> bool {
        self.claimed.lock().insert(*hash)
    }

    fn add(&self, hash: [u8; 32]) {
        let full = {
            let mut b = self.buf.lock();
            b.push(hash);
            (b.len() >= 256).then(|| std::mem::take(&mut *b))
        };
        if let Some(batch) = full {
            self.store.blobs_sent(&self.location, &batch);
        }
    }

    fn flush(&self) {
        let batch = std::mem::take(&mut *self.buf.lock());
        if !batch.is_empty() {
            self.store.blobs_sent(&self.location, &batch);
        }
    }
}

/// What one changed path turned into.
enum Sent {
    Stored {
        state: FileState,
        uploaded: bool,
        bytes: u64,
    },
    /// A folder: an entry with no content.
    Folder(FileState),
    Gone,
    /// Seen but not carried (a link leading outside the project): why.
    Skipped(String),
    Failed(String),
}

/// What a journaled path is on disk when a pass looks at it.
enum Found {
    File((std::fs::File, std::fs::Metadata)),
    Link(Vec<u8>, FileState),
    Folder(FileState),
    Gone,
}

/// Runs file work off the async threads: a file that vanished is `Gone`, any other failure is
/// that file's error.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> Result<T, Sent> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(Sent::Gone),
        // A folder on its way is now a link out of the project: the file is no longer in it.
        Ok(Err(e)) if crate::paths::escaped("", &e).is_some() => Err(Sent::Gone),
        Ok(Err(e)) => Err(Sent::Failed(e.to_string())),
        Err(e) => Err(Sent::Failed(e.to_string())),
    }
}

/// The state of the symbolic link at `rel` (its own metadata, not its target's) and its target
/// text, read through the root capability; `None` when it is no longer a link.
pub(super) fn read_link(dir: &cap_std::fs::Dir, rel: &[u8]) -> std::io::Result<Option<(Vec<u8>, FileState)>> {
    use cap_std::fs::MetadataExt;
    let m = match dir.symlink_metadata(rel_bytes(rel)) {
        Ok(m) if m.file_type().is_symlink() => m,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let target = crate::sync::links::read_target(dir, rel)?;
    let state = FileState {
        size: m.len(),
        mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        inode: m.ino(),
        blake3: *blake3::hash(&target).as_bytes(),
        mode: crate::sync::links::LINK_MODE,
    };
    Ok(Some((target, state)))
}

/// Stores a symbolic link's target text as its blob (see `links`); one outside the project is
/// skipped with the reason.
async fn send_link(
    sent: &SentLog<'_>,
    target: &Bucket,
    rel: &[u8],
    text: Vec<u8>,
    state: FileState,
) -> Result<Sent, SyncError> {
    if let Some(why) = crate::sync::links::skip_reason(rel, &text) {
        return Ok(Sent::Skipped(why.to_string()));
    }
    let hash = state.blake3;
    if !sent.claim(&hash) || sent.known(&hash) {
        return Ok(Sent::Stored { state, uploaded: false, bytes: 0 });
    }
    let bytes = text.len() as u64;
    target.put_blob(&hex(&hash), text).await?;
    sent.add(hash);
    Ok(Sent::Stored { state, uploaded: true, bytes })
}

/// Opens project file `rel` for a pass through the root capability: `None` when it is no
/// longer a regular file (gone, or now a symlink or a special file: sync carries regular files
/// only). Never blocks on a FIFO swapped in, never follows a link out of the project.
pub(super) fn open_regular(
    dir: &cap_std::fs::Dir,
    rel: &[u8],
) -> std::io::Result<Option<(std::fs::File, std::fs::Metadata)>> {
    let f = match crate::paths::open_read(dir, crate::paths::rel_bytes(rel)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = f.metadata()?;
    Ok(meta.is_file().then_some((f, meta)))
}

/// Reads, hashes and stores one file. `Err` only for what stops the whole pass (the bucket is
/// unreachable or refuses); anything about the file itself is `Sent::Failed`.
async fn send_file(
    sent: &SentLog<'_>,
    target: &Bucket,
    dir: std::sync::Arc<cap_std::fs::Dir>,
    rel: &[u8],
    opts: &PushOptions,
) -> Result<Sent, SyncError> {
    // One trip to the blocking pool; a regular file (the usual case) costs one open.
    let r = rel.to_vec();
    let found = blocking(move || {
        let file = match crate::paths::open_read(&dir, rel_bytes(&r)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Gone),
            // The last component is a symbolic link (never followed).
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Ok(match read_link(&dir, &r)? {
                    Some((text, state)) => Found::Link(text, state),
                    None => Found::Gone,
                })
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        Ok(if meta.is_file() {
            Found::File((file, meta))
        } else if meta.is_dir() {
            Found::Folder(FileState::from_meta(&meta, crate::sync::folders::empty_hash()))
        } else {
            Found::Gone // a FIFO or a socket now: sync carries no content for it
        })
    });
    let (file, meta) = match found.await {
        Ok(Found::File(file)) => file,
        Ok(Found::Link(text, state)) => return send_link(sent, target, rel, text, state).await,
        Ok(Found::Folder(state)) => return Ok(Sent::Folder(state)),
        Ok(Found::Gone) => return Ok(Sent::Gone),
        Err(s) => return Ok(s),
    };
    if meta.len() > opts.max_file_size {
        return Ok(Sent::Failed(format!(
            "{} MiB is over the {} MiB limit for one file (Settings → Sync); it is not synced",
            meta.len() / (1024 * 1024),
            opts.max_file_size / (1024 * 1024)
        )));
    }
    let before = FileState::from_meta(&meta, [0; 32]);
    let file = std::sync::Arc::new(file);
    if meta.len() >= opts.multipart_threshold {
        let f = file.clone();
        let hash = match blocking(move || crate::sync::scan::hash_open(&f)).await {
            Ok(h) => h,
            Err(s) => return Ok(s),
        };
        let expect = (before.size, before.mtime_ns, before.inode);
        if sent.known(&hash) {
            return Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: false, bytes: 0 });
        }
        let (key, name) = (hex(&hash), shown(rel));
        return match target.put_blob_file(&key, file, &name, expect, opts.part_size, opts.concurrency).await {
            Ok(up) => {
                sent.add(hash);
                Ok(Sent::Stored {
                    state: FileState { blake3: hash, ..before },
                    uploaded: up,
                    bytes: if up { meta.len() } else { 0 },
                })
            }
            Err(e @ (SyncError::Changed { .. } | SyncError::Local { .. })) => Ok(Sent::Failed(e.to_string())),
            Err(e) => Err(e),
        };
    }
    let _held = target.reserve(meta.len()).await;
    let data = match blocking(move || {
        let mut data = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut &*file, &mut data)?;
        Ok(data)
    })
    .await
    {
        Ok(d) => d,
        Err(s) => return Ok(s),
    };
    // The state recorded is the metadata from before the read: if the file changes after,
    // its new mtime makes the next scan look at it again.
    let hash = *blake3::hash(&data).as_bytes();
    let bytes = data.len() as u64;
    if !sent.claim(&hash) || sent.known(&hash) {
        return Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: false, bytes: 0 });
    }
    target.put_blob(&hex(&hash), data).await?;
    sent.add(hash);
    Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: true, bytes })
}

/// If a pass died after moving HEAD to its snapshot but before recording that, take HEAD as
/// this machine's position (it is this machine's own snapshot).
async fn recover_inflight(store: &Store, project_id: i64, target: &Bucket) -> Result<(), SyncError> {
    if let Some(inflight) = store.sync_inflight(project_id)? {
        match target.head().await? {
            Some((id, etag)) if id == inflight => {
                tracing::info!(snapshot = %id, "recovering a sync pass that committed before it stopped");
                store.set_sync_position(project_id, &id, &etag)?;
            }
            _ => store.set_sync_inflight(project_id, None)?,
        }
    }
    Ok(())
}

/// Sends what the journal holds and commits a snapshot (a normal pass).
pub async fn push(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &Bucket,
    opts: &PushOptions,
) -> Result<PushReport, SyncError> {
    push_to(root, store, project_id, target, opts, CommitTo::Head).await
}

/// A pass with a chosen commit (see [`CommitTo`]). `Head` with an empty journal does nothing;
/// the others always write a snapshot.
pub async fn push_to(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &Bucket,
    opts: &PushOptions,
    commit: CommitTo,
) -> Result<PushReport, SyncError> {
    push_observed(root, store, project_id, target, opts, commit, None).await
}

/// Told (files done, files to send) as a pass goes.
pub type Progress<'a> = dyn Fn(usize, usize) + Send + Sync + 'a;

/// [`push_to`], reporting progress.
pub async fn push_observed(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &Bucket,
    opts: &PushOptions,
    commit: CommitTo,
    progress: Option<&Progress<'_>>,
) -> Result<PushReport, SyncError> {
    let mut report = PushReport::default();
    let pending = store.journal_pending(project_id, 1_000_000)?;
    if pending.is_empty() && commit == CommitTo::Head {
        return Ok(report);
    }
    recover_inflight(store, project_id, target).await?;

    // Fold the entries into one action per path (the last one wins).
    let mut upload: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
    for e in &pending {
        match &e.op {
            JournalOp::Upsert(p) => {
                upload.insert(p.clone(), true);
            }
            JournalOp::Delete(p) => {
                upload.insert(p.clone(), false);
            }
            JournalOp::Rename { from, to } => {
                upload.insert(from.clone(), false);
                upload.insert(to.clone(), true);
            }
        }
    }

    let to_send: Vec<Vec<u8>> = upload.iter().filter(|(_, up)| **up).map(|(p, _)| p.clone()).collect();
    // Paths removed this pass (that the manifest knew).
    let mut removed: Vec<Vec<u8>> = Vec::new();
    for (p, up) in &upload {
        if !*up && store.manifest_get(project_id, p)?.is_some() {
            removed.push(p.clone());
        }
    }

    // Large files upload their parts `concurrency` at a time themselves: count them as one.
    // (The futures are made before they go into the stream: a closure inside the stream's type
    // trips rustc's higher-ranked Send check in callers.)
    let log = SentLog::new(store, target);
    let log = &log;
    let dir = std::sync::Arc::new(
        root.dir().map_err(|e| SyncError::Local { path: root.path().display().to_string(), message: e.to_string() })?,
    );
    let dir = &dir;
    let total = to_send.len();
    let done_count = std::sync::atomic::AtomicUsize::new(0);
    let done_count = &done_count;
    let sends: Vec<_> = to_send
        .into_iter()
        .map(|rel| async move {
            let sent = send_file(log, target, dir.clone(), &rel, opts).await?;
            let n = done_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(p) = progress {
                p(n, total);
            }
            Ok::<_, SyncError>((rel, sent))
        })
        .collect();
    let results: Result<Vec<(Vec<u8>, Sent)>, SyncError> =
        futures::stream::iter(sends).buffer_unordered(opts.concurrency.max(1)).try_collect().await;
    log.flush();
    let results = results?;

    let mut failed: HashMap<Vec<u8>, String> = HashMap::new();
    let mut changed: Vec<(Vec<u8>, FileState)> = Vec::new();
    for (rel, sent) in results {
        match sent {
            Sent::Stored { state, uploaded, bytes } => {
                if uploaded {
                    report.uploaded.push(rel.clone());
                    report.bytes_sent += bytes;
                } else {
                    report.already_there += 1;
                }
                changed.push((rel, state));
            }
            Sent::Folder(state) => changed.push((rel, state)),
            Sent::Gone => {
                if store.manifest_get(project_id, &rel)?.is_some() {
                    removed.push(rel);
                }
            }
            Sent::Skipped(why) => {
                if store.manifest_get(project_id, &rel)?.is_some() {
                    removed.push(rel.clone());
                }
                report.skipped.push((rel, why));
            }
            Sent::Failed(msg) => {
                // The snapshot keeps the last version that was synced, if any.
                failed.insert(rel, msg);
            }
        }
    }
    removed.sort();
    removed.dedup();
    report.deleted = removed.clone();
    report.uploaded.sort();

    let (parent, etag) = store.sync_position(project_id)?;
    let (parent, expected) = match commit {
        CommitTo::Head | CommitTo::Side => (parent, etag),
        CommitTo::HeadOverriding => match target.head().await? {
            Some((id, etag)) => (Some(id), Some(etag)),
            None => (None, None),
        },
    };

    // A differential snapshot (what differs from the last full one) unless there is no base
    // yet or the difference has grown past a quarter of the project: then a full one.
    let file_of = |p: &Vec<u8>, s: &FileState| SnapshotFile {
        path: p.clone(),
        size: s.size,
        blake3: hex(&s.blake3),
        mode: s.mode,
    };
    let base = store.sync_base_info(project_id)?;
    let mut delta = store.sync_delta(project_id)?;
    for (p, st) in &changed {
        let f = file_of(p, st);
        match store.sync_base_file(project_id, p)? {
            Some(b) if b.blake3 == f.blake3 && b.mode == f.mode => {
                delta.remove(p);
            }
            _ => {
                delta.insert(p.clone(), Some(f));
            }
        }
    }
    for p in &removed {
        if store.sync_base_file(project_id, p)?.is_some() {
            delta.insert(p.clone(), None);
        } else {
            delta.remove(p);
        }
    }
    let full = match &base {
        None => true,
        Some((_, count)) => delta.len() as u64 > 512.max(count / 4),
    };
    let id = format!("{:013}-{}", now_ms(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (base_id, removed_list, files) = if full {
        let mut files: BTreeMap<Vec<u8>, FileState> = store.manifest_all(project_id)?.into_iter().collect();
        for p in &removed {
            files.remove(p);
        }
        for (p, st) in &changed {
            files.insert(p.clone(), st.clone());
        }
        (None, Vec::new(), files.iter().map(|(p, s)| file_of(p, s)).collect())
    } else {
        (
            base.as_ref().map(|b| b.0.clone()),
            delta.iter().filter(|(_, f)| f.is_none()).map(|(p, _)| p.clone()).collect(),
            delta.values().flatten().cloned().collect(),
        )
    };
    let snap = Snapshot {
        id,
        parent: parent.clone(),
        created_at_ms: now_ms(),
        machine: opts.machine.clone(),
        side: commit == CommitTo::Side,
        base: base_id,
        removed: removed_list,
        files,
    };
    target.put_snapshot(&snap).await?;
    let new_etag = if commit == CommitTo::Side {
        None
    } else {
        store.set_sync_inflight(project_id, Some(&snap.id))?;
        // A conflict returns here: nothing below runs, the journal keeps every entry.
        match target.move_head(&snap.id, expected.as_deref()).await {
            Ok(e) => Some(e),
            Err(e) => {
                store.set_sync_inflight(project_id, None)?;
                return Err(e.into());
            }
        }
    };

    // Record the commit: manifest, journal, position and the differential state together.
    let done: Vec<(i64, i64)> = pending
        .iter()
        .filter(|e| {
            let paths: Vec<&Vec<u8>> = match &e.op {
                JournalOp::Upsert(p) | JournalOp::Delete(p) => vec![p],
                JournalOp::Rename { from, to } => vec![from, to],
            };
            !paths.iter().any(|p| failed.contains_key(*p))
        })
        .map(|e| (e.seq, e.rev))
        .collect();
    if let Some(etag) = &new_etag {
        store.with(|c| {
            let tx = c.unchecked_transaction()?;
            for p in &removed {
                tx.execute("DELETE FROM manifest WHERE project_id = ?1 AND path = ?2", params![project_id, p])?;
            }
            for (p, s) in &changed {
                put_row(&tx, project_id, p, s)?;
            }
            for (seq, rev) in &done {
                tx.execute("DELETE FROM journal WHERE seq = ?1 AND rev = ?2", params![seq, rev])?;
            }
            tx.execute(
                "UPDATE projects SET sync_snapshot = ?1, sync_head_etag = ?2, sync_inflight = NULL WHERE id = ?3",
                params![snap.id, etag, project_id],
            )?;
            tx.execute("DELETE FROM sync_delta WHERE project_id = ?1", [project_id])?;
            if full {
                tx.execute("DELETE FROM sync_base WHERE project_id = ?1", [project_id])?;
                for f in &snap.files {
                    tx.execute(
                        "INSERT INTO sync_base (project_id, path, blake3, size, mode) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![project_id, f.path, f.blake3, f.size as i64, f.mode as i64],
                    )?;
                }
                tx.execute("UPDATE projects SET sync_base = ?1 WHERE id = ?2", params![snap.id, project_id])?;
            } else {
                for (p, f) in &delta {
                    tx.execute(
                        "INSERT INTO sync_delta (project_id, path, blake3, size, mode) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            project_id,
                            p,
                            f.as_ref().map(|f| f.blake3.clone()),
                            f.as_ref().map(|f| f.size as i64).unwrap_or(0),
                            f.as_ref().map(|f| f.mode as i64).unwrap_or(0)
                        ],
                    )?;
                }
            }
            tx.commit()
        })?;
    }
    for (p, msg) in failed {
        for e in pending.iter().filter(|e| match &e.op {
            JournalOp::Upsert(q) | JournalOp::Delete(q) => *q == p,
            JournalOp::Rename { from, to } => *from == p || *to == p,
        }) {
            store.journal_failed(e.seq, &msg)?;
        }
        report.errors.push((p, msg));
    }
    report.errors.sort();
    report.snapshot = Some(snap.id);
    Ok(report)
}
