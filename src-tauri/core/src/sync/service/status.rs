//! What the sync panel and the status bar show: the state, the conflict, events, versions.

use serde::Serialize;
use ts_rs::TS;

/// What the status bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SyncState {
    /// Sync is not on for this project, or not set up (the message says which).
    Off,
    Syncing,
    Synced,
    /// Changes are queued (failing files, or a pass about to run).
    Pending,
    /// The bucket cannot be reached; changes queue up and go when it is back.
    Offline,
    /// Another machine moved the project on; nothing is pushed until the user picks.
    Conflict,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ConflictInfo {
    pub remote_snapshot: String,
    pub remote_machine: String,
    #[ts(type = "number")]
    pub remote_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncStatus {
    pub state: SyncState,
    /// Journal entries not in the bucket yet.
    #[ts(type = "number")]
    pub pending: u64,
    /// Of those, entries whose last try failed (see the sync panel).
    #[ts(type = "number")]
    pub failing: u64,
    pub message: Option<String>,
    pub snapshot: Option<String>,
    pub conflict: Option<ConflictInfo>,
    /// The project's key in the bucket.
    pub key: Option<String>,
    /// While a pass sends files: (files done, files in this pass).
    #[ts(type = "[number, number] | null")]
    pub progress: Option<(u64, u64)>,
    /// The project is end-to-end encrypted and this machine needs its recovery phrase (it was
    /// made encrypted, or converted, on another machine).
    pub phrase_needed: bool,
}

impl SyncStatus {
    pub(super) fn off(message: impl Into<String>) -> Self {
        Self {
            state: SyncState::Off,
            pending: 0,
            failing: 0,
            message: Some(message.into()),
            snapshot: None,
            conflict: None,
            key: None,
            progress: None,
            phrase_needed: false,
        }
    }
}

/// What a line of the sync panel is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SyncEventKind {
    Upload,
    Delete,
    Snapshot,
    Error,
    Offline,
    Conflict,
    Restore,
    /// Not synced, with the reason (the panel's "Not synced" list).
    Skipped,
    /// Kept on this machine beside what a restore wrote.
    Kept,
    Gc,
}

/// One line of the sync panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncEvent {
    #[ts(type = "number")]
    pub at_ms: i64,
    pub kind: SyncEventKind,
    pub path: Option<String>,
    pub message: String,
}

/// A snapshot in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SnapshotInfo {
    pub id: String,
    #[ts(type = "number")]
    pub created_at_ms: i64,
    pub machine: String,
    pub files: u32,
    #[ts(type = "number")]
    pub bytes: u64,
    /// Local changes kept aside when another version was taken.
    pub side: bool,
    pub head: bool,
}

/// One version of a file in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FileVersionInfo {
    pub snapshot: String,
    #[ts(type = "number")]
    pub created_at_ms: i64,
    pub machine: String,
    pub blake3: String,
    #[ts(type = "number")]
    pub size: u64,
}
