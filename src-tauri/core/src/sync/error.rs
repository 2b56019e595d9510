//! The one error of sync: the bucket, the local files on either side of a pass, the state in
//! SQLite, and the settings that turn sync on.

use crate::error::{ErrorKind, UserFacing};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the bucket is unreachable ({0}); changes stay queued and are sent when it is back")]
    Unreachable(String),
    #[error("another machine moved this project on (it is at snapshot {remote}); both versions are kept, choose one")]
    Conflict { remote: String },
    #[error("the stored object {key} does not match its hash; it was not used")]
    Corrupt { key: String },
    #[error("the bucket has no object {key}; it may have been deleted outside Aura")]
    Missing { key: String },
    #[error("the bucket refused the request: {0}")]
    Refused(String),
    #[error("'{path}' changed while it was being uploaded; it is sent again on the next pass")]
    Changed { path: String },
    #[error("cannot read '{path}': {message}")]
    Local { path: String, message: String },
    #[error("cannot write '{path}': {message}")]
    Restore { path: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sync is not on for this project: {0}")]
    Off(String),
    #[error("{0}")]
    Invalid(String),
    #[error("this project is end-to-end encrypted and this machine does not have its key: enter its recovery phrase")]
    Locked,
    #[error("this project is end-to-end encrypted: enter its recovery phrase")]
    PhraseNeeded,
    #[error("{0}")]
    Phrase(String),
    /// The project was made end-to-end encrypted on another machine and now lives at `to`.
    #[error("this project is now end-to-end encrypted (it was converted on another machine): enter its recovery phrase to go on syncing")]
    Moved { to: String },
}

impl UserFacing for SyncError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Unreachable(_) => ErrorKind::Offline,
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::Corrupt { .. } => ErrorKind::Corrupt,
            Self::Missing { .. } => ErrorKind::NotFound,
            Self::Refused(_) => ErrorKind::Refused,
            Self::Changed { .. } => ErrorKind::Changed,
            Self::Local { .. } | Self::Restore { .. } => ErrorKind::Io,
            Self::Store(_) => ErrorKind::Store,
            Self::Off(_) => ErrorKind::SyncOff,
            Self::Invalid(_) | Self::Phrase(_) => ErrorKind::Invalid,
            Self::Locked => ErrorKind::Refused,
            Self::PhraseNeeded | Self::Moved { .. } => ErrorKind::PhraseNeeded,
        }
    }
}
