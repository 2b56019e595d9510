//! Interactive terminals on real PTYs (portable-pty).
//!
//! Output is read on one thread and handed through the terminal's relay (`relay.rs`: batching,
//! flow control, and frames instead of a queue when the widget falls behind) to a flusher thread.
//! The relay keeps the terminal's state too (the `aura-screen` crate, an alacritty_terminal
//! emulator), which is what lets it send the screen instead of the bytes.

mod error;
mod relay;
mod relayed;
mod session;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

pub use error::TerminalError;
pub use relayed::{relay_output, Relayed};
use session::Session;
pub use session::TerminalSink;

/// A running terminal, local (a PTY here) or remote (a provider's PTY session).
pub trait TerminalHandle: Send + Sync {
    fn write(&self, data: &[u8]) -> Result<(), TerminalError>;
    fn resize(&self, cols: u16, rows: u16) -> Result<(), TerminalError>;
    /// The consumer rendered `bytes` more bytes (flow control).
    fn ack(&self, bytes: usize);
    /// Ends the terminal and everything it started.
    fn kill(&self);
    /// The local process-group leader, when there is one.
    fn pid(&self) -> Option<u32>;
}

/// Unacknowledged output above which the widget counts as behind, and gets frames of the screen
/// instead of the bytes (see `relay.rs`). It bounds how much output can be queued ahead of a
/// keystroke's echo when a flood starts: xterm.js parses 13-23 MB/s here.
pub const HIGH_WATER: usize = 512 * 1024;

/// Lines of scrollback the terminal keeps here; the UI's xterm.js keeps as many (`scrollback` in
/// `ui/src/terminal.ts`), so the snapshot after a flood fills it exactly.
pub const SCROLLBACK: usize = 10_000;

/// What to run in a new terminal.
#[derive(Debug, Clone)]
pub struct TerminalSpec {
    pub cwd: PathBuf,
    pub cols: u16,
    pub rows: u16,
    /// Program to run; `None` runs the user's shell (`$SHELL`, else `/bin/bash`, else `/bin/sh`).
    pub program: Option<String>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Where the program is started from, when not from the calling thread (a sandbox starts
    /// its processes from the thread whose children it supervises).
    pub launcher: Option<Launcher>,
}

/// Runs a job that starts a process, on the thread the process must come from.
pub type Launcher = fn(Box<dyn FnOnce() + Send>) -> Result<(), String>;

impl TerminalSpec {
    pub fn shell(cwd: impl Into<PathBuf>, cols: u16, rows: u16) -> Self {
        Self { cwd: cwd.into(), cols, rows, program: None, args: Vec::new(), env: Vec::new(), launcher: None }
    }
}

/// Starts a terminal on a PTY here, outside any manager (a sandbox provider hands it to one
/// with [`TerminalManager::adopt`]).
pub fn spawn(spec: TerminalSpec, sink: Box<dyn TerminalSink>) -> Result<Arc<dyn TerminalHandle>, TerminalError> {
    Ok(Session::spawn(spec, sink)?)
}

/// All open terminals of the app, by id.
#[derive(Default)]
pub struct TerminalManager {
    next_id: AtomicU32,
    sessions: Mutex<HashMap<u32, Arc<dyn TerminalHandle>>>,
}

impl TerminalManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a terminal; output and exit are reported to `sink` from background threads.
    pub fn open(&self, spec: TerminalSpec, sink: impl TerminalSink) -> Result<u32, TerminalError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let session = Session::spawn(spec, Box::new(sink))?;
        self.sessions.lock().insert(id, session);
        Ok(id)
    }

    /// Takes over a terminal started elsewhere (a remote sandbox's PTY).
    pub fn adopt(&self, handle: Arc<dyn TerminalHandle>) -> u32 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.sessions.lock().insert(id, handle);
        id
    }

    fn get(&self, id: u32) -> Result<Arc<dyn TerminalHandle>, TerminalError> {
        self.sessions.lock().get(&id).cloned().ok_or(TerminalError::NoSuchTerminal(id))
    }

    pub fn write(&self, id: u32, data: &[u8]) -> Result<(), TerminalError> {
        self.get(id)?.write(data)
    }

    pub fn resize(&self, id: u32, cols: u16, rows: u16) -> Result<(), TerminalError> {
        self.get(id)?.resize(cols, rows)
    }

    /// The consumer has rendered `bytes` more bytes of output.
    pub fn ack(&self, id: u32, bytes: usize) -> Result<(), TerminalError> {
        self.get(id)?.ack(bytes);
        Ok(())
    }

    /// Closes a terminal and kills its whole process group. Closing twice is not an error.
    pub fn close(&self, id: u32) {
        if let Some(s) = self.sessions.lock().remove(&id) {
            s.kill();
        }
    }

    /// Kills every terminal (on app exit).
    pub fn close_all(&self) {
        let all: Vec<_> = self.sessions.lock().drain().map(|(_, s)| s).collect();
        for s in all {
            s.kill();
        }
    }

    /// The process-group leader of a terminal (for tests and diagnostics).
    pub fn pid(&self, id: u32) -> Option<u32> {
        self.get(id).ok().and_then(|s| s.pid())
    }

    pub fn count(&self) -> usize {
        self.sessions.lock().len()
    }
}

impl Drop for TerminalManager {
    fn drop(&mut self) {
        self.close_all();
    }
}
