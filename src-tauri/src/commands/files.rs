//! Files of the open project. Every command here touches the disk, so it runs off the main thread.

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
    off_main(app, move |s| {
        let v = files::write_file(&s.project_root()?, &path, &text, expected_hash.as_deref())?;
        s.changed(&[&path]);
        Ok(v)
    })
    .await
}

#[tauri::command]
pub async fn create_file(app: AppHandle, path: String) -> IpcResult<()> {
    off_main(app, move |s| {
        files::create_file(&s.project_root()?, &path)?;
        s.changed(&[&path]);
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn create_dir(app: AppHandle, path: String) -> IpcResult<()> {
    off_main(app, move |s| Ok(files::create_dir(&s.project_root()?, &path)?)).await
}

#[tauri::command]
pub async fn rename_path(app: AppHandle, from: String, to: String) -> IpcResult<()> {
    off_main(app, move |s| {
        files::rename_path(&s.project_root()?, &from, &to)?;
        s.changed(&[&from, &to]);
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn delete_path(app: AppHandle, path: String) -> IpcResult<()> {
    off_main(app, move |s| {
        files::delete_path(&s.project_root()?, &path)?;
        s.changed(&[&path]);
        Ok(())
    })
    .await
}
