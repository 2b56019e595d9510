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
    let mut previews = state.preview.lock().await;
    if let Some(proxy) = previews.get(&port) {
        proxy.set_upstream(upstream);
    } else {
        // Each preview gets its own loopback host, so the apps' cookies never mix.
        let ip = std::net::Ipv4Addr::new(127, 0, 0, 2 + (previews.len() % MAX_HOSTS) as u8);
        let proxy = PreviewProxy::start_on(ip, upstream, aura_core::preview::system_tls()).await?;
        previews.insert(port, proxy);
    }
    let proxy = &previews[&port];
    Ok(PreviewInfo { entry_url: proxy.entry_url(), base_url: proxy.base_url(), port })
}

/// Loopback hosts previews use (127.0.0.2 ...); the CSP's frame-src lists the same ones.
const MAX_HOSTS: usize = 16;

/// The page the preview of `port` shows now (for the address bar and back / forward).
#[tauri::command]
pub async fn preview_location(state: State<'_, AppState>, port: u16) -> IpcResult<String> {
    let previews = state.preview.lock().await;
    let proxy = previews.get(&port).ok_or_else(|| IpcError::new("not_found", format!("no preview of port {port}")))?;
    Ok(proxy.location())
}

/// Opens the preview of `port` in the system's browser (through the same proxy and secret).
#[tauri::command]
pub async fn preview_open_external(state: State<'_, AppState>, port: u16) -> IpcResult<()> {
    let url = {
        let previews = state.preview.lock().await;
        previews.get(&port).ok_or_else(|| IpcError::new("not_found", format!("no preview of port {port}")))?.entry_url()
    };
    open::that_detached(&url).map_err(|e| IpcError::new("open_failed", format!("cannot start a browser: {e}")))
}

#[tauri::command]
pub async fn preview_close(state: State<'_, AppState>) -> IpcResult<()> {
    state.preview.lock().await.clear();
    Ok(())
}
