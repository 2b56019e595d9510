//! Per-project sandbox settings (stored as JSON; the type is `sandbox::settings`), sandbox
//! sessions and the execution history.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use ts_rs::TS;

use super::{now_ms, Store, StoreError};
use crate::sandbox::settings::ProjectSettings;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ExecutionRecord {
    pub command: String,
    pub exit_code: Option<i32>,
    #[ts(type = "number")]
    pub started_at_ms: i64,
    #[ts(type = "number | null")]
    pub duration_ms: Option<i64>,
    #[ts(type = "number")]
    pub bytes_out: i64,
    pub provider: Option<String>,
}

/// Use per provider as recorded (see `sandbox::cost::usage` for what the panel shows).
#[derive(Debug, Clone)]
pub struct UsageRow {
    pub provider: String,
    pub sandboxes: u32,
    pub sandbox_hours: f64,
    pub executions: u32,
}

/// Part of a sandbox session (see [`Store::session_spans`]).
#[derive(Debug, Clone)]
pub struct SessionSpan {
    pub provider: String,
    pub ms: i64,
    pub cpu: Option<f64>,
    pub memory_gib: Option<f64>,
}

/// One remote sandbox's sessions on this machine (see [`Store::sandbox_record`]).
#[derive(Debug, Clone)]
pub struct SandboxRecord {
    pub project_id: i64,
    /// Their time, open ones until now.
    pub ms: i64,
    /// When the last one ended (now when one is open).
    pub last_ms: i64,
    pub open: bool,
    pub cpu: Option<f64>,
    pub memory_gib: Option<f64>,
}

