//! Files of the open project. Every command here touches the disk, so it runs off the main thread;
//! changes go through the project host (the same path an agent's writes take).

use aura_core::workspace::files::{self, FileContent, FileVersion};
use aura_core::workspace::tree::{self, DirEntry};
use tauri::AppHandle;

use super::off_main;
use crate::error::IpcResult;

#[tauri::command]
pub async fn list_dir(app: AppHandle, path: String) -> IpcResult<Vec<DirEntry>> {
    off_main(app, move |s| Ok(tree::list_dir(&s.project_root()?, &path)?)).await
}

#[tauri::command]
pub async fn read_file(app: AppHandle, path: String) -> IpcResult<FileContent> {
    off_main(app, move |s| Ok(files::read_file(&s.project_root()?, &path)?)).await
}

/// `expected_hash`: the version the editor last read; `null` overwrites whatever is on disk.
#[tauri::command]
pub async fn write_file(
    app: AppHandle,
    path: String,
    text: String,
    expected_hash: Option<String>,
) -> IpcResult<FileVersion> {
    off_main(app, move |s| Ok(s.write_file(&path, &text, expected_hash.as_deref())?)).await
}

#[tauri::command]
pub async fn create_file(app: AppHandle, path: String) -> IpcResult<()> {
    off_main(app, move |s| Ok(s.create_file(&path)?)).await
}

#[tauri::command]
pub async fn create_dir(app: AppHandle, path: String) -> IpcResult<()> {
    off_main(app, move |s| Ok(s.create_dir(&path)?)).await
}

#[tauri::command]
pub async fn rename_path(app: AppHandle, from: String, to: String) -> IpcResult<()> {
    off_main(app, move |s| Ok(s.rename_path(&from, &to)?)).await
}

#[tauri::command]
pub async fn delete_path(app: AppHandle, path: String) -> IpcResult<()> {
    off_main(app, move |s| Ok(s.delete_path(&path)?)).await
}
