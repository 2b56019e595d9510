//! Between a terminal's program and its widget: batching and flow control, and what happens when
//! the widget cannot keep up.
//!
//! Every byte the program writes goes through the relay's [`Screen`]. While the widget keeps up
//! (less than `HIGH_WATER` unacknowledged), the bytes themselves go to it, in batches (a PTY read
//! yields a few KiB; a `cat` of a large file becomes a few hundred messages a second). Once it
//! falls behind, the program is not slowed down: what it writes is only parsed here (plain text
//! that scrolls out of sight not even that, see `aura_screen`), and the widget gets a frame of the
//! screen whenever it has parsed the last one (at most every `FRAME_INTERVAL`, or
//! `TYPING_FRAME_INTERVAL` just after a keystroke), then, once the output has been quiet for
//! `QUIET`, a snapshot of scrollback and screen, after which the bytes flow again. That is what a
//! native terminal does (draw the latest state, never queue; kitty, for one, also waits a few
//! milliseconds after input for the echo): a flood costs about what it costs on a bare PTY, and a
//! keystroke's echo waits for one frame, not for megabytes of queued output.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::{TerminalSink, HIGH_WATER, SCROLLBACK};
use aura_screen::Screen;

/// Largest single batch handed to the sink.
const MAX_BATCH: usize = 128 * 1024;
/// How long the flusher lets a small batch grow before sending it.
const LINGER: Duration = Duration::from_millis(3);
/// Least time between two frames while the widget is behind: each costs the window a repaint of
/// every row, and a window busy repainting takes keys and messages late.
const FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// ...but one display refresh for a moment after a keystroke, so that its echo shows at once.
const TYPING_FRAME_INTERVAL: Duration = Duration::from_millis(16);
const TYPING: Duration = Duration::from_millis(50);
/// The first frame after a keystroke waits this long for the program to echo it (most do
/// within a millisecond), so that the echo is in it rather than in the frame after.
const ECHO_WAIT: Duration = Duration::from_millis(4);
/// Output quiet for this long ends a flood: the widget gets the snapshot and raw bytes again.
const QUIET: Duration = Duration::from_millis(30);
/// ...even when the output stopped in the middle of an escape sequence, after this long.
const STUCK: Duration = Duration::from_secs(1);

struct Pipe {
    /// Output not yet handed to the sink (only while the widget keeps up).
    buf: Vec<u8>,
    unacked: usize,
    eof: bool,
    /// How the program ended, when the output source knows (remote terminals).
    exit_code: Option<u32>,
    /// Everything the program wrote, parsed.
    screen: Screen,
    /// The widget fell behind: output is parsed into `screen` only, and sent as frames.
    behind: bool,
    last_output: Instant,
    last_frame: Instant,
    /// When the user last typed into the terminal.
    last_input: Option<Instant>,
}

/// One terminal's relay (see the module): the producer calls [`Relay::push`], a thread of its
/// own runs [`Relay::run`] with the sink.
pub(super) struct Relay {
    pipe: Mutex<Pipe>,
    changed: Condvar,
    killed: AtomicBool,
}

impl Relay {
    pub(super) fn new(cols: u16, rows: u16) -> Self {
        let now = Instant::now();
        Relay {
            pipe: Mutex::new(Pipe {
                buf: Vec::new(),
                unacked: 0,
                eof: false,
                exit_code: None,
                screen: Screen::new(cols, rows, SCROLLBACK),
                behind: false,
                last_output: now,
                last_frame: now,
                last_input: None,
            }),
            changed: Condvar::new(),
            killed: AtomicBool::new(false),
        }
    }

    /// Output from the program. Never waits for the widget. Returns the answers the program is
    /// owed for queries (a cursor-position request) in output the widget will not see.
    pub(super) fn push(&self, bytes: &[u8]) -> Vec<u8> {
        let mut guard = self.pipe.lock();
        let p = &mut *guard;
        p.screen.feed(bytes);
        // The flusher only needs waking when this output changes what it waits for: a batch to
        // start or fill up, the widget falling behind, or the first output since a frame. (A
        // PTY read is a few KiB; waking it for each costs more than the parsing.)
        let mut wake = p.buf.is_empty() || p.buf.len() + bytes.len() >= MAX_BATCH / 4 || p.last_output <= p.last_frame;
        p.last_output = Instant::now();
        if !p.behind && (p.unacked + p.buf.len() + bytes.len() > HIGH_WATER || p.screen.needs_snapshot()) {
            p.behind = true;
            p.buf.clear(); // never sent; the frame shows what they did
            wake = true;
        }
        let replies = p.screen.take_replies();
        if !p.behind {
            p.buf.extend_from_slice(bytes);
        }
        if wake {
            self.changed.notify_all();
        }
        if p.behind {
            replies
        } else {
            Vec::new() // the widget answers what it parses
        }
    }

