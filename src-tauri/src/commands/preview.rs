//! The preview pane: ports to offer, and the loopback proxies the core keeps per port.

use aura_core::project::PreviewInfo;
use tauri::State;

use crate::error::{IpcError, IpcResult};
use crate::state::AppState;

/// Ports the project's sandbox listens on, best guess first.
#[tauri::command]
pub async fn preview_ports(state: State<'_, AppState>) -> IpcResult<Vec<u16>> {
    let p = state.project()?;
    Ok(state.sandboxes.listening_ports(&p.record).await?)
}

/// Shows `port` of the project's sandbox through Aura's loopback proxy (started on first use;
/// later calls re-point it).
#[tauri::command]
pub async fn preview_open(state: State<'_, AppState>, port: u16) -> IpcResult<PreviewInfo> {
    Ok(state.host.preview_open(port).await?)
}

/// The page the preview of `port` shows now (for the address bar and back / forward).
#[tauri::command]
pub async fn preview_location(state: State<'_, AppState>, port: u16) -> IpcResult<String> {
    Ok(state.host.preview_location(port).await?)
}

/// Opens the preview of `port` in the system's browser (through the same proxy and secret).
#[tauri::command]
pub async fn preview_open_external(state: State<'_, AppState>, port: u16) -> IpcResult<()> {
    let url = state.host.preview_entry_url(port).await?;
    open::that_detached(&url)
        .map_err(|e| IpcError::new(aura_core::error::ErrorKind::OpenFailed, format!("cannot start a browser: {e}")))
}

#[tauri::command]
pub async fn preview_close(state: State<'_, AppState>) -> IpcResult<()> {
    state.host.preview_close_all().await;
    Ok(())
}
