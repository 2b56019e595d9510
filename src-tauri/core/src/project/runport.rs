//! The window's Run terminal, followed for the port its app opens (see [`crate::run::port`]).

use std::sync::Arc;

use parking_lot::Mutex;

use super::{ProjectError, ProjectHost};
use crate::run::port::PortWatch;
use crate::terminal::TerminalSink;

/// The Run terminal now open, and what is known of its port.
#[derive(Default)]
pub(super) struct RunPorts {
    current: Mutex<Option<(u32, Arc<Mutex<PortWatch>>)>>,
}

/// Passes a terminal's output on, reading the addresses it prints on the way.
struct Watching<S> {
    inner: S,
    watch: Arc<Mutex<PortWatch>>,
}

impl<S: TerminalSink> TerminalSink for Watching<S> {
    fn output(&mut self, data: Vec<u8>) {
        self.watch.lock().feed(&data);
        self.inner.output(data)
    }
    fn exit(&mut self, code: Option<u32>) {
        self.inner.exit(code)
    }
}

impl ProjectHost {
    /// Opens the Run terminal in the project's sandbox, its output followed for the app's port:
    /// `saved` (from `.aura/run.json`) is the only one awaited; `hint` (the framework's usual
    /// port) decides between ports that open at the same moment.
    pub async fn open_run_terminal(
        &self,
        cols: u16,
        rows: u16,
        saved: Option<u16>,
        hint: Option<u16>,
        sink: impl TerminalSink,
    ) -> Result<u32, ProjectError> {
        let watch = Arc::new(Mutex::new(PortWatch::new(saved, hint, [])));
        let id = self.open_terminal(true, cols, rows, Watching { inner: sink, watch: watch.clone() }).await?;
        // Nothing of the run has started yet (its command is typed into the shell next): what
        // listens now is not the app.
        let p = self.project()?;
        let before = self.sandboxes.listening_ports(&p.record).await.unwrap_or_default();
        watch.lock().listened_before(before);
        *self.run_ports.current.lock() = Some((id, watch));
        Ok(id)
    }

    /// The port the app of Run terminal `terminal` serves on, once it is known.
    pub async fn run_port(&self, terminal: u32) -> Result<Option<u16>, ProjectError> {
        let watch = match &*self.run_ports.current.lock() {
            Some((id, w)) if *id == terminal => w.clone(),
            _ => return Ok(None),
        };
        let p = self.project()?;
        let listening = self.sandboxes.listening_ports(&p.record).await?;
        let port = watch.lock().decide(&listening);
        Ok(port)
    }
}
