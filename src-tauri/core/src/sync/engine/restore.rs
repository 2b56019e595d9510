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
pub(super) fn outside_or(e: std::io::Error) -> String {
    match crate::paths::escaped("", &e) {
        Some(_) => "a folder on its path was replaced by a link leading outside the project".into(),
        None => e.to_string(),
    }
}

pub(super) fn open_dest(dest: &Path) -> Result<cap_std::fs::Dir, SyncError> {
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

/// A name beside `path` for a file being restored.
fn temp_beside(path: &Path) -> PathBuf {
    path.with_file_name(format!(".aura-restore-{}", uuid::Uuid::new_v4().simple()))
}

/// Makes the link `f` (its blob `text` is the target, made again as written, never followed)
/// under a temporary name; returns (temporary name, place).
fn stage_link(dir: &cap_std::fs::Dir, f: &SnapshotFile, text: &[u8]) -> Result<(PathBuf, PathBuf), SyncError> {
    let path = prepare_path(dir, &f.path)?;
    if crate::sync::links::skip_reason(&f.path, text).is_some() {
        return Err(SyncError::Restore {
            path: shown(&f.path),
            message: "the snapshot holds a link leading outside the project; it is not made".into(),
        });
    }
    let tmp = temp_beside(&path);
    dir.symlink(crate::paths::rel_bytes(text), &tmp)
        .map_err(|e| SyncError::Restore { path: shown(&f.path), message: outside_or(e) })?;
    Ok((tmp, path))
}

/// Creates the file `f` under a temporary name beside its place, with its mode; returns the
/// open file, the temporary name and the place.
fn create_staged(dir: &cap_std::fs::Dir, f: &SnapshotFile) -> Result<(std::fs::File, PathBuf, PathBuf), SyncError> {
    let io = |e: std::io::Error| SyncError::Restore { path: shown(&f.path), message: outside_or(e) };
    let path = prepare_path(dir, &f.path)?;
    let tmp = temp_beside(&path);
    let file = dir.open_with(&tmp, cap_std::fs::OpenOptions::new().write(true).create_new(true)).map_err(io)?;
    let file = file.into_std();
    if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(f.mode)) {
        let _ = dir.remove_file(&tmp);
        return Err(io(e));
    }
    Ok((file, tmp, path))
}

/// Writes entry `f` with its content `data` (read from a pack) under a temporary name.
fn write_staged(dir: &cap_std::fs::Dir, f: &SnapshotFile, data: &[u8]) -> Result<(PathBuf, PathBuf), SyncError> {
    if crate::sync::links::is_link(f.mode) {
        return stage_link(dir, f, data);
    }
    let (file, tmp, path) = create_staged(dir, f)?;
    if let Err(e) = std::io::Write::write_all(&mut &file, data) {
        let _ = dir.remove_file(&tmp);
        return Err(SyncError::Restore { path: shown(&f.path), message: outside_or(e) });
    }
    Ok((tmp, path))
}

/// Downloads one snapshot file stored as an object of its own (a blob, or a large file's own
/// pack), or makes one link, under a temporary name, hash-checked.
async fn stage_one<'d>(
    target: &Bucket,
    dir: &'d cap_std::fs::Dir,
    f: &SnapshotFile,
) -> Result<Vec<Staged<'d>>, SyncError> {
    let staged = |(tmp, path): (PathBuf, PathBuf)| Staged { dir, tmp, path, raw: f.path.clone(), placed: false };
    if crate::sync::links::is_link(f.mode) {
        let text = target.get_blob(&f.blake3).await?;
        return Ok(vec![staged(stage_link(dir, f, &text)?)]);
    }
    let (file, tmp, path) = create_staged(dir, f)?;
    let guard = staged((tmp, path));
    target.get_blob_into(&f.blake3, f.pack.as_ref(), file, &shown(&f.path)).await?;
    Ok(vec![guard])
}

/// Blobs of one pack closer than this are read with one request (the bytes between them are
/// read and dropped).
const SPAN_GAP: u64 = 256 * 1024;

/// Splits entries of one pack into runs read with one request each, in pack order.
fn spans(mut group: Vec<SnapshotFile>) -> Vec<Vec<SnapshotFile>> {
    let place = |f: &SnapshotFile| f.pack.clone().expect("grouped by pack");
    group.sort_by_key(|f| place(f).at);
    let mut out: Vec<Vec<SnapshotFile>> = Vec::new();
    let mut end = 0u64;
    for f in group {
        let p = place(&f);
        match out.last_mut() {
            Some(run) if p.at <= end.saturating_add(SPAN_GAP) => run.push(f),
            _ => out.push(vec![f]),
        }
        end = end.max(p.at.saturating_add(p.len));
    }
    out
}

