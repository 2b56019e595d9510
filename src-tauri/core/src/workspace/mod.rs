//! The open project folder: listing, files, search and live change notifications.

mod error;
pub mod files;
pub mod ignore_rules;
pub mod search;
pub mod tracked;
pub mod tree;
pub mod watcher;

pub use error::WorkspaceError;
