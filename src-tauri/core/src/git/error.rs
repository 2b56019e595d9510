//! What can go wrong reading a project's repository.

use crate::error::{ErrorKind, UserFacing};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("this project is not a Git repository (no .git folder at its top)")]
    NotARepository,
    /// A `.git` that is a link or a file pointing elsewhere: not followed.
    #[error("{0}")]
    Refused(String),
    #[error("the repository cannot be read: {0}")]
    Read(String),
    #[error("'{0}' is not in HEAD")]
    NotInHead(String),
    /// What git said when a change to the repository failed.
    #[error("git: {0}")]
    Failed(String),
}

impl UserFacing for GitError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotARepository => ErrorKind::NotFound,
            Self::Refused(_) => ErrorKind::Refused,
            Self::Read(_) => ErrorKind::Git,
            Self::NotInHead(_) => ErrorKind::NotFound,
            Self::Failed(_) => ErrorKind::Git,
        }
    }
}

pub(super) fn read(e: impl std::fmt::Display) -> GitError {
    GitError::Read(e.to_string())
}
