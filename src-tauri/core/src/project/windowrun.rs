//! One Run for the window and agents: with a window open, an agent's `run_app` presses the
//! window's ▶ Run — the user sees the run in the Run terminal and its page in the preview, and
//! stops it with ■ — instead of starting a second, hidden one. Without a window (or when the
//! window does not answer), `run_app` runs the app in the background (`app.rs`).

use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

use super::{AppStatus, ProjectHost};

/// How long the window may take to begin opening its Run terminal once asked.
const BEGIN_WAIT: Duration = Duration::from_secs(5);
/// How long opening it may take (a remote sandbox may be created first).
const OPEN_WAIT: Duration = Duration::from_secs(180);

/// The window's ▶ Run button: asks the window to press it; false when the window is gone.
pub type RunButton = Box<dyn Fn() -> bool + Send + Sync>;

/// Run terminals the window began and finished opening (with the last one's error).
#[derive(Debug, Clone, Default)]
pub(super) struct Opening {
    begun: u64,
    settled: u64,
    error: Option<String>,
}

pub(super) struct WindowButton {
    button: Mutex<Option<RunButton>>,
    opening: watch::Sender<Opening>,
}

impl Default for WindowButton {
    fn default() -> Self {
        Self { button: Mutex::new(None), opening: watch::Sender::new(Opening::default()) }
    }
}

impl WindowButton {
    /// The window begins opening its Run terminal.
    pub(super) fn begun(&self) {
        self.opening.send_modify(|o| o.begun += 1);
    }

    /// It finished opening it (with the error, when it could not).
    pub(super) fn settled(&self, error: Option<String>) {
        self.opening.send_modify(|o| {
            o.settled += 1;
            o.error = error;
        });
    }
}

/// How asking the window went.
pub(super) enum Asked {
    /// The window's run started: its status.
    Started(AppStatus),
    /// The window began and could not open its Run terminal: why.
    Failed(String),
    /// No window answered.
    NoWindow,
}

impl ProjectHost {
    /// Sets the window's ▶ Run button (the window calls this as it starts; `None`: no window).
    pub fn set_run_button(&self, button: Option<RunButton>) {
        *self.window_button.button.lock() = button;
    }

    /// Presses the window's ▶ Run and waits for its Run terminal to open.
    pub(super) async fn run_in_window(&self) -> Asked {
        let mut seen = self.window_button.opening.subscribe();
        let target = seen.borrow_and_update().begun + 1;
        let pressed = self.window_button.button.lock().as_ref().is_some_and(|press| press());
        if !pressed {
            return Asked::NoWindow;
        }
        match tokio::time::timeout(BEGIN_WAIT, seen.wait_for(|o| o.begun >= target)).await {
            Ok(Ok(_)) => {}
            _ => {
                tracing::warn!("the window did not answer ▶ Run for an agent: the app runs in the background");
                return Asked::NoWindow;
            }
        }
        let error = match tokio::time::timeout(OPEN_WAIT, seen.wait_for(|o| o.settled >= target)).await {
            Ok(Ok(o)) => o.error.clone(),
            _ => Some("the window's Run terminal did not open".into()),
        };
        match (error, self.window_run(0)) {
            (None, Some((status, _))) => Asked::Started(status),
            (Some(why), _) => Asked::Failed(why),
            (None, None) => Asked::Failed("the window's run ended at once".into()),
        }
    }
}
