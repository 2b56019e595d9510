//! The app's sandbox orchestration, headless: picks the provider from the project's settings
//! (local bubblewrap, Daytona or E2B with its key from the keychain), creates the sandbox on
//! demand — uploading the project to a remote one — records sessions and executions in the
//! store, and cleans up.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::local::bwrap::{self, Isolation, NetPlan};
use super::local::network::{self as net, NetworkMode, Outbound};
use super::local::LocalProvider;
use super::remote::daytona::{DaytonaConfig, DaytonaProvider};
use super::remote::e2b::{E2bConfig, E2bProvider};
use super::remote::RetryPolicy;
use super::*;
use crate::paths::ProjectRoot;
use crate::secrets::{SecretName, Secrets};
use crate::store::{ProjectRecord, ProjectSettings, Store};
use crate::terminal::TerminalSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SandboxAction {
    Create,
    Start,
    Stop,
    Pause,
    Resume,
    Delete,
}

/// The project's current sandbox.
#[derive(Clone)]
struct Current {
    project_id: i64,
    kind: ProviderKind,
    sandbox_id: String,
    session_row: i64,
    provider: Arc<dyn Provider>,
    /// Keeps a remote sandbox's workspace equal to the project (none for local: bind mount).
    mirror: Option<Arc<crate::sandbox::mirror::Mirror>>,
}

/// How the project's commands are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum IsolationMode {
    /// The local bubblewrap sandbox.
    Bubblewrap,
    /// Not isolated: bubblewrap does not work here and the user accepted running unsandboxed.
    None,
    /// Bubblewrap does not work here; commands are refused.
    Unavailable,
    /// Daytona / E2B: isolated by the provider.
    Remote,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct IsolationStatus {
    pub mode: IsolationMode,
    pub problem: Option<String>,
    /// The local sandbox's network as chosen in the settings (none for remote sandboxes).
    pub network: Option<NetworkMode>,
    /// Why the chosen network cannot be had here (an isolated network without a working
    /// user-mode network tool); commands are refused until another mode is chosen.
    pub network_problem: Option<String>,
    /// The tool an isolated network goes out through ("pasta" or "slirp4netns").
    pub network_tool: Option<String>,
}

pub struct SandboxService {
    store: Arc<Store>,
    secrets: Secrets,
    local: Mutex<Option<Arc<LocalProvider>>>,
    current: Mutex<Option<Current>>,
    /// Cached result of looking for bubblewrap.
    bwrap: Mutex<Option<Result<PathBuf, String>>>,
    /// Cached result of looking for a working user-mode network tool.
    outbound: Mutex<Option<Result<Outbound, String>>>,
    /// Wakes running `exec`s to stop them.
    cancel: tokio::sync::Notify,
    /// The network namespace of the current local sandbox: the preview proxy dials into it.
    net: Arc<SandboxNet>,
}

/// The current local sandbox's network namespace, as the preview proxy's [`Dialer`]: it follows
/// the sandbox (a preview opened before the sandbox exists works once it does).
#[derive(Default)]
pub struct SandboxNet(Mutex<Option<Arc<net::Netns>>>);

impl SandboxNet {
    fn set(&self, ns: Option<Arc<net::Netns>>) {
        *self.0.lock() = ns;
    }
}

impl crate::preview::proxy::Dialer for SandboxNet {
    fn socket(&self, v6: bool) -> std::io::Result<std::os::fd::OwnedFd> {
        let ns = self.0.lock().clone();
        match ns {
            Some(ns) => ns.tcp_socket(v6),
            None => Err(std::io::Error::new(std::io::ErrorKind::NotConnected, "the sandbox is not running yet")),
        }
    }
}

fn state_name(s: SandboxState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "unknown".into())
}

fn env_or(setting: &str, var: &str) -> Option<String> {
    Some(setting.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var(var).ok().filter(|s| !s.is_empty()))
}

impl SandboxService {
    pub fn new(store: Arc<Store>, secrets: Secrets) -> Self {
        let _ = store.close_stale_sessions("local");
        Self {
            store,
            secrets,
            local: Mutex::new(None),
            current: Mutex::new(None),
            bwrap: Mutex::new(None),
            outbound: Mutex::new(None),
            cancel: tokio::sync::Notify::new(),
            net: Arc::new(SandboxNet::default()),
        }
    }

    fn detect(&self) -> Result<PathBuf, String> {
        self.bwrap.lock().get_or_insert_with(bwrap::detect).clone()
    }

