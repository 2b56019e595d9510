//! Aura's Tauri shell: builds the app, holds its state, and registers the thin command layer.
//! All behaviour lives in `aura_core`; see ARCHITECTURE.md.

mod agent;
mod cli;
pub mod commands;
mod error;
mod state;
mod updates;
mod webview;

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
        .on_page_load(move |_, p| {
            tracing::debug!(ms = started.elapsed().as_millis() as u64, event = ?p.event(), "page load");
        })
        .setup(move |app| {
            tracing::debug!(ms = started.elapsed().as_millis() as u64, "setup begins");
            let data_dir = app.path().app_data_dir()?;
            let state = AppState::new(data_dir, startup.project.clone(), started)?;
            let agents = state.agents.clone();
            tauri::async_runtime::spawn(async move { agents.start().await });
            app.manage(state);
            app.manage(updates::Updates::default());
            if let Some(window) = app.get_webview_window("main") {
                webview::configure(&window);
            }
            tracing::debug!(ms = started.elapsed().as_millis() as u64, "setup done");
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

/// Logs go to stderr and to `<data>/dev.aura.ide/logs/aura.log` (the previous run's is kept as
/// `aura.1.log`), so a failure can be read after the fact. `AURA_LOG` sets the filter.
fn init_tracing() {
    use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};
    let filter = || EnvFilter::try_from_env("AURA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = log_file().map(|f| {
        fmt::layer().with_writer(std::sync::Mutex::new(f)).with_ansi(false).with_target(false).with_filter(filter())
    });
    let stderr = fmt::layer().with_writer(std::io::stderr).with_target(false).with_filter(filter());
    let _ = tracing_subscriber::registry().with(stderr).with(file).try_init();
}

fn log_file() -> Option<std::fs::File> {
    let dir = dirs::data_dir()?.join("dev.aura.ide").join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("aura.log");
    let _ = std::fs::rename(&path, dir.join("aura.1.log"));
    std::fs::File::create(path).ok()
}
