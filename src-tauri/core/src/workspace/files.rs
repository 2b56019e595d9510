//! Reading and writing project files. Saves are atomic (temp file in the same folder, fsync,
//! rename) and keep the file's permissions; a save over a file that changed on disk since it was
//! read is refused as a conflict unless the caller forces it.

use cap_std::fs::PermissionsExt as _;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Serialize;
use ts_rs::TS;

use super::WorkspaceError;
use crate::paths::{validate_name, PathError, ProjectRoot};

/// Largest file the editor opens (bytes).
pub const MAX_EDITABLE_BYTES: u64 = 8 * 1024 * 1024;
/// Largest content a save accepts (bytes).
pub const MAX_SAVE_BYTES: usize = 64 * 1024 * 1024;
/// How much of a file is sniffed for NUL bytes to call it binary.
const SNIFF_BYTES: usize = 8192;

/// What a file looked like when read or written: the editor sends `hash` back on save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileVersion {
    /// blake3 of the content, hex.
    pub hash: String,
    #[ts(type = "number")]
    pub size: u64,
    #[ts(type = "number")]
    pub mtime_ms: u64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct FileContent {
    pub path: String,
    pub text: String,
    pub version: FileVersion,
    /// The file is not writable by this user: the editor shows it read-only.
    pub readonly: bool,
}

fn version_of(bytes: &[u8], meta: &std::fs::Metadata) -> FileVersion {
    let mtime_ms =
        meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64).unwrap_or(0);
    FileVersion { hash: blake3::hash(bytes).to_hex().to_string(), size: bytes.len() as u64, mtime_ms }
}

/// True when the bytes look like binary data (a NUL in the first 8 KiB, or not UTF-8).
pub fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(SNIFF_BYTES)].contains(&0) || std::str::from_utf8(bytes).is_err()
}

pub fn read_file(root: &ProjectRoot, rel: &str) -> Result<FileContent, WorkspaceError> {
    let path = root.resolve(rel)?;
    // Opened beneath the root at the moment of use; the metadata and bytes come from that file.
    // Non-blocking, so a FIFO (which would wait for a writer) is refused instead of hanging.
    let mut opts = cap_std::fs::OpenOptions::new();
    cap_std::fs::OpenOptionsExt::custom_flags(opts.read(true), libc::O_NONBLOCK);
    let file = root.dir()?.open_with(root.rel_path(rel)?, &opts).map_err(|e| WorkspaceError::io("open", rel, e))?;
    let file = file.into_std();
    let meta = file.metadata().map_err(|e| WorkspaceError::io("open", rel, e))?;
    if meta.is_dir() {
        return Err(WorkspaceError::IsADirectory(rel.to_string()));
    }
    if !meta.is_file() {
        return Err(WorkspaceError::NotAFile(rel.to_string()));
    }
    if meta.len() > MAX_EDITABLE_BYTES {
        return Err(WorkspaceError::TooLarge { path: rel.to_string(), size: meta.len(), limit: MAX_EDITABLE_BYTES });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&file).take(MAX_EDITABLE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| WorkspaceError::io("read", rel, e))?;
    if looks_binary(&bytes) {
        return Err(WorkspaceError::Binary(rel.to_string()));
    }
    let version = version_of(&bytes, &meta);
    let readonly = meta.permissions().readonly() || !writable(&path);
    let text = String::from_utf8(bytes).map_err(|_| WorkspaceError::Binary(rel.to_string()))?;
    Ok(FileContent { path: rel.to_string(), text, version, readonly })
}

