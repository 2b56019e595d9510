//! API keys: the UI may store, delete, and ask whether one is set. Values never come back.

use aura_core::secrets::SecretName;
use serde::Serialize;
use tauri::AppHandle;
use ts_rs::TS;

use super::off_main;
use crate::error::IpcResult;

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct SecretState {
    pub name: SecretName,
    /// The environment variable name the official SDKs use.
    pub env_name: String,
    pub set: bool,
}

// The keychain is a D-Bus service that may be slow or waiting for an unlock prompt: every call
// runs off the main thread.

#[tauri::command]
pub async fn secrets_status(app: AppHandle) -> IpcResult<Vec<SecretState>> {
    off_main(app, |s| {
        SecretName::ALL
            .iter()
            .map(|&name| Ok(SecretState { name, env_name: name.account().to_string(), set: s.secrets.is_set(name)? }))
            .collect()
    })
    .await
}

#[tauri::command]
pub async fn secret_set(app: AppHandle, name: SecretName, value: String) -> IpcResult<()> {
    typed_in(name)?;
    off_main(app, move |s| Ok(s.secrets.set(name, &value)?)).await
}

/// Only the keys a user types in; the agent token is made by Aura (Settings → Agents).
fn typed_in(name: SecretName) -> IpcResult<()> {
    if SecretName::ALL.contains(&name) {
        return Ok(());
    }
    Err(crate::error::IpcError::new(
        aura_core::error::ErrorKind::InvalidSecret,
        "this key is made by Aura, not typed in",
    ))
}

#[tauri::command]
pub async fn secret_delete(app: AppHandle, name: SecretName) -> IpcResult<()> {
    typed_in(name)?;
    off_main(app, move |s| Ok(s.secrets.delete(name)?)).await
}
