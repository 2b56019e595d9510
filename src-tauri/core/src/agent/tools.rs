//! The MCP server agents talk to (rmcp): the open project's files as tools and resources,
//! commands in its sandbox. Every call is logged; writes and commands pass the policy (and the
//! user, for "ask") and take a baseline first; writes go through the project host, the editor's
//! save path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ProgressNotificationParam, RequestMetaObject};
use rmcp::{schemars, tool, tool_router, Peer, RoleServer};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::activity::shorten;
use super::AgentService;
use crate::project::ProjectError;
use crate::sandbox::tail::OutputTail;
use crate::sandbox::{ExecRequest, ExecSink};
use crate::workspace::files::{self, MAX_EDITABLE_BYTES};
use crate::workspace::search::{self, SearchQuery};
use crate::workspace::tree::{self, EntryKind};
use crate::workspace::WorkspaceError;

/// Where the call is in the activity log, and whether the user or the policy refused it.
#[derive(Clone)]
pub struct CallCtx {
    pub(super) id: u64,
    pub(super) denied: Arc<AtomicBool>,
    /// Cancelled when the agent cancels the call.
    pub(super) cancelled: CancellationToken,
}

/// The most entries `list_files` returns by default, and at all.
pub(super) const LIST_DEFAULT: usize = 2_000;
const LIST_MAX: usize = 20_000;
/// Output of a command kept for the result (the end of it, where errors are).
const OUTPUT_KEEP: usize = 256 * 1024;
const DEFAULT_TIMEOUT_S: u64 = 120;
const MAX_TIMEOUT_S: u64 = 3_600;
/// Resource URIs: `aura://project/<path>`.
pub(super) const RESOURCE_PREFIX: &str = "aura://project/";

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListFilesArgs {
    /// Folder to list, relative to the project root ("" or omitted: the root).
    #[serde(default)]
    pub path: String,
    /// Also list ignored entries (node_modules, build output, .gitignore'd files).
    #[serde(default)]
    pub include_ignored: bool,
    /// Most entries to return (default 2000).
    pub max_entries: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PathArgs {
    /// Path relative to the project root, with `/` separators.
    pub path: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WriteArgs {
    /// Path relative to the project root; missing folders are created.
    pub path: String,
    /// The whole new content of the file (UTF-8 text).
    pub content: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EditArgs {
    /// Path relative to the project root.
    pub path: String,
    /// Text to find; it must occur exactly once unless `replace_all` is set.
    pub old_text: String,
    /// Text to put in its place.
    pub new_text: String,
    #[serde(default)]
    pub replace_all: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// Text (or a regular expression when `regex` is set) to find in the project's files.
    pub query: String,
    #[serde(default)]
    pub regex: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    /// Most matching lines to return (default 200).
    pub max_results: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ExecArgs {
    /// A shell command line, run with `sh -c` in the project's sandbox (never on the host).
    pub command: String,
    /// Working folder relative to the project root.
    pub cwd: Option<String>,
    /// Seconds before the command is stopped (default 120, at most 3600).
    pub timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct LogsArgs {
    /// Most bytes of the end of the output to return (default 16384).
    pub max_bytes: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PreviewArgs {
    /// The port the app listens on in the sandbox; omitted: the first port it listens on.
    pub port: Option<u16>,
}

/// The server for one MCP connection (cheap to clone; the state is the shared [`AgentService`]).
#[derive(Clone)]
pub struct AuraTools {
    pub(super) agent: Arc<AgentService>,
    pub(super) tool_router: ToolRouter<Self>,
}

pub(super) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Unified diff of a change, for the approval card.
fn diff(path: &str, old: &str, new: &str) -> String {
    let d = similar::TextDiff::from_lines(old, new);
    shorten(&d.unified_diff().context_radius(3).header(&format!("a/{path}"), &format!("b/{path}")).to_string())
}

fn current_text(root: &crate::paths::ProjectRoot, path: &str) -> Result<Option<(String, String)>, String> {
    match files::read_file(root, path) {
        Ok(c) => Ok(Some((c.text, c.version.hash))),
        Err(WorkspaceError::NotFound(_)) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

/// Collects a command's output (the last [`OUTPUT_KEEP`] bytes) and forwards each piece as an
/// MCP progress notification when the client asked for progress.
struct Collect {
    tail: OutputTail,
    progress: Option<tokio::sync::mpsc::UnboundedSender<Vec<u8>>>,
}

impl Collect {
    fn push(&mut self, d: &[u8]) {
        if let Some(tx) = &self.progress {
            let _ = tx.send(d.to_vec());
        }
        self.tail.push(d, OUTPUT_KEEP);
    }
}

impl ExecSink for Collect {
    fn stdout(&mut self, d: &[u8]) {
        self.push(d)
    }
    fn stderr(&mut self, d: &[u8]) {
        self.push(d)
    }
}

#[tool_router]
impl AuraTools {
    pub fn new(agent: Arc<AgentService>) -> Self {
        Self { agent, tool_router: Self::tool_router() }
    }

    fn root(&self) -> Result<crate::paths::ProjectRoot, String> {
        self.agent.host.project_root().map_err(err)
    }

    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(crate::paths::ProjectRoot) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let root = self.root()?;
        tokio::task::spawn_blocking(move || f(root)).await.map_err(err)?
    }

    /// The policy (and the user, for "ask" — and always for a file the host runs by itself,
    /// `reason`), then the baseline for "Undo agent changes". A call the agent cancels while it
    /// waits for the user is withdrawn: an answer given later never runs it.
    async fn may_change(
        &self,
        call: &CallCtx,
        tool: &str,
        title: String,
        detail: String,
        reason: Option<&str>,
    ) -> Result<(), String> {
        let permitted = tokio::select! {
            r = self.agent.permit(call.id, tool, title, detail, reason) => r,
            _ = call.cancelled.cancelled() => return Err("cancelled by the agent".into()),
        };
        if let Err(e) = permitted {
            call.denied.store(true, Ordering::Relaxed);
            return Err(e);
        }
        self.agent.before_change().await.map_err(err)
    }

    #[tool(
        description = "List the project's files and folders (recursively), skipping ignored ones such as node_modules unless include_ignored is set. Folders end with '/'."
    )]
    async fn list_files(&self, Parameters(a): Parameters<ListFilesArgs>) -> Result<String, String> {
        let max = a.max_entries.map(|n| n as usize).unwrap_or(LIST_DEFAULT).clamp(1, LIST_MAX);
        self.blocking(move |root| {
            let (lines, truncated) = walk(&root, &a.path, a.include_ignored, max).map_err(err)?;
            let mut out = lines.join("\n");
            if truncated {
                out.push_str(&format!("\n… (stopped at {max} entries; list a subfolder or raise max_entries)"));
            }
            Ok(out)
        })
        .await
    }

    #[tool(description = "Read a text file of the project.")]
    async fn read_file(&self, Parameters(a): Parameters<PathArgs>) -> Result<String, String> {
        self.blocking(move |root| files::read_file(&root, &a.path).map(|c| c.text).map_err(err)).await
    }

    #[tool(
        description = "Create or overwrite a text file of the project with the given content (saved like an editor save: synced, sent to the sandbox, undoable)."
    )]
    async fn write_file(
        &self,
        Extension(call): Extension<CallCtx>,
        Parameters(a): Parameters<WriteArgs>,
    ) -> Result<String, String> {
        if a.content.len() as u64 > MAX_EDITABLE_BYTES {
            return Err(format!(
                "the content is {} bytes; agents may write files up to {MAX_EDITABLE_BYTES} bytes (the editor's limit)",
                a.content.len()
            ));
        }
        let root = self.root()?;
        root.resolve_entry(&a.path).map_err(err)?;
        let before = {
            let (r, p) = (root.clone(), a.path.clone());
            tokio::task::spawn_blocking(move || current_text(&r, &p)).await.map_err(err)??
        };
        let old = before.as_ref().map(|(t, _)| t.as_str()).unwrap_or("");
        let title = format!("{} {}", if before.is_some() { "Overwrite" } else { "Create" }, a.path);
        let why = crate::host_run::why(&a.path);
        self.may_change(&call, "write_file", title, diff(&a.path, old, &a.content), why).await?;
        let host = self.agent.host.clone();
        let expected = before.map(|(_, h)| h);
        tokio::task::spawn_blocking(move || {
            make_parents(&host, &a.path)?;
            let v = host.write_file(&a.path, &a.content, expected.as_deref()).map_err(err)?;
            Ok(format!("wrote {} bytes to {}", v.size, a.path))
        })
        .await
        .map_err(err)?
    }

    #[tool(
        description = "Replace text in a project file: old_text must occur exactly once (or set replace_all). Saved like an editor save."
    )]
    async fn edit_file(
        &self,
        Extension(call): Extension<CallCtx>,
        Parameters(a): Parameters<EditArgs>,
    ) -> Result<String, String> {
        if a.old_text.is_empty() {
            return Err("old_text is empty; give the exact text to replace".into());
        }
        let root = self.root()?;
        let (r, p) = (root.clone(), a.path.clone());
        let (text, hash) = tokio::task::spawn_blocking(move || current_text(&r, &p))
            .await
            .map_err(err)??
            .ok_or_else(|| format!("'{}' does not exist; use write_file to create it", a.path))?;
        let n = text.matches(&a.old_text).count();
        let new = match (n, a.replace_all) {
            (0, _) => {
                return Err(format!("old_text was not found in '{}' (it must match exactly, spaces included)", a.path))
            }
            (1, _) | (_, true) => text.replace(&a.old_text, &a.new_text),
            (n, false) => {
                return Err(format!(
                    "old_text occurs {n} times in '{}'; give more context so it is unique, or set replace_all",
                    a.path
                ))
            }
        };
        if new.len() as u64 > MAX_EDITABLE_BYTES {
            return Err(format!(
                "the edited file would be {} bytes, over the {MAX_EDITABLE_BYTES}-byte limit",
                new.len()
            ));
        }
        let why = crate::host_run::why(&a.path);
        self.may_change(&call, "edit_file", format!("Edit {}", a.path), diff(&a.path, &text, &new), why).await?;
        let host = self.agent.host.clone();
        tokio::task::spawn_blocking(move || {
            // Against the version read above: an edit made meanwhile (the editor, another call) is
            // a conflict, never overwritten.
            host.write_file(&a.path, &new, Some(&hash)).map_err(err)?;
            Ok(format!("replaced {} occurrence(s) in {}", if a.replace_all { n } else { 1 }, a.path))
        })
        .await
        .map_err(err)?
    }

    #[tool(description = "Search the project's files for text or a regular expression; returns path:line: text lines.")]
    async fn search(&self, Parameters(a): Parameters<SearchArgs>) -> Result<String, String> {
        self.blocking(move |root| {
            let q = SearchQuery {
                pattern: a.query,
                regex: a.regex,
                case_sensitive: a.case_sensitive,
                whole_word: false,
                max_results: Some(a.max_results.unwrap_or(200).min(2_000)),
            };
            let r = search::search(&root, &q).map_err(err)?;
            let mut out: Vec<String> =
                r.matches.iter().map(|m| format!("{}:{}: {}", m.path, m.line_number, m.line)).collect();
            if r.truncated {
                out.push("… (more matches; narrow the query or raise max_results)".into());
            }
            if out.is_empty() {
                out.push("no matches".into());
            }
            Ok(out.join("\n"))
        })
        .await
    }

    #[tool(
        description = "Run a shell command in the project's sandbox (local bubblewrap, Daytona or E2B — never on the host), in the project folder. Returns the exit code and output; output streams as progress notifications."
    )]
    async fn execute_command(
        &self,
        Extension(call): Extension<CallCtx>,
        Parameters(a): Parameters<ExecArgs>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        ct: CancellationToken,
    ) -> Result<String, String> {
        if a.command.trim().is_empty() {
            return Err("the command is empty".into());
        }
        let timeout = a.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S).clamp(1, MAX_TIMEOUT_S);
        if let Some(cwd) = &a.cwd {
            self.root()?.resolve(cwd).map_err(err)?;
        }
        let detail = format!("in {} · stops after {timeout} s", a.cwd.as_deref().unwrap_or("the project folder"));
        self.may_change(&call, "execute_command", a.command.clone(), detail, None).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let forward = meta.get_progress_token().map(|token| {
            tokio::spawn(async move {
                let mut n = 0.0;
                while let Some(d) = rx.recv().await {
                    n += 1.0;
                    let msg = shorten(&String::from_utf8_lossy(&d));
                    let _ =
                        peer.notify_progress(ProgressNotificationParam::new(token.clone(), n).with_message(msg)).await;
                }
            })
        });
        let mut sink = Collect { tail: OutputTail::default(), progress: forward.as_ref().map(|_| tx) };
        let req = ExecRequest { command: a.command, cwd: a.cwd, env: Vec::new(), timeout_s: Some(timeout) };
        let outcome = tokio::select! {
            r = tokio::time::timeout(std::time::Duration::from_secs(timeout + 5), self.agent.host.exec(&req, &mut sink)) => match r {
                Ok(r) => r.map_err(err)?,
                Err(_) => return Err(format!("the command did not finish within {timeout} s and was stopped")),
            },
            _ = ct.cancelled() => return Err("cancelled by the agent; the command was stopped".into()),
        };
        drop(sink.progress.take());
        if let Some(f) = forward {
            let _ = f.await;
        }
        let code = match (outcome.exit_code, outcome.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "stopped".into(),
        };
        Ok(format!("{code} ({} ms)\n{}", outcome.duration_ms, sink.tail.text(OUTPUT_KEEP)))
    }

    #[tool(
        description = "Start the project's app in its sandbox with its run configuration (.aura/run.json or detected), installing dependencies first when their manifests changed. With Aura's window open this is the window's Run (the user sees it in the Run terminal and the preview). Returns once it started; follow it with app_logs and open it with preview_url."
    )]
    async fn run_app(&self, Extension(call): Extension<CallCtx>) -> Result<String, String> {
        // Already running (started by the agent, or by the user's ▶ Run): that is the app.
        let running = self.agent.host.running_app();
        if let Some(s) = running {
            return Ok(describe_app(&s));
        }
        let plan = self.agent.host.run_plan().map_err(err)?;
        let what = match &plan.install {
            Some(i) => format!("{i} && {}", plan.config.dev),
            None => plan.config.dev.clone(),
        };
        self.may_change(&call, "run_app", what, "the project's run configuration, in its sandbox".into(), None).await?;
        let s = self.agent.host.run_app().await.map_err(err)?;
        Ok(describe_app(&s))
    }

    #[tool(description = "Stop the app run_app started.")]
    async fn stop_app(&self, Extension(call): Extension<CallCtx>) -> Result<String, String> {
        self.may_change(&call, "stop_app", "Stop the app".into(), String::new(), None).await?;
        match self.agent.host.stop_app() {
            Some(s) => Ok(format!("stopped ({})", s.ended.unwrap_or_else(|| "it was running".into()))),
            None => Ok("no app was running".into()),
        }
    }

    #[tool(description = "The app's state and the end of its output (install and dev server).")]
    async fn app_logs(&self, Parameters(a): Parameters<LogsArgs>) -> Result<String, String> {
        let (status, text) = self.agent.host.app_logs(a.max_bytes.unwrap_or(16_384).min(1 << 20) as usize);
        let head = match status {
            None => return Ok("the app has not been started (use run_app)".into()),
            Some(s) => format!(
                "{}{}{}",
                s.phase,
                s.port
                    .filter(|_| s.phase.starts_with("running"))
                    .map(|p| format!(" (serves port {p})"))
                    .unwrap_or_default(),
                s.ended.map(|e| format!(" ({e})")).unwrap_or_default()
            ),
        };
        Ok(format!("{head}\n{text}"))
    }

    #[tool(description = "List the processes running in the project's sandbox (pid, memory, command).")]
    async fn processes(&self) -> Result<String, String> {
        let p = self.agent.host.project().map_err(err)?;
        let list = self.agent.host.sandboxes.processes(&p.record).await.map_err(err)?;
        if list.is_empty() {
            return Ok("no processes (the sandbox is not running)".into());
        }
        Ok(list
            .iter()
            .map(|p| format!("{} {} KiB {}", p.pid, p.rss_bytes / 1024, p.command))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    #[tool(
        description = "The URL where the app running in the sandbox can be opened (through Aura's preview proxy on 127.0.0.1)."
    )]
    async fn preview_url(&self, Parameters(a): Parameters<PreviewArgs>) -> Result<String, String> {
        let host = &self.agent.host;
        let port = match a.port {
            Some(p) => p,
            None => match host.app_logs(0).0.and_then(|s| s.port.filter(|_| s.phase.starts_with("running"))) {
                // The app run_app started, once it serves.
                Some(p) => p,
                None => {
                    let p = host.project().map_err(err)?;
                    let ports = host.sandboxes.listening_ports(&p.record).await.map_err(err)?;
                    *ports.first().ok_or("nothing in the sandbox listens on a port yet; start the app first")?
                }
            },
        };
        let info = host.preview_open(port).await.map_err(err)?;
        Ok(format!(
            "port {port}: {}\n(the first request through this URL sets the preview's cookie; later ones can use {})",
            info.entry_url, info.base_url
        ))
    }
}

