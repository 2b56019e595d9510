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
    #[error("the sandbox's isolated network cannot be set up: {0}. Choose the offline network in the Sandbox settings, or (after its warning) the host network")]
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
    #[error("{0} is not supported by this provider")]
    Unsupported(&'static str),
    #[error("file operation failed: {0}")]
    Io(String),
    #[error("the command was stopped")]
    Cancelled,
}

impl UserFacing for SandboxError {
    fn kind(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::WrongState { .. } => "wrong_state",
            Self::IsolationUnavailable(_) => "isolation_unavailable",
            Self::NetworkUnavailable(_) => "network_unavailable",
            Self::LimitExceeded(_) => "limit_exceeded",
            Self::Timeout(_) => "timeout",
            Self::Spawn(_) => "spawn",
            Self::Path(p) => p.kind(),
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::RateLimited { .. } => "rate_limited",
            Self::Api { .. } => "api",
            Self::Network { .. } => "network",
            Self::BadResponse { .. } => "bad_response",
            Self::MissingKey(_) => "missing_key",
            Self::Unsupported(_) => "unsupported",
            Self::Io(_) => "io",
            Self::Cancelled => "cancelled",
        }
    }
}
