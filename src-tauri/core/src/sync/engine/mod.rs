//! Sync passes to the bucket, and restores from it.
//!
//! `push` drains the journal: changed files are read, hashed and stored as blobs (once per
//! content; `concurrency` at a time; large files in parts), then one snapshot of the whole
//! project is committed with a conditional HEAD write. Only after that commit are the journal
//! entries dropped and the manifest updated (one SQLite transaction), so a crash or a dead
//! network at any point leaves the journal as it was: the next pass redoes the work (blobs
//! already stored are not sent again). A conflict leaves everything queued.
//!
//! A pass notes the snapshot it is committing (`sync_inflight`) before moving HEAD. If the
//! process dies after HEAD moved but before the commit was recorded, the next pass finds HEAD
//! at its own snapshot and takes it as its position instead of reporting a false conflict.

//!
//! Split by phase: `plan` (what a pass does, decided without I/O), `push` (a pass), `restore`
//! (restore, adopt, one file), `history` (versions, retention, garbage collection), and sync's SQL
//! is in `sync::state`. [`ProjectSync`] names the project an operation works on.

mod adopt;
mod convert;
mod history;
mod packer;
pub(crate) mod plan;
mod push;
mod restore;

pub use adopt::*;
pub use convert::*;
pub use history::*;
pub use push::*;
pub use restore::*;

use packer::Packer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

use cap_std::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};

use futures::stream::{StreamExt, TryStreamExt};

use super::bucket::Bucket;
use super::error::SyncError;
use super::scan::FileState;
use super::snapshot::{Snapshot, SnapshotFile};
use crate::paths::{rel_bytes, ProjectRoot};
use crate::store::{now_ms, Store};
use crate::workspace::ignore_rules;

/// One project's sync: its folder, its rows in SQLite, its place in the bucket, and how passes
/// upload. Passes ([`ProjectSync::push`]), adopting a snapshot and restoring one file work on it.
#[derive(Clone, Copy)]
pub struct ProjectSync<'a> {
    pub root: &'a ProjectRoot,
    pub store: &'a Store,
    pub project_id: i64,
    pub bucket: &'a Bucket,
    pub opts: &'a PushOptions,
}

/// How a pass uploads.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Uploads (files, or parts of one large file) in flight at once.
    pub concurrency: usize,
    /// Files at least this large go up in parts.
    pub multipart_threshold: u64,
    pub part_size: u64,
    /// Files larger than this are not synced (a per-file error says so).
    pub max_file_size: u64,
    /// Written into snapshots: which machine made them.
    pub machine: String,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            multipart_threshold: 64 * 1024 * 1024,
            part_size: 16 * 1024 * 1024,
            max_file_size: 1024 * 1024 * 1024,
            machine: machine_name(),
        }
    }
}

/// This machine's host name.
pub fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

#[derive(Debug, Default)]
pub struct PushReport {
    /// Paths whose content was sent.
    pub uploaded: Vec<Vec<u8>>,
    /// Blobs the bucket already had (same content elsewhere, or a retried pass).
    pub already_there: usize,
    pub bytes_sent: u64,
    pub deleted: Vec<Vec<u8>>,
    pub snapshot: Option<String>,
    /// Per-file problems; those files stay queued.
    pub errors: Vec<(Vec<u8>, String)>,
    /// Seen but not carried, with the reason (a link leading outside the project).
    pub skipped: Vec<(Vec<u8>, String)>,
}

/// Where a pass's snapshot goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitTo {
    /// Move HEAD from where this machine last saw it (the normal pass).
    Head,
    /// Move HEAD from wherever it is now: "keep mine" after a conflict (the other version
    /// stays in the history as HEAD's parent).
    HeadOverriding,
    /// Store the snapshot beside the history without moving HEAD (keeping local changes
    /// before taking another version).
    Side,
}

impl ProjectSync<'_> {
    /// The settings key of an encrypted project's highest HEAD sequence seen here.
    fn head_floor_key(&self) -> String {
        format!("sync.head_floor.{}", self.bucket.location())
    }

    /// An encrypted project's highest HEAD sequence this machine has seen, from SQLite: an
    /// older HEAD put back is refused after a restart too (see `Bucket::read_head`).
    pub(super) fn load_head_floor(&self) {
        if self.bucket.cipher().is_none() {
            return;
        }
        if let Ok(Some(n)) = self.store.setting(&self.head_floor_key()) {
            if let Ok(n) = n.parse() {
                self.bucket.set_head_floor(n);
            }
        }
    }

    /// Keeps the highest HEAD sequence seen for the next run.
    pub(super) fn keep_head_floor(&self) {
        let n = self.bucket.head_floor();
        if self.bucket.cipher().is_some() && n > 0 {
            if let Err(e) = self.store.set_setting(&self.head_floor_key(), Some(&n.to_string())) {
                tracing::warn!(error = %e, "the HEAD sequence seen was not kept");
            }
        }
    }
}

pub(crate) fn hex(h: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*h).to_hex().to_string()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    blake3::Hash::from_hex(s).ok().map(|h| *h.as_bytes())
}

fn shown(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}
