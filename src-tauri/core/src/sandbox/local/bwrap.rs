//! The bubblewrap command line for the local sandbox, and whether bubblewrap works here.
//!
//! Inside: the project read-write at `/workspace` (the working directory), `/usr` and `/etc`
//! read-only, a private `/tmp` and home, fresh `/proc` and `/dev`, own user/pid/ipc/uts/cgroup
//! namespaces, no capabilities, a cleared environment plus the user's variables. The network is
//! the sandbox's own namespace (see [`super::network`]): the command is started inside it with
//! `nsenter` and bubblewrap keeps it; only the "host network" mode shares the host's. Per-process
//! CPU time is capped with `prlimit`; process count and memory by the watchdog.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::guard::Guard;
use super::network::{Netns, NetworkMode, Outbound};
use crate::sandbox::Limits;

/// Where the project appears inside the sandbox.
pub const WORKSPACE: &str = "/workspace";
pub const HOME: &str = "/home/aura";

/// How commands run locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    Bubblewrap {
        bwrap: PathBuf,
        network: NetPlan,
    },
    /// No isolation: only after the user accepted it. Commands run on the host in the project.
    None {
        reason: String,
    },
}

/// How the sandboxes of a provider reach the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetPlan {
    /// Own namespace, out through this user-mode network tool to public addresses; what the
    /// filter sees goes to the gate's connection list.
    Isolated(Outbound, crate::netpolicy::Gate),
    /// Own namespace without a route out; HTTP(S) through Aura's proxy, decided by this gate.
    Registries(crate::netpolicy::Gate),
    /// Own namespace, loopback only.
    Offline,
    /// The host's namespace (the user accepted the warning).
    Host,
}

impl NetPlan {
    pub fn mode(&self) -> NetworkMode {
        match self {
            NetPlan::Isolated(..) => NetworkMode::Isolated,
            NetPlan::Registries(_) => NetworkMode::Registries,
            NetPlan::Offline => NetworkMode::Offline,
            NetPlan::Host => NetworkMode::Host,
        }
    }

    /// A namespace for one sandbox (none for the host network).
    pub fn namespace(&self) -> Result<Option<Netns>, String> {
        match self {
            NetPlan::Isolated(tool, gate) => {
                let mut ns = Netns::create(NetworkMode::Isolated, Some(tool))?;
                // The list is a view: without it the sandbox works and stays filtered.
                if let Err(e) = ns.watch_connections(gate.0.clone()) {
                    tracing::warn!(error = %e, "the sandbox's connections will not be listed");
                }
                Ok(Some(ns))
            }
            NetPlan::Registries(gate) => {
                let mut ns = Netns::create(NetworkMode::Registries, None)?;
                ns.start_proxy(gate.0.clone())?;
                Ok(Some(ns))
            }
            NetPlan::Offline => Netns::create(NetworkMode::Offline, None).map(Some),
            NetPlan::Host => Ok(None),
        }
    }
}

impl Isolation {
    pub fn is_isolated(&self) -> bool {
        matches!(self, Isolation::Bubblewrap { .. })
    }

    /// How sandboxes reach the network (`Host` without isolation).
    pub fn network(&self) -> NetworkMode {
        match self {
            Isolation::Bubblewrap { network, .. } => network.mode(),
            Isolation::None { .. } => NetworkMode::Host,
        }
    }
}

