//! How a project runs: its install command, dev command and port — detected from the folder,
//! editable, and kept in `.aura/run.json` inside the project so it travels with sync and Git.

mod detect;
pub mod failure;
pub mod line;
pub mod port;
mod workspaces;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::paths::ProjectRoot;
use crate::workspace::{files, WorkspaceError};

pub use detect::{detect, workspace_apps};
pub use workspaces::RunApp;

/// Where the configuration is kept, relative to the project root.
pub const CONFIG_PATH: &str = ".aura/run.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RunConfig {
    /// Installs the dependencies (`npm install`); none when the project has nothing to install.
    pub install: Option<String>,
    /// Starts the app (`npm run dev`).
    pub dev: String,
    /// The port the dev server listens on, when it serves a page.
    pub port: Option<u16>,
    /// Project files whose change means the dependencies must be installed again.
    #[serde(default)]
    pub manifests: Vec<String>,
}

/// The configuration with where it came from, for the Run settings.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RunSetup {
    pub config: Option<RunConfig>,
    /// "saved in .aura/run.json", "detected: package.json (Vite, npm)", or why nothing was found.
    pub source: String,
    pub saved: bool,
    /// The apps of a monorepo (npm / yarn / pnpm workspaces), to choose from; empty otherwise.
    pub apps: Vec<RunApp>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{CONFIG_PATH} is not a valid run configuration: {0}. Fix or delete it.")]
    BadConfig(String),
    #[error("The dev command is empty.")]
    EmptyDev,
    #[error("Port {0} is not a port a dev server can use (1024–65535).")]
    BadPort(u16),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

impl crate::error::UserFacing for RunError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::BadConfig(_) | Self::EmptyDev | Self::BadPort(_) => crate::error::ErrorKind::Invalid,
            Self::Workspace(e) => e.kind(),
        }
    }
}

/// The saved configuration, else the detected one; with a monorepo's apps to choose from.
pub fn load(root: &ProjectRoot) -> Result<RunSetup, RunError> {
    let apps = workspace_apps(root);
    match files::read_file(root, CONFIG_PATH) {
        Ok(content) => {
            let config: RunConfig =
                serde_json::from_str(&content.text).map_err(|e| RunError::BadConfig(e.to_string()))?;
            Ok(RunSetup { config: Some(config), source: format!("saved in {CONFIG_PATH}"), saved: true, apps })
        }
        Err(WorkspaceError::NotFound(_)) => Ok(match detect(root) {
            Some((config, from)) => {
                RunSetup { config: Some(config), source: format!("detected: {from}"), saved: false, apps }
            }
            None => RunSetup {
                config: None,
                source:
                    "nothing to detect (no package.json, Python project, Cargo.toml or index.html): enter the commands"
                        .into(),
                saved: false,
                apps,
            },
        }),
        Err(e) => Err(e.into()),
    }
}

/// Checks and writes the configuration to `.aura/run.json` (through the editor's save path).
pub fn save(root: &ProjectRoot, config: &RunConfig) -> Result<(), RunError> {
    if config.dev.trim().is_empty() {
        return Err(RunError::EmptyDev);
    }
    if let Some(p) = config.port.filter(|p| *p < 1024) {
        return Err(RunError::BadPort(p));
    }
    if root
        .dir()
        .map_err(WorkspaceError::from)?
        .metadata(".aura")
        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        files::create_dir(root, ".aura")?;
    }
    let text = serde_json::to_string_pretty(config).expect("a run configuration serializes") + "\n";
    files::write_file(root, CONFIG_PATH, &text, None)?;
    Ok(())
}

/// What ▶ Run does now: install first when the manifests changed since the last install (or what
/// it installs into is missing), then start the dev command.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RunPlan {
    pub config: RunConfig,
    /// The install command, when an install is due.
    pub install: Option<String>,
    /// The manifests' fingerprint now; after an install, recorded under [`installed_key`].
    pub fingerprint: String,
    /// The port is saved in `.aura/run.json` (then it is the one awaited); else it is the
    /// framework's usual port, a hint, and the app's port is the one it opens.
    pub port_saved: bool,
}

/// The state-database key of the last successful install's fingerprint.
pub fn installed_key(project_id: i64) -> String {
    format!("run.installed.{project_id}")
}

/// The plan for the project's configuration (saved or detected); none when there is none.
pub fn plan_setup(root: &ProjectRoot, setup: RunSetup, last_installed: Option<&str>) -> Option<RunPlan> {
    let saved = setup.saved;
    setup.config.map(|c| RunPlan { port_saved: saved, ..plan(root, c, last_installed) })
}

pub fn plan(root: &ProjectRoot, config: RunConfig, last_installed: Option<&str>) -> RunPlan {
    let fingerprint = fingerprint(root, &config);
    let target_missing = installs_into(&config).is_some_and(|dir| root.dir().is_ok_and(|d| d.metadata(dir).is_err()));
    let due = last_installed != Some(fingerprint.as_str()) || target_missing;
    let install = config.install.clone().filter(|c| due && !c.trim().is_empty());
    RunPlan { config, install, fingerprint, port_saved: false }
}

/// The folder an install fills, when it can be told from the command.
fn installs_into(config: &RunConfig) -> Option<&'static str> {
    let cmd = config.install.as_deref()?;
    if cmd.contains("venv") {
        Some(".venv")
    } else if ["npm", "pnpm", "yarn", "bun"].iter().any(|pm| cmd.starts_with(pm)) {
        Some("node_modules")
    } else {
        None
    }
}

/// A hash of the manifests' contents: when it differs from the last install's, install again.
pub fn fingerprint(root: &ProjectRoot, config: &RunConfig) -> String {
    let mut h = blake3::Hasher::new();
    if let Ok(dir) = root.dir() {
        for m in &config.manifests {
            h.update(m.as_bytes());
            h.update(&[0]);
            if let Ok(mut f) = crate::paths::open_read(&dir, std::path::Path::new(m)) {
                let _ = std::io::copy(&mut f, &mut h);
            }
            h.update(&[0]);
        }
    }
    h.finalize().to_hex().to_string()
}
