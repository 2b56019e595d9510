//! The Sandboxes view (every sandbox Aura made at the providers) and what use costs.

use aura_core::sandbox::cost::{self, Rates, Usage};
use aura_core::sandbox::fleet::{self, Fleet, FleetAction};
use aura_core::sandbox::ProviderKind;
use aura_core::store::ProjectSettings;
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

/// Where the providers' APIs are: the open project's settings, else the defaults and the
/// environment.
fn settings(state: &AppState) -> ProjectSettings {
    state.project().ok().and_then(|p| state.store.project_settings(p.record.id).ok()).unwrap_or_default()
}

#[tauri::command]
pub async fn sandboxes_list(state: State<'_, AppState>) -> IpcResult<Fleet> {
    let settings = settings(&state);
    Ok(fleet::list(&state.sandboxes, &state.store, &settings).await)
}

#[tauri::command]
pub async fn sandboxes_act(
    state: State<'_, AppState>,
    provider: ProviderKind,
    id: String,
    action: FleetAction,
) -> IpcResult<()> {
    let settings = settings(&state);
    Ok(fleet::act(&state.sandboxes, &settings, provider, &id, action).await?)
}

#[tauri::command]
pub async fn usage_summary(app: tauri::AppHandle) -> IpcResult<Vec<Usage>> {
    super::off_main(app, |s| Ok(cost::usage(&s.store, &Rates::load(&s.store))?)).await
}

#[tauri::command]
pub async fn usage_rates(app: tauri::AppHandle) -> IpcResult<Rates> {
    super::off_main(app, |s| Ok(Rates::load(&s.store))).await
}

#[tauri::command]
pub async fn usage_save_rates(app: tauri::AppHandle, rates: Rates) -> IpcResult<()> {
    super::off_main(app, move |s| Ok(rates.save(&s.store)?)).await
}
