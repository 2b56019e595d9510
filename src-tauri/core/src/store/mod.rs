//! Aura's local state in one SQLite file (WAL mode), with versioned migrations.
//!
//! Holds the recent projects and each project's session (open tabs, layout). The schema already
//! has the tables the sync engine and sandboxes build on (manifest, journal, sandbox sessions,
//! executions); see `migrations.rs`.

mod error;
mod migrations;
mod mirrors;
mod projects;
mod sandboxes;
mod settings;

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::Connection;

pub use crate::sandbox::settings::ProjectSettings;
pub use error::StoreError;
pub use mirrors::Digest;
pub use projects::{PaneLayout, ProjectRecord, ProjectSession, RecentProject};
pub use sandboxes::{ExecutionRecord, SandboxRecord, SessionSpan, UsageRow};

/// The state database. Cheap to share behind an `Arc`; calls are serialized on one connection.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        }
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut conn = conn;
        migrations::migrate(&mut conn)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.lock().query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        Ok(f(&self.conn.lock())?)
    }
}

/// Milliseconds since the Unix epoch, as the store records times.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
