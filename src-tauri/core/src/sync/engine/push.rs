//! A pass: journal → blobs → one snapshot committed with a conditional HEAD write.

use super::*;

/// The blobs a pass stored, written to `sent_blobs` a few hundred at a time (one transaction
/// each) so a pass cut short keeps most of what it learned; small ones go through its packer.
struct SentLog<'a> {
    store: &'a Store,
    location: String,
    buf: parking_lot::Mutex<Vec<[u8; 32]>>,
    /// Hashes this pass has claimed: two files with the same content upload it once.
    claimed: parking_lot::Mutex<HashSet<[u8; 32]>>,
    packer: Packer<'a>,
}

impl<'a> SentLog<'a> {
    fn new(store: &'a Store, target: &'a Bucket) -> Self {
        Self {
            store,
            location: target.location(),
            buf: parking_lot::Mutex::new(Vec::new()),
            claimed: parking_lot::Mutex::new(HashSet::new()),
            packer: Packer::new(store, target),
        }
    }

    /// Whether a blob of exactly `size` bytes is known to be in the bucket (packed).
    fn same_size_known(&self, size: u64) -> Result<bool, SyncError> {
        Ok(self.store.pack_index_has_len(&self.location, size)?)
    }

    /// Whether a packed blob this machine knows the place of is still in the bucket (asked:
    /// garbage collection may have removed it since).
    async fn still_there(&self, target: &Bucket, hash: &[u8; 32]) -> Result<bool, SyncError> {
        match self.store.pack_index_find(&self.location, std::iter::once(hash))?.remove(hash) {
            Some(place) => target.has_pack(&place.id).await,
            None => Ok(false),
        }
    }

    /// Records where blobs stored outside the packer are.
    fn placed(&self, rows: &[([u8; 32], crate::sync::snapshot::PackRef)]) -> Result<(), SyncError> {
        Ok(self.store.pack_index_put(&self.location, rows)?)
    }

    /// Stores a small blob (into the pass's current pack).
    async fn store_small(&self, hash: [u8; 32], data: &[u8]) -> Result<(), SyncError> {
        for h in self.packer.add(hash, data).await? {
            self.add(h);
        }
        Ok(())
    }

    /// Sends the last pack and writes down everything stored.
    async fn finish(&self) -> Result<(), SyncError> {
        let last = self.packer.finish().await;
        for h in last.as_deref().unwrap_or_default() {
            self.add(*h);
        }
        self.flush();
        last.map(|_| ())
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
async fn send_link(sent: &SentLog<'_>, rel: &[u8], text: Vec<u8>, state: FileState) -> Result<Sent, SyncError> {
    if let Some(why) = crate::sync::links::skip_reason(rel, &text) {
        return Ok(Sent::Skipped(why.to_string()));
    }
    let hash = state.blake3;
    if !sent.claim(&hash) || sent.known(&hash) {
        return Ok(Sent::Stored { state, uploaded: false, bytes: 0 });
    }
    let bytes = text.len() as u64;
    sent.store_small(hash, &text).await?;
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
    let (file, meta) = match blocking(move || found_at(&dir, &r)).await {
        Ok(Found::File(file)) => file,
        Ok(Found::Link(text, state)) => return send_link(sent, rel, text, state).await,
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
        return send_large(sent, target, file, before, rel, opts).await;
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
    if bytes <= crate::sync::bucket::PACK_MAX_BLOB {
        sent.store_small(hash, &data).await?;
    } else {
        // (An encrypted project's is a sealed pack of its own: its place is recorded first.)
        if let Some(place) = target.put_blob(&hex(&hash), data).await? {
            sent.placed(&[(hash, place)])?;
        }
        sent.add(hash);
    }
    Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: true, bytes })
}

/// What is at `rel` now, opened through the root capability without following a link.
fn found_at(dir: &cap_std::fs::Dir, rel: &[u8]) -> std::io::Result<Found> {
    let file = match crate::paths::open_read(dir, rel_bytes(rel)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Gone),
        // The last component is a symbolic link (never followed).
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(match read_link(dir, rel)? {
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
}

/// A file past the multipart threshold, sent in parts as it is read (once), into a pack of its
/// own (`before` is its metadata when opened). Content already in the bucket under another
/// name (a renamed or copied file) is recognized by its hash first, which costs a read: only
/// when a blob of exactly this size is known.
async fn send_large(
    sent: &SentLog<'_>,
    target: &Bucket,
    file: std::sync::Arc<std::fs::File>,
    before: FileState,
    rel: &[u8],
    opts: &PushOptions,
) -> Result<Sent, SyncError> {
    let mut seen = None;
    if sent.same_size_known(before.size)? {
        let f = file.clone();
        let hash = match blocking(move || crate::sync::scan::hash_open(&f)).await {
            Ok(h) => h,
            Err(s) => return Ok(s),
        };
        if sent.known(&hash) || sent.still_there(target, &hash).await? {
            return Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: false, bytes: 0 });
        }
        seen = Some(hash);
    }
    let expect = (before.size, before.mtime_ns, before.inode);
    let name = shown(rel);
    match target.put_file_once(file, &name, expect, opts.part_size, opts.concurrency).await {
        Ok((hash, _)) if seen.is_some_and(|h| h != hash) => {
            Ok(Sent::Failed(SyncError::Changed { path: name }.to_string()))
        }
        Ok((hash, place)) => {
            sent.placed(&[(hash, place)])?;
            sent.add(hash);
            Ok(Sent::Stored { state: FileState { blake3: hash, ..before }, uploaded: true, bytes: before.size })
        }
        Err(e @ (SyncError::Changed { .. } | SyncError::Local { .. })) => Ok(Sent::Failed(e.to_string())),
        Err(e) => Err(e),
    }
}

/// Told (files done, files to send) as a pass goes.
pub type Progress<'a> = dyn Fn(usize, usize) + Send + Sync + 'a;

impl ProjectSync<'_> {
    /// Sends what the journal holds and commits a snapshot (a normal pass).
    pub async fn push(&self) -> Result<PushReport, SyncError> {
        self.push_to(CommitTo::Head).await
    }

