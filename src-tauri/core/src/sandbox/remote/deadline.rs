//! A command's time limit, counted from when it was asked for, across every call it takes
//! (starting it, each poll or chunk of output).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::sandbox::SandboxError;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    secs: u64,
}

impl Deadline {
    /// `timeout_s` from now (`None`: no limit).
    pub(crate) fn after(timeout_s: Option<u64>) -> Self {
        Self { at: timeout_s.map(|t| Instant::now() + Duration::from_secs(t)), secs: timeout_s.unwrap_or(0) }
    }

    /// Waits for `f`, or fails with [`SandboxError::Timeout`] once the time is up.
    pub(crate) async fn within<T>(&self, f: impl Future<Output = T>) -> Result<T, SandboxError> {
        match self.at {
            Some(at) => tokio::time::timeout_at(at, f).await.map_err(|_| SandboxError::Timeout(self.secs)),
            None => Ok(f.await),
        }
    }

    /// Fails with [`SandboxError::Timeout`] if the time is up.
    pub(crate) fn check(&self) -> Result<(), SandboxError> {
        match self.at {
            Some(at) if Instant::now() >= at => Err(SandboxError::Timeout(self.secs)),
            _ => Ok(()),
        }
    }
}
