//! API keys: the UI may store, delete, and ask whether one is set. Values never come back.

use aura_core::secrets::SecretName;
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

use crate::error::IpcResult;
use crate::state::AppState;

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct SecretState {
    pub name: SecretName,
    /// The environment variable name the official SDKs use.
    pub env_name: String,
    pub set: bool,
}

#[tauri::command]
pub fn secrets_status(state: State<'_, AppState>) -> IpcResult<Vec<SecretState>> {
    SecretName::ALL
        .iter()
        .map(|&name| Ok(SecretState { name, env_name: name.account().to_string(), set: state.secrets.is_set(name)? }))
        .collect()
}

#[tauri::command]
pub fn secret_set(state: State<'_, AppState>, name: SecretName, value: String) -> IpcResult<()> {
    Ok(state.secrets.set(name, &value)?)
}

#[tauri::command]
pub fn secret_delete(state: State<'_, AppState>, name: SecretName) -> IpcResult<()> {
    Ok(state.secrets.delete(name)?)
}
