//! The local provider: sandboxes on this machine with bubblewrap, or — only after the user
//! accepted it — without isolation where bubblewrap cannot work.

pub mod bwrap;
pub mod network;
pub mod watchdog;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::io::AsyncReadExt;

use self::bwrap::{Isolation, NetPlan};
use self::network::{Netns, NetworkMode};
use self::watchdog::{WatchLimits, Watchdog};
use super::*;
use crate::paths::ProjectRoot;
use crate::terminal::TerminalSpec;

struct LocalSandbox {
    root: ProjectRoot,
    spec: SandboxSpec,
    state: SandboxState,
    /// Outer pids of everything running in it (commands and terminals).
    pids: Vec<u32>,
    /// Its own network namespace (none on the host network).
    net: Option<Arc<Netns>>,
}

/// Sandboxes on this machine. One per project is typical; ids are UUIDs.
pub struct LocalProvider {
    isolation: Isolation,
    sandboxes: Mutex<HashMap<String, LocalSandbox>>,
    watchdogs: Mutex<HashMap<u32, Watchdog>>,
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
        Self { isolation, sandboxes: Mutex::new(HashMap::new()), watchdogs: Mutex::new(HashMap::new()) }
    }

    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// Creates a sandbox over a project folder.
    pub fn create_for(&self, root: &ProjectRoot, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError> {
        check_env(&spec.env)?;
        let id = uuid::Uuid::new_v4().to_string();
        let net = match &self.isolation {
            Isolation::Bubblewrap { network, .. } => {
                network.namespace().map_err(SandboxError::NetworkUnavailable)?.map(Arc::new)
            }
            Isolation::None { .. } => None,
        };
        let sb = LocalSandbox {
            root: root.clone(),
            spec: spec.clone(),
            state: SandboxState::Started,
            pids: Vec::new(),
            net,
        };
        let info = self.info(&id, &sb);
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
                        NetPlan::Isolated(tool) => format!("isolated (via {})", tool.name()),
                        NetPlan::Offline => "offline".into(),
                        NetPlan::Host => "HOST NETWORK".into(),
                    }
                )),
                Isolation::None { reason } => Some(format!("NOT ISOLATED: {reason}")),
            },
            cpu: None,
            memory_bytes: Some(rss),
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
        self.with(id, |sb| {
            Self::require_running(sb, "opening a terminal")?;
            let shell = if std::path::Path::new("/usr/bin/bash").exists() { "/bin/bash" } else { "/bin/sh" };
            let argv = bwrap::argv_with(
                &self.isolation,
                sb.net.as_deref(),
                sb.root.path(),
                None,
                &sb.spec.env,
                &sb.spec.limits,
                &[shell.to_string()],
                false,
            )
            .map_err(SandboxError::NetworkUnavailable)?;
            Ok(TerminalSpec {
                cwd: sb.root.path().to_path_buf(),
                cols,
                rows,
                program: Some(argv[0].clone()),
                args: argv[1..].to_vec(),
                env: Vec::new(),
            })
        })
    }

    /// Puts a process started elsewhere (a terminal) under the sandbox's limits and lifecycle.
    pub fn attach(&self, id: &str, pid: u32) -> Result<(), SandboxError> {
        let limits = self.with(id, |sb| {
            sb.pids.push(pid);
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
        Ok(())
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
        self.with(id, |sb| Ok(sb.root.resolve(path)?))
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

#[async_trait]
impl Provider for LocalProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Local
    }

    async fn create(&self, _spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError> {
        Err(SandboxError::Unsupported("creating a local sandbox without a project (use create_for)"))
    }

    async fn get(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.get_now(id)
    }

    async fn list(&self) -> Result<Vec<SandboxInfo>, SandboxError> {
        let map = self.sandboxes.lock();
        Ok(map.iter().map(|(id, sb)| self.info(id, sb)).collect())
    }

    async fn start(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.set_state(id, SandboxState::Started)
    }

    async fn stop(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.kill_all(id)?;
        self.set_state(id, SandboxState::Stopped)
    }

    async fn pause(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.with(id, |sb| Self::require_running(sb, "pausing"))?;
        self.signal_all(id, libc::SIGSTOP)?;
        self.set_state(id, SandboxState::Paused)
    }

    async fn resume(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.signal_all(id, libc::SIGCONT)?;
        self.set_state(id, SandboxState::Started)
    }

    async fn delete(&self, id: &str) -> Result<(), SandboxError> {
        self.signal_all(id, libc::SIGCONT)?;
        self.kill_all(id)?;
        self.sandboxes.lock().remove(id);
        Ok(())
    }

    async fn exec(&self, id: &str, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, SandboxError> {
        check_env(&req.env)?;
        let (argv, host_dir, limits) = self.with(id, |sb| {
            Self::require_running(sb, "running a command")?;
            // The working directory must be inside the project too.
            let cwd = req.cwd.as_deref().filter(|c| !c.is_empty());
            let host_dir = match cwd {
                Some(c) => sb.root.resolve(c)?,
                None => sb.root.path().to_path_buf(),
            };
            let mut env = sb.spec.env.clone();
            env.extend(req.env.iter().cloned());
            let cmd = ["/bin/sh".to_string(), "-c".to_string(), req.command.clone()];
            let argv =
                bwrap::argv(&self.isolation, sb.net.as_deref(), sb.root.path(), cwd, &env, &sb.spec.limits, &cmd)
                    .map_err(SandboxError::NetworkUnavailable)?;
            Ok((argv, host_dir, Self::watch_limits(&sb.spec)))
        })?;
        let started = Instant::now();
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&host_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| SandboxError::Spawn(format!("{}: {e}", argv[0])))?;
        let pid = child.id().unwrap_or(0);
        self.with(id, |sb| {
            sb.pids.push(pid);
            Ok(())
        })?;
        let dog = Watchdog::start(pid, limits);
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (mut ob, mut eb) = (vec![0u8; 32 * 1024], vec![0u8; 32 * 1024]);
        let (mut out_open, mut err_open) = (true, true);
        let mut bytes_out = 0u64;
        let deadline = req.timeout_s.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        let mut timed_out = false;
        while out_open || err_open {
            tokio::select! {
                r = out.read(&mut ob), if out_open => match r {
                    Ok(0) | Err(_) => out_open = false,
                    Ok(n) => { bytes_out += n as u64; sink.stdout(&ob[..n]); }
                },
                r = err.read(&mut eb), if err_open => match r {
                    Ok(0) | Err(_) => err_open = false,
                    Ok(n) => { bytes_out += n as u64; sink.stderr(&eb[..n]); }
                },
                _ = &mut sleep => { timed_out = true; break; }
            }
        }
        if timed_out {
            watchdog::kill_tree(pid);
        }
        let status = child.wait().await.map_err(io)?;
        self.with(id, |sb| {
            sb.pids.retain(|p| *p != pid);
            Ok(())
        })
        .ok();
        if timed_out {
            return Err(SandboxError::Timeout(req.timeout_s.unwrap_or(0)));
        }
        if let Some(reason) = dog.violation() {
            return Err(SandboxError::LimitExceeded(reason));
        }
        use std::os::unix::process::ExitStatusExt;
        Ok(ExecOutcome {
            exit_code: status.code(),
            signal: status.signal(),
            duration_ms: started.elapsed().as_millis() as u64,
            bytes_out,
        })
    }

    async fn processes(&self, id: &str) -> Result<Vec<ProcessInfo>, SandboxError> {
        let pids = self.with(id, |sb| Ok(sb.pids.clone()))?;
        Ok(pids
            .into_iter()
            .flat_map(watchdog::process_tree)
            .filter(|p| p.comm != "bwrap" && p.comm != "prlimit" && p.comm != "nsenter")
            .map(|p| ProcessInfo { pid: p.pid, command: p.comm, rss_bytes: p.rss_bytes })
            .collect())
    }

    async fn put_file(&self, id: &str, path: &str, data: &[u8]) -> Result<(), SandboxError> {
        let p = self.file_path(id, path)?;
        if let Some(parent) = p.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        tokio::fs::write(p, data).await.map_err(io)
    }

    async fn get_file(&self, id: &str, path: &str) -> Result<Vec<u8>, SandboxError> {
        tokio::fs::read(self.file_path(id, path)?).await.map_err(io)
    }

    async fn list_files(&self, id: &str, path: &str) -> Result<Vec<RemoteEntry>, SandboxError> {
        let mut rd = tokio::fs::read_dir(self.file_path(id, path)?).await.map_err(io)?;
        let mut out = Vec::new();
        while let Some(e) = rd.next_entry().await.map_err(io)? {
            let meta = e.metadata().await.map_err(io)?;
            out.push(RemoteEntry {
                name: e.file_name().to_string_lossy().into_owned(),
                is_dir: meta.is_dir(),
                size: meta.len(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn remove_file(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        let p = self.file_path(id, path)?;
        let meta = tokio::fs::symlink_metadata(&p).await.map_err(io)?;
        if meta.is_dir() { tokio::fs::remove_dir_all(p).await } else { tokio::fs::remove_file(p).await }.map_err(io)
    }

    async fn make_dir(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        tokio::fs::create_dir_all(self.file_path(id, path)?).await.map_err(io)
    }

    async fn preview(&self, id: &str, port: u16) -> Result<PreviewTarget, SandboxError> {
        self.get_now(id)?;
        // The proxy reaches 127.0.0.1 of the sandbox's own namespace (see `netns`), or of the
        // host on the host network.
        Ok(PreviewTarget { url: format!("http://127.0.0.1:{port}"), headers: Vec::new() })
    }
}

/// The network plan for `mode`: an isolated network needs a user-mode network tool that works.
pub fn plan(mode: NetworkMode) -> Result<NetPlan, SandboxError> {
    Ok(match mode {
        NetworkMode::Isolated => {
            NetPlan::Isolated(network::probe_isolated().map_err(SandboxError::NetworkUnavailable)?)
        }
        NetworkMode::Offline => NetPlan::Offline,
        NetworkMode::Host => NetPlan::Host,
    })
}

/// Keeps `Arc<LocalProvider>` usable where a `dyn Provider` is expected.
pub type SharedLocal = Arc<LocalProvider>;