/// Finds a working bubblewrap (it may be installed but unusable, e.g. without user namespaces).
pub fn detect() -> Result<PathBuf, String> {
    let bwrap = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| "the 'bwrap' program is not installed (Debian/Ubuntu: apt install bubblewrap)".to_string())?;
    let out = Command::new(&bwrap)
        .args([
            "--unshare-all",
            "--share-net",
            "--die-with-parent",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--",
            "/bin/true",
        ])
        .output()
        .map_err(|e| format!("cannot run bwrap: {e}"))?;
    if out.status.success() {
        Ok(bwrap)
    } else {
        Err(format!("bwrap cannot create namespaces here: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn prlimit() -> Option<PathBuf> {
    ["/usr/bin/prlimit", "/bin/prlimit"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Kernel-enforced per-process limits, applied with `prlimit` (they are inherited by everything
/// the sandbox starts): CPU seconds; writable private memory (`RLIMIT_DATA`) at four times the
/// memory limit (a backstop for one runaway allocation: the watchdog enforces the total resident
/// memory, with a clearer message) — not the address space: V8 reserves ~10 GiB of it, never
/// written, for each WebAssembly memory (Node's own `fetch` is one), so an address-space cap
/// made dev servers die with "Cannot allocate Wasm memory"; and, for a non-root user, the
/// process count
/// (`RLIMIT_NPROC` counts all of the user's processes, so the current count is added).
pub fn rlimits(limits: &Limits) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(cpu) = limits.cpu_seconds {
        out.push(format!("--cpu={cpu}"));
    }
    if let Some(mem) = limits.memory_bytes {
        out.push(format!("--data={}", mem.saturating_mul(4)));
    }
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    if let (Some(max), true) = (limits.max_pids, uid != 0) {
        out.push(format!("--nproc={}", max as usize + user_tasks(uid)));
    }
    out
}

/// How many tasks (threads included, as RLIMIT_NPROC counts them) `uid` has now.
fn user_tasks(uid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|st| st.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(&uid.to_string())))
        .map(|st| st.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok()).unwrap_or(1))
        .sum()
}

/// The full argv that runs `command` (argv inside the sandbox) for `project`, with `guard`'s
/// protections over the workspace.
#[allow(clippy::too_many_arguments)]
pub fn argv(
    iso: &Isolation,
    net: Option<&Netns>,
    mounts: &Mounts,
    guard: Option<&Guard>,
    cwd: Option<&str>,
    env: &[(String, String)],
    limits: &Limits,
    command: &[String],
) -> Result<Vec<String>, String> {
    argv_with(iso, net, mounts, guard, cwd, env, limits, command, true)
}

/// What every sandbox gets: its own namespaces (the network is entered before, see `netns`),
/// no capabilities, a clean environment, the system read-only, fresh `/tmp`, home, `/run`
/// and `/var`.
const SYSTEM: &[&str] = &[
    "--unshare-all",
    "--share-net",
    "--die-with-parent",
    "--cap-drop",
    "ALL",
    "--clearenv",
    "--hostname",
    "aura-sandbox",
    "--ro-bind",
    "/usr",
    "/usr",
    "--ro-bind",
    "/etc",
    "/etc",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--tmpfs",
    "/home",
    "--dir",
    HOME,
    "--tmpfs",
    "/run",
    "--tmpfs",
    "/var",
];

/// The environment every sandboxed command starts from (the project's variables come after).
const BASE_ENV: &[(&str, &str)] = &[
    ("HOME", HOME),
    ("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"),
    ("USER", "aura"),
    ("LANG", "C.UTF-8"),
    ("TERM", "xterm-256color"),
    ("COLORTERM", "truecolor"),
    ("AURA_SANDBOX", "local"),
    // npm's "new version available" notice: not about the project, and a call to the registry.
    ("npm_config_update_notifier", "false"),
];

/// What is mounted read-write: the project as the workspace, and the project's package caches
/// (kept between commands and sandboxes, so a second install is served from them).
pub struct Mounts<'a> {
    pub project: &'a Path,
    pub cache: Option<&'a Path>,
}

/// Where package managers keep their caches when there is a persistent `~/.cache`: all of them
/// under it (pip and uv use it already). pnpm's store is not among them: its only variable,
/// `npm_config_store_dir`, makes npm print a warning on every run.
const CACHE_ENV: &[(&str, &str)] = &[
    ("npm_config_cache", "/home/aura/.cache/npm"),
    ("YARN_CACHE_FOLDER", "/home/aura/.cache/yarn"),
    ("BUN_INSTALL_CACHE_DIR", "/home/aura/.cache/bun"),
];

