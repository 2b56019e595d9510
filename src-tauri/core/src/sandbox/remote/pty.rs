//! The driver of a remote PTY, shared by the providers: the terminal's handle queues input,
//! resizes and the kill to one task, which hands them in order to the provider's
//! [`PtyControl`] (Daytona: a WebSocket and REST; E2B: Connect-RPC calls).

use std::sync::Arc;

use async_trait::async_trait;

use crate::sandbox::SandboxError;
use crate::terminal::{TerminalError, TerminalHandle};

/// How one provider talks to one of its PTYs.
#[async_trait]
pub(crate) trait PtyControl: Send + 'static {
    async fn input(&mut self, data: Vec<u8>) -> Result<(), SandboxError>;
    async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), SandboxError>;
    /// Ends the PTY and what runs in it (best effort: the terminal is gone either way).
    async fn kill(&mut self);
}

enum Cmd {
    Input(Vec<u8>),
    Resize(u16, u16),
    Kill,
}

/// The handle of a remote PTY (see the module).
pub(crate) struct RemoteTerminal {
    tx: tokio::sync::mpsc::UnboundedSender<Cmd>,
}

impl RemoteTerminal {
    /// Starts the driver task over `control`; call from inside a tokio runtime.
    pub(crate) fn start(mut control: impl PtyControl) -> Arc<Self> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Cmd>();
        tokio::spawn(async move {
            while let Some(cmd) = rx.recv().await {
                let done = match cmd {
                    Cmd::Input(d) => control.input(d).await,
                    Cmd::Resize(cols, rows) => control.resize(cols, rows).await,
                    Cmd::Kill => {
                        control.kill().await;
                        return;
                    }
                };
                if let Err(e) = done {
                    tracing::warn!(error = %e, "remote terminal call failed");
                }
            }
        });
        Arc::new(Self { tx })
    }

    fn queue(&self, cmd: Cmd) -> Result<(), TerminalError> {
        self.tx.send(cmd).map_err(|_| TerminalError::Io("the remote terminal ended".into()))
    }
}

impl TerminalHandle for RemoteTerminal {
    fn write(&self, data: &[u8]) -> Result<(), TerminalError> {
        self.queue(Cmd::Input(data.to_vec()))
    }
    fn resize(&self, cols: u16, rows: u16) -> Result<(), TerminalError> {
        self.queue(Cmd::Resize(cols, rows))
    }
    fn ack(&self, _bytes: usize) {}
    fn kill(&self) {
        let _ = self.tx.send(Cmd::Kill);
    }
    fn pid(&self) -> Option<u32> {
        None
    }
}
