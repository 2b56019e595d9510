//! The open project and what serves it, as one object every front end drives: the window's
//! commands, the agent (MCP) server and the headless tools. (Zed keeps the same job in its
//! `project` crate.)
//!
//! [`ProjectHost`] owns the state database, sync, the sandboxes, terminals, previews and the open
//! project with its watcher. Every change a front end makes goes through here, so an editor save
//! and an agent's write take one path: written through the root capability, journalled for sync
//! before the call answers, pushed to a remote sandbox's copy, and reported by the watcher to the
//! window like any change on disk.

mod app;
mod error;
mod previews;
mod runport;
mod windowrun;

use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::paths::ProjectRoot;
use crate::sandbox::service::SandboxService;
use crate::sandbox::{ExecOutcome, ExecRequest, ExecSink};
use crate::secrets::Secrets;
use crate::store::{ProjectRecord, ProjectSession, Store};
use crate::sync::service::{SyncService, SyncStatus};
use crate::terminal::{TerminalManager, TerminalSink, TerminalSpec};
use crate::workspace::files::{self, FileVersion};
use crate::workspace::watcher::{FsChange, ProjectWatcher};

pub use app::AppStatus;
pub use error::ProjectError;
pub use previews::PreviewInfo;
pub use runport::{RunStatus, RunStep};
pub use windowrun::RunButton;

/// The project a window has open.
pub struct OpenProject {
    pub root: ProjectRoot,
    pub record: ProjectRecord,
    _watcher: Option<ProjectWatcher>,
}

/// What opening a project gives its front end.
pub struct Opened {
    pub project: Arc<OpenProject>,
    /// The tabs and layout saved for it.
    pub session: ProjectSession,
    /// Set when live updates from disk could not be started (the project still works).
    pub watch_error: Option<String>,
}

pub struct ProjectHost {
    pub store: Arc<Store>,
    pub secrets: Secrets,
    pub sync: Arc<SyncService>,
    pub sandboxes: Arc<SandboxService>,
    pub terminals: Arc<TerminalManager>,
    previews: previews::Previews,
    apps: app::AppRuns,
    run_ports: runport::RunPorts,
    window_button: windowrun::WindowButton,
    project: RwLock<Option<Arc<OpenProject>>>,
}

impl ProjectHost {
    /// `on_sync_status` receives every sync status change (the window shows it).
    pub fn new(
        store: Arc<Store>,
        secrets: Secrets,
        runtime: tokio::runtime::Handle,
        on_sync_status: impl Fn(&SyncStatus) + Send + Sync + 'static,
    ) -> Self {
        Self {
            sync: Arc::new(SyncService::new(store.clone(), secrets.clone(), runtime, on_sync_status)),
            sandboxes: Arc::new(SandboxService::new(store.clone(), secrets.clone())),
            terminals: Arc::new(TerminalManager::new()),
            previews: previews::Previews::default(),
            apps: app::AppRuns::default(),
            run_ports: runport::RunPorts::default(),
            window_button: windowrun::WindowButton::default(),
            project: RwLock::new(None),
            secrets,
            store,
        }
    }

    /// Opens `path` as the project (closing the one before): remembers it, starts sync and the
    /// watcher. Each change on disk is journalled for sync first (durable), then sent to a remote
    /// sandbox's copy, then handed to `on_change`.
    pub fn open(&self, path: &Path, on_change: impl Fn(FsChange) + Send + 'static) -> Result<Opened, ProjectError> {
        let root = ProjectRoot::open(path)?;
        // The app an agent or ▶ Run started belongs to the project before.
        self.stop_app();
        self.forget_window_run();
        let record = self.store.touch_project(&root.path().display().to_string(), &root.name())?;
        let session = self.store.load_session(record.id)?;
        let (sync, sandboxes, project_id) = (self.sync.clone(), self.sandboxes.clone(), record.id);
        let (watcher, watch_error) = match ProjectWatcher::start(&root, move |c| {
            let paths = crate::sync::service::hint_paths(&c.paths);
            sync.hint(&paths);
            sandboxes.files_changed(project_id, &paths);
            on_change(c);
        }) {
            Ok(w) => (Some(w), None),
            Err(e) => (None, Some(e.to_string())),
        };
        self.sync.open_project(record.id, root.clone());
        let project = Arc::new(OpenProject { root, record, _watcher: watcher });
        *self.project.write() = Some(project.clone());
        Ok(Opened { project, session, watch_error })
    }

