//! The project's app started in the background (by an agent): its run configuration — install
//! first when the manifests changed — in the project's sandbox, with its output kept for
//! `app_logs`. One at a time; stopping drops the run, which ends a local sandbox's process tree.

use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use ts_rs::TS;

use super::windowrun::Asked;
use super::{ProjectError, ProjectHost};
use crate::run::port::PortWatch;
use crate::run::{self, RunPlan};
use crate::sandbox::tail::OutputTail;
use crate::sandbox::{ExecRequest, ExecSink};

/// Output kept per run (the end of it).
const LOG_KEEP: usize = 1024 * 1024;

/// How often a running app's port is looked for, and looked at again once known.
const PORT_POLL: std::time::Duration = std::time::Duration::from_millis(400);
const PORT_POLL_KNOWN: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AppStatus {
    /// "installing", "running", "exited" or "stopped".
    pub phase: String,
    pub install: Option<String>,
    pub dev: String,
    /// The port the app serves on: the saved one, else the one it opened, once it did.
    pub port: Option<u16>,
    /// How the last step ended ("exit code 1 during install", "exit code 0").
    pub ended: Option<String>,
}

type Log = OutputTail;

/// Keeps the output, and reads the addresses the dev server prints.
struct LogSink(Arc<Mutex<Log>>, Arc<Mutex<PortWatch>>);

impl LogSink {
    fn push(&self, d: &[u8]) {
        self.1.lock().feed(d);
        self.0.lock().push(d, LOG_KEEP);
    }
}

impl ExecSink for LogSink {
    fn stdout(&mut self, d: &[u8]) {
        self.push(d)
    }
    fn stderr(&mut self, d: &[u8]) {
        self.push(d)
    }
}

struct Running {
    task: tokio::task::JoinHandle<()>,
    status: Arc<Mutex<AppStatus>>,
}

#[derive(Default)]
pub(super) struct AppRuns {
    current: Mutex<Option<Running>>,
    log: Arc<Mutex<Log>>,
}

impl AppRuns {
    fn status(&self) -> Option<AppStatus> {
        self.current.lock().as_ref().map(|r| r.status.lock().clone())
    }
}

impl ProjectHost {
    /// Starts the project's app in its sandbox (installing first when due); a running one is
    /// left as it is. With a window open, that is the window's ▶ Run (one run, in the Run
    /// terminal and the preview); else it runs in the background. Returns once it started;
    /// [`ProjectHost::app_logs`] follows it.
    pub async fn run_app(self: &Arc<Self>) -> Result<AppStatus, ProjectError> {
        if let Some(s) = self.running_app() {
            return Ok(s);
        }
        let plan = self.run_plan()?;
        match self.run_in_window().await {
            Asked::Started(s) => return Ok(s),
            Asked::Failed(why) => {
                return Ok(AppStatus {
                    phase: "exited".into(),
                    install: plan.install,
                    dev: plan.config.dev,
                    port: None,
                    ended: Some(format!("the window could not start ▶ Run: {why}")),
                })
            }
            Asked::NoWindow => {}
        }
        let status = Arc::new(Mutex::new(AppStatus {
            phase: if plan.install.is_some() { "installing" } else { "running" }.into(),
            install: plan.install.clone(),
            dev: plan.config.dev.clone(),
            port: plan.config.port.filter(|_| plan.port_saved),
            ended: None,
        }));
        *self.apps.log.lock() = Log::default();
        let (host, st, log) = (self.clone(), status.clone(), self.apps.log.clone());
        let task = tokio::spawn(async move { host.drive(plan, st, log).await });
        let now = status.lock().clone();
        if let Some(old) = self.apps.current.lock().replace(Running { task, status }) {
            old.task.abort();
        }
        Ok(now)
    }

