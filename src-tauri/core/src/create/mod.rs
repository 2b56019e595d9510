//! Making a new project folder: from a Git repository now (`git.rs`); the template wizard will
//! live beside it. A folder is only created or filled if it was free, and undone on failure.

pub mod git;
pub mod template;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("Choose the new project's folder as a full path (got {0:?}).")]
    NotAbsolute(PathBuf),
    #[error("The folder {0} to create the project in does not exist.")]
    NoParent(PathBuf),
    #[error("{0} already holds files; choose an empty or new folder (nothing was changed).")]
    NotEmpty(PathBuf),
    #[error("{0} exists and is not a folder.")]
    NotAFolder(PathBuf),
    #[error("{url:?} is not a Git address Aura accepts: {why}.")]
    BadUrl { url: String, why: String },
    #[error("{0:?} is not a folder inside the repository (no '..', no leading '-').")]
    BadSubfolder(String),
    #[error("Could not clone {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("The repository {url} has no branch or tag {branch:?}.")]
    NoBranch { branch: String, url: String },
    #[error("The repository has no folder {sub:?} on {branch}.")]
    NoSubfolder { sub: String, branch: String },
    #[error("{0:?} is not a project name: use 2 to 64 letters, digits, '-' or '_', starting with a letter or digit.")]
    BadName(String),
    #[error("{0:?} is not a package name (e.g. zod, @scope/name@1.2.3, requests==2.32.3).")]
    BadPackage(String),
    #[error("git failed: {0}")]
    Git(String),
    #[error("{0}")]
    Io(String),
}

impl crate::error::UserFacing for CreateError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::NotAbsolute(_) | Self::NoParent(_) | Self::NotEmpty(_) | Self::NotAFolder(_) => {
                crate::error::ErrorKind::Destination
            }
            Self::BadUrl { .. } | Self::BadSubfolder(_) | Self::BadName(_) | Self::BadPackage(_) => {
                crate::error::ErrorKind::Invalid
            }
            Self::Unreachable { .. } | Self::NoBranch { .. } | Self::NoSubfolder { .. } | Self::Git(_) => {
                crate::error::ErrorKind::Git
            }
            Self::Io(_) => crate::error::ErrorKind::Io,
        }
    }
}

/// The folder a new project goes into, and whether this import made it.
pub struct Dest {
    path: PathBuf,
    created: bool,
}

impl Dest {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes what was made: the folder if it was made here, else its new contents (it was empty).
    pub fn undo(&self) {
        if self.created {
            let _ = std::fs::remove_dir_all(&self.path);
        } else if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if e.file_type().is_ok_and(|t| t.is_dir()) {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
}

/// Takes `path` for a new project: a new folder in an existing one, or an existing empty folder.
pub fn prepare_dest(path: &Path) -> Result<Dest, CreateError> {
    if !path.is_absolute() {
        return Err(CreateError::NotAbsolute(path.to_path_buf()));
    }
    let parent = path
        .parent()
        .filter(|p| p.is_dir())
        .ok_or_else(|| CreateError::NoParent(path.parent().unwrap_or(path).to_path_buf()))?;
    let path =
        parent.canonicalize().map_err(|e| CreateError::Io(e.to_string()))?.join(path.file_name().unwrap_or_default());
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.is_dir() => {
            let empty = std::fs::read_dir(&path).map_err(|e| CreateError::Io(e.to_string()))?.next().is_none();
            if empty {
                Ok(Dest { path, created: false })
            } else {
                Err(CreateError::NotEmpty(path))
            }
        }
        Ok(_) => Err(CreateError::NotAFolder(path)),
        Err(_) => {
            std::fs::create_dir(&path)
                .map_err(|e| CreateError::Io(format!("cannot create {}: {e}", path.display())))?;
            Ok(Dest { path, created: true })
        }
    }
}
