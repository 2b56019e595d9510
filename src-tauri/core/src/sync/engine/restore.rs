//! Writing snapshots back: into an empty folder, over the project (adopt), or one file.

use super::*;

/// The parts of a snapshot path, refused when it would leave the folder or write into `.git`.
fn checked_parts(raw: &[u8]) -> Result<Vec<&OsStr>, SyncError> {
    let bad = |m: &str| SyncError::Restore { path: shown(raw), message: m.into() };
    let parts: Vec<&OsStr> = Path::new(OsStr::from_bytes(raw))
        .components()
        .map(|c| match c {
            Component::Normal(n) => Ok(n),
            _ => Err(bad("path outside the project")),
        })
        .collect::<Result<_, _>>()?;
    if parts.is_empty() || parts.iter().any(|p| p.as_bytes() == b".git") {
        return Err(bad("not a project file path"));
    }
    Ok(parts)
}

/// Makes the folders `parts` names under `dir` (each one that is missing), refusing to pass
/// through a symlink (which could lead elsewhere) or a file.
fn make_folders(dir: &cap_std::fs::Dir, raw: &[u8], parts: &[&OsStr]) -> Result<PathBuf, SyncError> {
    let bad = |m: &str| SyncError::Restore { path: shown(raw), message: m.into() };
    let mut folder = PathBuf::new();
    for p in parts {
        folder.push(p);
        match dir.symlink_metadata(&folder) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(bad("a folder on its path is a symlink or a file")),
            Err(_) => match dir.create_dir(&folder) {
                Ok(()) => {}
                // Made meanwhile by a concurrent write of a file beside it.
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists
                        && dir.symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) => {}
                Err(e) => return Err(bad(&outside_or(e))),
            },
        }
    }
    Ok(folder)
}

/// Checks a snapshot path and makes its parent folders under `dir`. Returns the path relative
/// to `dir` (the destination as a capability, so a folder that sandboxed code swaps for a
/// symlink meanwhile makes the write fail instead of leading outside).
fn prepare_path(dir: &cap_std::fs::Dir, raw: &[u8]) -> Result<PathBuf, SyncError> {
    let parts = checked_parts(raw)?;
    let path = make_folders(dir, raw, &parts[..parts.len() - 1])?.join(parts[parts.len() - 1]);
    if dir.symlink_metadata(&path).is_ok_and(|m| m.is_dir() || m.file_type().is_symlink()) {
        return Err(SyncError::Restore { path: shown(raw), message: "a folder or symlink is in the way".into() });
    }
    Ok(path)
}

/// Makes the folder entry `f` (and the folders above it); its mode comes later, see
/// [`set_folder_modes`].
fn make_folder(dir: &cap_std::fs::Dir, f: &SnapshotFile) -> Result<(), SyncError> {
    make_folders(dir, &f.path, &checked_parts(&f.path)?).map(|_| ())
}

/// Gives the snapshot's folders their modes, deepest first, once every file is written.
fn set_folder_modes(dir: &cap_std::fs::Dir, folders: &[&SnapshotFile]) -> Result<(), SyncError> {
    let list = crate::sync::folders::deepest_first(folders.iter().map(|f| (f.path.as_slice(), f.mode)).collect());
    for (path, mode) in list {
        let perm = cap_std::fs::Permissions::from_mode(mode & 0o7777);
        dir.set_permissions(rel_bytes(path), perm)
            .map_err(|e| SyncError::Restore { path: shown(path), message: outside_or(e) })?;
    }
    Ok(())
}

/// An I/O error's text, saying so plainly when the path led outside the project.
fn outside_or(e: std::io::Error) -> String {
    match crate::paths::escaped("", &e) {
        Some(_) => "a folder on its path was replaced by a link leading outside the project".into(),
        None => e.to_string(),
    }
}

fn open_dest(dest: &Path) -> Result<cap_std::fs::Dir, SyncError> {
    cap_std::fs::Dir::open_ambient_dir(dest, cap_std::ambient_authority())
        .map_err(|e| SyncError::Restore { path: dest.display().to_string(), message: e.to_string() })
}

/// A file or link written under a temporary name beside its place, renamed into place once
/// every file is on disk; removed if it never gets there (an error, a cancelled restore).
struct Staged<'d> {
    dir: &'d cap_std::fs::Dir,
    tmp: PathBuf,
    path: PathBuf,
    raw: Vec<u8>,
    placed: bool,
}

