//! Self-update policy: which server to ask, what its manifest offers, and whether that offer is an
//! update for this install — with a sentence a user can act on for every refusal.
//!
//! Downloading the package, verifying its signature and installing it are the Tauri updater
//! plugin's job; the shell drives it (`src-tauri/src/updates.rs`). This module knows nothing of
//! Tauri: the shell asks [`check`] first, so a server that is down, a 404, a malformed manifest,
//! a missing package for this platform or a downgrade are refused here with their cause.

mod check;
mod endpoint;
mod error;
mod install;
mod manifest;
mod progress;
mod settings;
mod version;

pub use check::{check, Check, Offer};
pub use endpoint::{expand, parse_endpoint};
pub use error::UpdateError;
pub use install::{install_as_root, running_as_root};
pub use manifest::{Release, Target};
pub use progress::UpdateProgress;
pub use settings::UpdateSettings;
pub use version::compare;
