//! The window's ▶ Run: its terminal, followed for the port its app opens (see
//! [`crate::run::port`]) and kept in view for agents — `run_app`, `app_logs` and `stop_app` see
//! and drive the run the user started instead of starting a second one.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde::Serialize;
use ts_rs::TS;

use super::{AppStatus, ProjectError, ProjectHost};
use crate::run::port::{Pick, PortWatch};
use crate::sandbox::tail::OutputTail;
use crate::terminal::TerminalSink;

/// How long ports that opened without a printed address wait for one to serve a page before
/// the first is taken anyway (an app that is only an API).
const PAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Output of the window's run kept for agents (the end of it).
const LOG_KEEP: usize = 1024 * 1024;

use crate::run::line::INSTALLED_MARK;
use crate::run::RunPlan;

/// The window's Run terminal now open, and what is known of it.
#[derive(Default)]
pub(super) struct RunPorts {
    current: Mutex<Option<Followed>>,
}

struct Followed {
    terminal: u32,
    /// What it runs (for agents) and which port it serves on: `config.port` is the saved one
    /// when `port_saved`, else the framework's usual port, a hint.
    what: RunPlan,
    state: Arc<Mutex<Seen>>,
}

/// What the terminal has shown so far.
struct Seen {
    watch: PortWatch,
    log: OutputTail,
    installed: bool,
    /// When the dev server started (the install, if any, done).
    started: Option<Instant>,
    /// The install's success was recorded (the next run skips it until a manifest changes).
    recorded: bool,
    /// The terminal ended (with its exit code, when known).
    exited: Option<Option<u32>>,
}

