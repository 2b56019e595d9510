//! The local provider: sandboxes on this machine with bubblewrap, or — only after the user
//! accepted it — without isolation where bubblewrap cannot work.

pub mod bwrap;
pub mod connlog;
pub mod egress;
pub mod guard;
pub mod network;
mod provider;
pub mod supervisor;
pub mod watchdog;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use self::bwrap::{Isolation, NetPlan};
use self::guard::{Blanks, Guard, SandboxGuard};
use self::network::{Following, Netns, NetworkMode};
use self::watchdog::{WatchLimits, Watchdog};
use super::*;
use crate::paths::ProjectRoot;
use crate::terminal::TerminalSpec;

struct LocalSandbox {
    /// The project folder mounted as its workspace (from [`Provider::deliver`]).
    root: Option<ProjectRoot>,
    spec: SandboxSpec,
    state: SandboxState,
    /// Outer pids of everything running in it (commands and terminals).
    pids: Vec<u32>,
    /// Its own network namespace (none on the host network).
    net: Option<Arc<Netns>>,
    /// What its commands' guards rely on and report (see [`guard`]).
    guard: SandboxGuard,
}

impl LocalSandbox {
    fn project(&self) -> Result<&ProjectRoot, SandboxError> {
        self.root
            .as_ref()
            .ok_or(SandboxError::WrongState { state: "empty".into(), action: "using the project before it is mounted" })
    }
}

/// Sandboxes on this machine. One per project is typical; ids are UUIDs.
pub struct LocalProvider {
    isolation: Isolation,
    sandboxes: Mutex<HashMap<String, LocalSandbox>>,
    watchdogs: Mutex<HashMap<u32, Watchdog>>,
    /// The newest sandbox's network namespace, for previews opened before it exists.
    following: Arc<Following>,
    /// Sources of the guard's placeholders (an error when they could not be made).
    blanks: Result<Blanks, String>,
    /// Whether commands get the guard (always, but in the benchmark that measures its cost).
    guarded: bool,
}

/// Starts a terminal's program from the supervised thread.
fn launch(job: Box<dyn FnOnce() + Send>) -> Result<(), String> {
    supervisor::run(job)
}

/// Environment variable names a sandbox accepts.
pub fn valid_env_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_env(env: &[(String, String)]) -> Result<(), SandboxError> {
    for (k, v) in env {
        if !valid_env_name(k) {
            return Err(SandboxError::Spawn(format!("'{k}' is not a valid environment variable name")));
        }
        if v.contains('\0') {
            return Err(SandboxError::Spawn(format!("the value of {k} contains a NUL byte")));
        }
    }
    Ok(())
}

impl LocalProvider {
    /// Uses bubblewrap when it works, on an isolated network. Otherwise commands are refused
    /// unless `allow_unsandboxed` (the user accepted running without isolation).
    pub fn new(allow_unsandboxed: bool) -> Result<Self, SandboxError> {
        Self::with_network(NetworkMode::Isolated, allow_unsandboxed)
    }

    /// Like [`LocalProvider::new`] with the given network mode; an isolated network that cannot
    /// be had here is an error naming the cause (never silently weakened).
    pub fn with_network(mode: NetworkMode, allow_unsandboxed: bool) -> Result<Self, SandboxError> {
        let isolation = match bwrap::detect() {
            Ok(bwrap) => Isolation::Bubblewrap { bwrap, network: plan(mode)? },
            Err(reason) if allow_unsandboxed => Isolation::None { reason },
            Err(reason) => return Err(SandboxError::IsolationUnavailable(reason)),
        };
        Ok(Self::with_isolation(isolation))
    }

    pub fn with_isolation(isolation: Isolation) -> Self {
        Self::following(isolation, Arc::default())
    }