    /// The program's output has ended.
    pub(super) fn end(&self) {
        self.pipe.lock().eof = true;
        self.changed.notify_all();
    }

    /// The program's output has ended, and so has the program, with `code` when it is known.
    pub(super) fn end_with(&self, code: Option<u32>) {
        self.pipe.lock().exit_code = code;
        self.end();
    }

    pub(super) fn exit_code(&self) -> Option<u32> {
        self.pipe.lock().exit_code
    }

    /// The user typed into the terminal: frames come faster for a moment.
    pub(super) fn typed(&self) {
        self.pipe.lock().last_input = Some(Instant::now());
        self.changed.notify_all();
    }

    /// The widget has parsed `bytes` more bytes.
    pub(super) fn ack(&self, bytes: usize) {
        let mut p = self.pipe.lock();
        p.unacked = p.unacked.saturating_sub(bytes);
        self.changed.notify_all();
    }

    pub(super) fn resize(&self, cols: u16, rows: u16) {
        self.pipe.lock().screen.resize(cols, rows);
    }

    /// Stops delivering output.
    pub(super) fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.changed.notify_all();
    }

    pub(super) fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Hands output to the sink: raw batches while the widget keeps up, frames and then a
    /// snapshot while it is behind. Returns at the end of output (or when killed).
    pub(super) fn run(&self, sink: &mut dyn TerminalSink) {
        while let Some(batch) = self.next_batch() {
            sink.output(batch);
        }
    }

    fn next_batch(&self) -> Option<Vec<u8>> {
        let mut p = self.pipe.lock();
        let batch = loop {
            if self.killed() {
                return None;
            }
            if !p.buf.is_empty() {
                break self.raw_batch(&mut p);
            }
            if p.behind {
                match repaint(&mut p) {
                    Ok(bytes) => break bytes,
                    Err(Some(until)) => {
                        self.changed.wait_until(&mut p, until);
                    }
                    Err(None) => self.changed.wait(&mut p),
                }
                continue;
            }
            if p.eof {
                return None; // nothing left to deliver
            }
            self.changed.wait(&mut p);
        };
        p.unacked += batch.len();
        self.changed.notify_all();
        Some(batch)
    }

    /// The next raw batch; a small one is let grow for a moment first.
    fn raw_batch(&self, p: &mut MutexGuard<'_, Pipe>) -> Vec<u8> {
        // The producer wakes us on every push, so wait until the deadline, not just for the
        // next notification.
        let deadline = Instant::now() + LINGER;
        while p.buf.len() < MAX_BATCH / 4 && !p.eof && !p.behind && !self.killed() {
            if self.changed.wait_until(p, deadline).timed_out() {
                break;
            }
        }
        // Hand over the buffer itself (no byte-by-byte copy); only a batch past MAX_BATCH leaves
        // its tail behind.
        if p.buf.len() <= MAX_BATCH {
            std::mem::take(&mut p.buf)
        } else {
            let rest = p.buf.split_off(MAX_BATCH);
            std::mem::replace(&mut p.buf, rest)
        }
    }
}

/// While behind: a frame of new output once the widget has parsed the last one, or the snapshot
/// that ends the flood once the output is quiet (or over). `Err`: not yet; wait until the time
/// given, or (`None`) for the next acknowledgement.
fn repaint(p: &mut Pipe) -> Result<Vec<u8>, Option<Instant>> {
    if p.unacked > 0 && !p.eof {
        return Err(None);
    }
    let quiet = p.last_output.elapsed();
    if p.eof || (quiet >= QUIET && (p.screen.at_boundary() || quiet >= STUCK)) {
        p.behind = false;
        return Ok(p.screen.snapshot());
    }
    if p.last_output > p.last_frame {
        let due = match p.last_input.filter(|t| t.elapsed() < TYPING) {
            Some(typed) => (p.last_frame + TYPING_FRAME_INTERVAL).max(typed + ECHO_WAIT),
            None => p.last_frame + FRAME_INTERVAL,
        };
        if Instant::now() < due {
            return Err(Some(due));
        }
        p.last_frame = Instant::now();
        return Ok(p.screen.frame());
    }
    let wait = if p.screen.at_boundary() { QUIET } else { STUCK };
    Err(Some(p.last_output + wait))
}
