//! Aura's headless core.
//!
//! Nothing here knows about Tauri: every module is driven by plain Rust calls, so the whole core is
//! testable without a window. The Tauri command layer (`src-tauri/src/commands`) only translates IPC
//! to these calls.

pub mod agent;
pub mod create;
pub mod error;
pub mod git;
pub mod host_run;
pub mod netpolicy;
pub mod paths;
pub mod preview;
pub mod project;
pub mod run;
pub mod samples;
pub mod sandbox;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod terminal;
pub mod update;
pub mod workspace;

pub use error::UserFacing;
pub use paths::{PathError, ProjectRoot};

/// Makes `ring` the process's TLS crypto provider (every HTTP client of the core needs one; the
/// first call wins, later ones do nothing).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
