//! Adopting a snapshot: the project folder made equal to it without losing anything.

use super::*;

/// What [`ProjectSync::adopt`] did.
#[derive(Debug, Default)]
pub struct AdoptReport {
    pub snapshot: String,
    /// Local changes not in the bucket were first kept as this side snapshot.
    pub kept_local_as: Option<String>,
    pub written: usize,
    pub removed: usize,
    /// Local files whose content is in no snapshot (too large, unreadable): never removed or
    /// overwritten. Ones the snapshot has another version of are renamed aside first.
    pub kept: Vec<String>,
}

/// Where this machine stands after adopting a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Afterwards {
    /// Its position becomes the bucket's HEAD ("take theirs", a restore onto a new machine).
    FollowHead,
    /// The restored content is journaled as a new change on top of HEAD (restoring an old
    /// snapshot from the history).
    NewChange,
}

/// The synced files and folders on disk now: files with their hash (zero when unreadable;
/// hashed only where the metadata differs from the manifest), and folders.
struct OnDisk {
    files: HashMap<Vec<u8>, [u8; 32]>,
    folders: Vec<Vec<u8>>,
}

impl ProjectSync<'_> {
    /// Makes the project folder equal to a bucket snapshot (HEAD when `id` is `None`) without
    /// losing anything: local changes the bucket does not have are first stored as a side
    /// snapshot. Files already identical are not downloaded; files the snapshot does not have
    /// are removed (ignored ones are left alone).
    pub async fn adopt(&self, id: Option<&str>, then: Afterwards) -> Result<AdoptReport, SyncError> {
        self.load_head_floor();
        let adopted = self.adopt_now(id, then).await;
        self.keep_head_floor();
        adopted
    }

    async fn adopt_now(&self, id: Option<&str>, then: Afterwards) -> Result<AdoptReport, SyncError> {
        let (root, store, project_id, target) = (self.root, self.store, self.project_id, self.bucket);
        let mut report = AdoptReport::default();
        // Keep what is only here first.
        crate::sync::scan::scan(root, store, project_id)?;
        if store.journal_count(project_id)? > 0 {
            report.kept_local_as = self.push_to(CommitTo::Side).await?.snapshot;
        }
        let id = resolve_id(target, id).await?;
        let snap = target.snapshot(&id).await?;
        self.learn_places(&snap)?;

        let known = store.manifest_all(project_id)?;
        let dir = open_dest(root.path())?;
        let on_disk = self.on_disk(&dir, &known);
        // A local file may only be overwritten or removed if its content is in the bucket: in
        // the side snapshot just written, or synced before (the manifest). Anything else (over
        // the size limit, unreadable) is kept: moved aside when the snapshot has a version of
        // that path.
        let mut safe: HashSet<[u8; 32]> = known.values().map(|k| k.blake3).collect();
        if let Some(side) = &report.kept_local_as {
            safe.extend(target.snapshot(side).await?.files.iter().filter_map(|f| unhex(&f.blake3)));
        }
        let unsafe_here = |p: &[u8]| on_disk.files.get(p).is_some_and(|h| *h == [0; 32] || !safe.contains(h));
        let to_write: Vec<&SnapshotFile> = snap.files.iter().filter(|f| !in_place(&dir, f, &on_disk)).collect();
        for f in to_write.iter().filter(|f| !crate::sync::folders::is_dir(f.mode) && unsafe_here(&f.path)) {
            report.kept.push(set_aside(&dir, &f.path)?);
        }
        report.written = to_write.len();
        write_all(target, &dir, to_write, self.opts.concurrency).await?;

        let want: HashSet<&[u8]> = snap.files.iter().map(|f| f.path.as_slice()).collect();
        for p in on_disk.files.keys().filter(|p| !want.contains(p.as_slice())) {
            if unsafe_here(p) {
                report.kept.push(shown(p));
                continue;
            }
            match dir.remove_file(rel_bytes(p)) {
                Ok(()) => report.removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SyncError::Restore { path: shown(p), message: outside_or(e) }),
            }
        }
        report.removed += remove_folders(&dir, &snap, on_disk.folders);

        let head = match then {
            Afterwards::FollowHead => Some(self.follow_head(&dir, &snap).await?),
            Afterwards::NewChange => None,
        };
        if head.as_deref() != Some(snap.id.as_str()) {
            // The difference from HEAD is a new change (restoring from the history, or following
            // HEAD while restoring an older snapshot).
            crate::sync::scan::scan(root, store, project_id)?;
        }
        report.snapshot = snap.id;
        Ok(report)
    }

    /// What sync sees on disk (see [`OnDisk`]).
    fn on_disk(&self, dir: &cap_std::fs::Dir, known: &HashMap<Vec<u8>, FileState>) -> OnDisk {
        let root = self.root.path();
        let mut out = OnDisk { files: HashMap::new(), folders: Vec::new() };
        for e in ignore_rules::sync_walker(root, root).build().filter_map(Result::ok) {
            let is_link = e.file_type().is_some_and(|t| t.is_symlink());
            let Ok(rel) = e.path().strip_prefix(root) else { continue };
            let rel = rel.as_os_str().as_bytes().to_vec();
            if e.file_type().is_some_and(|t| t.is_dir()) {
                if !rel.is_empty() {
                    out.folders.push(rel);
                }
                continue;
            }
            if !is_link && !e.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let hash = match (known.get(&rel), e.metadata()) {
                (Some(k), Ok(m)) if FileState::from_meta(&m, k.blake3) == *k => k.blake3,
                _ if is_link => match read_link(dir, &rel) {
                    // A link sync does not carry is left alone, like an ignored file.
                    Ok(Some((text, _))) if crate::sync::links::skip_reason(&rel, &text).is_some() => continue,
                    Ok(Some((_, state))) => state.blake3,
                    _ => [0; 32],
                },
                _ => crate::sync::scan::hash_file(dir, &rel).map(|h| h.0).unwrap_or([0; 32]),
            };
            out.files.insert(rel, hash);
        }
        out
    }

    /// Takes the bucket's HEAD as this machine's position, with the manifest of the files as
    /// written. Returns HEAD's snapshot id.
    async fn follow_head(&self, dir: &cap_std::fs::Dir, snap: &Snapshot) -> Result<String, SyncError> {
        let (head, etag) = self.bucket.head().await?.ok_or(SyncError::Refused("the bucket has no HEAD".into()))?;
        let mut files = Vec::new();
        for f in &snap.files {
            let state = if crate::sync::links::is_link(f.mode) {
                read_link(dir, &f.path).ok().flatten().map(|(_, state)| state)
            } else {
                let meta = crate::paths::open_read(dir, rel_bytes(&f.path)).and_then(|f| f.metadata());
                meta.ok().zip(unhex(&f.blake3)).map(|(m, h)| FileState::from_meta(&m, h))
            };
            files.extend(state.map(|s| (f.path.clone(), s)));
        }
        self.store.record_followed(self.project_id, &files, &head, &etag)?;
        Ok(head)
    }
}

