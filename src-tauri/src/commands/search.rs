use aura_core::workspace::search::{self, SearchQuery, SearchResults};
use tauri::State;

use crate::error::{IpcError, IpcResult};
use crate::state::AppState;

fn joined<T>(r: Result<T, tokio::task::JoinError>) -> IpcResult<T> {
    r.map_err(|e| IpcError::new(aura_core::error::ErrorKind::Internal, format!("search stopped unexpectedly: {e}")))
}

#[tauri::command]
pub async fn search_project(state: State<'_, AppState>, query: SearchQuery) -> IpcResult<SearchResults> {
    let root = state.project_root()?;
    Ok(joined(tokio::task::spawn_blocking(move || search::search(&root, &query)).await)??)
}

#[tauri::command]
pub async fn find_files(state: State<'_, AppState>, query: String, limit: Option<u32>) -> IpcResult<Vec<String>> {
    let root = state.project_root()?;
    let limit = limit.unwrap_or(50).min(500) as usize;
    joined(tokio::task::spawn_blocking(move || search::find_files(&root, &query, limit)).await)
}
