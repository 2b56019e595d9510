//! Coding agents in the project's sandbox, through the Model Context Protocol.
//!
//! [`AgentService`] is the domain: what each tool may do (allow / ask / deny), the questions the
//! user answers, the activity log, and the baseline "Undo agent changes" returns to. `tools.rs`
//! is the MCP server (rmcp) over it and the [`ProjectHost`] — the same object the window's
//! commands drive, so an agent's write takes the editor's save path. `http.rs` serves it on
//! 127.0.0.1 behind a bearer token; `bridge.rs` is `aura mcp`, stdio for clients that start a
//! command.

pub mod activity;
pub mod approvals;
pub mod baseline;
pub mod bridge;
mod error;
pub mod http;
pub mod policy;
mod server;
pub mod token;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;

pub use activity::AgentCall;
pub use approvals::ApprovalRequest;
pub use baseline::{BaselineInfo, UndoReport};
pub use error::AgentError;
pub use policy::{AgentPolicy, Permission};

use crate::project::ProjectHost;

/// What the window hears about agents.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
#[ts(export)]
pub enum AgentEvent {
    /// A call started or finished.
    Call(AgentCall),
    /// A call waits for the user.
    Ask(ApprovalRequest),
    /// A question was answered or withdrawn.
    Answered(#[ts(type = "number")] u64),
    /// Agent changes began (a baseline was taken) or were undone or kept.
    Changes(Option<BaselineInfo>),
}

pub struct AgentService {
    pub host: Arc<ProjectHost>,
    policy: RwLock<AgentPolicy>,
    activity: activity::ActivityLog,
    approvals: approvals::Approvals,
    baseline: tokio::sync::Mutex<Option<baseline::Baseline>>,
    baseline_info: RwLock<Option<BaselineInfo>>,
    data_dir: PathBuf,
    on_event: Box<dyn Fn(AgentEvent) + Send + Sync>,
}

impl AgentService {
    /// `data_dir` holds the baseline's copies (never inside a project or a sandbox).
    pub fn new(
        host: Arc<ProjectHost>,
        data_dir: PathBuf,
        on_event: impl Fn(AgentEvent) + Send + Sync + 'static,
    ) -> Result<Self, AgentError> {
        let policy = AgentPolicy::load(&host.store)?;
        // A baseline left by a run that ended is of no use (its project may have changed since).
        let _ = std::fs::remove_dir_all(data_dir.join("agent-baseline"));
        Ok(Self {
            host,
            policy: RwLock::new(policy),
            activity: Default::default(),
            approvals: Default::default(),
            baseline: Default::default(),
            baseline_info: Default::default(),
            data_dir,
            on_event: Box::new(on_event),
        })
    }

    pub fn policy(&self) -> AgentPolicy {
        self.policy.read().clone()
    }

    pub fn set_permission(&self, tool: &str, permission: Permission) -> Result<AgentPolicy, AgentError> {
        if policy::class_of(tool).is_none() {
            return Err(AgentError::UnknownTool(tool.to_string()));
        }
        let mut p = self.policy.read().clone();
        p.tools.insert(tool.to_string(), permission);
        p.save(&self.host.store)?;
        *self.policy.write() = p.clone();
        Ok(p)
    }

    pub fn activity(&self) -> Vec<AgentCall> {
        self.activity.recent()
    }

    pub fn record(&self, call: AgentCall) {
        self.activity.put(call.clone());
        (self.on_event)(AgentEvent::Call(call));
    }

    pub fn next_call_id(&self) -> u64 {
        self.activity.next_id()
    }

    pub fn pending(&self) -> Vec<ApprovalRequest> {
        self.approvals.pending()
    }

    /// The user's answer to question `id`; false when it is no longer waiting.
    pub fn decide(&self, id: u64, allow: bool) -> bool {
        let answered = self.approvals.decide(id, allow);
        (self.on_event)(AgentEvent::Answered(id));
        answered
    }

