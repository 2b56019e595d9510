//! The sync engine: local disk is the source of truth; every change is journaled in
//! SQLite before anything else, then pushed to an S3-compatible bucket (Cloudflare R2) as
//! content-addressed blobs plus one snapshot manifest per pass, with HEAD moved by conditional
//! writes so two machines never overwrite each other.
//!
//! - `state`: all of sync's SQL — `journal` (the durable queue of changes), the manifest, the
//!   engine's position; `scan`: what changed, hashing only what must be.
//! - `bucket`: one project in a bucket over an object store (S3 through aws-sdk-s3, or memory);
//!   `snapshot`: the manifests it stores; `engine`: passes, restore, history, garbage collection.
//! - `error`: the one error of sync.
//! - `settings`: where the bucket is; `service`: the background worker for the open project.
//! - `links`: symbolic links as snapshot entries (target text as content, Git's link mode).
//! - `folders`: folders as snapshot entries (empty ones and modes survive a restore).
//! - `explain`: why a path is synced or not (the rule, the folder, the link, the size).
//! - `carried`: the paths sync carries (shared with the remote sandbox's copy and agent undo).
//! - `crypto`: end-to-end encryption — the project key, sealing, keyed addresses, the phrase.

pub mod bucket;
pub(crate) mod carried;
pub mod crypto;
pub mod engine;
pub mod error;
pub mod explain;
pub mod folders;
pub mod links;
pub mod scan;
pub mod service;
pub mod settings;
pub mod snapshot;
pub mod state;

pub use error::SyncError;
pub use scan::{scan, scan_hints, FileState, ScanReport};
pub use state::journal::{JournalEntry, JournalOp};
