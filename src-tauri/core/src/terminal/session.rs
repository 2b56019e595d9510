//! One PTY session: the child process, and its writer, reader and flusher threads around the
//! terminal's [`Relay`].

use std::io::{Read, Write};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use portable_pty::{native_pty_system, ChildKiller, CommandBuilder, MasterPty, PtySize};

use super::relay::Relay;
use super::{TerminalError, TerminalHandle, TerminalSpec};

/// Where a terminal's output goes. Called from background threads.
pub trait TerminalSink: Send + 'static {
    fn output(&mut self, data: Vec<u8>);
    /// The process ended (`None` when its status is unknown).
    fn exit(&mut self, code: Option<u32>);
}

pub(super) struct Session {
    master: Mutex<Box<dyn MasterPty + Send>>,
    /// Input for the writer thread, in order: writing to a PTY blocks while the program does not
    /// read (a paste into `sleep`), and the caller (the UI) must never wait for that.
    input: Sender<Vec<u8>>,
    killer: Mutex<Box<dyn ChildKiller + Send + Sync>>,
    pid: Option<u32>,
    relay: Arc<Relay>,
}

/// Hands queued input to the PTY until the program ends (its side closes) or the session goes.
fn write_loop(mut w: Box<dyn Write + Send>, pending: &std::sync::mpsc::Receiver<Vec<u8>>) {
    while let Ok(data) = pending.recv() {
        if let Err(e) = w.write_all(&data).and_then(|_| w.flush()) {
            tracing::debug!(error = %e, "terminal input stopped");
            return;
        }
    }
}

fn default_shell() -> String {
    std::env::var("SHELL")
        .ok()
        .filter(|s| std::path::Path::new(s).exists())
        .or_else(|| ["/bin/bash", "/bin/sh"].iter().find(|p| std::path::Path::new(p).exists()).map(|s| s.to_string()))
        .unwrap_or_else(|| "/bin/sh".into())
}

impl Session {
    pub(super) fn spawn(spec: TerminalSpec, sink: Box<dyn TerminalSink>) -> Result<Arc<Self>, TerminalError> {
        let spawn_err = |e: anyhow_like::Error| TerminalError::Spawn(e.0);
        let pair = native_pty_system()
            .openpty(PtySize { rows: spec.rows.max(1), cols: spec.cols.max(1), pixel_width: 0, pixel_height: 0 })
            .map_err(|e| spawn_err(e.into()))?;
        let mut cmd = CommandBuilder::new(spec.program.clone().unwrap_or_else(default_shell));
        cmd.args(&spec.args);
        cmd.cwd(&spec.cwd);
        cmd.env("TERM", "xterm-256color");
        cmd.env("COLORTERM", "truecolor");
        cmd.env("TERM_PROGRAM", "Aura");
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let slave = pair.slave;
        let mut child = match spec.launcher {
            None => slave.spawn_command(cmd),
            Some(launch) => {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                launch(Box::new(move || {
                    let _ = tx.send(slave.spawn_command(cmd));
                }))
                .map_err(TerminalError::Spawn)?;
                rx.recv().map_err(|_| TerminalError::Spawn("the terminal's program was not started".into()))?
            }
        }
        .map_err(|e| spawn_err(e.into()))?;
        let reader = pair.master.try_clone_reader().map_err(|e| spawn_err(e.into()))?;
        let writer = pair.master.take_writer().map_err(|e| spawn_err(e.into()))?;
        let (input, pending) = std::sync::mpsc::channel();
        let session = Arc::new(Session {
            pid: child.process_id(),
            killer: Mutex::new(child.clone_killer()),
            master: Mutex::new(pair.master),
            input: input.clone(),
            relay: Arc::new(Relay::new(spec.cols, spec.rows)),
        });

        std::thread::Builder::new()
            .name("pty-writer".into())
            .spawn(move || write_loop(writer, &pending))
            .map_err(|e| TerminalError::Spawn(e.to_string()))?;

        let relay = session.relay.clone();
        std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || read_loop(reader, &relay, &input))
            .map_err(|e| TerminalError::Spawn(e.to_string()))?;

        let relay = session.relay.clone();
        std::thread::Builder::new()
            .name("pty-flusher".into())
            .spawn(move || {
                let mut sink = sink;
                relay.run(sink.as_mut());
                let code = child.wait().ok().map(|s| s.exit_code());
                sink.exit(code);
            })
            .map_err(|e| TerminalError::Spawn(e.to_string()))?;
        Ok(session)
    }
}

impl TerminalHandle for Session {
    fn write(&self, data: &[u8]) -> Result<(), TerminalError> {
        self.relay.typed();
        self.input.send(data.to_vec()).map_err(|_| TerminalError::Io("the terminal's program has ended".into()))
    }

    fn resize(&self, cols: u16, rows: u16) -> Result<(), TerminalError> {
        self.relay.resize(cols, rows);
        self.master
            .lock()
            .resize(PtySize { rows: rows.max(1), cols: cols.max(1), pixel_width: 0, pixel_height: 0 })
            .map_err(|e| TerminalError::Io(e.to_string()))
    }

    fn ack(&self, bytes: usize) {
        self.relay.ack(bytes);
    }

    fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Hangs up the whole process group, then kills what is left of it.
    fn kill(&self) {
        self.relay.kill();
        if let Some(pid) = self.pid {
            let pgid = pid as libc::pid_t;
            // SAFETY: plain syscalls on a process group we created (portable-pty calls setsid).
            unsafe {
                libc::killpg(pgid, libc::SIGHUP);
                libc::killpg(pgid, libc::SIGCONT);
            }
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                unsafe {
                    libc::killpg(pgid, libc::SIGKILL);
                }
            });
        }
        let _ = self.killer.lock().kill();
    }
}

/// Reads the program's output as fast as it comes (the relay never holds it back) and answers
/// the queries the widget will not see.
fn read_loop(mut reader: Box<dyn Read + Send>, relay: &Relay, input: &Sender<Vec<u8>>) {
    let mut chunk = vec![0u8; 64 * 1024];
    while !relay.killed() {
        match reader.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let replies = relay.push(&chunk[..n]);
                if !replies.is_empty() {
                    let _ = input.send(replies);
                }
            }
        }
    }
    relay.end();
}

/// portable-pty reports `anyhow::Error`; keep only its message without depending on anyhow.
mod anyhow_like {
    pub struct Error(pub String);
    impl<E: std::fmt::Display> From<E> for Error {
        fn from(e: E) -> Self {
            Error(format!("{e:#}"))
        }
    }
}