    async fn drive(&self, plan: RunPlan, status: Arc<Mutex<AppStatus>>, log: Arc<Mutex<Log>>) {
        let saved = plan.config.port.filter(|_| plan.port_saved);
        let watch = Arc::new(Mutex::new(PortWatch::new(saved, plan.config.port, [])));
        if let Ok(p) = self.project() {
            let before = self.sandboxes.listening_ports(&p.record).await.unwrap_or_default();
            watch.lock().listened_before(before);
        }
        let mut sink = LogSink(log, watch.clone());
        let end = |what: String| {
            let mut s = status.lock();
            s.phase = "exited".into();
            s.ended = Some(what);
        };
        if let Some(install) = &plan.install {
            if let Ok(p) = self.project() {
                self.sandboxes.packages_before_install(&p.root, &p.record).await;
            }
            sink.push(format!("$ {install}\n").as_bytes());
            let env = vec![("npm_config_update_notifier".to_string(), "false".to_string())];
            let req = ExecRequest { command: install.clone(), env, ..Default::default() };
            match self.exec(&req, &mut sink).await {
                Ok(o) if o.exit_code == Some(0) => {
                    if let Ok(p) = self.project() {
                        let _ = self.store.set_setting(&run::installed_key(p.record.id), Some(&plan.fingerprint));
                    }
                    self.share_installed_packages();
                }
                Ok(o) => {
                    let why = run::failure::explain(&sink.0.lock().text(64 * 1024));
                    let why = why.map(|w| format!(": {w}")).unwrap_or_default();
                    return end(format!("{} during install{why}", describe(o.exit_code, o.signal)));
                }
                Err(e) => return end(format!("the install could not run: {e}")),
            }
            status.lock().phase = "running".into();
        }
        sink.push(format!("$ {}\n", plan.config.dev).as_bytes());
        // A saved port goes to frameworks that take it as PORT, so the two agree.
        let env = saved.map(|p| vec![("PORT".to_string(), p.to_string())]).unwrap_or_default();
        let req = ExecRequest { command: plan.config.dev.clone(), env, ..Default::default() };
        let run = self.exec(&req, &mut sink);
        let follow = self.follow_port(&watch, &status);
        let ended = tokio::select! {
            r = run => r,
            never = follow => match never {},
        };
        match ended {
            Ok(o) => end(describe(o.exit_code, o.signal)),
            Err(e) => end(format!("the app could not run: {e}")),
        }
    }

    /// Polls the sandbox's listening ports while the dev server runs; the app's port goes into
    /// its status as soon as it is known.
    async fn follow_port(&self, watch: &Mutex<PortWatch>, status: &Mutex<AppStatus>) -> std::convert::Infallible {
        loop {
            // Once the port is known, a look now and then follows a server that moves (a remote
            // sandbox's ports cost a call to its provider).
            let known = status.lock().port.is_some() && watch.lock().known().is_some();
            tokio::time::sleep(if known { PORT_POLL_KNOWN } else { PORT_POLL }).await;
            let Ok(p) = self.project() else { continue };
            let Ok(listening) = self.sandboxes.listening_ports(&p.record).await else { continue };
            let port = watch.lock().decide(&listening);
            if port.is_some() {
                status.lock().port = port;
            }
        }
    }

    /// The app running now: the one [`ProjectHost::run_app`] started, else the user's ▶ Run
    /// (one run, seen by both).
    pub fn running_app(&self) -> Option<AppStatus> {
        let active = |s: &AppStatus| s.phase.starts_with("installing") || s.phase.starts_with("running");
        self.apps.status().filter(active).or_else(|| self.window_run(0).map(|(s, _)| s).filter(active))
    }

    /// The app an agent started with [`ProjectHost::run_app`] (not the window's own ▶ Run), for
    /// the window to show.
    pub fn agent_app(&self) -> Option<AppStatus> {
        self.apps.status()
    }

    /// Stops the app an agent started (the window's ■ on it).
    pub fn stop_agent_app(&self) -> Option<AppStatus> {
        let r = self.apps.current.lock().take()?;
        r.task.abort();
        let mut s = r.status.lock().clone();
        if s.phase != "exited" {
            s.phase = "stopped".into();
        }
        Some(s)
    }

    /// Stops the app [`ProjectHost::run_app`] started, else the window's ▶ Run.
    pub fn stop_app(&self) -> Option<AppStatus> {
        self.stop_agent_app().or_else(|| self.stop_window_run())
    }

    /// The app's status and the last `max_bytes` of its output: the app [`ProjectHost::run_app`]
    /// started while it runs, else the window's ▶ Run while its terminal is open.
    pub fn app_logs(&self, max_bytes: usize) -> (Option<AppStatus>, String) {
        let own = self.apps.status();
        if own.as_ref().is_none_or(|s| s.phase == "exited") {
            if let Some((s, text)) = self.window_run(max_bytes) {
                return (Some(s), text);
            }
        }
        (own, self.apps.log.lock().text(max_bytes))
    }
}

fn describe(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        (None, None) => "stopped".into(),
    }
}
