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
    fn kind(&self) -> &'static str {
        match self {
            Self::Project(e) => e.kind(),
            Self::Store(e) => e.kind(),
            Self::Secrets(e) => e.kind(),
            Self::UnknownTool(_) => "unknown_tool",
            Self::NothingToUndo | Self::OtherProject => "nothing_to_undo",
            Self::Baseline(_) => "io",
            Self::Listen(_) => "agent_server",
        }
    }
}
