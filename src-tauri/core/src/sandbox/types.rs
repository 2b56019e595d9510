use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ProviderKind {
    Local,
    Daytona,
    E2b,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Daytona => "daytona",
            Self::E2b => "e2b",
        }
    }
}

/// Every state any provider reports (Daytona's `SandboxState` enum, E2B's running/paused, and
/// the local sandbox's), so none is ever shown as something it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SandboxState {
    Creating,
    Restoring,
    Destroyed,
    Destroying,
    Started,
    Stopped,
    Starting,
    Stopping,
    Error,
    BuildFailed,
    PendingBuild,
    BuildingSnapshot,
    Unknown,
    PullingSnapshot,
    Archived,
    Archiving,
    Resizing,
    Snapshotting,
    Forking,
    Pausing,
    Paused,
    Resuming,
}

impl SandboxState {
    pub fn is_running(self) -> bool {
        matches!(self, Self::Started)
    }
}

/// Resource limits for a sandbox. `None` means the provider's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct Limits {
    /// Memory for everything in the sandbox together (bytes).
    #[ts(type = "number | null")]
    pub memory_bytes: Option<u64>,
    /// Processes and threads alive at once.
    pub max_pids: Option<u32>,
    /// CPU time per process (seconds).
    #[ts(type = "number | null")]
    pub cpu_seconds: Option<u64>,
    pub cpus: Option<u32>,
    pub disk_gib: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Self { memory_bytes: Some(4 << 30), max_pids: Some(1024), cpu_seconds: None, cpus: None, disk_gib: None }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct SandboxSpec {
    /// Shown in provider dashboards; also a label.
    pub name: Option<String>,
    /// Daytona snapshot / image, E2B template.
    pub image: Option<String>,
    pub env: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub limits: Limits,
    /// Stop after this many idle minutes (Daytona auto-stop; E2B timeout).
    pub auto_stop_minutes: Option<u32>,
    /// Where the sandbox may connect to (the project's network choice).
    pub egress: Egress,
    /// A local sandbox's persistent `~/.cache` (package managers' caches), one per project so
    /// no project changes what another installs. Not sent to providers.
    #[serde(skip)]
    #[ts(skip)]
    pub cache_dir: Option<std::path::PathBuf>,
    /// The user chose to run commands in a local sandbox even where some of what this machine
    /// runs by itself cannot be protected (see `ProjectSettings::allow_unprotected`).
    #[serde(skip)]
    #[ts(skip)]
    pub allow_unprotected: bool,
}

/// Where a remote sandbox may connect to, as its provider is asked at create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case", tag = "kind", content = "hosts")]
#[ts(export)]
pub enum Egress {
    /// The internet (the provider's private ranges denied where it has the setting).
    #[default]
    Internet,
    /// Only these hosts (names, `*.` wildcards, addresses, ranges; ports are not kept).
    Only(Vec<String>),
    /// Nothing at all.
    Offline,
}

impl Egress {
    /// A short name of this choice, kept with a sandbox made with it: a sandbox keeps the
    /// network it was created with, so one made with another choice is not reattached.
    pub fn key(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        blake3::hash(json.as_bytes()).to_hex()[..12].to_string()
    }

    /// `Only`'s entries split into domain names and address ranges, without ports.
    pub fn split_hosts(hosts: &[String]) -> (Vec<String>, Vec<String>) {
        let (mut names, mut nets) = (Vec::new(), Vec::new());
        for h in hosts {
            let h = h.trim();
            // `[v6]:port`, `[v6]`, `name:port`, bare v6 (several colons), CIDR.
            let host = if let Some(rest) = h.strip_prefix('[') {
                rest.split(']').next().unwrap_or(rest)
            } else if h.matches(':').count() == 1 {
                h.split(':').next().unwrap_or(h)
            } else {
                h
            };
            if let Ok(net) = host.parse::<ipnet::IpNet>() {
                nets.push(net.to_string());
            } else if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                nets.push(ipnet::IpNet::from(ip).to_string());
            } else if !host.is_empty() {
                names.push(host.to_ascii_lowercase());
            }
        }
        (names, nets)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SandboxInfo {
    pub id: String,
    pub provider: ProviderKind,
    pub state: SandboxState,
    /// False when commands run without isolation (local fallback the user accepted).
    pub isolated: bool,
    /// Provider detail (an error reason, a region...).
    pub detail: Option<String>,
    pub cpu: Option<f32>,
    #[ts(type = "number | null")]
    pub memory_bytes: Option<u64>,
    /// What of the project is read-only inside because the host runs it (local sandboxes, once
    /// a command has started; see `sandbox::local::guard`).
    #[serde(default)]
    pub guard: Option<GuardReport>,
    /// The provider's labels (Daytona) or metadata (E2B): Aura's say whose sandbox it is.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// When it was created (Daytona) or last started or resumed (E2B), ms since the epoch.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub started_ms: Option<i64>,
    /// Its last activity as the provider counts it (Daytona), ms since the epoch.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub active_ms: Option<i64>,
}

/// The protections of a local sandbox's newest command, for the Sandbox panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GuardReport {
    /// Paths the host runs by itself that are read-only inside (placeholders included).
    pub protected: u32,
    /// What could not be protected, each with why.
    pub unprotected: Vec<String>,
    /// Repositories, tool folders and guarded files (project-relative) that appeared while the
    /// sandbox ran: it may have made them, and a new one in a subfolder cannot be refused yet.
    pub appeared: Vec<String>,
    /// How many of `unprotected` are gaps (something left writable): commands wait for the
    /// user's choice while there are any.
    pub gaps: u32,
    /// What the sandbox was refused, newest first ("created sub/.git", "wrote .git/config").
    #[serde(default)]
    pub blocked: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct ExecRequest {
    /// A shell command line (`sh -c`).
    pub command: String,
    /// Workspace-relative working directory.
    pub cwd: Option<String>,
    pub env: Vec<(String, String)>,
    #[ts(type = "number | null")]
    pub timeout_s: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ExecOutcome {
    /// Exit code, or `None` when killed by a signal.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    #[ts(type = "number")]
    pub duration_ms: u64,
    #[ts(type = "number")]
    pub bytes_out: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProcessInfo {
    pub pid: u32,
    pub command: String,
    #[ts(type = "number")]
    pub rss_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RemoteEntry {
    pub name: String,
    pub is_dir: bool,
    #[ts(type = "number")]
    pub size: u64,
}
