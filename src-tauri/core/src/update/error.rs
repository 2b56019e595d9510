//! Why an update was not offered or not installed. The installed version keeps working in every case.

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("No update server is set. Enter its address in Settings → Updates.")]
    NoEndpoint,
    #[error("The update server address {0:?} is not a valid URL.")]
    BadEndpoint(String),
    #[error("The update server address {0} must use https (plain http is allowed only on this machine's loopback).")]
    InsecureEndpoint(String),
    #[error("Could not reach the update server at {url}: {reason}.")]
    Unreachable { url: String, reason: String },
    #[error("The update server at {url} answered HTTP {status}; there is no update to install from it.")]
    HttpStatus { url: String, status: String },
    #[error("The update server's answer is not a valid update manifest: {0}.")]
    Malformed(String),
    #[error("The update manifest lists no package for this system ({wanted}); it lists: {listed}.")]
    NoPackage { wanted: String, listed: String },
    #[error("The update manifest has no signature for the {target} package; Aura installs only signed updates.")]
    Unsigned { target: String },
    #[error(
        "The update server offers version {offered}, older than the installed {current}; Aura does not downgrade."
    )]
    Downgrade { current: String, offered: String },
    #[error(
        "The downloaded package's signature does not verify against Aura's public key ({0}); nothing was installed."
    )]
    BadSignature(String),
    #[error("The download stopped after {got} of {expected} bytes ({reason}); nothing was installed.")]
    DownloadCut { got: u64, expected: String, reason: String },
    #[error("The download failed: {0}; nothing was installed.")]
    Download(String),
    #[error("This Aura runs from {0}, not from an installed .deb or .rpm package, so it cannot replace itself. Install the package, or rebuild from source.")]
    NotPackaged(String),
    #[error(
        "The update server's answer changed while it was being checked (first {first}, then {then}). Check again."
    )]
    Changed { first: String, then: String },
    #[error("No update has been checked yet; check for updates first.")]
    NothingChecked,
    #[error("Installing the package failed: {0}. The installed version is unchanged.")]
    InstallFailed(String),
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

impl crate::error::UserFacing for UpdateError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::NoEndpoint | Self::BadEndpoint(_) | Self::InsecureEndpoint(_) => {
                crate::error::ErrorKind::UpdateEndpoint
            }
            Self::Unreachable { .. } | Self::HttpStatus { .. } => crate::error::ErrorKind::UpdateServer,
            Self::Malformed(_) | Self::NoPackage { .. } | Self::Unsigned { .. } | Self::Changed { .. } => {
                crate::error::ErrorKind::UpdateManifest
            }
            Self::Downgrade { .. } => crate::error::ErrorKind::UpdateDowngrade,
            Self::BadSignature(_) => crate::error::ErrorKind::UpdateSignature,
            Self::DownloadCut { .. } | Self::Download(_) => crate::error::ErrorKind::UpdateDownload,
            Self::NotPackaged(_) | Self::InstallFailed(_) => crate::error::ErrorKind::UpdateInstall,
            Self::NothingChecked => crate::error::ErrorKind::Invalid,
            Self::Store(_) => crate::error::ErrorKind::Store,
        }
    }
}
