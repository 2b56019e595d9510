//! The app's sandbox orchestration, headless: picks the provider from the project's settings
//! (local bubblewrap, Daytona or E2B with its key from the keychain), creates the sandbox on
//! demand — uploading the project to a remote one — records sessions and executions in the
//! store, and cleans up.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::keepalive::{KeepAlive, Touching};
use super::ledger::Ledger;
use super::local::bwrap::{self, Isolation, NetPlan};
use super::local::network::{self as net, NetworkMode, Outbound};
use super::local::LocalProvider;
use super::reattach;
use super::remote::daytona::DaytonaProvider;
use super::remote::e2b::E2bProvider;
use super::remote::RetryPolicy;
use super::settings::ProviderConfig;
use super::*;
use crate::netpolicy::{Gate, Gatekeeper};
use crate::paths::ProjectRoot;
use crate::secrets::{SecretName, Secrets};
use crate::store::{ProjectRecord, ProjectSettings, Store};

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
    /// How the project's files got there (a remote sandbox's mirror follows every change).
    delivery: Arc<Delivery>,
}

impl Current {
    fn mirror(&self) -> Option<&Arc<crate::sandbox::mirror::Mirror>> {
        match self.delivery.as_ref() {
            Delivery::Mirrored(m) => Some(m),
            Delivery::Mounted => None,
        }
    }
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
    /// Held while a sandbox is found or made, so that a terminal, a run and an agent's command
    /// asking at once share one sandbox instead of each making (and leaking) their own.
    ensuring: tokio::sync::Mutex<()>,
    /// Cached result of looking for bubblewrap.
    bwrap: Mutex<Option<Result<PathBuf, String>>>,
    /// Cached result of looking for a working user-mode network tool.
    outbound: Mutex<Option<Result<Outbound, String>>>,
    /// Wakes running `exec`s to stop them.
    cancel: tokio::sync::Notify,
    /// Decides a Registries-only sandbox's connections (the current project's list, the
    /// questions to the user, the log the panel shows).
    pub gate: Arc<Gatekeeper>,
    /// The project whose list the gate holds (an "always" answer is saved to its settings).
    gate_project: Arc<Mutex<Option<i64>>>,
    /// The local sandbox's network namespace, followed by previews opened before it exists
    /// (kept here: the local provider is replaced when the isolation settings change).
    following: Arc<net::Following>,
    /// What the panel should tell about the sandbox (see [`SandboxService::note`]).
    note: Mutex<Option<String>>,
    /// Use of the current remote sandbox, told to its provider (see [`super::keepalive`]).
    keep: Arc<KeepAlive>,
    /// The task that tells it, started with the first remote sandbox.
    keeper: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The open remote session's row (0: none), kept fresh every minute: a crash ends it there.
    open_row: Arc<std::sync::atomic::AtomicI64>,
    /// The remote sandbox's listening ports as last asked (id, when, ports).
    remote_ports: Mutex<Option<(String, std::time::Instant, Vec<u16>)>>,
    /// Where local sandboxes keep each project's package caches (none: a fresh `~/.cache` for
    /// every command), and npm's tarballs shared between projects.
    packages: super::pkgcache::PackageCaches,
}

/// How long a remote sandbox's port listing is reused.
const REMOTE_PORTS_FRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// The open remote session is still open (its end, should Aura crash, is now).
fn heartbeat(store: &Store, row: &std::sync::atomic::AtomicI64) {
    let row = row.load(std::sync::atomic::Ordering::Relaxed);
    if row > 0 {
        let _ = store.touch_sandbox_session(row);
    }
}

fn state_name(s: SandboxState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "unknown".into())
}

impl SandboxService {
    pub fn new(store: Arc<Store>, secrets: Secrets) -> Self {
        let _ = store.close_stale_sessions("local");
        let _ = store.close_crashed_remote_sessions();
        let gate = Arc::new(Gatekeeper::default());
        let gate_project: Arc<Mutex<Option<i64>>> = Arc::default();
        let (keep_in, project) = (store.clone(), gate_project.clone());
        gate.on_always(move |entry| {
            let Some(id) = *project.lock() else { return };
            let mut s = keep_in.project_settings(id).unwrap_or_default();
            if !s.network_allow.contains(&entry) {
                s.network_allow.push(entry);
                if let Err(e) = keep_in.save_project_settings(id, &s) {
                    tracing::warn!(error = %e, "cannot keep an allowed host in the project's settings");
                }
            }
        });
        Self {
            store,
            secrets,
            local: Mutex::new(None),
            current: Mutex::new(None),
            ensuring: tokio::sync::Mutex::new(()),
            bwrap: Mutex::new(None),
            outbound: Mutex::new(None),
            cancel: tokio::sync::Notify::new(),
            following: Arc::default(),
            gate,
            gate_project,
            note: Mutex::new(None),
            keep: Arc::default(),
            keeper: Mutex::new(None),
            open_row: Arc::default(),
            remote_ports: Mutex::new(None),
            packages: Default::default(),
        }
    }