    /// A provider whose previews follow `following` (kept by the caller across providers, as
    /// the isolation settings change).
    pub fn following(isolation: Isolation, following: Arc<Following>) -> Self {
        let blanks = Blanks::new().map_err(|e| format!("cannot prepare the sandbox's protections: {e}"));
        Self {
            isolation,
            sandboxes: Mutex::new(HashMap::new()),
            watchdogs: Mutex::new(HashMap::new()),
            following,
            blanks,
            guarded: true,
        }
    }

    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// The same provider without the guard: only for the benchmark that measures what the
    /// guard costs. Never use it for real projects.
    #[doc(hidden)]
    pub fn unguarded(mut self) -> Self {
        self.guarded = false;
        self
    }

    /// Creates a sandbox over a project folder (creation and delivery in one).
    pub fn create_for(&self, root: &ProjectRoot, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError> {
        let info = self.create_empty(spec)?;
        self.mount(&info.id, root)?;
        Ok(info)
    }

    /// Mounts the project folder as sandbox `id`'s workspace.
    pub(crate) fn mount(&self, id: &str, root: &ProjectRoot) -> Result<(), SandboxError> {
        self.with(id, |sb| {
            sb.root = Some(root.clone());
            Ok(())
        })
    }

    /// A sandbox with no project yet.
    pub(crate) fn create_empty(&self, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError> {
        check_env(&spec.env)?;
        let id = uuid::Uuid::new_v4().to_string();
        let net = match &self.isolation {
            Isolation::Bubblewrap { network, .. } => {
                network.namespace().map_err(SandboxError::NetworkUnavailable)?.map(Arc::new)
            }
            Isolation::None { .. } => None,
        };
        let sb = LocalSandbox {
            root: None,
            spec: spec.clone(),
            state: SandboxState::Started,
            pids: Vec::new(),
            net,
            guard: SandboxGuard::default(),
        };
        let info = self.info(&id, &sb);
        if self.has_own_network() {
            self.following.set(sb.net.clone());
        }
        self.sandboxes.lock().insert(id, sb);
        Ok(info)
    }

    fn info(&self, id: &str, sb: &LocalSandbox) -> SandboxInfo {
        let rss: u64 = sb.pids.iter().flat_map(|p| watchdog::process_tree(*p)).map(|p| p.rss_bytes).sum();
        SandboxInfo {
            id: id.to_string(),
            provider: ProviderKind::Local,
            state: sb.state,
            isolated: self.isolation.is_isolated(),
            detail: match &self.isolation {
                Isolation::Bubblewrap { network, .. } => Some(format!(
                    "bubblewrap; project at {}; network: {}",
                    bwrap::WORKSPACE,
                    match network {
                        NetPlan::Isolated(tool, _) => format!("internet (via {})", tool.name()),
                        NetPlan::Registries(_) => "registries only (through Aura's proxy)".into(),
                        NetPlan::Offline => "offline".into(),
                        NetPlan::Host => "HOST NETWORK".into(),
                    }
                )),
                Isolation::None { reason } => Some(format!("NOT ISOLATED: {reason}")),
            },
            cpu: None,
            memory_bytes: Some(rss),
            guard: sb.guard.report().map(|mut r| {
                r.blocked = sb.root.as_ref().map(|p| supervisor::blocked(p.path())).unwrap_or_default();
                r
            }),
            labels: Default::default(),
            started_ms: None,
            active_ms: None,
        }
    }

    fn with<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut LocalSandbox) -> Result<T, SandboxError>,
    ) -> Result<T, SandboxError> {
        let mut map = self.sandboxes.lock();
        let sb = map.get_mut(id).ok_or_else(|| SandboxError::NotFound(id.to_string()))?;
        f(sb)
    }

    fn require_running(sb: &LocalSandbox, action: &'static str) -> Result<(), SandboxError> {
        if sb.state != SandboxState::Started {
            return Err(SandboxError::WrongState { state: format!("{:?}", sb.state).to_lowercase(), action });
        }
        Ok(())
    }

    fn watch_limits(spec: &SandboxSpec) -> WatchLimits {
        WatchLimits { max_tasks: spec.limits.max_pids, max_rss_bytes: spec.limits.memory_bytes }
    }

