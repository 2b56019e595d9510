//! A remote sandbox stays alive while it is used, and only then.
//!
//! E2B pauses a sandbox when its timeout runs out and Daytona stops one after its auto-stop
//! interval without activity — in the middle of use if nobody tells them. Every use of the
//! current sandbox (a command, a terminal opened or typed in, a preview request, files sent to
//! it) is [`KeepAlive::touch`]ed here; once a minute at most, when there was use since the last
//! call, the provider is told ([`Lifecycle::keep_alive`]: E2B's timeout is set again from now,
//! Daytona's last activity is updated). Without use, nothing is sent, so the provider's own
//! idle stop happens the project's auto-stop minutes after the last use.

use std::sync::atomic::{AtomicU64, Ordering};
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
        }
    }

    /// The sandbox used from now on (none: nothing is kept).
    pub fn keep(&self, provider: Arc<dyn Provider>, id: &str, idle: Duration) {
        *self.target.lock() = Some(Target { provider, id: id.to_string(), idle });
        self.told.store(self.now(), Ordering::Relaxed);
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
    }

    /// Tells the provider when there was use since it was last told; true when it did.
    pub async fn tick(&self) -> Result<bool, SandboxError> {
        let (used, told) = (self.used.load(Ordering::Relaxed), self.told.load(Ordering::Relaxed));
        if used <= told {
            return Ok(false);
        }
        let Some((provider, id, idle)) =
            self.target.lock().as_ref().map(|t| (t.provider.clone(), t.id.clone(), t.idle))
        else {
            return Ok(false);
        };
        self.told.store(self.now(), Ordering::Relaxed);
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
    pub async fn run(self: Arc<Self>) {
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "keeping the remote sandbox alive failed");
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
