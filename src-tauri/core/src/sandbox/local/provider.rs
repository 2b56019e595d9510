//! The local provider's capabilities (see [`crate::sandbox::Provider`]).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use tokio::io::AsyncReadExt;

use super::watchdog::{self, Watchdog};
use super::{bwrap, check_env, io, LocalProvider};
use crate::paths::ProjectRoot;
use crate::preview::Upstream;
use crate::sandbox::remote::Deadline;
use crate::sandbox::*;
use crate::terminal::{TerminalHandle, TerminalSink};

#[async_trait]
impl Lifecycle for LocalProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Local
    }

    /// A sandbox with its own namespaces; the project is mounted by [`Provider::deliver`].
    async fn create(&self, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError> {
        self.create_empty(spec)
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
        self.forget(id);
        Ok(())
    }
}

#[async_trait]
impl Exec for LocalProvider {
    async fn exec(&self, id: &str, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, SandboxError> {
        let (mut child, pid, dog, guard) = self.spawn(id, req)?;
        let started = Instant::now();
        let streamed = pump(&mut child, sink, Deadline::after(req.timeout_s)).await;
        drop(guard);
        if streamed.is_err() {
            watchdog::kill_tree(pid);
        }
        let status = child.wait().await.map_err(io)?;
        self.with(id, |sb| {
            sb.pids.retain(|p| *p != pid);
            Ok(())
        })
        .ok();
        let bytes_out = streamed?;
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
}

impl LocalProvider {
    /// Starts `req` in sandbox `id` under its limits; returns the child, its pid, its watchdog,
    /// and its guard (whose descriptors must stay open while it starts).
    #[allow(clippy::type_complexity)]
    fn spawn(
        &self,
        id: &str,
        req: &ExecRequest,
    ) -> Result<(tokio::process::Child, u32, Watchdog, Option<super::guard::Guard>), SandboxError> {
        check_env(&req.env)?;
        self.with(id, |sb| Self::require_running(sb, "running a command"))?;
        let guard = self.guard(id)?;
        let (argv, host_dir, limits) = self.with(id, |sb| {
            // The working directory must be inside the project too.
            let cwd = req.cwd.as_deref().filter(|c| !c.is_empty());
            let host_dir = match cwd {
                Some(c) => sb.project()?.resolve(c)?,
                None => sb.project()?.path().to_path_buf(),
            };
            let mut env = sb.spec.env.clone();
            env.extend(req.env.iter().cloned());
            let cmd = ["/bin/sh".to_string(), "-c".to_string(), req.command.clone()];
            let argv = bwrap::argv(
                &self.isolation,
                sb.net.as_deref(),
                &bwrap::Mounts { project: sb.project()?.path(), cache: sb.spec.cache_dir.as_deref() },
                guard.as_ref(),
                cwd,
                &env,
                &sb.spec.limits,
                &cmd,
            )
            .map_err(SandboxError::NetworkUnavailable)?;
            Ok((argv, host_dir, Self::watch_limits(&sb.spec)))
        })?;
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&host_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // Nothing this process inherited or opened reaches the sandbox: only 0-2 go on (the
        // guard's opener then opens its own; terminals get the same from the PTY layer).
        // SAFETY: close_range is async-signal-safe and touches nothing of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
                Ok(())
            });
        }
        let child = if self.supervised() {
            let rt = tokio::runtime::Handle::current();
            super::supervisor::run(move || {
                let _in = rt.enter();
                cmd.spawn()
            })
            .map_err(SandboxError::Spawn)?
        } else {
            cmd.spawn()
        }
        .map_err(|e| SandboxError::Spawn(format!("{}: {e}", argv[0])))?;
        let pid = child.id().unwrap_or(0);
        self.with(id, |sb| {
            sb.pids.push(pid);
            Ok(())
        })?;
        Ok((child, pid, Watchdog::start(pid, limits), guard))
    }
}

/// Streams a child's stdout and stderr to `sink` until both close; returns the bytes seen, or
/// [`SandboxError::Timeout`] when the deadline passes first.
async fn pump(
    child: &mut tokio::process::Child,
    sink: &mut dyn ExecSink,
    deadline: Deadline,
) -> Result<u64, SandboxError> {
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let (mut ob, mut eb) = (vec![0u8; 32 * 1024], vec![0u8; 32 * 1024]);
    let (mut out_open, mut err_open) = (true, true);
    let mut bytes_out = 0u64;
    deadline
        .within(async {
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
                }
            }
        })
        .await?;
    Ok(bytes_out)
}

#[async_trait]
impl Files for LocalProvider {
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
}

#[async_trait]
impl Terminals for LocalProvider {
    /// A shell on a PTY here, inside the sandbox, under its limits and lifecycle.
    async fn open_terminal(
        &self,
        id: &str,
        cols: u16,
        rows: u16,
        sink: Box<dyn TerminalSink>,
    ) -> Result<Arc<dyn TerminalHandle>, SandboxError> {
        let spec = self.terminal_spec(id, cols, rows)?;
        let handle = crate::terminal::spawn(spec, sink).map_err(|e| SandboxError::Spawn(e.to_string()))?;
        if let Some(pid) = handle.pid() {
            if let Err(e) = self.attach(id, pid) {
                handle.kill();
                return Err(e);
            }
        }
        Ok(handle)
    }
}

#[async_trait]
impl Previews for LocalProvider {
    /// On its own network a sandbox's servers are on *its* loopback: the proxy dials into its
    /// namespace (the newest sandbox's when `id` is `None`, following it once it exists). On the
    /// host network, or without isolation, they are on this machine's.
    async fn preview(&self, id: Option<&str>, port: u16) -> Result<Upstream, SandboxError> {
        let via = match id {
            Some(id) => {
                self.netns(id)?.map(|ns| crate::preview::proxy::Via(ns as Arc<dyn crate::preview::proxy::Dialer>))
            }
            None => self.has_own_network().then(|| crate::preview::proxy::Via(self.follower())),
        };
        Ok(match via {
            Some(via) => Upstream::in_namespace(port, via),
            None => Upstream::local(port),
        })
    }

    async fn listening_ports(&self, id: &str) -> Result<Vec<u16>, SandboxError> {
        LocalProvider::listening_ports(self, id)
    }
}

#[async_trait]
impl Provider for LocalProvider {
    /// The folder itself becomes the sandbox's workspace (a bind mount): nothing to copy.
    async fn deliver(
        self: Arc<Self>,
        id: &str,
        project: &ProjectRoot,
        _: crate::sandbox::ledger::Ledger,
    ) -> Result<Delivery, SandboxError> {
        self.mount(id, project)?;
        Ok(Delivery::Mounted)
    }
}
