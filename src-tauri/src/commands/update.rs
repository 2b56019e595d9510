//! Self-update: settings, check, install (see `crate::updates`).

use aura_core::update::{Offer, UpdateProgress, UpdateSettings};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::AppHandle;
use ts_rs::TS;

use super::off_main;
use crate::error::IpcResult;
use crate::updates;

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct UpdateInfo {
    pub settings: UpdateSettings,
    pub current: String,
    /// `deb` / `rpm` when installed from a package; null for a build run in place.
    pub installed_as: Option<String>,
    /// The server the package was built with, used when `settings.endpoint` is empty.
    pub packaged_endpoint: Option<String>,
}

#[tauri::command]
pub async fn update_info(app: AppHandle) -> IpcResult<UpdateInfo> {
    let current = updates::current_version(&app);
    let packaged_endpoint = updates::packaged_endpoints(&app).into_iter().next();
    off_main(app, move |s| {
        Ok(UpdateInfo {
            settings: UpdateSettings::load(&s.store)?,
            current,
            installed_as: updates::installer().map(str::to_string),
            packaged_endpoint,
        })
    })
    .await
}

#[tauri::command]
pub async fn update_save_settings(app: AppHandle, settings: UpdateSettings) -> IpcResult<()> {
    off_main(app, move |s| Ok(settings.save(&s.store)?)).await
}

#[tauri::command]
pub async fn update_check(app: AppHandle) -> IpcResult<Offer> {
    Ok(updates::check(&app).await?)
}

/// Answers only when the install failed: on success the app relaunches.
#[tauri::command]
pub async fn update_install(app: AppHandle, on_progress: Channel<UpdateProgress>) -> IpcResult<()> {
    Ok(updates::install(&app, |p| {
        let _ = on_progress.send(p);
    })
    .await?)
}
