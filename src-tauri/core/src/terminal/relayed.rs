//! A terminal whose output arrives from elsewhere (a remote sandbox's PTY stream) put behind a
//! [`Relay`] like a local one: batched, acknowledged, and repainted instead of queued when the
//! widget falls behind a flood.

use std::sync::Arc;

use super::relay::Relay;
use super::{TerminalError, TerminalHandle, TerminalSink};

/// Starts the relay's flusher for `sink`; returns the sink the output source writes to, and
/// what turns the source's handle into the terminal's (see [`Relayed::handle`]).
pub fn relay_output(
    cols: u16,
    rows: u16,
    sink: Box<dyn TerminalSink>,
) -> Result<(Box<dyn TerminalSink>, Relayed), TerminalError> {
    let relay = Arc::new(Relay::new(cols, rows));
    let flusher = relay.clone();
    std::thread::Builder::new()
        .name("pty-flusher".into())
        .spawn(move || {
            let mut sink = sink;
            flusher.run(sink.as_mut());
            sink.exit(flusher.exit_code());
        })
        .map_err(|e| TerminalError::Spawn(e.to_string()))?;
    Ok((Box::new(Source(relay.clone())), Relayed(relay)))
}

/// The sink an output source writes to: everything goes through the relay.
struct Source(Arc<Relay>);

impl TerminalSink for Source {
    fn output(&mut self, data: Vec<u8>) {
        // Answers to queries in output the widget skips are not sent back: the source's input
        // is its handle's, which the relay does not hold. Programs that ask wait or go on.
        let _ = self.0.push(&data);
    }
    fn exit(&mut self, code: Option<u32>) {
        self.0.end_with(code);
    }
}

/// A relay waiting for the handle of its output source.
pub struct Relayed(Arc<Relay>);

impl Relayed {
    /// The terminal: input goes to `inner`, acknowledgements and sizes to the relay as well.
    pub fn handle(self, inner: Arc<dyn TerminalHandle>) -> Arc<dyn TerminalHandle> {
        Arc::new(Handle { inner, relay: self.0 })
    }
}

struct Handle {
    inner: Arc<dyn TerminalHandle>,
    relay: Arc<Relay>,
}

impl TerminalHandle for Handle {
    fn write(&self, data: &[u8]) -> Result<(), TerminalError> {
        self.relay.typed();
        self.inner.write(data)
    }
    fn resize(&self, cols: u16, rows: u16) -> Result<(), TerminalError> {
        self.relay.resize(cols, rows);
        self.inner.resize(cols, rows)
    }
    fn ack(&self, bytes: usize) {
        self.relay.ack(bytes);
    }
    fn kill(&self) {
        self.relay.kill();
        self.inner.kill();
    }
    fn pid(&self) -> Option<u32> {
        self.inner.pid()
    }
}
