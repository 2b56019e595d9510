use aura_core::workspace::files::{self, FileContent, FileVersion};
use aura_core::workspace::tree::{self, DirEntry};
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

#[tauri::command]
pub fn list_dir(state: State<'_, AppState>, path: String) -> IpcResult<Vec<DirEntry>> {
    Ok(tree::list_dir(&state.project_root()?, &path)?)
}

#[tauri::command]
pub fn read_file(state: State<'_, AppState>, path: String) -> IpcResult<FileContent> {
    Ok(files::read_file(&state.project_root()?, &path)?)
}

/// `expected_hash`: the version the editor last read; `null` overwrites whatever is on disk.
#[tauri::command]
pub fn write_file(
    state: State<'_, AppState>,
    path: String,
    text: String,
    expected_hash: Option<String>,
) -> IpcResult<FileVersion> {
    let v = files::write_file(&state.project_root()?, &path, &text, expected_hash.as_deref())?;
    state.changed(&[&path]);
    Ok(v)
}

#[tauri::command]
pub fn create_file(state: State<'_, AppState>, path: String) -> IpcResult<()> {
    files::create_file(&state.project_root()?, &path)?;
    state.changed(&[&path]);
    Ok(())
}

#[tauri::command]
pub fn create_dir(state: State<'_, AppState>, path: String) -> IpcResult<()> {
    Ok(files::create_dir(&state.project_root()?, &path)?)
}

#[tauri::command]
pub fn rename_path(state: State<'_, AppState>, from: String, to: String) -> IpcResult<()> {
    files::rename_path(&state.project_root()?, &from, &to)?;
    state.changed(&[&from, &to]);
    Ok(())
}

#[tauri::command]
pub fn delete_path(state: State<'_, AppState>, path: String) -> IpcResult<()> {
    files::delete_path(&state.project_root()?, &path)?;
    state.changed(&[&path]);
    Ok(())
}
