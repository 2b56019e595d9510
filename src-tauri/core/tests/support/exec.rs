//! Running commands in a sandbox from a test: a sink that keeps stdout and stderr together, and
//! a runtime. Shared by the sandbox tests via `#[path]`.
#![allow(dead_code)]

use aura_core::sandbox::ExecSink;

/// Everything a command printed, stdout and stderr in arrival order.
#[derive(Default)]
pub struct Collect(pub Vec<u8>);

impl ExecSink for Collect {
    fn stdout(&mut self, d: &[u8]) {
        self.0.extend_from_slice(d);
    }
    fn stderr(&mut self, d: &[u8]) {
        self.0.extend_from_slice(d);
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}