    /// A pass with a chosen commit (see [`CommitTo`]). `Head` with an empty journal does
    /// nothing; the others always write a snapshot.
    pub async fn push_to(&self, commit: CommitTo) -> Result<PushReport, SyncError> {
        self.push_observed(commit, None).await
    }

    /// [`Self::push_to`], reporting progress.
    pub async fn push_observed(
        &self,
        commit: CommitTo,
        progress: Option<&Progress<'_>>,
    ) -> Result<PushReport, SyncError> {
        self.load_head_floor();
        let pushed = self.push_pass(commit, progress).await;
        self.keep_head_floor();
        pushed
    }

    async fn push_pass(&self, commit: CommitTo, progress: Option<&Progress<'_>>) -> Result<PushReport, SyncError> {
        let (store, project_id) = (self.store, self.project_id);
        self.bucket.check_unlocked().await?;
        let mut report = PushReport::default();
        let pending = store.journal_pending(project_id, 1_000_000)?;
        if pending.is_empty() && commit == CommitTo::Head {
            return Ok(report);
        }
        self.recover_inflight().await?;

        let wanted = plan::fold(&pending);
        let mut changes = plan::Changes::default();
        for (p, w) in &wanted {
            if *w == plan::Wanted::Remove && store.manifest_get(project_id, p)?.is_some() {
                changes.removed.push(p.clone());
            }
        }
        let to_send = wanted.into_iter().filter(|(_, w)| *w == plan::Wanted::Send).map(|(p, _)| p).collect();
        let sent = self.send_all(to_send, progress).await?;
        let failed = self.tally(sent, &mut changes, &mut report)?;

        let contents = plan::contents(
            store.sync_base_info(project_id)?,
            store.sync_delta(project_id)?,
            &store.sync_base_files(project_id, changes.changed.iter().map(|c| &c.0).chain(&changes.removed))?,
            &changes,
            || store.manifest_all(project_id).map(|m| m.into_iter().collect()),
        )?;
        let snap = self.commit(commit, &contents).await?;
        if let Some(etag) = snap.1 {
            let settled = plan::settled(&pending, &failed);
            store.record_pass(project_id, &changes, &settled, &snap.0, &etag, &contents)?;
        }
        for (p, msg) in failed {
            for e in pending.iter().filter(|e| plan::paths_of(&e.op).contains(&&p)) {
                store.journal_failed(e.seq, &msg)?;
            }
            report.errors.push((p, msg));
        }
        report.errors.sort();
        report.snapshot = Some(snap.0);
        Ok(report)
    }

    /// If a pass died after moving HEAD to its snapshot but before recording that, take HEAD as
    /// this machine's position (it is this machine's own snapshot).
    async fn recover_inflight(&self) -> Result<(), SyncError> {
        if let Some(inflight) = self.store.sync_inflight(self.project_id)? {
            match self.bucket.head().await? {
                Some((id, etag)) if id == inflight => {
                    tracing::info!(snapshot = %id, "recovering a sync pass that committed before it stopped");
                    self.store.set_sync_position(self.project_id, &id, &etag)?;
                }
                _ => self.store.set_sync_inflight(self.project_id, None)?,
            }
        }
        Ok(())
    }

