use crate::error::UserFacing;
use crate::paths::PathError;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("no sandbox '{0}' (it may have been deleted)")]
    NotFound(String),
    #[error("the sandbox is {state}; {action} is not possible now")]
    WrongState { state: String, action: &'static str },
    #[error("bubblewrap is not available ({0}); commands would run without isolation. Allow unsandboxed runs in Settings to continue anyway")]
    IsolationUnavailable(String),
    #[error("the sandbox's internet network cannot be set up: {0}. Choose Registries only (it needs neither pasta nor nftables) or Offline in the Sandbox settings, or (after its warning) the host network")]
    NetworkUnavailable(String),
    #[error("the sandbox was stopped: {0}")]
    LimitExceeded(String),
    #[error("the command did not finish within {0} s and was stopped")]
    Timeout(u64),
    #[error("cannot start the command: {0}")]
    Spawn(String),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("{provider} rejected the API key (401): check it in Settings")]
    Unauthorized { provider: &'static str },
    #[error("{provider} refused the request (403): {message}")]
    Forbidden { provider: &'static str, message: String },
    #[error("{provider} is rate limiting requests; retried until giving up (retry after {retry_after_s} s)")]
    RateLimited { provider: &'static str, retry_after_s: u64 },
    #[error("{provider} answered {status}: {message}")]
    Api { provider: &'static str, status: u16, message: String },
    #[error("cannot reach {provider}: {message}")]
    Network { provider: &'static str, message: String },
    #[error("{provider} sent a response Aura cannot read: {message}")]
    BadResponse { provider: &'static str, message: String },
    #[error("no API key for {0}: add one in Settings")]
    MissingKey(&'static str),
    #[error("the {provider} API key cannot be read: {message}")]
    KeyUnreadable { provider: &'static str, message: String },
    #[error("{0} is not supported by this provider")]
    Unsupported(&'static str),
    #[error("file operation failed: {0}")]
    Io(String),
    #[error("the command was stopped")]
    Cancelled,
    #[error("the sandbox cannot protect everything this machine runs by itself in this project: {0}. Commands wait until you choose \"Run without these protections\" in the Sandbox panel (or fix what it names)")]
    Unprotected(String),
    #[error("the sandbox settings cannot be used: {0}")]
    InvalidSettings(String),
}

impl UserFacing for SandboxError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::NotFound(_) => crate::error::ErrorKind::NotFound,
            Self::WrongState { .. } => crate::error::ErrorKind::WrongState,
            Self::IsolationUnavailable(_) | Self::Unprotected(_) => crate::error::ErrorKind::IsolationUnavailable,
            Self::NetworkUnavailable(_) => crate::error::ErrorKind::NetworkUnavailable,
            Self::LimitExceeded(_) => crate::error::ErrorKind::LimitExceeded,
            Self::Timeout(_) => crate::error::ErrorKind::Timeout,
            Self::Spawn(_) => crate::error::ErrorKind::Spawn,
            Self::Path(p) => p.kind(),
            Self::Unauthorized { .. } => crate::error::ErrorKind::Unauthorized,
            Self::Forbidden { .. } => crate::error::ErrorKind::Forbidden,
            Self::RateLimited { .. } => crate::error::ErrorKind::RateLimited,
            Self::Api { .. } => crate::error::ErrorKind::Api,
            Self::Network { .. } => crate::error::ErrorKind::Network,
            Self::BadResponse { .. } => crate::error::ErrorKind::BadResponse,
            Self::MissingKey(_) | Self::KeyUnreadable { .. } => crate::error::ErrorKind::MissingKey,
            Self::Unsupported(_) => crate::error::ErrorKind::Unsupported,
            Self::Io(_) => crate::error::ErrorKind::Io,
            Self::Cancelled => crate::error::ErrorKind::Cancelled,
            Self::InvalidSettings(_) => crate::error::ErrorKind::Invalid,
        }
    }
}
