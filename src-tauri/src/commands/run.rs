//! ▶ Run: the project's run configuration and what a run must do first (see `aura_core::run`).

use aura_core::run::{self, RunConfig, RunPlan, RunSetup};
use tauri::AppHandle;

use super::off_main;
use crate::error::IpcResult;

#[tauri::command]
pub async fn run_setup(app: AppHandle) -> IpcResult<RunSetup> {
    off_main(app, |s| Ok(run::load(&s.project_root()?)?)).await
}

#[tauri::command]
pub async fn run_save(app: AppHandle, config: RunConfig) -> IpcResult<()> {
    off_main(app, move |s| Ok(s.save_run_config(&config)?)).await
}

/// The configuration to run with, and the install command when one is due.
#[tauri::command]
pub async fn run_plan(app: AppHandle) -> IpcResult<RunPlan> {
    off_main(app, |s| Ok(s.run_plan()?)).await
}
