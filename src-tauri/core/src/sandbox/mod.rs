//! Where a project's commands run: one [`Provider`] trait, implemented by the local bubblewrap
//! sandbox (the default, no account) and — against their official API contracts — Daytona and E2B.
//!
//! Terminals inside a sandbox reuse [`crate::terminal`]: a provider hands out the
//! [`TerminalSpec`](crate::terminal::TerminalSpec) to run (local) and the terminal manager does the rest.

mod error;
pub mod local;
pub mod mirror;
pub mod remote;
pub mod service;
pub mod tail;
mod types;

pub use error::SandboxError;
pub use types::*;

use std::sync::Arc;

use async_trait::async_trait;

use crate::terminal::{TerminalHandle, TerminalSink};

/// Receives a streamed command's output as it arrives.
pub trait ExecSink: Send {
    fn stdout(&mut self, data: &[u8]);
    fn stderr(&mut self, data: &[u8]);
}

/// A place where a project runs. Every call names the sandbox by the id `create` returned.
#[async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Creates (and starts) a sandbox for the project.
    async fn create(&self, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError>;
    async fn get(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn list(&self) -> Result<Vec<SandboxInfo>, SandboxError>;
    async fn start(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn stop(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn pause(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn resume(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn delete(&self, id: &str) -> Result<(), SandboxError>;

    /// Runs a command to completion, streaming its output to `sink`.
    async fn exec(&self, id: &str, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, SandboxError>;

    /// Processes running in the sandbox, where the provider can tell.
    async fn processes(&self, id: &str) -> Result<Vec<ProcessInfo>, SandboxError>;

    // Files, with workspace-relative paths.
    async fn put_file(&self, id: &str, path: &str, data: &[u8]) -> Result<(), SandboxError>;
    async fn get_file(&self, id: &str, path: &str) -> Result<Vec<u8>, SandboxError>;
    async fn list_files(&self, id: &str, path: &str) -> Result<Vec<RemoteEntry>, SandboxError>;
    async fn remove_file(&self, id: &str, path: &str) -> Result<(), SandboxError>;
    async fn make_dir(&self, id: &str, path: &str) -> Result<(), SandboxError>;

    /// Where the preview of `port` is reached (URL and any headers to inject).
    async fn preview(&self, id: &str, port: u16) -> Result<PreviewTarget, SandboxError>;

    /// An interactive shell on the provider's PTY, its output going to `sink`.
    async fn open_terminal(
        &self,
        _id: &str,
        _cols: u16,
        _rows: u16,
        _sink: Box<dyn TerminalSink>,
    ) -> Result<Arc<dyn TerminalHandle>, SandboxError> {
        Err(SandboxError::Unsupported("interactive terminals with this provider"))
    }
}