impl Staged<'_> {
    fn place(mut self) -> Result<(), SyncError> {
        self.dir
            .rename(&self.tmp, self.dir, &self.path)
            .map_err(|e| SyncError::Restore { path: shown(&self.raw), message: outside_or(e) })?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if !self.placed {
            let _ = self.dir.remove_file(&self.tmp);
        }
    }
}

/// Downloads one snapshot file (or makes one link) under a temporary name, hash-checked.
async fn stage_file<'d>(target: &Bucket, dir: &'d cap_std::fs::Dir, f: &SnapshotFile) -> Result<Staged<'d>, SyncError> {
    let path = prepare_path(dir, &f.path)?;
    let io = |e: std::io::Error| SyncError::Restore { path: shown(&f.path), message: outside_or(e) };
    let tmp = path.with_file_name(format!(".aura-restore-{}", uuid::Uuid::new_v4().simple()));
    let staged = |tmp: PathBuf| Staged { dir, tmp, path: path.clone(), raw: f.path.clone(), placed: false };
    if crate::sync::links::is_link(f.mode) {
        // A link: its blob is the target text, made again as written (never followed).
        let text = target.get_blob(&f.blake3).await?;
        if crate::sync::links::skip_reason(&f.path, &text).is_some() {
            return Err(SyncError::Restore {
                path: shown(&f.path),
                message: "the snapshot holds a link leading outside the project; it is not made".into(),
            });
        }
        dir.symlink(crate::paths::rel_bytes(&text), &tmp).map_err(io)?;
        return Ok(staged(tmp));
    }
    let file = dir.open_with(&tmp, cap_std::fs::OpenOptions::new().write(true).create_new(true)).map_err(io)?;
    let guard = staged(tmp);
    let file = file.into_std();
    file.set_permissions(std::fs::Permissions::from_mode(f.mode)).map_err(io)?;
    target.get_blob_into(&f.blake3, file, &shown(&f.path)).await?;
    Ok(guard)
}