    pub fn project(&self) -> Result<Arc<OpenProject>, ProjectError> {
        self.project.read().clone().ok_or(ProjectError::NoProject)
    }

    pub fn project_root(&self) -> Result<ProjectRoot, ProjectError> {
        Ok(self.project()?.root.clone())
    }

    /// These project-relative paths changed through Aura: journal them for sync now (before the
    /// call answers) rather than when the watcher reports them, and queue them for a remote
    /// sandbox's copy.
    pub fn changed(&self, paths: &[&str]) {
        let paths: Vec<Vec<u8>> = paths.iter().map(|p| p.as_bytes().to_vec()).collect();
        self.sync.hint(&paths);
        if let Ok(p) = self.project() {
            self.sandboxes.files_changed(p.record.id, &paths);
        }
    }

    /// Saves a text file. `expected_hash` is the version the writer last read (a conflict if the
    /// file changed since); `None` overwrites whatever is there.
    pub fn write_file(&self, path: &str, text: &str, expected_hash: Option<&str>) -> Result<FileVersion, ProjectError> {
        let v = files::write_file(&self.project_root()?, path, text, expected_hash)?;
        self.changed(&[path]);
        Ok(v)
    }

    pub fn create_file(&self, path: &str) -> Result<(), ProjectError> {
        files::create_file(&self.project_root()?, path)?;
        self.changed(&[path]);
        Ok(())
    }

    pub fn create_dir(&self, path: &str) -> Result<(), ProjectError> {
        files::create_dir(&self.project_root()?, path)?;
        self.changed(&[path]);
        Ok(())
    }

    pub fn rename_path(&self, from: &str, to: &str) -> Result<(), ProjectError> {
        files::rename_path(&self.project_root()?, from, to)?;
        self.changed(&[from, to]);
        Ok(())
    }

    pub fn delete_path(&self, path: &str) -> Result<(), ProjectError> {
        files::delete_path(&self.project_root()?, path)?;
        self.changed(&[path]);
        Ok(())
    }

    /// Saves the project's run configuration (`.aura/run.json`).
    pub fn save_run_config(&self, config: &crate::run::RunConfig) -> Result<(), ProjectError> {
        crate::run::save(&self.project_root()?, config)?;
        self.changed(&[".aura", crate::run::CONFIG_PATH]);
        Ok(())
    }

    /// Runs a command in the project's sandbox (created on demand), streaming its output to `sink`.
    pub async fn exec(&self, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, ProjectError> {
        let p = self.project()?;
        Ok(self.sandboxes.exec(&p.root, &p.record, req, sink).await?)
    }

    /// Opens a shell in the project folder — on the host, or inside the project's sandbox (local
    /// or remote) — streaming its output to `sink`. Returns the terminal's id.
    pub async fn open_terminal(
        &self,
        in_sandbox: bool,
        cols: u16,
        rows: u16,
        sink: impl TerminalSink,
    ) -> Result<u32, ProjectError> {
        let p = self.project()?;
        if !in_sandbox {
            let spec = TerminalSpec::shell(p.root.path().to_path_buf(), cols, rows);
            return Ok(self.terminals.open(spec, sink)?);
        }
        let handle = self.sandboxes.open_terminal(&p.root, &p.record, cols, rows, Box::new(sink)).await?;
        Ok(self.terminals.adopt(handle))
    }

    /// Shows `port` of the project's sandbox through a loopback preview proxy (started on first
    /// use; later calls re-point it to the sandbox as it is now).
    pub async fn preview_open(&self, port: u16) -> Result<PreviewInfo, ProjectError> {
        if port == 0 {
            return Err(ProjectError::InvalidPort);
        }
        let p = self.project()?;
        let upstream = self.sandboxes.preview_upstream(&p.record, port).await?;
        self.previews.open(port, upstream).await
    }

    /// The page the preview of `port` shows now.
    pub async fn preview_location(&self, port: u16) -> Result<String, ProjectError> {
        self.previews.location(port).await
    }

    /// The preview of `port`'s address with its secret (opens it once in a browser).
    pub async fn preview_entry_url(&self, port: u16) -> Result<String, ProjectError> {
        self.previews.entry_url(port).await
    }

    pub async fn preview_close_all(&self) {
        self.previews.close_all().await
    }

    /// Ends everything: sync, terminals (never leaving their processes behind) and sandboxes.
    pub fn shutdown(&self) {
        self.stop_app();
        self.sync.close();
        self.terminals.close_all();
        self.sandboxes.shutdown();
        *self.project.write() = None;
    }
}
