use aura_core::store::{ProjectSession, RecentProject};
use aura_core::workspace::tree::{list_session, Listing};
use aura_core::workspace::watcher::FsChange;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use ts_rs::TS;

use super::off_main;
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
    /// The tree's root and the session's expanded folders, listed (the tree needs no call).
    pub listings: Vec<Listing>,
}

#[tauri::command]
pub async fn startup_project(app: AppHandle) -> IpcResult<String> {
    off_main(app, |s| Ok(s.startup_project()?.display().to_string())).await
}

#[tauri::command]
pub async fn open_project(
    state: State<'_, AppState>,
    path: String,
    on_change: Channel<FsChange>,
) -> IpcResult<ProjectInfo> {
    let opened = state.open(std::path::Path::new(&path), move |c| {
        let _ = on_change.send(c);
    })?;
    let root = &opened.project.root;
    let listings = list_session(root, &opened.session.expanded_dirs);
    Ok(ProjectInfo {
        root: root.path().display().to_string(),
        name: root.name(),
        session: opened.session,
        watch_error: opened.watch_error,
        listings,
    })
}

#[tauri::command]
pub async fn recent_projects(app: AppHandle) -> IpcResult<Vec<RecentProject>> {
    off_main(app, |s| Ok(s.store.recent_projects(20)?)).await
}

#[tauri::command]
pub async fn save_session(app: AppHandle, session: ProjectSession) -> IpcResult<()> {
    off_main(app, move |s| Ok(s.store.save_session(s.project()?.record.id, &session)?)).await
}

/// The window finished its first render of a project (tree listed, tabs restored). Logged with
/// the time since the process started: the startup benchmark reads this line.
#[tauri::command]
pub fn ui_ready(state: State<'_, AppState>, page_ms: u32) {
    tracing::info!(process_ms = state.started.elapsed().as_millis() as u64, page_ms, "ui ready");
}