    fn outbound(&self) -> Result<Outbound, String> {
        self.outbound.lock().get_or_insert_with(net::probe_isolated).clone()
    }

    fn net_plan(&self, mode: NetworkMode) -> Result<NetPlan, SandboxError> {
        Ok(match mode {
            NetworkMode::Isolated => NetPlan::Isolated(self.outbound().map_err(SandboxError::NetworkUnavailable)?),
            NetworkMode::Offline => NetPlan::Offline,
            NetworkMode::Host => NetPlan::Host,
        })
    }

    pub fn isolation(&self, settings: &ProjectSettings) -> IsolationStatus {
        let status = |mode: IsolationMode, problem| IsolationStatus {
            mode,
            problem,
            network: None,
            network_problem: None,
            network_tool: None,
        };
        if settings.provider != ProviderKind::Local {
            return status(IsolationMode::Remote, None);
        }
        let mut st = match self.detect() {
            Ok(_) => status(IsolationMode::Bubblewrap, None),
            Err(p) if settings.allow_unsandboxed => return status(IsolationMode::None, Some(p)),
            Err(p) => return status(IsolationMode::Unavailable, Some(p)),
        };
        st.network = Some(settings.network);
        if settings.network == NetworkMode::Isolated {
            match self.outbound() {
                Ok(tool) => st.network_tool = Some(tool.name().into()),
                Err(why) => st.network_problem = Some(why),
            }
        }
        st
    }

    /// The local provider, created with the isolation the settings allow.
    fn local(&self, settings: &ProjectSettings) -> Result<Arc<LocalProvider>, SandboxError> {
        let wanted = match self.detect() {
            Ok(b) => Isolation::Bubblewrap { bwrap: b, network: self.net_plan(settings.network)? },
            Err(reason) if settings.allow_unsandboxed => Isolation::None { reason },
            Err(reason) => return Err(SandboxError::IsolationUnavailable(reason)),
        };
        let mut slot = self.local.lock();
        if let Some(p) = slot.as_ref() {
            if *p.isolation() == wanted {
                return Ok(p.clone());
            }
        }
        let p = Arc::new(LocalProvider::with_isolation(wanted));
        if let Some(old) = slot.replace(p.clone()) {
            old.shutdown();
        }
        Ok(p)
    }

