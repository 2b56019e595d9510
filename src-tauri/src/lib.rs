//! Aura's Tauri shell: builds the app, holds its state, and registers the thin command layer.
//! All behaviour lives in `aura_core`; see ARCHITECTURE.md.

mod agent;
mod cli;
pub mod commands;
mod error;
mod state;
mod updates;

pub use agent::run_bridge as run_mcp_bridge;
pub use error::IpcError;
use state::AppState;
use tauri::Manager;

pub fn run() {
    let started = std::time::Instant::now();
    init_tracing();
    let startup = cli::StartupArgs::parse(std::env::args_os().skip(1));
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .invoke_handler(commands::handler())
        .setup(move |app| {
            let data_dir = app.path().app_data_dir()?;
            let state = AppState::new(data_dir, startup.project.clone(), started)?;
            let agents = state.agents.clone();
            tauri::async_runtime::spawn(async move { agents.start().await });
            app.manage(state);
            app.manage(updates::Updates::default());
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("Aura could not start its window")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                // Never leave a terminal's processes behind.
                if let Some(state) = app.try_state::<AppState>() {
                    state.agents.stop();
                    state.shutdown();
                }
            }
        });
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("AURA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}
