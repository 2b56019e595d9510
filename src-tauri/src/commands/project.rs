use aura_core::paths::ProjectRoot;
use aura_core::store::{ProjectSession, RecentProject};
use aura_core::workspace::watcher::{FsChange, ProjectWatcher};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use crate::error::IpcResult;
use crate::state::AppState;

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct ProjectInfo {
    pub root: String,
    pub name: String,
    pub session: ProjectSession,
    /// Set when live updates from disk could not be started (the project still works).
    pub watch_error: Option<String>,
}

#[tauri::command]
pub fn startup_project(state: State<'_, AppState>) -> IpcResult<String> {
    Ok(state.startup_project()?.display().to_string())
}

#[tauri::command]
pub async fn open_project(
    state: State<'_, AppState>,
    path: String,
    on_change: Channel<FsChange>,
) -> IpcResult<ProjectInfo> {
    let root = ProjectRoot::open(&path)?;
    let root_str = root.path().display().to_string();
    let record = state.store.touch_project(&root_str, &root.name())?;
    let session = state.store.load_session(record.id)?;
    let sync = state.sync.clone();
    let sandboxes = state.sandboxes.clone();
    let project_id = record.id;
    let (watcher, watch_error) = match ProjectWatcher::start(&root, move |c| {
        // Journal for sync first (durable), then the remote sandbox, then tell the window.
        let paths = aura_core::sync::service::hint_paths(&c.paths);
        sync.hint(&paths);
        sandboxes.files_changed(project_id, &paths);
        let _ = on_change.send(c);
    }) {
        Ok(w) => (Some(w), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let info = ProjectInfo { root: root_str, name: root.name(), session, watch_error };
    state.set_project(root, record, watcher);
    Ok(info)
}

#[tauri::command]
pub fn recent_projects(state: State<'_, AppState>) -> IpcResult<Vec<RecentProject>> {
    Ok(state.store.recent_projects(20)?)
}

#[tauri::command]
pub fn save_session(state: State<'_, AppState>, session: ProjectSession) -> IpcResult<()> {
    let project = state.project()?;
    Ok(state.store.save_session(project.record.id, &session)?)
}

/// The window finished its first render of a project (tree listed, tabs restored). Logged with
/// the time since the process started: the startup benchmark reads this line.
#[tauri::command]
pub fn ui_ready(state: State<'_, AppState>, page_ms: u32) {
    tracing::info!(process_ms = state.started.elapsed().as_millis() as u64, page_ms, "ui ready");
}