    /// Reads, hashes and stores the paths, `concurrency` at a time. Large files upload their
    /// parts `concurrency` at a time themselves: they count as one.
    async fn send_all(
        &self,
        to_send: Vec<Vec<u8>>,
        progress: Option<&Progress<'_>>,
    ) -> Result<Vec<(Vec<u8>, Sent)>, SyncError> {
        let (target, opts) = (self.bucket, self.opts);
        let log = SentLog::new(self.store, target);
        let log = &log;
        let root = self.root;
        let dir = std::sync::Arc::new(
            root.dir()
                .map_err(|e| SyncError::Local { path: root.path().display().to_string(), message: e.to_string() })?,
        );
        let dir = &dir;
        let total = to_send.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let done = &done;
        // (The futures are made before they go into the stream: a closure inside the stream's
        // type trips rustc's higher-ranked Send check in callers.)
        let sends: Vec<_> = to_send
            .into_iter()
            .map(|rel| async move {
                let sent = send_file(log, target, dir.clone(), &rel, opts).await?;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if let Some(p) = progress {
                    p(n, total);
                }
                Ok::<_, SyncError>((rel, sent))
            })
            .collect();
        let results = futures::stream::iter(sends).buffer_unordered(opts.concurrency.max(1)).try_collect().await;
        let finished = log.finish().await;
        let results = results?;
        finished.map(|()| results)
    }

    /// Sorts what each path turned into: stored and folders into `changes`, gone and skipped
    /// paths the manifest knew into its removals, the rest into the report. Returns the
    /// per-file failures (those paths stay queued; the snapshot keeps their last synced
    /// version, if any).
    fn tally(
        &self,
        sent: Vec<(Vec<u8>, Sent)>,
        changes: &mut plan::Changes,
        report: &mut PushReport,
    ) -> Result<HashMap<Vec<u8>, String>, SyncError> {
        let known = |p: &[u8]| self.store.manifest_get(self.project_id, p).map(|m| m.is_some());
        let mut failed = HashMap::new();
        for (rel, sent) in sent {
            match sent {
                Sent::Stored { state, uploaded, bytes } => {
                    if uploaded {
                        report.uploaded.push(rel.clone());
                        report.bytes_sent += bytes;
                    } else {
                        report.already_there += 1;
                    }
                    changes.changed.push((rel, state));
                }
                Sent::Folder(state) => changes.changed.push((rel, state)),
                Sent::Gone => {
                    if known(&rel)? {
                        changes.removed.push(rel);
                    }
                }
                Sent::Skipped(why) => {
                    if known(&rel)? {
                        changes.removed.push(rel.clone());
                    }
                    report.skipped.push((rel, why));
                }
                Sent::Failed(msg) => {
                    failed.insert(rel, msg);
                }
            }
        }
        changes.removed.sort();
        changes.removed.dedup();
        report.deleted = changes.removed.clone();
        report.uploaded.sort();
        Ok(failed)
    }

    /// Stores the pass's snapshot and, unless it goes to the side, moves HEAD to it. Returns
    /// its id and HEAD's new ETag (`None` for a side snapshot). A conflict returns an error and
    /// nothing is recorded: the journal keeps every entry.
    async fn commit(&self, commit: CommitTo, contents: &plan::Contents) -> Result<(String, Option<String>), SyncError> {
        let (store, project_id, target) = (self.store, self.project_id, self.bucket);
        let (parent, etag) = store.sync_position(project_id)?;
        let (parent, expected) = match commit {
            CommitTo::Head | CommitTo::Side => (parent, etag),
            CommitTo::HeadOverriding => match target.head().await? {
                Some((id, etag)) => (Some(id), Some(etag)),
                None => (None, None),
            },
        };
        let (base, removed, mut files) = match contents {
            plan::Contents::Full(files) => (None, Vec::new(), files.clone()),
            plan::Contents::Differential { base, delta } => (
                Some(base.clone()),
                delta.iter().filter(|(_, f)| f.is_none()).map(|(p, _)| p.clone()).collect(),
                delta.values().flatten().cloned().collect(),
            ),
        };
        self.place(&mut files)?;
        let snap = Snapshot {
            id: format!("{:013}-{}", now_ms(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
            parent,
            created_at_ms: now_ms(),
            machine: self.opts.machine.clone(),
            side: commit == CommitTo::Side,
            base,
            removed,
            files,
        };
        target.put_snapshot(&snap).await?;
        if commit == CommitTo::Side {
            return Ok((snap.id, None));
        }
        store.set_sync_inflight(project_id, Some(&snap.id))?;
        match target.move_head(&snap.id, expected.as_deref()).await {
            Ok(etag) => Ok((snap.id, Some(etag))),
            Err(e) => {
                store.set_sync_inflight(project_id, None)?;
                Err(e)
            }
        }
    }
}
