//! New projects: from a starter or a Git repository (`aura_core::create`).

use aura_core::create::git::{self, GitImport};
use aura_core::create::template::{self, FrameworkInfo, NewProject, PackageManager};
use serde::Serialize;
use tauri::ipc::Channel;
use ts_rs::TS;

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
    .map_err(|e| {
        IpcError::new(aura_core::error::ErrorKind::Internal, format!("the import stopped unexpectedly: {e}"))
    })??;
    Ok(done.display().to_string())
}

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct NewProjectOptions {
    pub frameworks: Vec<FrameworkInfo>,
    /// Those found on this machine (npm at least, when Node.js is installed).
    pub package_managers: Vec<PackageManager>,
    /// A folder to suggest for new projects (`~/Projects` when it exists, else home).
    pub default_parent: String,
}

/// Looks at the disk (`~/Projects`, every `PATH` folder), so it runs off the main thread.
#[tauri::command]
pub async fn new_project_options() -> NewProjectOptions {
    tokio::task::spawn_blocking(|| {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
        let projects = home.join("Projects");
        let parent = if projects.is_dir() { projects } else { home };
        NewProjectOptions {
            frameworks: template::frameworks(),
            package_managers: template::package_managers(),
            default_parent: parent.display().to_string(),
        }
    })
    .await
    .unwrap_or_else(|_| NewProjectOptions {
        frameworks: template::frameworks(),
        package_managers: Vec::new(),
        default_parent: String::new(),
    })
}

/// Writes the starter; answers with the project folder (the window then opens it and runs it).
#[tauri::command]
pub async fn create_project(spec: NewProject) -> IpcResult<String> {
    let root = tauri::async_runtime::spawn_blocking(move || template::create(&spec)).await.map_err(|e| {
        IpcError::new(aura_core::error::ErrorKind::Internal, format!("creating the project stopped unexpectedly: {e}"))
    })??;
    Ok(root.display().to_string())
}
