use aura_core::netpolicy::{Connection, NetAnswer, NetAsk, NetEvent};
use aura_core::sandbox::{ExecOutcome, ExecRequest, ExecSink, ProcessInfo, SandboxInfo};
use aura_core::store::{ExecutionRecord, ProjectSettings};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use crate::error::IpcResult;
use aura_core::sandbox::local::network::NetworkMode;
use aura_core::sandbox::service::{IsolationMode, SandboxAction};

use crate::state::AppState;

/// What the sandbox panel and the status bar show.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct SandboxStatus {
    pub settings: ProjectSettings,
    pub isolation: IsolationMode,
    /// Why isolation is unavailable, when it is.
    pub isolation_problem: Option<String>,
    /// The local sandbox's network ("isolated", "registries", "offline", "host"); none for
    /// remote sandboxes.
    pub network: Option<NetworkMode>,
    /// Why the chosen network cannot be had here (commands are refused until another is chosen).
    pub network_problem: Option<String>,
    /// What an isolated network goes out through ("pasta" or "slirp4netns").
    pub network_tool: Option<String>,
    pub sandbox: Option<SandboxInfo>,
    /// For a remote sandbox: how its copy of the project is doing ("in step", "3 files to send",
    /// or the last error). None for local sandboxes (they see the project folder itself).
    pub files: Option<String>,
    /// What the sandbox's code tried to reach through the Registries-only proxy, newest first.
    pub connections: Vec<Connection>,
    /// Hosts the project's `.aura/network.json` lists that its list does not have (offered).
    pub network_suggested: Vec<String>,
    /// What is wrong with `.aura/network.json`, when something is.
    pub network_file_problem: Option<String>,
    /// What the service last had to tell about the project's sandbox (reattached, replaced).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// One piece of a running command's output.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ExecChunk {
    pub stream: OutputStream,
    pub text: String,
}

struct ChannelExecSink(Channel<ExecChunk>);
impl ExecSink for ChannelExecSink {
    fn stdout(&mut self, d: &[u8]) {
        let _ = self.0.send(ExecChunk { stream: OutputStream::Stdout, text: String::from_utf8_lossy(d).into_owned() });
    }
    fn stderr(&mut self, d: &[u8]) {
        let _ = self.0.send(ExecChunk { stream: OutputStream::Stderr, text: String::from_utf8_lossy(d).into_owned() });
    }
}

async fn status(state: &AppState) -> IpcResult<SandboxStatus> {
    let p = state.project()?;
    let settings = state.store.project_settings(p.record.id)?;
    let iso = state.sandboxes.isolation(&settings);
    let sandbox = state.sandboxes.info(&p.record).await.unwrap_or(None);
    let files = state.sandboxes.mirror_status(p.record.id).map(|m| {
        let state = match (m.pending, &m.last_error) {
            (_, Some(e)) => format!("{} waiting; last error: {e}", m.pending),
            (0, None) => format!("in step ({} sent, {} removed)", m.sent, m.removed),
            (n, None) => format!("{n} to send"),
        };
        match m.skipped.len() {
            0 => state,
            n => {
                let some: Vec<String> = m.skipped.iter().take(3).map(|(p, why)| format!("{p} ({why})")).collect();
                format!("{state}; {n} not copied: {}{}", some.join(", "), if n > 3 { ", …" } else { "" })
            }
        }
    });
    let (network_suggested, network_file_problem) =
        match aura_core::netpolicy::project_file::suggested(&p.root, &settings.network_allow) {
            Ok(s) => (s, None),
            Err(e) => (Vec::new(), Some(e)),
        };
    Ok(SandboxStatus {
        settings,
        isolation: iso.mode,
        isolation_problem: iso.problem,
        network: iso.network,
        network_problem: iso.network_problem,
        network_tool: iso.network_tool,
        sandbox,
        files,
        connections: state.sandboxes.gate.connections(),
        network_suggested,
        network_file_problem,
        note: state.sandboxes.note(),
    })
}

#[tauri::command]
pub async fn sandbox_status(state: State<'_, AppState>) -> IpcResult<SandboxStatus> {
    status(&state).await
}

#[tauri::command]
pub async fn sandbox_action(state: State<'_, AppState>, action: SandboxAction) -> IpcResult<SandboxStatus> {
    let p = state.project()?;
    state.sandboxes.action(&p.root, &p.record, action).await?;
    status(&state).await
}

