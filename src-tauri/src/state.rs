//! What the running app holds: the state database, the open project and its watcher, terminals.

use std::path::PathBuf;
use std::sync::Arc;

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::service::SandboxService;
use aura_core::store::{ProjectRecord, Store};
use aura_core::sync::service::{SyncService, SyncStatus};
use aura_core::terminal::TerminalManager;
use aura_core::workspace::watcher::ProjectWatcher;
use parking_lot::{Mutex, RwLock};

use crate::error::IpcError;

pub struct OpenProject {
    pub root: ProjectRoot,
    pub record: ProjectRecord,
    _watcher: Option<ProjectWatcher>,
}

pub struct AppState {
    pub store: Arc<Store>,
    pub terminals: Arc<TerminalManager>,
    pub sandboxes: Arc<SandboxService>,
    pub secrets: aura_core::secrets::Secrets,
    /// Preview proxies by upstream port, started on first use.
    pub preview: tokio::sync::Mutex<std::collections::HashMap<u16, aura_core::preview::PreviewProxy>>,
    pub data_dir: PathBuf,
    /// When the process started (for the startup figure logged by `ui_ready`).
    pub started: std::time::Instant,
    /// Sync of the open project to the bucket (runs in the background).
    pub sync: Arc<SyncService>,
    /// Where sync status updates go (the window subscribes once it is up).
    pub sync_channel: Arc<Mutex<Option<tauri::ipc::Channel<SyncStatus>>>>,
    project: RwLock<Option<Arc<OpenProject>>>,
    startup: Mutex<Option<PathBuf>>,
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
        let sync =
            Arc::new(SyncService::new(store.clone(), aura_core::secrets::Secrets::default(), runtime, move |status| {
                if let Some(ch) = to_window.lock().as_ref() {
                    let _ = ch.send(status.clone());
                }
            }));
        Ok(Self {
            sync,
            sync_channel,
            sandboxes: Arc::new(SandboxService::new(store.clone(), aura_core::secrets::Secrets::default())),
            secrets: aura_core::secrets::Secrets::default(),
            preview: tokio::sync::Mutex::new(std::collections::HashMap::new()),
            store,
            terminals: Arc::new(TerminalManager::new()),
            data_dir,
            started,
            project: RwLock::new(None),
            startup: Mutex::new(startup),
        })
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
        aura_core::samples::ensure_sample(&sample)
            .map_err(|e| IpcError::new("io", format!("cannot write the sample project: {e}")))?;
        Ok(sample)
    }

    pub fn set_project(&self, root: ProjectRoot, record: ProjectRecord, watcher: Option<ProjectWatcher>) {
        self.sync.open_project(record.id, root.clone());
        *self.project.write() = Some(Arc::new(OpenProject { root, record, _watcher: watcher }));
    }

    /// A command changed these project-relative paths: journal them for sync now (before the
    /// command answers) rather than when the watcher reports them.
    pub fn changed(&self, paths: &[&str]) {
        let paths: Vec<Vec<u8>> = paths.iter().map(|p| p.as_bytes().to_vec()).collect();
        self.sync.hint(&paths);
        if let Ok(p) = self.project() {
            self.sandboxes.files_changed(p.record.id, &paths);
        }
    }

    pub fn project(&self) -> Result<Arc<OpenProject>, IpcError> {
        self.project.read().clone().ok_or_else(IpcError::no_project)
    }

    pub fn project_root(&self) -> Result<ProjectRoot, IpcError> {
        Ok(self.project()?.root.clone())
    }

    pub fn shutdown(&self) {
        self.sync.close();
        self.terminals.close_all();
        self.sandboxes.shutdown();
        *self.project.write() = None;
    }
}
