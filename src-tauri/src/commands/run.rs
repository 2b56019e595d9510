//! ▶ Run: the project's run configuration and what a run must do first (see `aura_core::run`).

use aura_core::run::{self, RunConfig, RunPlan, RunSetup};
use tauri::AppHandle;

use super::off_main;
use crate::error::{IpcError, IpcResult};

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
    off_main(app, |s| {
        let p = s.project()?;
        let last = s.store.setting(&run::installed_key(p.record.id))?;
        run::plan_setup(&p.root, run::load(&p.root)?, last.as_deref()).ok_or_else(|| {
            IpcError::new(
                aura_core::error::ErrorKind::NoRunConfig,
                "Aura could not tell how this project runs: enter its commands in Run settings",
            )
        })
    })
    .await
}

/// The install just succeeded: remember the manifests as they are now (an install may have written
/// the lockfile), so the next run skips it until one changes.
#[tauri::command]
pub async fn run_installed(app: AppHandle) -> IpcResult<()> {
    off_main(app, |s| {
        let p = s.project()?;
        let Some(config) = run::load(&p.root)?.config else { return Ok(()) };
        let fingerprint = run::plan(&p.root, config, None).fingerprint;
        Ok(s.store.set_setting(&run::installed_key(p.record.id), Some(&fingerprint))?)
    })
    .await
}

/// Why an install failed, in one line, from the end of its output (none when it does not say).
#[tauri::command]
pub fn run_explain(output: String) -> Option<String> {
    run::failure::explain(&output)
}