/// `/bin`, `/lib`, ... as links into `/usr`, for the ones this system has.
fn usr_merge_links() -> Vec<String> {
    let mut out = Vec::new();
    for (link, target) in [
        ("/bin", "usr/bin"),
        ("/sbin", "usr/sbin"),
        ("/lib", "usr/lib"),
        ("/lib64", "usr/lib64"),
        ("/lib32", "usr/lib32"),
    ] {
        if Path::new("/").join(target).exists() {
            out.extend(["--symlink".to_string(), target.to_string(), link.to_string()]);
        }
    }
    out
}

/// Like [`argv`]; `new_session: false` keeps the caller's controlling terminal, which an
/// interactive shell on Aura's own PTY needs for job control and Ctrl+C (the PTY belongs to the
/// sandbox, so keystroke injection reaches nothing else). `net` is the sandbox's namespace (none
/// only for the host network). `guard` (see [`super::guard`]) keeps what the host runs read-only;
/// its opener runs first, on the host, and hands bubblewrap the mounts' sources.
#[allow(clippy::too_many_arguments)]
pub fn argv_with(
    iso: &Isolation,
    net: Option<&Netns>,
    mounts: &Mounts,
    guard: Option<&Guard>,
    cwd: Option<&str>,
    env: &[(String, String)],
    limits: &Limits,
    command: &[String],
    new_session: bool,
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    if let (Isolation::Bubblewrap { .. }, Some(opener)) = (iso, guard.and_then(Guard::opener)) {
        out.extend(opener);
    }
    let rl = rlimits(limits);
    if let (false, Some(pl)) = (rl.is_empty(), prlimit()) {
        out.push(pl.display().to_string());
        out.extend(rl);
        out.push("--".into());
    }
    match iso {
        Isolation::Bubblewrap { bwrap, network } => {
            let s = |v: &str| v.to_string();
            match (network, net) {
                (NetPlan::Host, _) => {}
                (_, Some(ns)) => out.extend(ns.enter_argv()?),
                (_, None) => return Err("the sandbox has no network namespace".into()),
            }
            out.push(bwrap.display().to_string());
            if new_session {
                out.push(s("--new-session"));
            }
            out.extend(SYSTEM.iter().map(|a| s(a)));
            out.extend(usr_merge_links());
            out.extend([s("--bind"), mounts.project.display().to_string(), s(WORKSPACE)]);
            if let Some(cache) = mounts.cache {
                out.extend([s("--bind"), cache.display().to_string(), format!("{HOME}/.cache")]);
            }
            out.extend(guard.map(Guard::bwrap_args).unwrap_or_default());
            for (host, inside) in net.map(Netns::overlays).unwrap_or_default() {
                out.extend([s("--ro-bind"), host.display().to_string(), inside.display().to_string()]);
            }
            // The sandbox's own root is read-only too; only /workspace, /tmp and home are writable.
            out.extend([s("--remount-ro"), s("/")]);
            let dir = match cwd.filter(|c| !c.is_empty()) {
                Some(c) => format!("{WORKSPACE}/{}", c.trim_start_matches('/')),
                None => WORKSPACE.to_string(),
            };
            out.extend([s("--chdir"), dir]);
            let net_env = net.map(Netns::env).unwrap_or_default();
            for (k, v) in BASE_ENV
                .iter()
                .map(|(k, v)| (*k, *v))
                .chain(mounts.cache.map(|_| CACHE_ENV).unwrap_or_default().iter().map(|(k, v)| (*k, *v)))
                .chain(net_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .chain(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            {
                out.extend([s("--setenv"), s(k), s(v)]);
            }
            out.push(s("--"));
            out.extend(command.iter().cloned());
        }
        Isolation::None { .. } => {
            // `env` sets the variables; the working directory is set by the caller.
            out.push("/usr/bin/env".into());
            for (k, v) in env {
                out.push(format!("{k}={v}"));
            }
            out.extend(command.iter().cloned());
        }
    }
    Ok(out)
}

/// The working directory on the host for an unsandboxed run.
pub fn host_cwd(project: &Path, cwd: Option<&str>) -> PathBuf {
    match cwd.filter(|c| !c.is_empty()) {
        Some(c) => project.join(c.trim_start_matches('/')),
        None => project.to_path_buf(),
    }
}