/// Puts staged files in place: one `syncfs` first makes every one of them durable (one flush
/// for the whole restore instead of one per file), so a crash never leaves a renamed file
/// without its content.
async fn place_all(dir: &cap_std::fs::Dir, staged: Vec<Staged<'_>>) -> Result<(), SyncError> {
    use std::os::fd::AsRawFd;
    if staged.is_empty() {
        return Ok(());
    }
    // A readable descriptor of the destination (the capability's own is `O_PATH`, which
    // `syncfs` refuses).
    let flushed = match dir.open(".") {
        Ok(d) => {
            let d = d.into_std();
            tokio::task::spawn_blocking(move || {
                // SAFETY: `d` is an open descriptor owned by this closure.
                match unsafe { libc::syncfs(d.as_raw_fd()) } {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
        }
        Err(e) => Err(e),
    };
    if let Err(e) = flushed {
        return Err(SyncError::Restore {
            path: String::new(),
            message: format!("cannot flush the restored files to disk: {e}"),
        });
    }
    for s in staged {
        s.place()?;
    }
    Ok(())
}

async fn resolve_id(target: &Bucket, id: Option<&str>) -> Result<String, SyncError> {
    Ok(match id {
        Some(i) => i.to_string(),
        None => target
            .head()
            .await?
            .map(|h| h.0)
            .ok_or(SyncError::Refused("the bucket has no snapshot of this project".into()))?,
    })
}

/// Writes snapshot `id` (or the bucket's HEAD) into `dest`, every file checked against its hash.
pub async fn restore(target: &Bucket, id: Option<&str>, dest: &Path) -> Result<Snapshot, SyncError> {
    let id = resolve_id(target, id).await?;
    let snap = target.snapshot(&id).await?;
    let dir = open_dest(dest)?;
    write_all(target, &dir, snap.files.iter().collect(), 16).await?;
    Ok(snap)
}

/// Writes snapshot entries into `dir`: folders first, then files and links (`concurrency` at a
/// time), then the folders' modes.
async fn write_all(
    target: &Bucket,
    dir: &cap_std::fs::Dir,
    entries: Vec<&SnapshotFile>,
    concurrency: usize,
) -> Result<(), SyncError> {
    let (folders, files): (Vec<&SnapshotFile>, Vec<&SnapshotFile>) =
        entries.into_iter().partition(|f| crate::sync::folders::is_dir(f.mode));
    for f in &folders {
        make_folder(dir, f)?;
    }
    let writes: Vec<_> = files.into_iter().map(|f| stage_file(target, dir, f)).collect();
    let staged: Vec<Staged<'_>> =
        futures::stream::iter(writes).buffer_unordered(concurrency.max(1)).try_collect().await?;
    place_all(dir, staged).await?;
    set_folder_modes(dir, &folders)
}

/// What [`adopt`] did.
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

/// Makes the project folder equal to a bucket snapshot (HEAD when `id` is `None`) without
/// losing anything: local changes the bucket does not have are first stored as a side
/// snapshot. Files already identical are not downloaded; files the snapshot does not have are
/// removed (ignored ones are left alone).
///
/// With `follow`, the project's position becomes the bucket's HEAD ("take theirs", a restore
/// onto a new machine). Without it the restored content is journaled as a new change on top
/// of HEAD (restoring an old snapshot from the history).
pub async fn adopt(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &Bucket,
    id: Option<&str>,
    follow: bool,
    opts: &PushOptions,
) -> Result<AdoptReport, SyncError> {
    let mut report = AdoptReport::default();
    // Keep what is only here first.
    crate::sync::scan::scan(root, store, project_id)?;
    if store.journal_count(project_id)? > 0 {
        let side = push_to(root, store, project_id, target, opts, CommitTo::Side).await?;
        report.kept_local_as = side.snapshot;
    }
    let id = resolve_id(target, id).await?;
    let snap = target.snapshot(&id).await?;
    let want: HashMap<&[u8], &SnapshotFile> = snap.files.iter().map(|f| (f.path.as_slice(), f)).collect();

    // What is on disk now (sync's view), hashed only where the metadata differs from the manifest.
    let known = store.manifest_all(project_id)?;
    let dir = open_dest(root.path())?;
    let mut on_disk: HashMap<Vec<u8>, [u8; 32]> = HashMap::new();
    let mut folders_on_disk: Vec<Vec<u8>> = Vec::new();
    for e in ignore_rules::sync_walker(root.path(), root.path()).build().filter_map(Result::ok) {
        let is_link = e.file_type().is_some_and(|t| t.is_symlink());
        let Ok(rel) = e.path().strip_prefix(root.path()) else { continue };
        let rel = rel.as_os_str().as_bytes().to_vec();
        if e.file_type().is_some_and(|t| t.is_dir()) {
            if !rel.is_empty() {
                folders_on_disk.push(rel);
            }
            continue;
        }
        if !is_link && !e.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let hash = match (known.get(&rel), e.metadata()) {
            (Some(k), Ok(m)) if FileState::from_meta(&m, k.blake3) == *k => k.blake3,
            _ if is_link => match read_link(&dir, &rel) {
                // A link sync does not carry is left alone, like an ignored file.
                Ok(Some((text, _))) if crate::sync::links::skip_reason(&rel, &text).is_some() => continue,
                Ok(Some((_, state))) => state.blake3,
                _ => [0; 32],
            },
            _ => crate::sync::scan::hash_file(&dir, &rel).map(|h| h.0).unwrap_or([0; 32]),
        };
        on_disk.insert(rel, hash);
    }
    // A local file may only be overwritten or removed if its content is in the bucket: in the
    // side snapshot just written, or synced before (the manifest). Anything else (over the size
    // limit, unreadable) is kept: moved aside when the snapshot has a version of that path.
    let mut safe: HashSet<[u8; 32]> = known.values().map(|k| k.blake3).collect();
    if let Some(side) = &report.kept_local_as {
        safe.extend(target.snapshot(side).await?.files.iter().filter_map(|f| unhex(&f.blake3)));
    }
    let unsafe_here = |p: &[u8]| on_disk.get(p).is_some_and(|h| *h == [0; 32] || !safe.contains(h));
    let to_write: Vec<&SnapshotFile> = snap
        .files
        .iter()
        .filter(|f| {
            let same = on_disk.get(&f.path).is_some_and(|h| Some(*h) == unhex(&f.blake3));
            if crate::sync::folders::is_dir(f.mode) {
                return !dir
                    .symlink_metadata(rel_bytes(&f.path))
                    .is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o7777 == f.mode & 0o7777);
            }
            let mode_ok = if crate::sync::links::is_link(f.mode) {
                dir.symlink_metadata(rel_bytes(&f.path)).is_ok_and(|m| m.file_type().is_symlink())
            } else {
                dir.symlink_metadata(rel_bytes(&f.path))
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o7777 == f.mode)
            };
            !(same && mode_ok)
        })
        .collect();
    for f in to_write.iter().filter(|f| !crate::sync::folders::is_dir(f.mode)) {
        if unsafe_here(&f.path) {
            let suffix = format!(".aura-kept-{}", now_ms());
            let aside = [f.path.as_slice(), suffix.as_bytes()].concat();
            dir.rename(rel_bytes(&f.path), &dir, rel_bytes(&aside))
                .map_err(|e| SyncError::Restore { path: shown(&f.path), message: outside_or(e) })?;
            report.kept.push(format!("{}{suffix}", shown(&f.path)));
        }
    }
    report.written = to_write.len();
    write_all(target, &dir, to_write, opts.concurrency).await?;
    for p in on_disk.keys().filter(|p| !want.contains_key(p.as_slice())) {
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
    report.removed += remove_folders(&dir, &snap, folders_on_disk);

    if follow {
        let (head_id, etag) = target.head().await?.ok_or(SyncError::Refused("the bucket has no HEAD".into()))?;
        // Another machine's history: this machine's next pass starts a new full snapshot.
        store.sync_reset_base(project_id)?;
        store.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute("DELETE FROM manifest WHERE project_id = ?1", [project_id])?;
            tx.execute("DELETE FROM journal WHERE project_id = ?1", [project_id])?;
            for f in &snap.files {
                if crate::sync::links::is_link(f.mode) {
                    if let Ok(Some((_, state))) = read_link(&dir, &f.path) {
                        put_row(&tx, project_id, &f.path, &state)?;
                    }
                    continue;
                }
                let meta = crate::paths::open_read(&dir, rel_bytes(&f.path)).and_then(|f| f.metadata());
                if let (Ok(m), Some(h)) = (meta, unhex(&f.blake3)) {
                    put_row(&tx, project_id, &f.path, &FileState::from_meta(&m, h))?;
                }
            }
            tx.execute(
                "UPDATE projects SET sync_snapshot = ?1, sync_head_etag = ?2, sync_inflight = NULL WHERE id = ?3",
                params![head_id, etag, project_id],
            )?;
            tx.commit()
        })?;
        if head_id != snap.id {
            // Following HEAD but restoring an older snapshot: the difference is a new change.
            crate::sync::scan::scan(root, store, project_id)?;
        }
    } else {
        crate::sync::scan::scan(root, store, project_id)?;
    }
    report.snapshot = snap.id;
    Ok(report)
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

/// Writes one version of one file (from the history) over the project's copy; the watcher or
/// the caller journals it as a change like any save. If the copy on disk has content the
/// bucket does not have yet (not synced), it is first moved aside as `<name>.aura-kept-<time>`,
/// whose project-relative path is returned.
pub async fn restore_file(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    target: &Bucket,
    path: &[u8],
    blake3: &str,
) -> Result<Option<String>, SyncError> {
    let dir = open_dest(root.path())?;
    let io = |e: std::io::Error| SyncError::Restore { path: shown(path), message: outside_or(e) };
    let mode = dir.metadata(rel_bytes(path)).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
    let mut kept = None;
    if let Some((file, _)) = open_regular(&dir, path).map_err(io)? {
        let now = crate::sync::scan::hash_open(&file).map_err(io)?;
        let synced = store.manifest_get(project_id, path)?.is_some_and(|m| m.blake3 == now);
        if !synced {
            let suffix = format!(".aura-kept-{}", now_ms());
            let aside = [path, suffix.as_bytes()].concat();
            dir.rename(rel_bytes(path), &dir, rel_bytes(&aside)).map_err(io)?;
            kept = Some(format!("{}{suffix}", shown(path)));
        }
    }
    let f = SnapshotFile { path: path.to_vec(), size: 0, blake3: blake3.to_string(), mode };
    write_all(target, &dir, vec![&f], 1).await?;
    Ok(kept)
}
