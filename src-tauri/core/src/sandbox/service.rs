//! The app's sandbox orchestration, headless: picks the provider from the project's settings,
//! creates the sandbox on demand, records sessions and executions in the store, and cleans up.

use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::local::bwrap::{self, Isolation};
use super::local::LocalProvider;
use super::*;
use crate::paths::ProjectRoot;
use crate::store::{ProjectRecord, ProjectSettings, Store};
use crate::terminal::TerminalSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SandboxAction {
    Create,
    Start,
    Stop,
    Pause,
    Resume,
    Delete,
}

/// The project's current sandbox.
#[derive(Debug, Clone)]
struct Current {
    project_id: i64,
    sandbox_id: String,
    session_row: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct IsolationStatus {
    /// "bubblewrap", "none" (the user accepted running unsandboxed), or "unavailable".
    pub mode: String,
    pub problem: Option<String>,
}

pub struct SandboxService {
    store: Arc<Store>,
    local: Mutex<Option<Arc<LocalProvider>>>,
    current: Mutex<Option<Current>>,
    /// Cached result of looking for bubblewrap.
    bwrap: Mutex<Option<Result<std::path::PathBuf, String>>>,
}

fn state_name(s: SandboxState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "unknown".into())
}

impl SandboxService {
    pub fn new(store: Arc<Store>) -> Self {
        let _ = store.close_stale_sessions("local");
        Self { store, local: Mutex::new(None), current: Mutex::new(None), bwrap: Mutex::new(None) }
    }

    fn detect(&self) -> Result<std::path::PathBuf, String> {
        self.bwrap.lock().get_or_insert_with(bwrap::detect).clone()
    }

    pub fn isolation(&self, settings: &ProjectSettings) -> IsolationStatus {
        match self.detect() {
            Ok(_) => IsolationStatus { mode: "bubblewrap".into(), problem: None },
            Err(p) if settings.allow_unsandboxed => IsolationStatus { mode: "none".into(), problem: Some(p) },
            Err(p) => IsolationStatus { mode: "unavailable".into(), problem: Some(p) },
        }
    }

    /// The local provider, created with the isolation the settings allow.
    fn local(&self, settings: &ProjectSettings) -> Result<Arc<LocalProvider>, SandboxError> {
        let wanted = match self.detect() {
            Ok(b) => Isolation::Bubblewrap { bwrap: b },
            Err(reason) if settings.allow_unsandboxed => Isolation::None { reason },
            Err(reason) => return Err(SandboxError::IsolationUnavailable(reason)),
        };
        let mut slot = self.local.lock();
        if let Some(p) = slot.as_ref() {
            if *p.isolation() == wanted {
                return Ok(p.clone());
            }
        }
        let p = Arc::new(LocalProvider::with_isolation(wanted));
        if let Some(old) = slot.replace(p.clone()) {
            old.shutdown();
        }
        Ok(p)
    }

    fn current_for(&self, project: &ProjectRecord) -> Option<Current> {
        self.current.lock().clone().filter(|c| c.project_id == project.id)
    }

    /// The project's sandbox, if it has one.
    pub async fn info(&self, project: &ProjectRecord) -> Result<Option<SandboxInfo>, SandboxError> {
        let Some(cur) = self.current_for(project) else { return Ok(None) };
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        Ok(Some(self.local(&settings)?.get(&cur.sandbox_id).await?))
    }

    /// The running sandbox of the project, created on first use.
    async fn ensure(&self, root: &ProjectRoot, project: &ProjectRecord) -> Result<(Arc<LocalProvider>, Current), SandboxError> {
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        let provider = self.local(&settings)?;
        if let Some(cur) = self.current_for(project) {
            if provider.get(&cur.sandbox_id).await.is_ok() {
                return Ok((provider, cur));
            }
        }
        // Another project's sandbox is stopped when this one starts.
        self.release().await;
        let spec = SandboxSpec {
            name: Some(root.name()),
            env: settings.env.clone(),
            limits: settings.limits.clone(),
            auto_stop_minutes: settings.auto_stop_minutes,
            ..Default::default()
        };
        let info = provider.create_for(root, &spec)?;
        let row = self.store.start_sandbox_session(project.id, "local", &info.id, &state_name(info.state)).unwrap_or(0);
        let cur = Current { project_id: project.id, sandbox_id: info.id, session_row: row };
        *self.current.lock() = Some(cur.clone());
        Ok((provider, cur))
    }

