//! Source control of the open project (read in the core with gix; nothing of the repository
//! runs on the host).

use aura_core::git::{self, GitStatus};
use tauri::State;

use crate::error::{IpcError, IpcResult};
use crate::state::AppState;

fn joined<T>(r: Result<T, tokio::task::JoinError>) -> IpcResult<T> {
    r.map_err(|e| IpcError::new(aura_core::error::ErrorKind::Internal, format!("git stopped unexpectedly: {e}")))
}

/// The repository's changes and branch; `not_found` when the project is not a repository.
#[tauri::command]
pub async fn git_status(state: State<'_, AppState>) -> IpcResult<GitStatus> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || git::status(&root)).await)??)
}

/// HEAD's text of a project file (`null` when HEAD has none), for a diff.
#[tauri::command]
pub async fn git_head_text(state: State<'_, AppState>, path: String) -> IpcResult<Option<String>> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || git::head_text(&root, &path)).await)??)
}

/// Stages files as they are on disk (new, changed, deleted).
#[tauri::command]
pub async fn git_stage(state: State<'_, AppState>, paths: Vec<String>) -> IpcResult<()> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || git::stage(&root, &paths)).await)??)
}

/// Takes files out of the index (back to HEAD's version); the files on disk stay as they are.
#[tauri::command]
pub async fn git_unstage(state: State<'_, AppState>, paths: Vec<String>) -> IpcResult<()> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || git::unstage(&root, &paths)).await)??)
}

/// Commits what is staged; returns the new commit's id (abbreviated).
#[tauri::command]
pub async fn git_commit(state: State<'_, AppState>, message: String, amend: bool) -> IpcResult<String> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || git::commit(&root, &message, amend)).await)??)
}

/// The local branches and the current one.
#[tauri::command]
pub async fn git_branches(state: State<'_, AppState>) -> IpcResult<git::Branches> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || git::branches(&root)).await)??)
}

/// The current branch's last commits, newest first.
#[tauri::command]
pub async fn git_log(state: State<'_, AppState>, limit: u32) -> IpcResult<Vec<git::CommitInfo>> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || git::log(&root, limit.min(1000) as usize)).await)??)
}

/// Switches to a branch (made from HEAD when `create`); refused when changes would be lost.
#[tauri::command]
pub async fn git_switch(state: State<'_, AppState>, name: String, create: bool) -> IpcResult<()> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || git::switch(&root, &name, create)).await)??)
}