impl Store {
    pub fn project_settings(&self, project_id: i64) -> Result<ProjectSettings, StoreError> {
        let json: Option<String> = self
            .with(|c| {
                c.query_row("SELECT settings_json FROM projects WHERE id = ?1", [project_id], |r| r.get(0)).optional()
            })?
            .flatten();
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default())
    }

    pub fn save_project_settings(&self, project_id: i64, s: &ProjectSettings) -> Result<(), StoreError> {
        let json = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.with(|c| c.execute("UPDATE projects SET settings_json = ?1 WHERE id = ?2", params![json, project_id]))?;
        Ok(())
    }

    /// Records a new sandbox session of a sandbox of `size` (vCPUs, GiB of memory, where the
    /// provider says); returns its row id.
    pub fn start_sandbox_session(
        &self,
        project_id: i64,
        provider: &str,
        remote_id: &str,
        state: &str,
        size: (Option<f64>, Option<f64>),
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        self.with(|c| {
            c.query_row(
                "INSERT INTO sandbox_sessions (project_id, provider, remote_id, state, created_at, updated_at, cpu, memory_gib)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7) RETURNING id",
                params![project_id, provider, remote_id, state, now, size.0, size.1],
                |r| r.get(0),
            )
        })
    }

    /// What this machine recorded of remote sandbox `remote_id`'s sessions.
    pub fn sandbox_record(&self, remote_id: &str) -> Result<Option<SandboxRecord>, StoreError> {
        let now = now_ms();
        self.with(|c| {
            c.query_row(
                "SELECT MAX(project_id), SUM(COALESCE(ended_at, ?1) - created_at), MAX(COALESCE(ended_at, ?1)),
                        SUM(ended_at IS NULL), MAX(cpu), MAX(memory_gib)
                 FROM sandbox_sessions WHERE remote_id = ?2 GROUP BY remote_id",
                params![now, remote_id],
                |r| {
                    Ok(SandboxRecord {
                        project_id: r.get(0)?,
                        ms: r.get(1)?,
                        last_ms: r.get(2)?,
                        open: r.get::<_, i64>(3)? > 0,
                        cpu: r.get(4)?,
                        memory_gib: r.get(5)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Each session's part of the time since `since_ms` (open ones count until now), with its
    /// size.
    pub fn session_spans(&self, since_ms: i64) -> Result<Vec<SessionSpan>, StoreError> {
        let now = now_ms();
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT provider, MIN(COALESCE(ended_at, ?1), ?1) - MAX(created_at, ?2), cpu, memory_gib
                 FROM sandbox_sessions WHERE COALESCE(ended_at, ?1) > ?2",
            )?;
            let rows = st.query_map(params![now, since_ms], |r| {
                Ok(SessionSpan {
                    provider: r.get(0)?,
                    ms: r.get::<_, i64>(1)?.max(0),
                    cpu: r.get(2)?,
                    memory_gib: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Updates a session's state; `ended` closes it (deleted, or the app stopped it).
    pub fn update_sandbox_session(&self, id: i64, state: &str, ended: bool) -> Result<(), StoreError> {
        let now = now_ms();
        self.with(|c| {
            c.execute(
                "UPDATE sandbox_sessions SET state = ?1, updated_at = ?2,
                   ended_at = CASE WHEN ?3 THEN COALESCE(ended_at, ?2) ELSE ended_at END
                 WHERE id = ?4",
                params![state, now, ended, id],
            )
        })?;
        Ok(())
    }

    /// Aura still has session `id`'s sandbox open (a heartbeat): a crash ends the session here.
    pub fn touch_sandbox_session(&self, id: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sandbox_sessions SET updated_at = ?1 WHERE id = ?2 AND ended_at IS NULL",
                params![now_ms(), id],
            )
        })?;
        Ok(())
    }

    /// The id of the project's newest sandbox at `provider` that was not deleted, if any: the
    /// one to reattach to.
    pub fn last_remote_sandbox(&self, project_id: i64, provider: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT remote_id FROM sandbox_sessions WHERE project_id = ?1 AND provider = ?2
                 ORDER BY id DESC LIMIT 1",
                params![project_id, provider],
                |r| r.get::<_, String>(0),
            )
            .optional()
        })
        .map(|id| id.filter(|id| !id.is_empty()))
        .and_then(|id| match id {
            Some(id) if self.sandbox_deleted(&id)? => Ok(None),
            other => Ok(other),
        })
    }

    fn sandbox_deleted(&self, remote_id: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM sandbox_sessions WHERE remote_id = ?1 AND state = 'destroyed')",
                [remote_id],
                |r| r.get(0),
            )
        })
    }

    /// Remote sessions left open by a crash end at their last update, so usage hours stop
    /// growing; their state is kept (the sandbox itself may still be there to reattach to).
    pub fn close_crashed_remote_sessions(&self) -> Result<usize, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sandbox_sessions SET ended_at = updated_at WHERE ended_at IS NULL AND provider != 'local'",
                [],
            )
        })
    }

    /// Sessions left open by a crash are closed at their last update.
    pub fn close_stale_sessions(&self, provider: &str) -> Result<usize, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sandbox_sessions SET ended_at = updated_at, state = 'destroyed' WHERE ended_at IS NULL AND provider = ?1",
                [provider],
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn record_execution(
        &self,
        project_id: i64,
        session_id: Option<i64>,
        command: &str,
        exit_code: Option<i32>,
        started_at_ms: i64,
        duration_ms: i64,
        bytes_out: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO executions (project_id, session_id, command, exit_code, started_at, duration_ms, bytes_out)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![project_id, session_id, command, exit_code, started_at_ms, duration_ms, bytes_out],
            )
        })?;
        Ok(())
    }

    pub fn recent_executions(&self, project_id: i64, limit: u32) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT e.command, e.exit_code, e.started_at, e.duration_ms, e.bytes_out, s.provider
                 FROM executions e LEFT JOIN sandbox_sessions s ON s.id = e.session_id
                 WHERE e.project_id = ?1 ORDER BY e.started_at DESC, e.id DESC LIMIT ?2",
            )?;
            let rows = st.query_map(params![project_id, limit], |r| {
                Ok(ExecutionRecord {
                    command: r.get(0)?,
                    exit_code: r.get(1)?,
                    started_at_ms: r.get(2)?,
                    duration_ms: r.get(3)?,
                    bytes_out: r.get(4)?,
                    provider: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Sandbox hours (open sessions count until now) and executions, per provider.
    pub fn usage(&self) -> Result<Vec<UsageRow>, StoreError> {
        let now = now_ms();
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT s.provider, COUNT(DISTINCT s.id),
                        SUM(COALESCE(s.ended_at, ?1) - s.created_at) / 3600000.0,
                        (SELECT COUNT(*) FROM executions e JOIN sandbox_sessions s2 ON s2.id = e.session_id WHERE s2.provider = s.provider)
                 FROM sandbox_sessions s GROUP BY s.provider ORDER BY s.provider",
            )?;
            let rows = st.query_map([now], |r| {
                Ok(UsageRow { provider: r.get(0)?, sandboxes: r.get(1)?, sandbox_hours: r.get(2)?, executions: r.get(3)? })
            })?;
            rows.collect()
        })
    }
}