/// Where the window's run is: what the status bar shows and agents read, decided here from the
/// Run terminal's output, its end and the sandbox's ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "phase", rename_all = "lowercase")]
#[ts(export)]
pub enum RunStatus {
    Installing,
    /// The dev server started; `port` is the one awaited (saved in Run settings), if any.
    Starting {
        port: Option<u16>,
    },
    /// Serving on `port` (none for a program that opens no port).
    Running {
        port: Option<u16>,
    },
    /// Started [`PORT_WAIT`] ago and still no port.
    Stuck {
        port: Option<u16>,
    },
    /// The terminal ended: during the install (with why, when the package manager said) or after.
    Exited {
        code: Option<u32>,
        during: RunStep,
        why: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum RunStep {
    Install,
    Run,
}

/// How long a started dev server may take to open a port before the run is said to be stuck.
const PORT_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// How much of the install's output is read to tell why it failed.
const INSTALL_TAIL: usize = 16 * 1024;

/// Passes a terminal's output on, reading it on the way.
struct Watching<S> {
    inner: S,
    state: Arc<Mutex<Seen>>,
    /// The sandbox is in use while the run's terminal lives (it is not stopped when idle).
    _in_use: crate::sandbox::keepalive::Hold,
}

impl<S: TerminalSink> TerminalSink for Watching<S> {
    fn output(&mut self, data: Vec<u8>) {
        {
            let mut s = self.state.lock();
            s.watch.feed(&data);
            s.log.push(&data, LOG_KEEP);
            if !s.installed && s.log.text(4096).contains(INSTALLED_MARK) {
                s.installed = true;
                s.started = Some(Instant::now());
            }
        }
        self.inner.output(data)
    }
    fn exit(&mut self, code: Option<u32>) {
        self.state.lock().exited = Some(code);
        self.inner.exit(code)
    }
}

impl ProjectHost {
    /// What ▶ Run does now: the project's run configuration (saved, else detected), with the
    /// install when the manifests changed since the last one.
    pub fn run_plan(&self) -> Result<RunPlan, ProjectError> {
        let p = self.project()?;
        let last = self.store.setting(&crate::run::installed_key(p.record.id))?;
        crate::run::plan_setup(&p.root, crate::run::load(&p.root)?, last.as_deref()).ok_or(ProjectError::NoRunConfig)
    }

    /// ▶ Run: opens the Run terminal in the project's sandbox and types the run into it (the
    /// install when due, then the dev server; see [`crate::run::line`]), its output followed for
    /// the app's port: a saved port is the only one awaited; else the framework's usual port
    /// decides between ports that open at the same moment.
    pub async fn open_run_terminal(&self, cols: u16, rows: u16, sink: impl TerminalSink) -> Result<u32, ProjectError> {
        // An agent's run_app may be waiting for this (see `windowrun.rs`).
        self.window_button.begun();
        let opened = self.open_run_terminal_now(cols, rows, sink).await;
        self.window_button.settled(opened.as_ref().err().map(|e| e.to_string()));
        opened
    }

    async fn open_run_terminal_now(&self, cols: u16, rows: u16, sink: impl TerminalSink) -> Result<u32, ProjectError> {
        let what = self.run_plan()?;
        if what.install.is_some() {
            let p = self.project()?;
            self.sandboxes.packages_before_install(&p.root, &p.record).await;
        }
        let saved = what.config.port.filter(|_| what.port_saved);
        let state = Arc::new(Mutex::new(Seen {
            watch: PortWatch::new(saved, what.config.port, []),
            log: OutputTail::default(),
            installed: what.install.is_none(),
            started: what.install.is_none().then(Instant::now),
            recorded: what.install.is_none(),
            exited: None,
        }));
        let watching = Watching { inner: sink, state: state.clone(), _in_use: self.sandboxes.hold() };
        let id = self.open_terminal(true, cols, rows, watching).await?;
        // Nothing of the run has started yet (its command is typed into the shell next): what
        // listens now is not the app.
        let p = self.project()?;
        let before = self.sandboxes.listening_ports(&p.record).await.unwrap_or_default();
        state.lock().watch.listened_before(before);
        let line = crate::run::line::typed(what.install.as_deref(), &what.config.dev, saved);
        *self.run_ports.current.lock() = Some(Followed { terminal: id, what, state });
        self.terminals.write(id, line.as_bytes())?;
        Ok(id)
    }

    /// The port the app of Run terminal `terminal` serves on, once it is known.
    pub async fn run_port(&self, terminal: u32) -> Result<Option<u16>, ProjectError> {
        let state = match &*self.run_ports.current.lock() {
            Some(f) if f.terminal == terminal => f.state.clone(),
            _ => return Ok(None),
        };
        let p = self.project()?;
        let listening = self.sandboxes.listening_ports(&p.record).await?;
        let pick = state.lock().watch.pick(&listening);
        let port = match pick {
            Pick::Known(port) => Some(port),
            Pick::Nothing => None,
            Pick::Among(ports) => match self.serving_page(&p.record, &ports).await {
                Some(port) => Some(port),
                None if state.lock().watch.waited(PAGE_WAIT) => ports.first().copied(),
                None => None,
            },
        };
        state.lock().watch.settle(port);
        Ok(port)
    }

    /// Where the window's run in terminal `terminal` is (none when that is not the run).
    pub async fn run_status(&self, terminal: u32) -> Result<Option<RunStatus>, ProjectError> {
        let (state, awaited, expects_port) = match &*self.run_ports.current.lock() {
            Some(f) if f.terminal == terminal => {
                (f.state.clone(), f.what.config.port.filter(|_| f.what.port_saved), f.what.config.port.is_some())
            }
            _ => return Ok(None),
        };
        let (installed, started, exited, record) = {
            let mut s = state.lock();
            let record = s.installed && !s.recorded;
            s.recorded |= record;
            (s.installed, s.started, s.exited, record)
        };
        if record {
            self.record_installed()?;
            self.share_installed_packages();
        }
        if let Some(code) = exited {
            let why = if installed { None } else { crate::run::failure::explain(&state.lock().log.text(INSTALL_TAIL)) };
            let during = if installed { RunStep::Run } else { RunStep::Install };
            return Ok(Some(RunStatus::Exited { code, during, why }));
        }
        if !installed {
            return Ok(Some(RunStatus::Installing));
        }
        let port = self.run_port(terminal).await?;
        Ok(Some(match port {
            Some(p) => RunStatus::Running { port: Some(p) },
            None if !expects_port => RunStatus::Running { port: None },
            None if started.is_some_and(|t| t.elapsed() > PORT_WAIT) => RunStatus::Stuck { port: awaited },
            None => RunStatus::Starting { port: awaited },
        }))
    }

    /// The install succeeded: the manifests are remembered as they are now (an install may have
    /// written the lockfile), so the next run skips it until one changes.
    pub fn record_installed(&self) -> Result<(), ProjectError> {
        let p = self.project()?;
        let Some(config) = crate::run::load(&p.root)?.config else { return Ok(()) };
        let fingerprint = crate::run::plan(&p.root, config, None).fingerprint;
        self.store.set_setting(&crate::run::installed_key(p.record.id), Some(&fingerprint))?;
        Ok(())
    }

    /// An install succeeded: what it fetched is offered to other projects (checked, in the
    /// background).
    pub(super) fn share_installed_packages(&self) {
        let Ok(p) = self.project() else { return };
        let sandboxes = self.sandboxes.clone();
        tokio::spawn(async move { sandboxes.packages_after_install(&p.root, &p.record).await });
    }

    /// Of the ports a run opened, the first that answers with a page: an app with an API and a
    /// web server is previewed on the web server, even when the API opens first.
    async fn serving_page(&self, project: &crate::store::ProjectRecord, ports: &[u16]) -> Option<u16> {
        let probes = ports.iter().map(|&port| async move {
            match self.sandboxes.preview_upstream(project, port).await {
                Ok(up) => crate::preview::proxy::serves_page(&up).await,
                Err(_) => false,
            }
        });
        let pages = futures::future::join_all(probes).await;
        ports.iter().zip(pages).find(|(_, page)| *page).map(|(port, _)| *port)
    }

    /// The window's run while its terminal is open: its status and the end of its output.
    pub(super) fn window_run(&self, max_bytes: usize) -> Option<(AppStatus, String)> {
        let cur = self.run_ports.current.lock();
        let f = cur.as_ref()?;
        let s = f.state.lock();
        let phase = match (s.exited, s.installed) {
            (Some(_), _) => "exited",
            (None, false) => "installing",
            (None, true) => "running",
        };
        let ended = s.exited.map(|code| match code {
            Some(c) => format!("exit code {c}{}", if s.installed { "" } else { " during install" }),
            None => "ended".into(),
        });
        let status = AppStatus {
            phase: format!("{phase} (started in the window)"),
            install: f.what.install.clone(),
            dev: f.what.config.dev.clone(),
            port: s.watch.known(),
            ended,
        };
        Some((status, s.log.text(max_bytes)))
    }

    /// Ends the window's run (its terminal), if it is still running.
    pub(super) fn stop_window_run(&self) -> Option<AppStatus> {
        let (status, _) = self.window_run(0)?;
        if status.phase.starts_with("exited") {
            return None;
        }
        let id = self.run_ports.current.lock().as_ref().map(|f| f.terminal)?;
        self.terminals.close(id);
        Some(AppStatus { phase: "stopped (started in the window)".into(), ..status })
    }

    /// The project changes: its window run is no longer the app.
    pub(super) fn forget_window_run(&self) {
        *self.run_ports.current.lock() = None;
    }
}
