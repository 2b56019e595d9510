//! What the running app holds: the core's project host, and the window's own bits (where sync
//! status goes, the startup folder, the startup clock).

use std::path::PathBuf;
use std::sync::Arc;

use aura_core::project::ProjectHost;
use aura_core::store::Store;
use aura_core::sync::service::SyncStatus;
use parking_lot::Mutex;

use crate::error::IpcError;

pub struct AppState {
    /// The open project and everything that serves it (see `aura_core::project`).
    pub host: Arc<ProjectHost>,
    pub data_dir: PathBuf,
    /// When the process started (for the startup figure logged by `ui_ready`).
    pub started: std::time::Instant,
    /// Where sync status updates go (the window subscribes once it is up).
    pub sync_channel: Arc<Mutex<Option<tauri::ipc::Channel<SyncStatus>>>>,
    /// Coding agents (the MCP server) working on the open project.
    pub agents: Arc<crate::agent::Agents>,
    startup: Mutex<Option<PathBuf>>,
}

/// The commands read the host's parts (`state.store`, `state.project()`) directly.
impl std::ops::Deref for AppState {
    type Target = ProjectHost;
    fn deref(&self) -> &ProjectHost {
        &self.host
    }
}

impl AppState {
    pub fn new(
        data_dir: PathBuf,
        startup: Option<PathBuf>,
        started: std::time::Instant,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let store = Arc::new(Store::open(&data_dir.join("aura.sqlite3"))?);
        let sync_channel: Arc<Mutex<Option<tauri::ipc::Channel<SyncStatus>>>> = Arc::new(Mutex::new(None));
        let tauri::async_runtime::RuntimeHandle::Tokio(runtime) = tauri::async_runtime::handle();
        let to_window = sync_channel.clone();
        let host = ProjectHost::new(store, aura_core::secrets::Secrets::default(), runtime, move |status| {
            if let Some(ch) = to_window.lock().as_ref() {
                let _ = ch.send(status.clone());
            }
        });
        // Package caches of local sandboxes, one folder per project (~/.cache/aura/package-cache).
        let cache_root = dirs::cache_dir().unwrap_or_else(|| data_dir.join("cache"));
        host.sandboxes.set_package_cache(cache_root.join("aura").join("package-cache"));
        let host = Arc::new(host);
        let agents = Arc::new(crate::agent::Agents::new(host.clone(), &data_dir)?);
        Ok(Self { host, sync_channel, agents, data_dir, started, startup: Mutex::new(startup) })
    }

    /// The folder to open at startup: the command-line argument (once), else the last project,
    /// else the bundled sample (written to the data folder on first use).
    pub fn startup_project(&self) -> Result<PathBuf, IpcError> {
        if let Some(p) = self.startup.lock().take() {
            return Ok(p);
        }
        if let Some(last) = self.store.last_project()? {
            return Ok(PathBuf::from(last));
        }
        let sample = self.data_dir.join("sample-project");
        aura_core::samples::ensure_sample(&sample).map_err(|e| {
            IpcError::new(aura_core::error::ErrorKind::Io, format!("cannot write the sample project: {e}"))
        })?;
        Ok(sample)
    }
}