    /// A client for the project's remote provider, with its key from the keychain.
    pub fn remote(&self, settings: &ProjectSettings) -> Result<Arc<dyn Provider>, SandboxError> {
        let key = |name: SecretName, label: &'static str| {
            self.secrets
                .get(name)
                .map_err(|e| SandboxError::Api { provider: label, status: 0, message: e.to_string() })?
                .ok_or(SandboxError::MissingKey(label))
        };
        match settings.provider {
            ProviderKind::Daytona => {
                let cfg = DaytonaConfig {
                    api_url: env_or(&settings.daytona_api_url, "DAYTONA_API_URL")
                        .unwrap_or_else(|| DaytonaConfig::default().api_url),
                    target: env_or(&settings.daytona_target, "DAYTONA_TARGET"),
                    organization_id: std::env::var("DAYTONA_ORGANIZATION_ID").ok(),
                };
                Ok(Arc::new(DaytonaProvider::new(
                    cfg,
                    key(SecretName::DaytonaApiKey, "Daytona")?,
                    RetryPolicy::default(),
                )?))
            }
            ProviderKind::E2b => {
                let mut cfg = E2bConfig::default();
                if let Some(d) = env_or(&settings.e2b_domain, "E2B_DOMAIN") {
                    cfg.domain = d;
                }
                // Development and test knobs: talk plain HTTP to a local E2B.
                if let Ok(s) = std::env::var("AURA_E2B_SCHEME") {
                    cfg.scheme = s;
                }
                cfg.resolve_all_to = std::env::var("AURA_E2B_RESOLVE").ok().and_then(|a| a.parse().ok());
                if !settings.image.is_empty() {
                    cfg.template = settings.image.clone();
                }
                Ok(Arc::new(E2bProvider::new(cfg, key(SecretName::E2bApiKey, "E2B")?, RetryPolicy::default())?))
            }
            ProviderKind::Local => Err(SandboxError::Unsupported("a remote client for the local provider")),
        }
    }

    fn current_for(&self, project: &ProjectRecord) -> Option<Current> {
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        self.current.lock().clone().filter(|c| c.project_id == project.id && c.kind == settings.provider)
    }

    /// The project's sandbox, if it has one.
    pub async fn info(&self, project: &ProjectRecord) -> Result<Option<SandboxInfo>, SandboxError> {
        let Some(cur) = self.current_for(project) else { return Ok(None) };
        Ok(Some(cur.provider.get(&cur.sandbox_id).await?))
    }

    /// The running sandbox of the project, created on first use.
    async fn ensure(&self, root: &ProjectRoot, project: &ProjectRecord) -> Result<Current, SandboxError> {
        if let Some(cur) = self.current_for(project) {
            if let Ok(info) = cur.provider.get(&cur.sandbox_id).await {
                // A command or terminal on a sandbox that was stopped (by hand or by the idle
                // stop) or paused means "use it": it is started or resumed, and says so.
                let woke = match info.state {
                    SandboxState::Stopped => Some(cur.provider.start(&cur.sandbox_id).await?),
                    SandboxState::Paused => Some(cur.provider.resume(&cur.sandbox_id).await?),
                    _ => None,
                };
                if let Some(info) = woke {
                    let _ = self.store.update_sandbox_session(cur.session_row, &state_name(info.state), false);
                }
                return Ok(cur);
            }
        }
        // Another project's (or provider's) sandbox is released when this one starts.
        self.release().await;
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        let spec = SandboxSpec {
            name: Some(root.name()),
            image: Some(settings.image.clone()).filter(|s| !s.is_empty()),
            env: settings.env.clone(),
            labels: vec![("project".into(), root.name())],
            limits: settings.limits.clone(),
            auto_stop_minutes: settings.auto_stop_minutes,
        };
        let (provider, info, mirror): (Arc<dyn Provider>, SandboxInfo, _) = match settings.provider {
            ProviderKind::Local => {
                let p = self.local(&settings)?;
                let info = p.create_for(root, &spec)?;
                self.net.set(p.netns(&info.id)?);
                (p, info, None)
            }
            _ => {
                let p = self.remote(&settings)?;
                let info = p.create(&spec).await?;
                let up = upload_project(p.as_ref(), &info.id, root).await?;
                let mirror = crate::sandbox::mirror::Mirror::start(p.clone(), info.id.clone(), root.clone());
                mirror.note_skipped(up.skipped);
                (p, info, Some(mirror))
            }
        };
        let kind = settings.provider;
        let row =
            self.store.start_sandbox_session(project.id, kind.as_str(), &info.id, &state_name(info.state)).unwrap_or(0);
        let cur = Current { project_id: project.id, kind, sandbox_id: info.id, session_row: row, provider, mirror };
        *self.current.lock() = Some(cur.clone());
        Ok(cur)
    }

    pub async fn action(
        &self,
        root: &ProjectRoot,
        project: &ProjectRecord,
        action: SandboxAction,
    ) -> Result<(), SandboxError> {
        if action == SandboxAction::Create {
            self.ensure(root, project).await?;
            return Ok(());
        }
        let cur =
            self.current_for(project).ok_or_else(|| SandboxError::NotFound("(none yet: create one first)".into()))?;
        let p = &cur.provider;
        let info = match action {
            SandboxAction::Start => p.start(&cur.sandbox_id).await?,
            SandboxAction::Stop => p.stop(&cur.sandbox_id).await?,
            SandboxAction::Pause => p.pause(&cur.sandbox_id).await?,
            SandboxAction::Resume => p.resume(&cur.sandbox_id).await?,
            SandboxAction::Delete => {
                if let Some(m) = &cur.mirror {
                    m.stop();
                }
                p.delete(&cur.sandbox_id).await?;
                self.net.set(None);
                let _ = self.store.update_sandbox_session(cur.session_row, "destroyed", true);
                *self.current.lock() = None;
                return Ok(());
            }
            SandboxAction::Create => unreachable!(),
        };
        let _ = self.store.update_sandbox_session(cur.session_row, &state_name(info.state), false);
        Ok(())
    }

    /// Runs a command in the project's sandbox (created on demand) and records it.
    pub async fn exec(
        &self,
        root: &ProjectRoot,
        project: &ProjectRecord,
        req: &ExecRequest,
        sink: &mut dyn ExecSink,
    ) -> Result<ExecOutcome, SandboxError> {
        let cur = self.ensure(root, project).await?;
        let started = crate::store::now_ms();
        // Stopping drops the provider's future: a local run is killed with its process tree
        // (the sandbox dies with its parent), a remote stream is closed.
        let res = tokio::select! {
            r = cur.provider.exec(&cur.sandbox_id, req, sink) => r,
            _ = self.cancel.notified() => Err(SandboxError::Cancelled),
        };
        let (code, dur, bytes) = match &res {
            Ok(o) => (o.exit_code, o.duration_ms as i64, o.bytes_out as i64),
            Err(_) => (None, crate::store::now_ms() - started, 0),
        };
        let _ = self.store.record_execution(project.id, Some(cur.session_row), &req.command, code, started, dur, bytes);
        res
    }

    /// Stops every command started through [`SandboxService::exec`] that is still running.
    pub fn cancel_exec(&self) {
        self.cancel.notify_waiters();
    }

    pub async fn processes(&self, project: &ProjectRecord) -> Result<Vec<ProcessInfo>, SandboxError> {
        let Some(cur) = self.current_for(project) else { return Ok(Vec::new()) };
        cur.provider.processes(&cur.sandbox_id).await
    }

    /// Ports the project's sandbox listens on (local sandboxes; remote ones: none known yet).
    pub async fn listening_ports(&self, project: &ProjectRecord) -> Result<Vec<u16>, SandboxError> {
        let Some(cur) = self.current_for(project) else { return Ok(Vec::new()) };
        if cur.kind != ProviderKind::Local {
            return Ok(Vec::new());
        }
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        self.local(&settings)?.listening_ports(&cur.sandbox_id)
    }

    /// Where the preview proxy sends requests for `port` of the project's sandbox.
    pub async fn preview_upstream(
        &self,
        project: &ProjectRecord,
        port: u16,
    ) -> Result<crate::preview::Upstream, SandboxError> {
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        if settings.provider == ProviderKind::Local {
            // On its own network the sandbox's servers are on *its* loopback: the proxy dials
            // into its namespace. On the host network they are on this machine's.
            let own_network = self.detect().is_ok() && settings.network != NetworkMode::Host;
            return Ok(if own_network {
                crate::preview::Upstream::in_namespace(port, crate::preview::proxy::Via(self.net.clone()))
            } else {
                crate::preview::Upstream::local(port)
            });
        }
        // Remote: the provider's preview host, with its auth headers (Daytona's token).
        let cur = self
            .current_for(project)
            .ok_or_else(|| SandboxError::NotFound("(no sandbox yet: run something first)".into()))?;
        let target = cur.provider.preview(&cur.sandbox_id, port).await?;
        let mut up = crate::preview::Upstream::from_url(&target.url, target.headers).ok_or_else(|| {
            SandboxError::BadResponse { provider: "preview", message: format!("unusable preview URL {}", target.url) }
        })?;
        if settings.provider == ProviderKind::E2b {
            // The same development / test knob the E2B client honours.
            up.connect_to = std::env::var("AURA_E2B_RESOLVE").ok().and_then(|a| a.parse().ok());
        }
        Ok(up)
    }

    /// Whether the project runs on a remote provider (Daytona, E2B).
    pub fn is_remote(&self, project: &ProjectRecord) -> bool {
        self.store.project_settings(project.id).unwrap_or_default().provider != ProviderKind::Local
    }

    /// A shell on the remote sandbox's PTY (created on demand).
    pub async fn open_remote_terminal(
        &self,
        root: &ProjectRoot,
        project: &ProjectRecord,
        cols: u16,
        rows: u16,
        sink: Box<dyn crate::terminal::TerminalSink>,
    ) -> Result<Arc<dyn crate::terminal::TerminalHandle>, SandboxError> {
        let cur = self.ensure(root, project).await?;
        cur.provider.open_terminal(&cur.sandbox_id, cols, rows, sink).await
    }

    /// A shell inside the project's local sandbox; call [`SandboxService::attach`] with its pid.
    pub async fn terminal_spec(
        &self,
        root: &ProjectRoot,
        project: &ProjectRecord,
        cols: u16,
        rows: u16,
    ) -> Result<(TerminalSpec, String), SandboxError> {
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        if settings.provider != ProviderKind::Local {
            return Err(SandboxError::Unsupported(
                "a local terminal spec for a remote sandbox (use open_remote_terminal)",
            ));
        }
        let cur = self.ensure(root, project).await?;
        let p = self.local(&settings)?;
        Ok((p.terminal_spec(&cur.sandbox_id, cols, rows)?, cur.sandbox_id))
    }

    pub fn attach(&self, sandbox_id: &str, pid: u32) -> Result<(), SandboxError> {
        let p = self.local.lock().clone().ok_or_else(|| SandboxError::NotFound(sandbox_id.to_string()))?;
        p.attach(sandbox_id, pid)
    }

    /// Releases the current sandbox (project or provider switch): local ones are deleted,
    /// remote ones stopped when the settings say so.
    /// Project files changed (a save, the watcher): a remote sandbox gets them too.
    pub fn files_changed(&self, project_id: i64, paths: &[Vec<u8>]) {
        let cur = self.current.lock().clone();
        if let Some(m) = cur.filter(|c| c.project_id == project_id).and_then(|c| c.mirror) {
            m.hint(paths);
        }
    }

    /// How the remote sandbox's copy of the project is doing (none for local sandboxes).
    pub fn mirror_status(&self, project_id: i64) -> Option<crate::sandbox::mirror::MirrorStatus> {
        let cur = self.current.lock().clone();
        cur.filter(|c| c.project_id == project_id).and_then(|c| c.mirror).map(|m| m.status())
    }

    pub async fn release(&self) {
        let cur = self.current.lock().take();
        let Some(cur) = cur else { return };
        if let Some(m) = &cur.mirror {
            m.stop();
        }
        let settings = self.store.project_settings(cur.project_id).unwrap_or_default();
        if cur.kind == ProviderKind::Local {
            let _ = cur.provider.delete(&cur.sandbox_id).await;
            self.net.set(None);
            let _ = self.store.update_sandbox_session(cur.session_row, "destroyed", true);
        } else if settings.stop_on_close {
            let _ = cur.provider.stop(&cur.sandbox_id).await;
            let _ = self.store.update_sandbox_session(cur.session_row, "stopped", true);
        } else {
            let _ = self.store.update_sandbox_session(cur.session_row, "started", true);
        }
    }

    /// Cleanup for app exit: every local sandbox process is killed now; a remote sandbox is
    /// stopped when the settings say so (best effort, bounded).
    pub fn shutdown(&self) {
        let cur = self.current.lock().clone();
        if let Some(cur) = cur {
            if cur.kind != ProviderKind::Local {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.release()).await;
                    });
                }
            } else {
                let _ = self.store.update_sandbox_session(cur.session_row, "destroyed", true);
            }
        }
        self.current.lock().take();
        if let Some(p) = self.local.lock().take() {
            p.shutdown();
        }
    }
}