    /// Keeps each project's package-manager caches under `dir` (one folder per project), so an
    /// install in a local sandbox after the first is served from them; npm's tarballs are
    /// shared between projects through a store beside them (see [`super::pkgcache`]).
    pub fn set_package_cache(&self, dir: PathBuf) {
        self.packages.set_base(dir);
    }

    /// `root`'s cache folder (made if missing); none when there is no cache or it cannot be made.
    fn project_cache(&self, root: &ProjectRoot) -> Option<PathBuf> {
        self.packages.project_dir(&self.store.install_id().unwrap_or_default(), root)
    }

    /// Before an install in `project`'s sandbox: a local sandbox's cache gets the tarballs the
    /// lockfile names from the store shared between projects (remote sandboxes have their own).
    pub async fn packages_before_install(&self, root: &ProjectRoot, project: &ProjectRecord) {
        self.share_packages(root, project, true).await
    }

    /// After a successful install: what a local sandbox's cache fetched goes to the shared
    /// store, each tarball checked against its name.
    pub async fn packages_after_install(&self, root: &ProjectRoot, project: &ProjectRecord) {
        self.share_packages(root, project, false).await
    }

    async fn share_packages(&self, root: &ProjectRoot, project: &ProjectRecord, before: bool) {
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        if settings.provider != ProviderKind::Local {
            return;
        }
        let Some(cache) = self.project_cache(root) else { return };
        let (packages, root) = (self.packages.clone(), root.clone());
        let done =
            tokio::task::spawn_blocking(
                move || {
                    if before {
                        packages.seed(&root, &cache)
                    } else {
                        packages.harvest(&cache)
                    }
                },
            )
            .await;
        match done {
            Ok(Ok(s)) if s.copied + s.refused > 0 => {
                let what = if before { "seeded from the shared store" } else { "shared" };
                tracing::info!(copied = s.copied, refused = s.refused, "npm tarballs {what}");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "npm tarballs not shared"),
            Err(e) => tracing::warn!(error = %e, "npm tarballs not shared"),
        }
    }

    /// Makes `project`'s list the one the gate decides by; an error names a bad entry.
    pub fn use_network_list(&self, project: i64, settings: &ProjectSettings) -> Result<(), SandboxError> {
        self.gate.set_list(&settings.network_allow).map_err(SandboxError::InvalidSettings)?;
        *self.gate_project.lock() = Some(project);
        Ok(())
    }

    fn detect(&self) -> Result<PathBuf, String> {
        self.bwrap.lock().get_or_insert_with(bwrap::detect).clone()
    }

    fn outbound(&self) -> Result<Outbound, String> {
        self.outbound.lock().get_or_insert_with(net::probe_isolated).clone()
    }