    /// What to run for an interactive shell in the sandbox (for the terminal manager). Call
    /// [`LocalProvider::attach`] with the terminal's pid once it is spawned.
    pub fn terminal_spec(&self, id: &str, cols: u16, rows: u16) -> Result<TerminalSpec, SandboxError> {
        self.with(id, |sb| Self::require_running(sb, "opening a terminal"))?;
        let guard = self.guard(id)?;
        self.with(id, |sb| {
            let shell = if std::path::Path::new("/usr/bin/bash").exists() { "/bin/bash" } else { "/bin/sh" };
            let argv = bwrap::argv_with(
                &self.isolation,
                sb.net.as_deref(),
                &bwrap::Mounts { project: sb.project()?.path(), cache: sb.spec.cache_dir.as_deref() },
                guard.as_ref(),
                None,
                &sb.spec.env,
                &sb.spec.limits,
                &[shell.to_string()],
                false,
            )
            .map_err(SandboxError::NetworkUnavailable)?;
            // Held until the terminal is attached and its opener has run.
            if let Some(g) = guard {
                sb.guard.hold(g);
            }
            Ok(TerminalSpec {
                cwd: sb.project()?.path().to_path_buf(),
                cols,
                rows,
                program: Some(argv[0].clone()),
                args: argv[1..].to_vec(),
                env: Vec::new(),
                launcher: self.supervised().then_some(launch as crate::terminal::Launcher),
            })
        })
    }

    /// Puts a process started elsewhere (a terminal) under the sandbox's limits and lifecycle.
    pub fn attach(&self, id: &str, pid: u32) -> Result<(), SandboxError> {
        let limits = self.with(id, |sb| {
            sb.pids.push(pid);
            sb.guard.attach(pid);
            Ok(Self::watch_limits(&sb.spec))
        })?;
        self.watchdogs.lock().insert(pid, Watchdog::start(pid, limits));
        Ok(())
    }

    /// Why the watchdog stopped a process, if it did.
    pub fn violation(&self, pid: u32) -> Option<String> {
        self.watchdogs.lock().get(&pid).and_then(|w| w.violation())
    }

    fn kill_all(&self, id: &str) -> Result<(), SandboxError> {
        let pids = self.with(id, |sb| Ok(std::mem::take(&mut sb.pids)))?;
        for pid in pids {
            watchdog::kill_tree(pid);
            self.watchdogs.lock().remove(&pid);
        }
        // Nothing runs in it any more: its placeholders go, and what it was refused.
        self.with(id, |sb| {
            sb.guard.stopped();
            if let Some(root) = &sb.root {
                supervisor::forget(root.path());
            }
            Ok(())
        })?;
        Ok(())
    }

    /// The protections for a command about to start in sandbox `id` (none without isolation).
    /// The scan runs outside the lock; the placeholders it uses are remembered for the stop.
    pub(crate) fn guard(&self, id: &str) -> Result<Option<Guard>, SandboxError> {
        if !self.isolation.is_isolated() || !self.guarded {
            return Ok(None);
        }
        let blanks = self.blanks.as_ref().map_err(|e| SandboxError::Spawn(e.clone()))?;
        let root = self.with(id, |sb| Ok(sb.project()?.path().to_path_buf()))?;
        let mut g = Guard::plan(&root, blanks);
        if let Err(why) = supervisor::available() {
            g.notes.push(format!("a new .git, .envrc or editor folder in the project cannot be refused ({why})"));
            g.gaps += 1;
        }
        // Never silently weaker: with a gap, commands wait until the user chose to run anyway.
        let accepted = self.with(id, |sb| {
            sb.guard.record(id, &g);
            Ok(sb.spec.allow_unprotected)
        })?;
        if g.gaps > 0 && !accepted {
            return Err(SandboxError::Unprotected(g.notes.join("; ")));
        }
        Ok(Some(g))
    }

