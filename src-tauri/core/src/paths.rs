//! Path safety: every path a command receives is resolved inside the project root.
//!
//! Paths cross IPC as project-relative strings with `/` separators. [`ProjectRoot::resolve`] refuses
//! absolute paths, `..`, NUL bytes, backslashes, over-long names, and any symlink along the way that
//! leads outside the root (or nowhere). What it returns is safe to open, create, rename or delete.

use std::path::{Component, Path, PathBuf};

use crate::error::UserFacing;

/// Longest relative path accepted, in bytes (Linux's PATH_MAX).
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest single file or folder name, in bytes (common filesystem limit).
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("'{0}' is not a folder that can be opened as a project")]
    NotAProjectFolder(String),
    #[error("absolute paths are not allowed here ('{0}'); use a path inside the project")]
    Absolute(String),
    #[error("'{0}' leaves the project folder ('..' is not allowed)")]
    ParentTraversal(String),
    #[error("'{0}' goes through a symbolic link that points outside the project")]
    SymlinkOutside(String),
    #[error("'{0}' goes through a broken symbolic link")]
    DanglingSymlink(String),
    #[error("invalid name '{name}': {why}")]
    InvalidName { name: String, why: &'static str },
    #[error("the path is too long ({0} bytes; at most {MAX_PATH_BYTES})")]
    TooLong(usize),
    #[error("could not check '{path}': {message}")]
    Io { path: String, message: String },
}

impl UserFacing for PathError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            PathError::NotAProjectFolder(_) => crate::error::ErrorKind::NotAProject,
            PathError::Io { .. } => crate::error::ErrorKind::Io,
            PathError::InvalidName { .. } | PathError::TooLong(_) => crate::error::ErrorKind::InvalidName,
            _ => crate::error::ErrorKind::PathOutsideProject,
        }
    }
}

/// Checks a single file or folder name (as typed by the user when creating or renaming).
pub fn validate_name(name: &str) -> Result<(), PathError> {
    let bad = |why| Err(PathError::InvalidName { name: printable(name), why });
    if name.is_empty() {
        return bad("it is empty");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are reserved");
    }
    if name.contains('/') || name.contains('\\') {
        return bad("it contains a path separator");
    }
    if name.contains('\0') {
        return bad("it contains a NUL byte");
    }
    if name.chars().any(|c| c.is_control()) {
        return bad("it contains a control character (newline, tab, ...)");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad("it is longer than 255 bytes");
    }
    if name.trim() != name && name.trim().is_empty() {
        return bad("it is only spaces");
    }
    Ok(())
}

/// A user-visible rendering of a path that may contain control characters.
fn printable(s: &str) -> String {
    s.chars().flat_map(char::escape_debug).take(200).collect()
}

/// The canonical root folder of an open project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRoot {
    root: PathBuf,
}

