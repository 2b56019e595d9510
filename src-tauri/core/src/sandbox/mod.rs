//! Where a project's commands run: one [`Provider`], made of capabilities as wezterm's PTY
//! system is ([`Lifecycle`], [`Exec`], [`Files`], [`Terminals`], [`Previews`]) plus the
//! delivery of the project's files, implemented by the local bubblewrap sandbox (the default,
//! no account) and — against their official API contracts — Daytona and E2B. The service uses
//! any of them the same way.

pub mod cost;
mod error;
pub mod fleet;
pub mod keepalive;
pub mod ledger;
pub mod local;
pub mod mirror;
pub mod pkgcache;
mod reattach;
pub mod remote;
pub mod service;
pub mod settings;
pub mod tail;
mod types;

pub use error::SandboxError;
pub use types::*;

use std::sync::Arc;

use async_trait::async_trait;

use crate::paths::ProjectRoot;
use crate::preview::Upstream;
use crate::terminal::{TerminalHandle, TerminalSink};

/// Receives a streamed command's output as it arrives.
pub trait ExecSink: Send {
    fn stdout(&mut self, data: &[u8]);
    fn stderr(&mut self, data: &[u8]);
}

/// Sandboxes at one provider: made, found, started, stopped and removed. Every other call
/// names a sandbox by the id `create` returned.
#[async_trait]
pub trait Lifecycle: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Creates (and starts) a sandbox; the project gets into it with [`Provider::deliver`].
    async fn create(&self, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError>;
    async fn get(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn list(&self) -> Result<Vec<SandboxInfo>, SandboxError>;
    /// The sandboxes that carry all of `labels` (Daytona labels, E2B metadata), newest first
    /// where the provider says.
    async fn list_labelled(&self, labels: &[(String, String)]) -> Result<Vec<SandboxInfo>, SandboxError> {
        let _ = labels;
        Err(SandboxError::Unsupported("finding sandboxes by label"))
    }
    async fn start(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn stop(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn pause(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn resume(&self, id: &str) -> Result<SandboxInfo, SandboxError>;
    async fn delete(&self, id: &str) -> Result<(), SandboxError>;
    /// The sandbox is in use: it must not stop for `idle` from now (see [`keepalive`]). Nothing
    /// to tell where the provider has no idle stop of its own (the local one).
    async fn keep_alive(&self, id: &str, idle: std::time::Duration) -> Result<(), SandboxError> {
        let _ = (id, idle);
        Ok(())
    }
}

/// Commands in a sandbox.
#[async_trait]
pub trait Exec: Send + Sync {
    /// Runs a command to completion, streaming its output to `sink`.
    async fn exec(&self, id: &str, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, SandboxError>;

    /// Processes running in the sandbox, where the provider can tell.
    async fn processes(&self, id: &str) -> Result<Vec<ProcessInfo>, SandboxError>;
}

/// Files in a sandbox's workspace, with workspace-relative paths.
#[async_trait]
pub trait Files: Send + Sync {
    async fn put_file(&self, id: &str, path: &str, data: &[u8]) -> Result<(), SandboxError>;
    async fn get_file(&self, id: &str, path: &str) -> Result<Vec<u8>, SandboxError>;
    async fn list_files(&self, id: &str, path: &str) -> Result<Vec<RemoteEntry>, SandboxError>;
    async fn remove_file(&self, id: &str, path: &str) -> Result<(), SandboxError>;
    async fn make_dir(&self, id: &str, path: &str) -> Result<(), SandboxError>;
}

/// Interactive shells in a sandbox.
#[async_trait]
pub trait Terminals: Send + Sync {
    /// A shell on a PTY in the sandbox (a local one here, the provider's otherwise), its output
    /// going to `sink`.
    async fn open_terminal(
        &self,
        id: &str,
        cols: u16,
        rows: u16,
        sink: Box<dyn TerminalSink>,
    ) -> Result<Arc<dyn TerminalHandle>, SandboxError>;
}

/// A sandbox's servers, as the preview reaches them.
#[async_trait]
pub trait Previews: Send + Sync {
    /// Where the preview proxy sends requests for `port` of sandbox `id`. `None` before the
    /// project has a sandbox: a provider whose previews follow the sandbox once it exists says
    /// where (local); the others say there is none yet.
    async fn preview(&self, id: Option<&str>, port: u16) -> Result<Upstream, SandboxError>;

    /// TCP ports the sandbox's servers listen on, where the provider can tell.
    async fn listening_ports(&self, _id: &str) -> Result<Vec<u16>, SandboxError> {
        Ok(Vec::new())
    }
}

/// How the project's files reach a new sandbox and stay equal there.
pub enum Delivery {
    /// The project folder itself is mounted: nothing to copy or follow.
    Mounted,
    /// A copy, kept equal through the provider's files API as the project changes.
    Mirrored(Arc<mirror::Mirror>),
}

/// A place where a project runs: every capability, and the delivery of the project's files.
#[async_trait]
pub trait Provider: Lifecycle + Exec + Files + Terminals + Previews {
    /// Puts `project` into sandbox `id` and keeps it there (see [`Delivery`]); a copy sends only
    /// what differs from what `ledger` says the sandbox already holds.
    async fn deliver(
        self: Arc<Self>,
        id: &str,
        project: &ProjectRoot,
        ledger: ledger::Ledger,
    ) -> Result<Delivery, SandboxError>;
}
