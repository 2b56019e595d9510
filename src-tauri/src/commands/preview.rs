use aura_core::preview::PreviewProxy;
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

use crate::error::{IpcError, IpcResult};
use crate::state::AppState;

/// What the preview pane loads.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct PreviewInfo {
    /// Opens the preview once (it carries the secret).
    pub entry_url: String,
    /// The same origin without the secret.
    pub base_url: String,
    pub port: u16,
}

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
    let p = state.project()?;
    if port == 0 {
        return Err(IpcError::new("invalid_port", "choose a port between 1 and 65535"));
    }
    let upstream = state.sandboxes.preview_upstream(&p.record, port).await?;
    let mut slot = state.preview.lock().await;
    match slot.as_ref() {
        Some(proxy) => proxy.set_upstream(upstream),
        None => *slot = Some(PreviewProxy::start(upstream).await?),
    }
    let proxy = slot.as_ref().expect("just set");
    Ok(PreviewInfo { entry_url: proxy.entry_url(), base_url: proxy.base_url(), port })
}

#[tauri::command]
pub async fn preview_close(state: State<'_, AppState>) -> IpcResult<()> {
    state.preview.lock().await.take();
    Ok(())
}