    fn net_plan(&self, mode: NetworkMode) -> Result<NetPlan, SandboxError> {
        Ok(match mode {
            NetworkMode::Isolated => {
                NetPlan::Isolated(self.outbound().map_err(SandboxError::NetworkUnavailable)?, Gate(self.gate.clone()))
            }
            NetworkMode::Registries => NetPlan::Registries(Gate(self.gate.clone())),
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
        let p = Arc::new(LocalProvider::following(wanted, self.following.clone()));
        if let Some(old) = slot.replace(p.clone()) {
            old.shutdown();
        }
        Ok(p)
    }

    /// The project's provider: the local sandbox, or a remote provider's client.
    fn provider(&self, settings: &ProjectSettings) -> Result<Arc<dyn Provider>, SandboxError> {
        match settings.provider {
            ProviderKind::Local => Ok(self.local(settings)?),
            _ => self.remote(settings),
        }
    }

    /// A client for the project's remote provider, with its key from the keychain.
    pub fn remote(&self, settings: &ProjectSettings) -> Result<Arc<dyn Provider>, SandboxError> {
        let key = |name: SecretName, label: &'static str| {
            self.secrets
                .get(name)
                .map_err(|e| SandboxError::KeyUnreadable { provider: label, message: e.to_string() })?
                .ok_or(SandboxError::MissingKey(label))
        };
        match settings.provider_config() {
            ProviderConfig::Daytona(cfg) => Ok(Arc::new(DaytonaProvider::new(
                cfg,
                key(SecretName::DaytonaApiKey, "Daytona")?,
                RetryPolicy::default(),
            )?)),
            ProviderConfig::E2b(cfg) => {
                Ok(Arc::new(E2bProvider::new(cfg, key(SecretName::E2bApiKey, "E2B")?, RetryPolicy::default())?))
            }
            ProviderConfig::Local { .. } => Err(SandboxError::Unsupported("a remote client for the local provider")),
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

    /// Something the panel should tell about the project's sandbox (reattached, replaced).
    fn say(&self, note: String) {
        tracing::info!(%note, "sandbox");
        *self.note.lock() = Some(note);
    }

    /// The last thing the service had to tell about the project's sandbox.
    pub fn note(&self) -> Option<String> {
        if let Some(n) = self.keep.take_note() {
            self.say(n);
        }
        self.note.lock().clone()
    }

    /// Use of the project's sandbox for as long as the returned hold lives (▶ Run's terminal).
    pub fn hold(&self) -> super::keepalive::Hold {
        self.keep.hold()
    }

    /// The running sandbox of the project, created on first use.
    async fn ensure(&self, root: &ProjectRoot, project: &ProjectRecord) -> Result<Current, SandboxError> {
        let _one_at_a_time = self.ensuring.lock().await;
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
                    // What was said of it (stopped when idle) is over.
                    self.keep.take_note();
                    *self.note.lock() = None;
                }
                return Ok(cur);
            }
        }
        // Another project's (or provider's) sandbox is released when this one starts.
        self.release().await;
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        self.use_network_list(project.id, &settings)?;
        self.gate.clear_log();
        let egress = match settings.network {
            NetworkMode::Offline => Egress::Offline,
            NetworkMode::Registries => Egress::Only(settings.network_allow.clone()),
            NetworkMode::Isolated | NetworkMode::Host => Egress::Internet,
        };
        let spec = SandboxSpec {
            name: Some(root.name()),
            image: Some(settings.image.clone()).filter(|s| !s.is_empty()),
            env: settings.env.clone(),
            labels: reattach::labels(root, &self.store, &egress),
            limits: settings.limits.clone(),
            auto_stop_minutes: settings.auto_stop_minutes,
            egress: egress.clone(),
            cache_dir: if settings.provider == ProviderKind::Local { self.project_cache(root) } else { None },
            allow_unprotected: settings.allow_unprotected,
        };
        let provider = self.provider(&settings)?;
        let began = std::time::Instant::now();
        let mine = reattach::identity(root, &self.store, &egress);
        let mut kept = false;
        let info = match reattach::find(&self.store, provider.as_ref(), project.id, settings.provider, &mine).await? {
            reattach::Found::Kept(info) => {
                kept = true;
                info
            }
            found => {
                tracing::info!(provider = settings.provider.as_str(), "creating the project's sandbox");
                let info = provider.create(&spec).await?;
                if settings.provider != ProviderKind::Local {
                    let _ = self.store.set_setting(&reattach::network_setting(&info.id), Some(&egress.key()));
                }
                match found {
                    reattach::Found::Gone(old) => {
                        let _ = self.store.mirror_forget(&old);
                        self.say(format!(
                            "This project's sandbox {old} is gone on the provider; a new one, {}, was created.",
                            info.id
                        ))
                    }
                    reattach::Found::OtherNetwork(old) => self.say(format!(
                        "The project's network setting changed since its sandbox {old} was made (a sandbox keeps \
                         the network it was created with): a new one, {}, was created. {old} was left as it was \
                         on the provider; delete it there if you no longer need it.",
                        info.id
                    )),
                    _ => {}
                }
                info
            }
        };
        // What a remote sandbox was sent is recorded, so a later reattach sends the difference.
        let ledger = match settings.provider {
            ProviderKind::Local => Ledger::default(),
            _ => Ledger::new(self.store.clone(), &info.id),
        };
        let delivery = Arc::new(provider.clone().deliver(&info.id, root, ledger).await?);
        if kept {
            let copy = match delivery.as_ref() {
                Delivery::Mirrored(m) => {
                    let st = m.status();
                    format!(
                        "; its copy of the project was brought up to date: {} sent, {} already there, {} removed",
                        st.sent, st.unchanged, st.removed
                    )
                }
                Delivery::Mounted => String::new(),
            };
            self.say(format!("Reattached to this project's sandbox {} (kept since the last session){copy}.", info.id));
        }
        tracing::info!(id = %info.id, ms = began.elapsed().as_millis() as u64, "sandbox ready");
        let kind = settings.provider;
        let size = (info.cpu.map(f64::from), info.memory_bytes.map(|b| b as f64 / (1u64 << 30) as f64));
        let row = self
            .store
            .start_sandbox_session(project.id, kind.as_str(), &info.id, &state_name(info.state), size)
            .unwrap_or(0);
        // A remote provider stops the sandbox itself when told of no use (30 minutes unless set);
        // the local one is stopped by the keeper, when the project has auto-stop minutes.
        let minutes = |m: u32| std::time::Duration::from_secs(u64::from(m) * 60);
        let kept = match (kind, settings.auto_stop_minutes.filter(|&m| m > 0)) {
            (ProviderKind::Local, Some(m)) => {
                self.keep.keep_and_stop(provider.clone(), &info.id, minutes(m));
                true
            }
            (ProviderKind::Local, None) => false,
            (_, m) => {
                self.keep.keep(provider.clone(), &info.id, minutes(m.unwrap_or(30)));
                true
            }
        };
        if kept {
            let mut keeper = self.keeper.lock();
            if keeper.is_none() {
                let (store, open_row) = (self.store.clone(), self.open_row.clone());
                *keeper = Some(tokio::spawn(self.keep.clone().run(move || heartbeat(&store, &open_row))));
            }
        }
        let beat = if kind == ProviderKind::Local { 0 } else { row };
        self.open_row.store(beat, std::sync::atomic::Ordering::Relaxed);
        let cur = Current { project_id: project.id, kind, sandbox_id: info.id, session_row: row, provider, delivery };
        *self.current.lock() = Some(cur.clone());
        Ok(cur)
    }

