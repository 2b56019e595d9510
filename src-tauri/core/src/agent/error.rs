use crate::error::UserFacing;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("'{0}' is not one of Aura's agent tools")]
    UnknownTool(String),
    #[error("there are no agent changes to undo")]
    NothingToUndo,
    #[error("the agent's changes are for another project; open it to undo them")]
    OtherProject,
    #[error("cannot keep the project as it was before the agent's changes: {0}")]
    Baseline(String),
    #[error("the agent server cannot listen on 127.0.0.1: {0}")]
    Listen(String),
}

impl UserFacing for AgentError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::Project(e) => e.kind(),
            Self::Store(e) => e.kind(),
            Self::Secrets(e) => e.kind(),
            Self::UnknownTool(_) => crate::error::ErrorKind::UnknownTool,
            Self::NothingToUndo | Self::OtherProject => crate::error::ErrorKind::NothingToUndo,
            Self::Baseline(_) => crate::error::ErrorKind::Io,
            Self::Listen(_) => crate::error::ErrorKind::AgentServer,
        }
    }
}
