//! Sync: settings, status, the panel's lists, conflict resolution, history and restore. Each
//! command hands its arguments to `aura_core::sync::service::SyncService`.

use aura_core::sync::explain::SyncExplanation;
use aura_core::sync::service::{FileVersionInfo, SnapshotInfo, StorageUse, SyncEvent, SyncStatus};
use aura_core::sync::settings::BucketSettings;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use crate::error::{IpcError, IpcResult};
use crate::state::AppState;

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct SyncSettingsView {
    pub bucket: BucketSettings,
    /// Both access keys are in the keychain (their values never come back).
    pub keys_set: bool,
    /// Sync is on for the open project.
    pub enabled: bool,
    /// The open project syncs end-to-end encrypted (this machine holds its key).
    pub encrypted: bool,
    pub problem: Option<String>,
}

/// Status updates go to this channel from now on; returns the current status.
#[tauri::command]
pub fn sync_subscribe(state: State<'_, AppState>, on_status: Channel<SyncStatus>) -> IpcResult<SyncStatus> {
    *state.sync_channel.lock() = Some(on_status);
    Ok(state.sync.status())
}

#[tauri::command]
pub async fn sync_settings(app: tauri::AppHandle) -> IpcResult<SyncSettingsView> {
    super::off_main(app, |state| {
        use aura_core::secrets::SecretName;
        let bucket = state.store.bucket_settings()?;
        let keys_set =
            state.secrets.is_set(SecretName::R2AccessKeyId)? && state.secrets.is_set(SecretName::R2SecretAccessKey)?;
        let (enabled, encrypted) = match state.project() {
            Ok(p) => (state.store.sync_enabled(p.record.id)?, state.sync.encrypted(p.record.id)?),
            Err(_) => (false, false),
        };
        Ok(SyncSettingsView { problem: bucket.problem(), bucket, keys_set, enabled, encrypted })
    })
    .await
}

#[tauri::command]
pub async fn sync_save_settings(app: tauri::AppHandle, bucket: BucketSettings) -> IpcResult<()> {
    if let Some(p) = bucket.problem() {
        return Err(IpcError::new(aura_core::error::ErrorKind::Invalid, p));
    }
    super::off_main(app, move |state| {
        state.store.save_bucket_settings(&bucket)?;
        state.sync.restart();
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn sync_test(state: State<'_, AppState>, bucket: BucketSettings) -> IpcResult<String> {
    state.sync.test_bucket(&bucket).await?;
    Ok(format!("connected to {} at {}", bucket.bucket, bucket.endpoint))
}

#[tauri::command]
pub async fn sync_enable(app: tauri::AppHandle, on: bool) -> IpcResult<()> {
    super::off_main(app, move |s| Ok(s.sync.set_enabled(on)?)).await
}

/// Makes the open project end-to-end encrypted (converting what it synced in plaintext,
/// history included); returns its recovery phrase, to be shown once (it is kept nowhere else).
#[tauri::command]
pub async fn sync_encrypt(state: State<'_, AppState>) -> IpcResult<String> {
    let id = state.project()?.record.id;
    Ok(state.sync.encrypt_project(id).await?)
}

/// A new recovery phrase for the open, encrypted project (the old one stops opening it);
/// returns it, to be shown once.
#[tauri::command]
pub async fn sync_change_phrase(state: State<'_, AppState>) -> IpcResult<String> {
    let id = state.project()?.record.id;
    Ok(state.sync.change_phrase(id).await?)
}

/// The recovery phrase of the open project, typed on a machine without its key (it was made
/// encrypted, or converted, elsewhere).
#[tauri::command]
pub async fn sync_enter_phrase(state: State<'_, AppState>, phrase: String) -> IpcResult<()> {
    Ok(state.sync.enter_phrase(&phrase).await?)
}

#[tauri::command]
pub async fn sync_now(app: tauri::AppHandle) -> IpcResult<()> {
    super::off_main(app, |s| Ok(s.sync.sync_now()?)).await
}

#[tauri::command]
pub fn sync_events(state: State<'_, AppState>) -> IpcResult<Vec<SyncEvent>> {
    Ok(state.sync.events())
}

#[tauri::command]
pub async fn sync_resolve(state: State<'_, AppState>, keep_mine: bool) -> IpcResult<()> {
    Ok(state.sync.resolve(keep_mine).await?)
}

#[tauri::command]
pub async fn sync_snapshots(state: State<'_, AppState>) -> IpcResult<Vec<SnapshotInfo>> {
    Ok(state.sync.snapshots(100).await?)
}

#[tauri::command]
pub async fn sync_restore_snapshot(state: State<'_, AppState>, id: String) -> IpcResult<()> {
    Ok(state.sync.restore_snapshot(&id).await?)
}

#[tauri::command]
pub async fn sync_explain(app: tauri::AppHandle, path: String) -> IpcResult<SyncExplanation> {
    super::off_main(app, move |state| Ok(state.sync.explain(&path)?)).await
}

#[tauri::command]
pub async fn sync_file_history(state: State<'_, AppState>, path: String) -> IpcResult<Vec<FileVersionInfo>> {
    Ok(state.sync.file_history(&path).await?)
}

#[tauri::command]
pub async fn sync_restore_file(state: State<'_, AppState>, path: String, snapshot: String) -> IpcResult<()> {
    Ok(state.sync.restore_file(&path, &snapshot).await?)
}

#[tauri::command]
pub async fn sync_gc(state: State<'_, AppState>) -> IpcResult<String> {
    Ok(state.sync.collect_garbage().await?)
}

#[tauri::command]
pub async fn sync_cloud_projects(state: State<'_, AppState>) -> IpcResult<Vec<String>> {
    Ok(state.sync.cloud_projects().await?)
}

#[tauri::command]
pub async fn sync_cloud_snapshots(state: State<'_, AppState>, key: String) -> IpcResult<Vec<SnapshotInfo>> {
    Ok(state.sync.cloud_snapshots(&key, 100).await?)
}

/// Restores a project from the bucket into an empty or new folder; returns the folder to open.
/// An end-to-end encrypted project needs its recovery `phrase` (refused before anything is read
/// when it is missing or wrong).
#[tauri::command]
pub async fn sync_restore_project(
    state: State<'_, AppState>,
    key: String,
    snapshot: Option<String>,
    dest: String,
    phrase: Option<String>,
) -> IpcResult<String> {
    let dest = std::path::PathBuf::from(dest);
    if !dest.is_absolute() {
        return Err(IpcError::new(aura_core::error::ErrorKind::Invalid, "choose a folder (an absolute path)"));
    }
    let root = state.sync.restore_project(&key, snapshot.as_deref(), &dest, phrase.as_deref()).await?;
    Ok(root.path().display().to_string())
}

/// What Aura keeps in the bucket (all projects, and the open one's part); lists it all.
#[tauri::command]
pub async fn sync_storage(state: State<'_, AppState>) -> IpcResult<StorageUse> {
    Ok(state.sync.storage().await?)
}