    /// Opening a project whose remote sandbox was kept from an earlier session: it is found and
    /// started or resumed now, while the user looks around, so the first command does not wait
    /// for it. Nothing is made for a project that had no sandbox (one is made on first use).
    /// True when it did something.
    pub async fn warm(&self, root: &ProjectRoot, project: &ProjectRecord) -> Result<bool, SandboxError> {
        let settings = self.store.project_settings(project.id).unwrap_or_default();
        if settings.provider == ProviderKind::Local || self.current_for(project).is_some() {
            return Ok(false);
        }
        if self.store.last_remote_sandbox(project.id, settings.provider.as_str()).ok().flatten().is_none() {
            return Ok(false);
        }
        self.ensure(root, project).await?;
        Ok(true)
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
                if let Some(m) = cur.mirror() {
                    m.stop();
                }
                p.delete(&cur.sandbox_id).await?;
                self.keep.forget();
                let _ = self.store.mirror_forget(&cur.sandbox_id);
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
        let _in_use = self.keep.hold();
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

    /// Ports the project's sandbox listens on, where its provider can tell. A remote answer is
    /// reused for [`REMOTE_PORTS_FRESH`]: ▶ Run asks several times a second while it waits.
    pub async fn listening_ports(&self, project: &ProjectRecord) -> Result<Vec<u16>, SandboxError> {
        let Some(cur) = self.current_for(project) else { return Ok(Vec::new()) };
        if cur.kind == ProviderKind::Local {
            return cur.provider.listening_ports(&cur.sandbox_id).await;
        }
        if let Some((id, at, ports)) = self.remote_ports.lock().clone() {
            if id == cur.sandbox_id && at.elapsed() < REMOTE_PORTS_FRESH {
                return Ok(ports);
            }
        }
        let ports = cur.provider.listening_ports(&cur.sandbox_id).await?;
        *self.remote_ports.lock() = Some((cur.sandbox_id.clone(), std::time::Instant::now(), ports.clone()));
        Ok(ports)
    }

    /// Where the preview proxy sends requests for `port` of the project's sandbox.
    pub async fn preview_upstream(
        &self,
        project: &ProjectRecord,
        port: u16,
    ) -> Result<crate::preview::Upstream, SandboxError> {
        match self.current_for(project) {
            Some(cur) => {
                self.keep.touch();
                cur.provider.preview(Some(&cur.sandbox_id), port).await
            }
            None => {
                let settings = self.store.project_settings(project.id).unwrap_or_default();
                self.provider(&settings)?.preview(None, port).await
            }
        }
    }

    /// A shell in the project's sandbox (created on demand), its output going to `sink`.
    pub async fn open_terminal(
        &self,
        root: &ProjectRoot,
        project: &ProjectRecord,
        cols: u16,
        rows: u16,
        sink: Box<dyn crate::terminal::TerminalSink>,
    ) -> Result<Arc<dyn crate::terminal::TerminalHandle>, SandboxError> {
        let cur = self.ensure(root, project).await?;
        self.keep.touch();
        let inner = cur.provider.open_terminal(&cur.sandbox_id, cols, rows, sink).await?;
        Ok(Arc::new(Touching { inner, keep: self.keep.clone() }))
    }

    /// Tells the current remote sandbox's provider it is in use, when it was used since the
    /// last time (the keeper does this every minute); true when it did.
    pub async fn keep_alive_tick(&self) -> Result<bool, SandboxError> {
        let told = self.keep.tick().await;
        heartbeat(&self.store, &self.open_row);
        told
    }

    /// Keep-alive calls made so far.
    pub fn keep_alive_calls(&self) -> u64 {
        self.keep.calls()
    }

    /// A client for every remote provider whose key is in the keychain (the project's
    /// settings say where each one's API is), and each one left out with why.
    pub fn remote_clients(&self, settings: &ProjectSettings) -> (Vec<Arc<dyn Provider>>, Vec<String>) {
        let (mut clients, mut skipped) = (Vec::new(), Vec::new());
        for kind in [ProviderKind::Daytona, ProviderKind::E2b] {
            let settings = ProjectSettings { provider: kind, ..settings.clone() };
            match self.remote(&settings) {
                Ok(c) => clients.push(c),
                Err(e) => skipped.push(e.to_string()),
            }
        }
        (clients, skipped)
    }

    /// The open project's remote sandbox: (provider, id).
    pub fn current_remote(&self) -> Option<(ProviderKind, String)> {
        self.current.lock().as_ref().filter(|c| c.kind != ProviderKind::Local).map(|c| (c.kind, c.sandbox_id.clone()))
    }

    /// The sandbox `id` is being deleted elsewhere (the Sandboxes view): when it is the open
    /// project's, the project lets go of it first (its copy stops following, its record ends),
    /// so the next command makes a new one instead of using a deleted one.
    pub fn let_go(&self, id: &str) {
        let cur = self.current.lock().take_if(|c| c.sandbox_id == id);
        let Some(cur) = cur else { return };
        self.keep.forget();
        if let Some(m) = cur.mirror() {
            m.stop();
        }
        let _ = self.store.mirror_forget(&cur.sandbox_id);
        let _ = self.store.update_sandbox_session(cur.session_row, "destroyed", true);
    }

    /// A state the Sandboxes view brought about for sandbox `id` is recorded in its session.
    pub fn record_state(&self, id: &str, info: &SandboxInfo) {
        let cur = self.current.lock().clone();
        if let Some(cur) = cur.filter(|c| c.sandbox_id == id) {
            let _ = self.store.update_sandbox_session(cur.session_row, &state_name(info.state), false);
        }
    }

    /// Project files changed (a save, the watcher): a remote sandbox gets them too.
    pub fn files_changed(&self, project_id: i64, paths: &[Vec<u8>]) {
        let cur = self.current.lock().clone();
        if let Some(m) = cur.as_ref().filter(|c| c.project_id == project_id).and_then(Current::mirror) {
            self.keep.touch();
            m.hint(paths);
        }
    }

    /// How the remote sandbox's copy of the project is doing (none for local sandboxes).
    pub fn mirror_status(&self, project_id: i64) -> Option<crate::sandbox::mirror::MirrorStatus> {
        let cur = self.current.lock().clone();
        cur.as_ref().filter(|c| c.project_id == project_id).and_then(Current::mirror).map(|m| m.status())
    }

    /// Releases the current sandbox (project or provider switch): local ones are deleted,
    /// remote ones stopped when the settings say so.
    pub async fn release(&self) {
        let cur = self.current.lock().take();
        let Some(cur) = cur else { return };
        self.keep.forget();
        if let Some(m) = cur.mirror() {
            m.stop();
        }
        let settings = self.store.project_settings(cur.project_id).unwrap_or_default();
        if cur.kind == ProviderKind::Local {
            let _ = cur.provider.delete(&cur.sandbox_id).await;
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