    fn signal_all(&self, id: &str, sig: libc::c_int) -> Result<(), SandboxError> {
        let pids = self.with(id, |sb| Ok(sb.pids.clone()))?;
        for pid in pids {
            for p in watchdog::process_tree(pid) {
                // SAFETY: plain kill(2).
                unsafe { libc::kill(p.pid as libc::pid_t, sig) };
            }
        }
        Ok(())
    }

    /// Whether this provider's processes start under the file-creation supervisor (with the
    /// guard, isolated, and where the kernel allows it; the panel says when it does not).
    pub(crate) fn supervised(&self) -> bool {
        self.guarded && self.isolation.is_isolated() && supervisor::available().is_ok()
    }

    /// Whether sandboxes get a network namespace of their own (not the host's network).
    pub(crate) fn has_own_network(&self) -> bool {
        matches!(&self.isolation, Isolation::Bubblewrap { network, .. } if !matches!(network, NetPlan::Host))
    }

    pub(crate) fn follower(&self) -> Arc<dyn crate::preview::proxy::Dialer> {
        self.following.clone()
    }

    /// Removes sandbox `id` (its processes already ended); a preview following it stops.
    pub(crate) fn forget(&self, id: &str) {
        if let Some(sb) = self.sandboxes.lock().remove(id) {
            if sb.net.as_ref().is_some_and(|ns| self.following.is(ns)) {
                self.following.set(None);
            }
        }
    }

    /// The sandbox's own network namespace (none on the host network).
    pub fn netns(&self, id: &str) -> Result<Option<Arc<Netns>>, SandboxError> {
        self.with(id, |sb| Ok(sb.net.clone()))
    }

    /// TCP ports the sandbox's processes listen on (for the preview).
    pub fn listening_ports(&self, id: &str) -> Result<Vec<u16>, SandboxError> {
        if let Some(ns) = self.netns(id)? {
            return Ok(ns.listening_ports());
        }
        let roots = self.with(id, |sb| Ok(sb.pids.clone()))?;
        let pids: Vec<u32> = roots.into_iter().flat_map(watchdog::process_tree).map(|p| p.pid).collect();
        Ok(crate::preview::ports::listening_ports(&pids))
    }

    /// Stops every process of every sandbox (on app exit).
    pub fn shutdown(&self) {
        let ids: Vec<String> = self.sandboxes.lock().keys().cloned().collect();
        for id in ids {
            let _ = self.kill_all(&id);
        }
    }

    fn set_state(&self, id: &str, state: SandboxState) -> Result<SandboxInfo, SandboxError> {
        self.with(id, |sb| {
            sb.state = state;
            Ok(())
        })?;
        self.get_now(id)
    }

    fn get_now(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        let map = self.sandboxes.lock();
        let sb = map.get(id).ok_or_else(|| SandboxError::NotFound(id.to_string()))?;
        Ok(self.info(id, sb))
    }

    fn file_path(&self, id: &str, path: &str) -> Result<PathBuf, SandboxError> {
        self.with(id, |sb| Ok(sb.project()?.resolve(path)?))
    }
}

impl Drop for LocalProvider {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn io(e: std::io::Error) -> SandboxError {
    SandboxError::Io(e.to_string())
}

/// The network plan for `mode`: an isolated network needs a user-mode network tool that works;
/// Registries only gets a gatekeeper of its own with the default list (the app passes its own).
pub fn plan(mode: NetworkMode) -> Result<NetPlan, SandboxError> {
    Ok(match mode {
        NetworkMode::Isolated => {
            let tool = network::probe_isolated().map_err(SandboxError::NetworkUnavailable)?;
            NetPlan::Isolated(tool, crate::netpolicy::Gate(Arc::default()))
        }
        NetworkMode::Registries => NetPlan::Registries(crate::netpolicy::Gate(Arc::default())),
        NetworkMode::Offline => NetPlan::Offline,
        NetworkMode::Host => NetPlan::Host,
    })
}

/// Keeps `Arc<LocalProvider>` usable where a `dyn Provider` is expected.
pub type SharedLocal = Arc<LocalProvider>;