fn writable(path: &Path) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Held from a save's version check to its rename (see [`write_file`]).
static SAVING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// Saves `text` to `rel` atomically.
///
/// `expected` is the hash the editor read; when the file on disk no longer has it, the save is
/// refused with [`WorkspaceError::Conflict`] and nothing is written. `None` overwrites.
pub fn write_file(
    root: &ProjectRoot,
    rel: &str,
    text: &str,
    expected: Option<&str>,
) -> Result<FileVersion, WorkspaceError> {
    if text.len() > MAX_SAVE_BYTES {
        return Err(WorkspaceError::TooLarge {
            path: rel.to_string(),
            size: text.len() as u64,
            limit: MAX_SAVE_BYTES as u64,
        });
    }
    let link = root.resolve_entry(rel)?;
    // Everything below goes through the root's capability: a folder swapped for a symlink after
    // the check above makes the save fail; it never writes outside the project.
    let dir = root.dir()?;
    let io = |e| WorkspaceError::io("save", rel, e);
    let mut target = root.rel_path(rel)?;
    // Write through an in-project symlink to its target, so the link survives the save.
    if dir.symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
        let real = link.canonicalize().map_err(io)?;
        target = root.relative(&real).map(PathBuf::from).ok_or_else(|| PathError::SymlinkOutside(rel.to_string()))?;
    }
    // The check against `expected` and the write are one step: two saves at once (saves run off
    // the main thread; an agent may save too) cannot both pass the check and the older land last.
    let _one_at_a_time = SAVING.lock();
    let existing = match dir.metadata(&target) {
        Ok(m) if m.is_dir() => return Err(WorkspaceError::IsADirectory(rel.to_string())),
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    if let Some(expected) = expected {
        let current = match &existing {
            Some(_) => dir.read(&target).map_err(io)?,
            None => return Err(WorkspaceError::Conflict(rel.to_string())),
        };
        if blake3::hash(&current).to_hex().as_str() != expected {
            return Err(WorkspaceError::Conflict(rel.to_string()));
        }
    }
    let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
    let tmp = parent.join(format!(".aura-save-{:016x}", rand::random::<u64>()));
    let written = (|| {
        let mut f = dir.open_with(&tmp, cap_std::fs::OpenOptions::new().write(true).create_new(true))?.into_std();
        f.write_all(text.as_bytes())?;
        if let Some(meta) = &existing {
            f.set_permissions(std::fs::Permissions::from_mode(meta.permissions().mode()))?;
        }
        f.sync_all()?;
        dir.rename(&tmp, &dir, &target)?;
        Ok::<_, std::io::Error>(f)
    })();
    let file = match written {
        Ok(f) => f,
        Err(e) => {
            let _ = dir.remove_file(&tmp);
            return Err(io(e));
        }
    };
    // Make the rename itself durable.
    let folder = if parent.as_os_str().is_empty() { Path::new(".") } else { parent.as_path() };
    if let Ok(d) = dir.open_dir(folder) {
        let _ = d.into_std_file().sync_all();
    }
    let meta = file.metadata().map_err(io)?;
    Ok(version_of(text.as_bytes(), &meta))
}

fn parent_and_name(rel: &str) -> (&str, &str) {
    let rel = rel.trim_end_matches('/');
    match rel.rfind('/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => ("", rel),
    }
}

/// Creates an empty file; refuses to replace an existing one.
pub fn create_file(root: &ProjectRoot, rel: &str) -> Result<(), WorkspaceError> {
    validate_name(parent_and_name(rel).1)?;
    root.resolve_entry(rel)?;
    root.dir()?
        .open_with(root.rel_path(rel)?, cap_std::fs::OpenOptions::new().write(true).create_new(true))
        .map(drop)
        .map_err(|e| WorkspaceError::io("create", rel, e))
}

/// Creates a folder (its parent must exist).
pub fn create_dir(root: &ProjectRoot, rel: &str) -> Result<(), WorkspaceError> {
    validate_name(parent_and_name(rel).1)?;
    root.resolve_entry(rel)?;
    root.dir()?.create_dir(root.rel_path(rel)?).map_err(|e| WorkspaceError::io("create folder", rel, e))
}

/// Renames or moves an entry inside the project; never overwrites an existing target.
pub fn rename_path(root: &ProjectRoot, from: &str, to: &str) -> Result<(), WorkspaceError> {
    validate_name(parent_and_name(to).1)?;
    let src = root.resolve_entry(from)?;
    let dst = root.resolve_entry(to)?;
    std::fs::symlink_metadata(&src).map_err(|e| WorkspaceError::io("rename", from, e))?;
    if std::fs::symlink_metadata(&dst).is_ok() {
        return Err(WorkspaceError::AlreadyExists(to.to_string()));
    }
    if dst.starts_with(&src) {
        return Err(WorkspaceError::Io {
            action: "move",
            path: from.to_string(),
            message: "a folder cannot be moved into itself".into(),
        });
    }
    let dir = root.dir()?;
    dir.rename(root.rel_path(from)?, &dir, root.rel_path(to)?).map_err(|e| WorkspaceError::io("rename", from, e))
}

/// Deletes a file, a symlink (not its target) or a whole folder.
pub fn delete_path(root: &ProjectRoot, rel: &str) -> Result<(), WorkspaceError> {
    root.resolve_entry(rel)?;
    let (dir, path) = (root.dir()?, root.rel_path(rel)?);
    let meta = dir.symlink_metadata(&path).map_err(|e| WorkspaceError::io("delete", rel, e))?;
    let res = if meta.is_dir() { dir.remove_dir_all(&path) } else { dir.remove_file(&path) };
    res.map_err(|e| WorkspaceError::io("delete", rel, e))
}
