//! What the update dialog shows while an update goes in.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "phase", rename_all = "snake_case")]
#[ts(export)]
pub enum UpdateProgress {
    /// `total` is unknown when the server sends no length.
    Downloading {
        #[ts(type = "number")]
        got: u64,
        #[ts(type = "number | null")]
        total: Option<u64>,
    },
    /// A sync pass is committing; the install waits for it.
    WaitingForSync,
    Installing,
    Restarting,
}
