//! Enforces a sandbox's process and memory limits by watching its process tree.
//!
//! cgroup v2 would do this in the kernel, but it is not writable on many machines, and
//! `RLIMIT_NPROC` does not bind processes of the host's root user. So a thread polls the tree under
//! the sandbox's outer process every 50 ms: too many tasks (processes + threads) or too much
//! resident memory and the whole tree is killed, starting with the sandbox's PID-namespace init
//! (whose death makes the kernel kill everything inside at once).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy)]
pub struct WatchLimits {
    pub max_tasks: Option<u32>,
    pub max_rss_bytes: Option<u64>,
}

/// A running watch. Dropping it stops watching (it does not kill anything).
pub struct Watchdog {
    stop: Arc<AtomicBool>,
    violation: Arc<Mutex<Option<String>>>,
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Watchdog {
    pub fn start(root_pid: u32, limits: WatchLimits) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let violation = Arc::new(Mutex::new(None));
        if limits.max_tasks.is_some() || limits.max_rss_bytes.is_some() {
            let (s, v) = (stop.clone(), violation.clone());
            let _ = std::thread::Builder::new().name("sandbox-watchdog".into()).spawn(move || {
                while !s.load(Ordering::SeqCst) {
                    let tree = process_tree(root_pid);
                    if tree.is_empty() {
                        return; // the sandbox ended
                    }
                    let tasks: u64 = tree.iter().map(|p| p.threads).sum();
                    let rss: u64 = tree.iter().map(|p| p.rss_bytes).sum();
                    let reason = match (limits.max_tasks, limits.max_rss_bytes) {
                        (Some(max), _) if tasks > max as u64 => {
                            Some(format!("it ran more than {max} processes and threads at once (a fork bomb?)"))
                        }
                        (_, Some(max)) if rss > max => {
                            Some(format!("it used more than {} MiB of memory", max / (1024 * 1024)))
                        }
                        _ => None,
                    };
                    if let Some(reason) = reason {
                        tracing::warn!(root_pid, %reason, "sandbox limit exceeded; killing it");
                        *v.lock() = Some(reason);
                        kill_tree(root_pid);
                        return;
                    }
                    std::thread::sleep(POLL);
                }
            });
        }
        Self { stop, violation }
    }

    /// Why the watchdog killed the sandbox, if it did.
    pub fn violation(&self) -> Option<String> {
        self.violation.lock().clone()
    }
}

#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub threads: u64,
    pub rss_bytes: u64,
    pub comm: String,
}

fn read_proc(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    let comm = stat[stat.find('(')? + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
    // fields[0] = state, [1] = ppid, [17] = num_threads, [21] = rss (pages)
    if fields.first() == Some(&"Z") {
        return None;
    }
    let ppid = fields.get(1)?.parse().ok()?;
    let threads = fields.get(17)?.parse().unwrap_or(1);
    let rss_pages: u64 = fields.get(21)?.parse().unwrap_or(0);
    Some(Proc { pid, ppid, threads, rss_bytes: rss_pages * page_size(), comm })
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as u64
    } else {
        4096
    }
}

/// `root` and all its live descendants, root first.
pub fn process_tree(root: u32) -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut by_parent: HashMap<u32, Vec<Proc>> = HashMap::new();
    let mut root_proc = None;
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if let Some(p) = read_proc(pid) {
            if pid == root {
                root_proc = Some(p);
            } else {
                by_parent.entry(p.ppid).or_default().push(p);
            }
        }
    }
    let Some(r) = root_proc else { return Vec::new() };
    let mut out = vec![r];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = by_parent.remove(&out[i].pid) {
            out.extend(kids);
        }
        i += 1;
    }
    out
}

/// Kills `root` and everything under it: first its children (for bubblewrap, the PID-namespace
/// init), then whatever is left, until nothing is.
pub fn kill_tree(root: u32) {
    for _ in 0..50 {
        let tree = process_tree(root);
        if tree.is_empty() {
            return;
        }
        // Children of the root first: killing a PID-namespace init empties the namespace.
        let mut ordered: Vec<&Proc> = tree.iter().filter(|p| p.ppid == root).collect();
        ordered.extend(tree.iter().filter(|p| p.ppid != root && p.pid != root));
        for p in ordered {
            // SAFETY: plain kill(2) on pids we just read.
            unsafe { libc::kill(p.pid as libc::pid_t, libc::SIGKILL) };
        }
        unsafe { libc::kill(root as libc::pid_t, libc::SIGKILL) };
        std::thread::sleep(Duration::from_millis(20));
    }
}
