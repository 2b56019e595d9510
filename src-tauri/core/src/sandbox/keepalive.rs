//! A sandbox stays alive while it is used, and only then.
//!
//! E2B pauses a sandbox when its timeout runs out and Daytona stops one after its auto-stop
//! interval without activity — in the middle of use if nobody tells them. Every use of the
//! current sandbox (a terminal opened or typed in, a preview request, files sent to it) is
//! [`KeepAlive::touch`]ed here, and a command or ▶ Run's terminal is use for as long as it runs
//! ([`KeepAlive::hold`]); once a minute at most, when there was use since the last call, the
//! provider is told ([`Lifecycle::keep_alive`]: E2B's timeout is set again from now, Daytona's
//! last activity is updated). Without use, nothing is sent, so the provider's own idle stop
//! happens the project's auto-stop minutes after the last use. The local sandbox has no idle
//! stop of its own: the keeper stops it then ([`KeepAlive::keep_and_stop`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Provider, SandboxError};
use crate::terminal::{TerminalError, TerminalHandle};

/// How often the keeper looks, and so the most it calls a provider.
pub const PERIOD: Duration = Duration::from_secs(60);

/// The sandbox being kept: its provider, id and idle time before it stops.
struct Target {
    provider: Arc<dyn Provider>,
    id: String,
    idle: Duration,
    /// The provider has no idle stop of its own (the local sandbox): the keeper stops it.
    stop_here: bool,
}

/// Where the keeper's time comes from: time since some start (the monotonic clock; a test's
/// simulated one).
pub type Clock = Arc<dyn Fn() -> Duration + Send + Sync>;

pub struct KeepAlive {
    clock: Clock,
    /// Milliseconds on the clock of the last use, and of the last use told to the provider.
    used: AtomicU64,
    told: AtomicU64,
    target: Mutex<Option<Target>>,
    /// Calls made to providers (for the tests and the panel).
    calls: AtomicU64,
    /// Commands and ▶ Run terminals running now: use for as long as they run.
    holds: AtomicU64,
    /// The keeper stopped the sandbox for being idle (until it is used again).
    stopped: AtomicBool,
    /// What to tell the user about that.
    note: Mutex<Option<String>>,
}

/// Use of the sandbox for as long as it lives (see [`KeepAlive::hold`]).
pub struct Hold(Arc<KeepAlive>);

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.holds.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        let epoch = Instant::now();
        Self::with_clock(Arc::new(move || epoch.elapsed()))
    }
}

impl KeepAlive {
    /// A keeper on `clock` (tests run hours of use on a simulated one).
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            clock,
            used: AtomicU64::new(0),
            told: AtomicU64::new(0),
            target: Mutex::new(None),
            calls: AtomicU64::new(0),
            holds: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            note: Mutex::new(None),
        }
    }

    /// The sandbox used from now on (none: nothing is kept).
    pub fn keep(&self, provider: Arc<dyn Provider>, id: &str, idle: Duration) {
        self.keep_target(Target { provider, id: id.to_string(), idle, stop_here: false });
    }

    /// A sandbox whose provider does not stop it when idle (the local one): the keeper stops it
    /// after `idle` without use.
    pub fn keep_and_stop(&self, provider: Arc<dyn Provider>, id: &str, idle: Duration) {
        self.keep_target(Target { provider, id: id.to_string(), idle, stop_here: true });
    }

    fn keep_target(&self, target: Target) {
        *self.target.lock() = Some(target);
        self.told.store(self.now(), Ordering::Relaxed);
        self.stopped.store(false, Ordering::Relaxed);
    }

    /// Use from now until the returned hold is dropped (a command, ▶ Run's terminal).
    pub fn hold(self: &Arc<Self>) -> Hold {
        self.holds.fetch_add(1, Ordering::Relaxed);
        self.touch();
        Hold(self.clone())
    }

    /// What the keeper did that the user should know (it stopped an idle sandbox), once.
    pub fn take_note(&self) -> Option<String> {
        self.note.lock().take()
    }

    pub fn forget(&self) {
        *self.target.lock() = None;
    }

    fn now(&self) -> u64 {
        (self.clock)().as_millis() as u64 + 1
    }

    /// The sandbox was used just now.
    pub fn touch(&self) {
        self.used.store(self.now(), Ordering::Relaxed);
        self.stopped.store(false, Ordering::Relaxed);
    }

    /// Tells the provider when there was use since it was last told (true when it did); stops
    /// a sandbox the keeper stops itself once it was idle for its time.
    pub async fn tick(&self) -> Result<bool, SandboxError> {
        if self.holds.load(Ordering::Relaxed) > 0 {
            self.touch();
        }
        let (used, told) = (self.used.load(Ordering::Relaxed), self.told.load(Ordering::Relaxed));
        let Some((provider, id, idle, stop_here)) =
            self.target.lock().as_ref().map(|t| (t.provider.clone(), t.id.clone(), t.idle, t.stop_here))
        else {
            return Ok(false);
        };
        if used <= told {
            let idle_ms = self.now().saturating_sub(used.max(told));
            if stop_here && idle_ms >= idle.as_millis() as u64 && !self.stopped.swap(true, Ordering::Relaxed) {
                provider.stop(&id).await?;
                let minutes = idle.as_secs() / 60;
                tracing::info!(%id, minutes, "stopped the idle sandbox");
                *self.note.lock() = Some(format!(
                    "The sandbox was stopped after {minutes} minutes without use (its processes ended); \
                     the next command or terminal starts it again."
                ));
            }
            return Ok(false);
        }
        self.told.store(self.now(), Ordering::Relaxed);
        if stop_here {
            // Nobody else to tell: the use is noted (the idle time counts from it).
            return Ok(false);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        provider.keep_alive(&id, idle).await?;
        Ok(true)
    }

    /// Keep-alive calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Ticks every [`PERIOD`] until the task is dropped, the first a period after it starts
    /// (making or resuming the sandbox has just set its timer; a tick at once also raced the
    /// use that started the task, sending a second call within the minute).
    /// `beat` runs after every tick (the service notes that the session is still open).
    pub async fn run(self: Arc<Self>, beat: impl Fn() + Send + 'static) {
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            beat();
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "keeping the sandbox alive (or stopping it when idle) failed");
            }
        }
    }
}

/// A terminal whose keystrokes count as use of its sandbox.
pub struct Touching {
    pub inner: Arc<dyn TerminalHandle>,
    pub keep: Arc<KeepAlive>,
}

impl TerminalHandle for Touching {
    fn write(&self, data: &[u8]) -> Result<(), TerminalError> {
        self.keep.touch();
        self.inner.write(data)
    }
    fn resize(&self, cols: u16, rows: u16) -> Result<(), TerminalError> {
        self.inner.resize(cols, rows)
    }
    fn ack(&self, bytes: usize) {
        self.inner.ack(bytes)
    }
    fn kill(&self) {
        self.inner.kill()
    }
    fn pid(&self) -> Option<u32> {
        self.inner.pid()
    }
}