/// What [`upload_project`] copied and what it did not (path → reason).
#[derive(Debug, Default)]
pub struct Upload {
    pub sent: usize,
    pub skipped: std::collections::BTreeMap<String, String>,
}

/// Copies the project (what sync carries: folders, files, links inside the project) into a new
/// remote sandbox, everything read through the root capability. Folders go first, then the
/// rest 8 at a time; the first failure stops the upload.
pub async fn upload_project(p: &dyn Provider, id: &str, root: &ProjectRoot) -> Result<Upload, SandboxError> {
    use crate::sandbox::mirror::{put_local, read_local, Local};
    use crate::sync::carried::carried_paths as entries;
    use futures::stream::{StreamExt, TryStreamExt};
    let all = entries(root, root.path());
    let (folders, rest): (Vec<Vec<u8>>, Vec<Vec<u8>>) = all.into_iter().partition(|r| {
        std::fs::symlink_metadata(root.path().join(crate::paths::rel_bytes(r))).is_ok_and(|m| m.is_dir())
    });
    let one = |rel: Vec<u8>| async move {
        let r = root.clone();
        let rel2 = rel.clone();
        let local = tokio::task::spawn_blocking(move || read_local(&r, &rel2))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let name = String::from_utf8_lossy(&rel).into_owned();
        match local {
            Ok(Local::Skipped(why)) => Ok(Some((name, why))),
            Ok(l) => put_local(p, id, &name, &l).await.map(|()| None),
            Err(e) => Err(SandboxError::Io(format!("{name}: {e}"))),
        }
    };
    let mut up = Upload::default();
    for rel in folders {
        up.sent += 1;
        if let Some((n, why)) = one(rel).await? {
            up.skipped.insert(n, why);
        }
    }
    let results: Vec<Option<(String, String)>> =
        futures::stream::iter(rest.into_iter().map(one)).buffer_unordered(8).try_collect().await?;
    for r in results {
        match r {
            Some((n, why)) => {
                up.skipped.insert(n, why);
            }
            None => up.sent += 1,
        }
    }
    Ok(up)
}
