use crate::error::UserFacing;
use crate::paths::PathError;

/// Errors of file-tree, file and search operations, worded for the person at the keyboard.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("'{0}' does not exist (it may have been moved or deleted)")]
    NotFound(String),
    #[error("'{0}' already exists")]
    AlreadyExists(String),
    #[error("'{0}' is a folder, not a file")]
    IsADirectory(String),
    #[error("'{0}' is not a folder")]
    NotADirectory(String),
    #[error("'{0}' is not a regular file (a pipe, socket or device) and cannot be opened in the editor")]
    NotAFile(String),
    #[error("'{path}' is {size} bytes; files over {limit} bytes open read-only elsewhere, not in the editor")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("'{0}' looks like a binary file and cannot be edited as text")]
    Binary(String),
    #[error("'{0}' changed on disk since you opened it; reload it or overwrite the disk version")]
    Conflict(String),
    #[error("permission denied for '{0}'")]
    PermissionDenied(String),
    #[error("invalid search: {0}")]
    BadQuery(String),
    #[error("cannot {action} '{path}': {message}")]
    Io { action: &'static str, path: String, message: String },
}

impl WorkspaceError {
    /// Maps an I/O error on `path` to the most specific variant.
    pub(crate) fn io(action: &'static str, path: &str, e: std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        if let Some(outside) = crate::paths::escaped(path, &e) {
            return outside.into();
        }
        match e.kind() {
            NotFound => Self::NotFound(path.to_string()),
            AlreadyExists => Self::AlreadyExists(path.to_string()),
            PermissionDenied => Self::PermissionDenied(path.to_string()),
            IsADirectory => Self::IsADirectory(path.to_string()),
            NotADirectory => Self::NotADirectory(path.to_string()),
            _ => Self::Io { action, path: path.to_string(), message: e.to_string() },
        }
    }
}

impl UserFacing for WorkspaceError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::Path(p) => p.kind(),
            Self::NotFound(_) => crate::error::ErrorKind::NotFound,
            Self::AlreadyExists(_) => crate::error::ErrorKind::AlreadyExists,
            Self::IsADirectory(_) | Self::NotADirectory(_) | Self::NotAFile(_) => crate::error::ErrorKind::WrongType,
            Self::TooLarge { .. } => crate::error::ErrorKind::TooLarge,
            Self::Binary(_) => crate::error::ErrorKind::Binary,
            Self::Conflict(_) => crate::error::ErrorKind::Conflict,
            Self::PermissionDenied(_) => crate::error::ErrorKind::PermissionDenied,
            Self::BadQuery(_) => crate::error::ErrorKind::BadQuery,
            Self::Io { .. } => crate::error::ErrorKind::Io,
        }
    }
}