    /// May call `id` of `tool` go ahead? Asks the user when the policy says so, or whatever it
    /// says (unless it denies) when there is a `reason` — a file the host runs by itself — waiting
    /// until they answer. The error is the sentence the agent reads.
    pub async fn permit(
        &self,
        id: u64,
        tool: &str,
        title: String,
        detail: String,
        reason: Option<&str>,
    ) -> Result<(), String> {
        match self.policy.read().get(tool) {
            Permission::Allow if reason.is_none() => return Ok(()),
            Permission::Deny => {
                return Err(format!("{tool} is turned off for agents in Aura's settings (Settings → Agents)."))
            }
            Permission::Allow | Permission::Ask => {}
        }
        let req = ApprovalRequest { id, tool: tool.to_string(), title, detail, reason: reason.map(str::to_string) };
        let answer = self.approvals.ask(req.clone());
        (self.on_event)(AgentEvent::Ask(req));
        // Dropped (the call was cancelled): the question goes away with it.
        let _withdraw = scopeguard(|| {
            self.approvals.withdraw(id);
            (self.on_event)(AgentEvent::Answered(id));
        });
        match answer.await {
            Ok(true) => Ok(()),
            _ => Err(format!("The user denied this {tool} call in Aura.")),
        }
    }

    /// Before an agent changes the project (a write, an edit, a command): keep the project as it
    /// is, once per stretch of agent work, so "Undo agent changes" can return to it.
    pub async fn before_change(&self) -> Result<(), AgentError> {
        let p = self.host.project()?;
        let mut slot = self.baseline.lock().await;
        if slot.as_ref().is_some_and(|b| b.project_id == p.record.id) {
            return Ok(());
        }
        if let Some(old) = slot.take() {
            old.discard();
        }
        let blobs = self.data_dir.join("agent-baseline");
        let root = p.root.clone();
        let taken = tokio::task::spawn_blocking(move || baseline::Baseline::capture(&root, p.record.id, &blobs))
            .await
            .map_err(|e| AgentError::Baseline(e.to_string()))?
            .map_err(|e| AgentError::Baseline(e.to_string()))?;
        let info = taken.info();
        *slot = Some(taken);
        *self.baseline_info.write() = Some(info.clone());
        (self.on_event)(AgentEvent::Changes(Some(info)));
        Ok(())
    }

    pub fn changes(&self) -> Option<BaselineInfo> {
        self.baseline_info.read().clone()
    }

    /// Returns the project to how it was before the agent's changes, through the same path as
    /// every change (sync journal, the remote sandbox's copy).
    pub async fn undo(&self) -> Result<UndoReport, AgentError> {
        let p = self.host.project()?;
        let mut slot = self.baseline.lock().await;
        let base = slot.take().ok_or(AgentError::NothingToUndo)?;
        if base.project_id != p.record.id {
            *slot = Some(base);
            return Err(AgentError::OtherProject);
        }
        let root = p.root.clone();
        let (base, report) = tokio::task::spawn_blocking(move || {
            let r = base.restore(&root);
            (base, r)
        })
        .await
        .map_err(|e| AgentError::Baseline(e.to_string()))?;
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                *slot = Some(base);
                return Err(AgentError::Baseline(e.to_string()));
            }
        };
        let touched: Vec<&str> = report.restored.iter().chain(&report.removed).map(String::as_str).collect();
        self.host.changed(&touched);
        base.discard();
        *self.baseline_info.write() = None;
        (self.on_event)(AgentEvent::Changes(None));
        Ok(report)
    }

    /// Keeps the agent's changes: the next agent change starts a new baseline.
    pub async fn keep(&self) {
        if let Some(b) = self.baseline.lock().await.take() {
            b.discard();
        }
        *self.baseline_info.write() = None;
        (self.on_event)(AgentEvent::Changes(None));
    }
}

/// Runs `f` when dropped.
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}