/// Reads a run of packed entries with one request and writes each under a temporary name
/// (every blob hash-checked; the writes run off the async threads).
async fn stage_span<'d>(
    target: &Bucket,
    dir: &'d cap_std::fs::Dir,
    run: Vec<SnapshotFile>,
) -> Result<Vec<Staged<'d>>, SyncError> {
    let places: Vec<crate::sync::snapshot::PackRef> = run.iter().filter_map(|f| f.pack.clone()).collect();
    let from = places.iter().map(|p| p.at).min().unwrap_or(0);
    // (Places come from the bucket: a snapshot naming impossible ones is refused, not trusted.)
    let to = places.iter().map(|p| p.at.saturating_add(p.len)).max().unwrap_or(0);
    let span = target.read_pack(&places[0].id, from, to - from).await?;
    let blobs: Vec<bytes::Bytes> =
        run.iter().zip(&places).map(|(f, p)| target.unpack(&span, from, p, &f.blake3)).collect::<Result<_, _>>()?;
    let owned = dir.try_clone().map_err(|e| SyncError::Restore { path: String::new(), message: e.to_string() })?;
    let written = tokio::task::spawn_blocking(move || {
        let mut done: Vec<(PathBuf, PathBuf, Vec<u8>)> = Vec::with_capacity(run.len());
        for (f, data) in run.into_iter().zip(blobs) {
            match write_staged(&owned, &f, &data) {
                Ok((tmp, path)) => done.push((tmp, path, f.path)),
                Err(e) => {
                    for (tmp, ..) in done {
                        let _ = owned.remove_file(tmp);
                    }
                    return Err(e);
                }
            }
        }
        Ok(done)
    })
    .await
    .map_err(|e| SyncError::Restore { path: String::new(), message: e.to_string() })??;
    Ok(written.into_iter().map(|(tmp, path, raw)| Staged { dir, tmp, path, raw, placed: false }).collect())
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

pub(super) async fn resolve_id(target: &Bucket, id: Option<&str>) -> Result<String, SyncError> {
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
    // An encrypted project without its key: said as such, not as damaged objects.
    target.check_unlocked().await?;
    let id = resolve_id(target, id).await?;
    let snap = target.snapshot(&id).await?;
    let dir = open_dest(dest)?;
    write_all(target, &dir, snap.files.iter().collect(), 16).await?;
    Ok(snap)
}

/// Writes snapshot entries into `dir`: folders first, then files and links (`concurrency`
/// requests at a time: one per run of packed blobs, one per file stored on its own), then the
/// folders' modes.
pub(super) async fn write_all(
    target: &Bucket,
    dir: &cap_std::fs::Dir,
    entries: Vec<&SnapshotFile>,
    concurrency: usize,
) -> Result<(), SyncError> {
    use futures::future::Either;
    let (folders, files): (Vec<&SnapshotFile>, Vec<&SnapshotFile>) =
        entries.into_iter().partition(|f| crate::sync::folders::is_dir(f.mode));
    for f in &folders {
        make_folder(dir, f)?;
    }
    // Blobs packed with others are read in runs; a large file's own pack is streamed.
    let (packed, alone): (Vec<&SnapshotFile>, Vec<&SnapshotFile>) =
        files.into_iter().partition(|f| f.pack.as_ref().is_some_and(|p| p.len <= crate::sync::bucket::PACK_MAX_BLOB));
    let mut by_pack: BTreeMap<String, Vec<SnapshotFile>> = BTreeMap::new();
    for f in packed {
        by_pack.entry(f.pack.as_ref().expect("packed").id.clone()).or_default().push(f.clone());
    }
    let runs = by_pack.into_values().flat_map(spans).map(|run| Either::Left(stage_span(target, dir, run)));
    let writes: Vec<_> = runs.chain(alone.into_iter().map(|f| Either::Right(stage_one(target, dir, f)))).collect();
    let staged: Vec<Vec<Staged<'_>>> =
        futures::stream::iter(writes).buffer_unordered(concurrency.max(1)).try_collect().await?;
    place_all(dir, staged.into_iter().flatten().collect()).await?;
    set_folder_modes(dir, &folders)
}

/// Writes one version of one file (the one snapshot `snapshot` holds, from the history) over
/// the project's copy; the watcher or the caller journals it as a change like any save. If the
/// copy on disk has content the bucket does not have yet (not synced), it is first moved aside
/// as `<name>.aura-kept-<time>`, whose project-relative path is returned with the restored
/// version's hash.
impl ProjectSync<'_> {
    pub async fn restore_file(&self, path: &[u8], snapshot: &str) -> Result<RestoredFile, SyncError> {
        let ProjectSync { root, store, project_id, bucket: target, .. } = *self;
        let snap = target.snapshot(snapshot).await?;
        let mut f =
            snap.files.into_iter().find(|f| f.path == path && !crate::sync::folders::is_dir(f.mode)).ok_or_else(
                || SyncError::Restore { path: shown(path), message: format!("snapshot {snapshot} has no such file") },
            )?;
        let dir = open_dest(root.path())?;
        let io = |e: std::io::Error| SyncError::Restore { path: shown(path), message: outside_or(e) };
        if let Ok(m) = dir.symlink_metadata(rel_bytes(path)) {
            if m.is_file() {
                f.mode = m.permissions().mode() & 0o7777;
            }
        }
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
        write_all(target, &dir, vec![&f], 1).await?;
        Ok(RestoredFile { kept, blake3: f.blake3 })
    }
}

/// What restoring one version of a file did.
#[derive(Debug)]
pub struct RestoredFile {
    /// Where unsynced changes on disk were moved aside (project-relative), if there were any.
    pub kept: Option<String>,
    /// The restored version's content hash.
    pub blake3: String,
}
