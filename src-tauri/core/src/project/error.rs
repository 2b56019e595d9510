//! What can go wrong with the open project: the one error its front ends (the window's commands,
//! the agent server) see, each case keeping its domain's message and kind.

use crate::error::UserFacing;

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("open a project folder first")]
    NoProject,
    #[error("Aura could not tell how this project runs: enter its commands in Run settings")]
    NoRunConfig,
    #[error("choose a port between 1 and 65535")]
    InvalidPort,
    #[error("no preview of port {0} is open")]
    NoPreview(u16),
    #[error(transparent)]
    Path(#[from] crate::paths::PathError),
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error(transparent)]
    Terminal(#[from] crate::terminal::TerminalError),
    #[error(transparent)]
    Preview(#[from] crate::preview::ProxyError),
}

impl UserFacing for ProjectError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::NoProject => crate::error::ErrorKind::NoProject,
            Self::InvalidPort => crate::error::ErrorKind::InvalidPort,
            Self::NoRunConfig => crate::error::ErrorKind::NoRunConfig,
            Self::NoPreview(_) => crate::error::ErrorKind::NotFound,
            Self::Path(e) => e.kind(),
            Self::Workspace(e) => e.kind(),
            Self::Store(e) => e.kind(),
            Self::Sandbox(e) => e.kind(),
            Self::Run(e) => e.kind(),
            Self::Terminal(e) => e.kind(),
            Self::Preview(e) => e.kind(),
        }
    }
}