/// Runs a command in the project's sandbox (created on demand), streaming its output.
#[tauri::command]
pub async fn sandbox_exec(
    state: State<'_, AppState>,
    command: String,
    on_output: Channel<ExecChunk>,
) -> IpcResult<ExecOutcome> {
    let req = ExecRequest { command, ..Default::default() };
    Ok(state.host.exec(&req, &mut ChannelExecSink(on_output)).await?)
}

/// Stops the running `sandbox_exec` commands.
#[tauri::command]
pub fn sandbox_cancel(state: State<'_, AppState>) {
    state.sandboxes.cancel_exec();
}

#[tauri::command]
pub async fn sandbox_processes(state: State<'_, AppState>) -> IpcResult<Vec<ProcessInfo>> {
    let p = state.project()?;
    Ok(state.sandboxes.processes(&p.record).await?)
}

/// Saves the settings; a running local sandbox whose network or protections choice changed is
/// ended, so the next command starts one made with the new choice.
#[tauri::command]
pub async fn save_project_settings(state: State<'_, AppState>, settings: ProjectSettings) -> IpcResult<()> {
    let p = state.project()?;
    let before = state.store.project_settings(p.record.id)?;
    state.sandboxes.use_network_list(p.record.id, &settings)?;
    state.store.save_project_settings(p.record.id, &settings)?;
    if before.network != settings.network
        || before.allow_unsandboxed != settings.allow_unsandboxed
        || before.allow_unprotected != settings.allow_unprotected
    {
        state.sandboxes.release().await;
    }
    Ok(())
}

/// Resumes the open project's kept remote sandbox ahead of its first use; true when it did.
#[tauri::command]
pub async fn sandbox_warm(state: State<'_, AppState>) -> IpcResult<bool> {
    let p = state.project()?;
    Ok(state.sandboxes.warm(&p.root, &p.record).await?)
}

#[tauri::command]
pub async fn execution_history(app: tauri::AppHandle) -> IpcResult<Vec<ExecutionRecord>> {
    super::off_main(app, |s| Ok(s.store.recent_executions(s.project()?.record.id, 50)?)).await
}

/// Checks that the chosen provider answers with the stored key (lists sandboxes), or for the
/// local provider that bubblewrap works. Takes the unsaved settings from the form.
#[tauri::command]
pub async fn sandbox_test_connection(state: State<'_, AppState>, settings: ProjectSettings) -> IpcResult<String> {
    if settings.provider == aura_core::sandbox::ProviderKind::Local {
        let iso = state.sandboxes.isolation(&settings);
        return Ok(match (iso.problem, iso.network, iso.network_problem, iso.network_tool) {
            (Some(p), ..) => format!("not isolated: {p}"),
            (None, _, Some(np), _) => format!("bubblewrap works, but the isolated network does not: {np}"),
            (None, Some(NetworkMode::Isolated), None, Some(tool)) => {
                format!("bubblewrap works: commands run isolated, with their own network (out through {tool}).")
            }
            (None, Some(NetworkMode::Offline), ..) => "bubblewrap works: commands run isolated, offline.".into(),
            (None, Some(NetworkMode::Registries), ..) => {
                "bubblewrap works: commands run isolated; HTTP(S) only through Aura's proxy, to the allowed hosts."
                    .into()
            }
            _ => "bubblewrap works: commands run isolated, but on the HOST network.".into(),
        });
    }
    let client = state.sandboxes.remote(&settings)?;
    let n = client.list().await?.len();
    Ok(format!("Connected to {}: {n} sandbox(es) on this account.", settings.provider.as_str()))
}

/// Questions about a Registries-only sandbox's connections go to this channel from now on.
#[tauri::command]
pub async fn net_subscribe(state: State<'_, AppState>, on_event: Channel<NetEvent>) -> IpcResult<Vec<NetAsk>> {
    state.sandboxes.gate.on_event(move |e| {
        let _ = on_event.send(e);
    });
    Ok(state.sandboxes.gate.pending())
}

/// The user's answer to a connection card; false when it no longer waits.
#[tauri::command]
pub async fn net_answer(state: State<'_, AppState>, id: u64, answer: NetAnswer) -> IpcResult<bool> {
    Ok(state.sandboxes.gate.answer(id, answer))
}
