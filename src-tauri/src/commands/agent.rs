//! Agents (MCP): the server's address and token, per-tool permissions, approvals, the activity
//! log, and undoing an agent's changes. Each command hands over to `aura_core::agent`.

use aura_core::agent::{
    token, AgentCall, AgentEvent, AgentPolicy, ApprovalRequest, BaselineInfo, Permission, UndoReport,
};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use crate::error::{IpcError, IpcResult};
use crate::state::AppState;

/// What Settings → Agents and the Agent panel show.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct AgentStatus {
    /// `http://127.0.0.1:<port>/mcp`, when the server runs.
    pub url: Option<String>,
    /// Why the server is not running.
    pub problem: Option<String>,
    /// A token exists (its value is shown only when it is made).
    pub token_set: bool,
    /// The command clients that start a process use (`… mcp`).
    pub stdio_command: String,
    pub policy: AgentPolicy,
    /// The agent's changes since this baseline can be undone.
    pub changes: Option<BaselineInfo>,
    pub pending: Vec<ApprovalRequest>,
    pub activity: Vec<AgentCall>,
}

fn stdio_command() -> String {
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "aura".into());
    format!("{exe} mcp")
}

/// Agent events go to this channel from now on.
#[tauri::command]
pub async fn agent_subscribe(state: State<'_, AppState>, on_event: Channel<AgentEvent>) -> IpcResult<()> {
    *state.agents.channel.lock() = Some(on_event);
    Ok(())
}

#[tauri::command]
pub async fn agent_status(state: State<'_, AppState>) -> IpcResult<AgentStatus> {
    let agents = &state.agents;
    let (url, problem) = match &*agents.server.lock().await {
        Ok(s) => (Some(s.url()), None),
        Err(e) => (None, Some(e.clone())),
    };
    let secrets = state.secrets.clone();
    let token_set = tokio::task::spawn_blocking(move || token::load(&secrets))
        .await
        .map_err(|e| IpcError::new(aura_core::error::ErrorKind::Internal, e.to_string()))?
        .map(|t| t.is_some())
        .unwrap_or(false);
    Ok(AgentStatus {
        url,
        problem,
        token_set,
        stdio_command: stdio_command(),
        policy: agents.service.policy(),
        changes: agents.service.changes(),
        pending: agents.service.pending(),
        activity: agents.service.activity(),
    })
}

/// Makes a new token (the old one stops working) and returns its value, the one time it is shown.
#[tauri::command]
pub async fn agent_new_token(state: State<'_, AppState>) -> IpcResult<String> {
    let secrets = state.secrets.clone();
    let t = tokio::task::spawn_blocking(move || token::create(&secrets))
        .await
        .map_err(|e| IpcError::new(aura_core::error::ErrorKind::Internal, e.to_string()))??;
    let value = t.expose().to_string();
    if let Ok(s) = &*state.agents.server.lock().await {
        s.set_token(Some(t));
    }
    Ok(value)
}

#[tauri::command]
pub async fn agent_set_permission(
    app: tauri::AppHandle,
    tool: String,
    permission: Permission,
) -> IpcResult<AgentPolicy> {
    super::off_main(app, move |s| Ok(s.agents.service.set_permission(&tool, permission)?)).await
}

/// The user's answer to an "ask" card.
#[tauri::command]
pub async fn agent_decide(state: State<'_, AppState>, id: u64, allow: bool) -> IpcResult<bool> {
    Ok(state.agents.service.decide(id, allow))
}

/// Returns the project to how it was before the agent's changes.
#[tauri::command]
pub async fn agent_undo(state: State<'_, AppState>) -> IpcResult<UndoReport> {
    Ok(state.agents.service.undo().await?)
}

/// Keeps the agent's changes; the next change starts a new undo point.
#[tauri::command]
pub async fn agent_keep(state: State<'_, AppState>) -> IpcResult<()> {
    state.agents.service.keep().await;
    Ok(())
}
