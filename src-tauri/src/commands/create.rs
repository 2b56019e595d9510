//! New projects: from a Git repository (`aura_core::create`).

use aura_core::create::git::{self, GitImport};
use tauri::ipc::Channel;

use crate::error::{IpcError, IpcResult};

/// Clones into the chosen folder (git runs on the blocking pool); answers with the project folder.
#[tauri::command]
pub async fn import_git(request: GitImport, on_progress: Channel<String>) -> IpcResult<String> {
    let done = tauri::async_runtime::spawn_blocking(move || {
        git::import(&request, |step| {
            let _ = on_progress.send(step.to_string());
        })
    })
    .await
    .map_err(|e| IpcError::new("internal", format!("the import stopped unexpectedly: {e}")))??;
    Ok(done.display().to_string())
}