    pub async fn action(&self, root: &ProjectRoot, project: &ProjectRecord, action: SandboxAction) -> Result<(), SandboxError> {
        if action == SandboxAction::Create {
            self.ensure(root, project).await?;
            return Ok(());
        }
        let cur = self.current_for(project).ok_or_else(|| SandboxError::NotFound("(none yet: create one first)".into()))?;
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        let p = self.local(&settings)?;
        let info = match action {
            SandboxAction::Start => p.start(&cur.sandbox_id).await?,
            SandboxAction::Stop => p.stop(&cur.sandbox_id).await?,
            SandboxAction::Pause => p.pause(&cur.sandbox_id).await?,
            SandboxAction::Resume => p.resume(&cur.sandbox_id).await?,
            SandboxAction::Delete => {
                p.delete(&cur.sandbox_id).await?;
                let _ = self.store.update_sandbox_session(cur.session_row, "destroyed", true);
                *self.current.lock() = None;
                return Ok(());
            }
            SandboxAction::Create => unreachable!(),
        };
        let _ = self.store.update_sandbox_session(cur.session_row, &state_name(info.state), false);
        Ok(())
    }

    /// Runs a command in the project's sandbox (created on demand) and records it.
    pub async fn exec(&self, root: &ProjectRoot, project: &ProjectRecord, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, SandboxError> {
        let (p, cur) = self.ensure(root, project).await?;
        let started = crate::store::now_ms();
        let res = p.exec(&cur.sandbox_id, req, sink).await;
        let (code, dur, bytes) = match &res {
            Ok(o) => (o.exit_code, o.duration_ms as i64, o.bytes_out as i64),
            Err(_) => (None, crate::store::now_ms() - started, 0),
        };
        let _ = self.store.record_execution(project.id, Some(cur.session_row), &req.command, code, started, dur, bytes);
        res
    }

    pub async fn processes(&self, project: &ProjectRecord) -> Result<Vec<ProcessInfo>, SandboxError> {
        let Some(cur) = self.current_for(project) else { return Ok(Vec::new()) };
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        self.local(&settings)?.processes(&cur.sandbox_id).await
    }

    /// A shell inside the project's sandbox; call [`SandboxService::attach`] with its pid.
    pub async fn terminal_spec(&self, root: &ProjectRoot, project: &ProjectRecord, cols: u16, rows: u16) -> Result<(TerminalSpec, String), SandboxError> {
        let (p, cur) = self.ensure(root, project).await?;
        Ok((p.terminal_spec(&cur.sandbox_id, cols, rows)?, cur.sandbox_id))
    }

    pub fn attach(&self, sandbox_id: &str, pid: u32) -> Result<(), SandboxError> {
        let p = self.local.lock().clone().ok_or_else(|| SandboxError::NotFound(sandbox_id.to_string()))?;
        p.attach(sandbox_id, pid)
    }

    /// Stops and forgets the current sandbox (project switch, app exit).
    pub async fn release(&self) {
        let cur = self.current.lock().take();
        let provider = self.local.lock().clone();
        if let (Some(cur), Some(p)) = (cur, provider) {
            let _ = p.delete(&cur.sandbox_id).await;
            let _ = self.store.update_sandbox_session(cur.session_row, "destroyed", true);
        }
    }

    /// Synchronous cleanup for app exit: kills every local sandbox process.
    pub fn shutdown(&self) {
        if let Some(cur) = self.current.lock().take() {
            let _ = self.store.update_sandbox_session(cur.session_row, "destroyed", true);
        }
        if let Some(p) = self.local.lock().take() {
            p.shutdown();
        }
    }
}
