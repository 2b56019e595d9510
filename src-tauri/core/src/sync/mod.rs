//! The sync engine's local half (issue 4, first part): a durable change journal in SQLite and
//! a manifest-driven scan that finds what changed without rehashing what did not. Upload
//! targets (the sandbox files API, S3/R2) build on these.

pub mod engine;
pub mod journal;
pub mod s3;
pub mod scan;

pub use journal::{JournalEntry, JournalOp};
pub use scan::{scan, FileState, ScanReport};