impl ProjectRoot {
    /// Opens a folder as a project root (resolving symlinks in the root itself).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PathError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let root = path.canonicalize().map_err(|_| PathError::NotAProjectFolder(shown.clone()))?;
        if !root.is_dir() {
            return Err(PathError::NotAProjectFolder(shown));
        }
        Ok(Self { root })
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The folder's display name (its last component).
    pub fn name(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.root.display().to_string())
    }

    /// Resolves a project-relative path. `""` and `"."` mean the root itself.
    ///
    /// The result is `root/rel` (not canonicalized, so a symlink inside the project stays a symlink),
    /// but only after checking that no existing component is a symlink leading outside the root.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, PathError> {
        let parts = self.split(rel)?;
        let mut current = self.root.clone();
        let mut exists = true;
        for part in &parts {
            current.push(part);
            if !exists {
                continue; // below a missing folder nothing can be a link
            }
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => match current.canonicalize() {
                    Ok(target) if target.starts_with(&self.root) => {}
                    Ok(_) => return Err(PathError::SymlinkOutside(printable(rel))),
                    Err(_) => return Err(PathError::DanglingSymlink(printable(rel))),
                },
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => exists = false,
                Err(e) => return Err(PathError::Io { path: printable(rel), message: e.to_string() }),
            }
        }
        Ok(current)
    }

    /// Like [`resolve`](Self::resolve), but refuses the root itself (for rename and delete).
    pub fn resolve_entry(&self, rel: &str) -> Result<PathBuf, PathError> {
        if self.split(rel)?.is_empty() {
            return Err(PathError::InvalidName {
                name: printable(rel),
                why: "the project folder itself cannot be renamed or deleted from here",
            });
        }
        self.resolve(rel)
    }

    /// The root as a capability: every path used through it is resolved beneath the root by the
    /// kernel at the moment of use (`openat2` with `RESOLVE_BENEATH` where the kernel has it), so
    /// a folder that sandboxed code swaps for a symlink between a check and the use cannot lead
    /// a host-side operation outside the project: it fails instead.
    pub fn dir(&self) -> Result<cap_std::fs::Dir, PathError> {
        cap_std::fs::Dir::open_ambient_dir(&self.root, cap_std::ambient_authority())
            .map_err(|e| PathError::Io { path: self.root.display().to_string(), message: e.to_string() })
    }

    /// The checked project-relative path (`a/b/c`, `.` for the root) to use with [`Self::dir`].
    pub fn rel_path(&self, rel: &str) -> Result<PathBuf, PathError> {
        let parts = self.split(rel)?;
        Ok(if parts.is_empty() { PathBuf::from(".") } else { parts.iter().collect() })
    }

    /// The project-relative `/`-separated form of an absolute path under the root.
    pub fn relative(&self, abs: &Path) -> Option<String> {
        let rel = abs.strip_prefix(&self.root).ok()?;
        let mut out = String::new();
        for c in rel.components() {
            if let Component::Normal(n) = c {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(&n.to_string_lossy());
            }
        }
        Some(out)
    }

    fn split<'a>(&self, rel: &'a str) -> Result<Vec<&'a str>, PathError> {
        if rel.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong(rel.len()));
        }
        if rel.starts_with('/') || Path::new(rel).is_absolute() {
            return Err(PathError::Absolute(printable(rel)));
        }
        if rel.contains('\0') {
            return Err(PathError::InvalidName { name: printable(rel), why: "it contains a NUL byte" });
        }
        if rel.contains('\\') {
            return Err(PathError::InvalidName {
                name: printable(rel),
                why: "use '/' to separate folders; '\\' is not allowed",
            });
        }
        let mut parts = Vec::new();
        for part in rel.split('/') {
            match part {
                "" | "." => continue,
                ".." => return Err(PathError::ParentTraversal(printable(rel))),
                p if p.len() > MAX_NAME_BYTES => {
                    return Err(PathError::InvalidName { name: printable(p), why: "it is longer than 255 bytes" })
                }
                p => parts.push(p),
            }
        }
        Ok(parts)
    }
}

/// A project-relative path as raw bytes (the sync journal's and the walkers' form) as a path
/// to use with [`ProjectRoot::dir`].
pub fn rel_bytes(rel: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(rel))
}

/// Opens a project file for reading through the root capability, without following a symlink
/// in its last component (that fails with `ELOOP`) and never leaving the project on the way:
/// what a host-side reader (sync, search, the remote mirror) reads is always the project's own
/// file, whatever sandboxed code swaps in meanwhile. A FIFO opens without blocking (its
/// metadata then says it is no regular file).
pub fn open_read(dir: &cap_std::fs::Dir, rel: &Path) -> std::io::Result<std::fs::File> {
    use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
    use cap_std::fs::OpenOptionsExt;
    let mut opts = cap_std::fs::OpenOptions::new();
    // O_NONBLOCK: a FIFO swapped in for a file must not hang the reader (no effect on files).
    opts.read(true).follow(FollowSymlinks::No).custom_flags(libc::O_NONBLOCK);
    Ok(dir.open_with(rel, &opts)?.into_std())
}

/// What an operation through [`ProjectRoot::dir`] failing because the path led outside the
/// project (a symlink swapped in meanwhile) means to the user; other errors pass through.
pub fn escaped(rel: &str, e: &std::io::Error) -> Option<PathError> {
    // cap-std reports an escape as PermissionDenied ("a path led outside of the filesystem");
    // the kernel's RESOLVE_BENEATH as EXDEV.
    let text = e.to_string();
    (e.raw_os_error() == Some(libc::EXDEV) || text.contains("outside of the filesystem"))
        .then(|| PathError::SymlinkOutside(printable(rel)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("main.rs").is_ok());
        assert!(validate_name("with space.txt").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "nul\0", "new\nline", &"x".repeat(256), "   "] {
            assert!(validate_name(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