/// "running: npm install, then npm run dev (serves port 5173)".
fn describe_app(s: &crate::project::AppStatus) -> String {
    format!("{}: {}{}", s.phase, s.install.as_ref().map(|i| format!("{i}, then ")).unwrap_or_default(), s.dev)
        + &s.port.map(|p| format!(" (serves port {p})")).unwrap_or_default()
}

/// Creates the missing folders above `path` (an agent writes `src/new/mod.rs` in one step).
fn make_parents(host: &crate::project::ProjectHost, path: &str) -> Result<(), String> {
    let parts: Vec<&str> = path.split('/').collect();
    for i in 1..parts.len() {
        let dir = parts[..i].join("/");
        match host.create_dir(&dir) {
            Ok(()) | Err(ProjectError::Workspace(WorkspaceError::AlreadyExists(_))) => {}
            Err(e) => return Err(err(e)),
        }
    }
    Ok(())
}

/// The project's entries under `path`, breadth first, through the file tree (each folder read
/// beneath the root capability).
pub(super) fn walk(
    root: &crate::paths::ProjectRoot,
    path: &str,
    include_ignored: bool,
    max: usize,
) -> Result<(Vec<String>, bool), WorkspaceError> {
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([path.trim_matches('/').to_string()]);
    while let Some(dir) = queue.pop_front() {
        for e in tree::list_dir(root, &dir)? {
            if e.ignored && !include_ignored {
                continue;
            }
            if out.len() == max {
                return Ok((out, true));
            }
            if e.kind == EntryKind::Dir {
                out.push(format!("{}/", e.path));
                queue.push_back(e.path);
            } else {
                out.push(e.path);
            }
        }
    }
    Ok((out, false))
}