/// Whether entry `f` is on disk as the snapshot has it (same content and mode).
fn in_place(dir: &cap_std::fs::Dir, f: &SnapshotFile, on_disk: &OnDisk) -> bool {
    let meta = dir.symlink_metadata(rel_bytes(&f.path));
    if crate::sync::folders::is_dir(f.mode) {
        return meta.is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o7777 == f.mode & 0o7777);
    }
    let same = on_disk.files.get(&f.path).is_some_and(|h| Some(*h) == unhex(&f.blake3));
    let mode_ok = if crate::sync::links::is_link(f.mode) {
        meta.is_ok_and(|m| m.file_type().is_symlink())
    } else {
        meta.is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o7777 == f.mode)
    };
    same && mode_ok
}

/// Renames a local file whose content is in no snapshot to `<name>.aura-kept-<time>`; returns
/// the new name.
fn set_aside(dir: &cap_std::fs::Dir, path: &[u8]) -> Result<String, SyncError> {
    let suffix = format!(".aura-kept-{}", now_ms());
    let aside = [path, suffix.as_bytes()].concat();
    dir.rename(rel_bytes(path), dir, rel_bytes(&aside))
        .map_err(|e| SyncError::Restore { path: shown(path), message: outside_or(e) })?;
    Ok(format!("{}{suffix}", shown(path)))
}

/// Removes the folders on disk that snapshot `snap` does not have, deepest first, where they are
/// empty by now (one holding ignored files stays). A snapshot written before folders were
/// entries has none: then no folder is removed. Returns how many went.
fn remove_folders(dir: &cap_std::fs::Dir, snap: &Snapshot, on_disk: Vec<Vec<u8>>) -> usize {
    let wanted: HashSet<&[u8]> =
        snap.files.iter().filter(|f| crate::sync::folders::is_dir(f.mode)).map(|f| f.path.as_slice()).collect();
    if wanted.is_empty() {
        return 0;
    }
    let gone: Vec<(&[u8], ())> =
        on_disk.iter().filter(|p| !wanted.contains(p.as_slice())).map(|p| (p.as_slice(), ())).collect();
    crate::sync::folders::deepest_first(gone).into_iter().filter(|(p, _)| dir.remove_dir(rel_bytes(p)).is_ok()).count()
}
