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
    let id = resolve_id(target, id).await?;
    let snap = target.snapshot(&id).await?;
    let dir = open_dest(dest)?;
    write_all(target, &dir, snap.files.iter().collect(), 16).await?;
    Ok(snap)
}

/// Writes snapshot entries into `dir`: folders first, then files and links (`concurrency` at a
/// time), then the folders' modes.
pub(super) async fn write_all(
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

/// Writes one version of one file (from the history) over the project's copy; the watcher or
/// the caller journals it as a change like any save. If the copy on disk has content the
/// bucket does not have yet (not synced), it is first moved aside as `<name>.aura-kept-<time>`,
/// whose project-relative path is returned.
impl ProjectSync<'_> {
    pub async fn restore_file(&self, path: &[u8], blake3: &str) -> Result<Option<String>, SyncError> {
        let ProjectSync { root, store, project_id, bucket: target, .. } = *self;
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
}
