//! A terminal's state kept beside its widget: every byte a program writes goes through a
//! terminal emulator here (alacritty_terminal, the one Zed uses), so when the window falls behind
//! a flood the bytes it has not seen can be replaced by what they amount to — the screen, and once
//! the flood is over the scrollback — written as escape sequences xterm.js parses like any output.
//!
//! [`Screen::frame`] repaints the visible rows only (cheap, sent while the flood goes on);
//! [`Screen::snapshot`] resets the widget and writes the whole scrollback and screen, so that once
//! the output is quiet again the widget holds what it would have held had it parsed every byte.

mod out;
mod pending;
mod scan;

use std::fmt::Write as _;
use std::sync::Arc;

use alacritty_terminal::event::{Event, EventListener};
use alacritty_terminal::grid::{Charsets, Dimensions, Grid};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::{CursorStyle, NamedColor, Processor, StdSyncHandler};
use parking_lot::Mutex;

use out::{Out, Pen};
use pending::{plain_len, Pending};
use scan::{Region, Scan};

/// What the emulator reports besides the grid: the title, and answers to queries (a program
/// asking for the cursor position) that only count when the widget never saw the query.
#[derive(Default)]
struct Inbox {
    title: Option<String>,
    replies: Vec<u8>,
}

#[derive(Clone, Default)]
struct Listener(Arc<Mutex<Inbox>>);

impl EventListener for Listener {
    fn send_event(&self, event: Event) {
        let mut inbox = self.0.lock();
        match event {
            Event::Title(t) => inbox.title = Some(t),
            Event::ResetTitle => inbox.title = None,
            Event::PtyWrite(s) => inbox.replies.extend_from_slice(s.as_bytes()),
            _ => {}
        }
    }
}

struct Size {
    cols: usize,
    rows: usize,
}

impl Dimensions for Size {
    fn total_lines(&self) -> usize {
        self.rows
    }
    fn screen_lines(&self) -> usize {
        self.rows
    }
    fn columns(&self) -> usize {
        self.cols
    }
}

/// One terminal's emulated state (see the module).
pub struct Screen {
    term: Term<Listener>,
    parser: Processor<StdSyncHandler>,
    inbox: Listener,
    scan: Scan,
    /// Plain text not parsed yet (see `pending`); the state is `term`'s after it.
    pending: Pending,
    history: usize,
    /// Tests compare against a screen that parses everything at once.
    #[cfg(test)]
    eager: bool,
    /// The primary screen changed while the program was on the alternate one and the widget did
    /// not see it: it must be repainted when the program leaves the alternate screen.
    primary_stale: bool,
}

impl Screen {
    /// `history` should equal the widget's scrollback, so a snapshot fills it exactly.
    pub fn new(cols: u16, rows: u16, history: usize) -> Self {
        let inbox = Listener::default();
        let config = Config { scrolling_history: history, ..Config::default() };
        let size = Size { cols: cols.max(2) as usize, rows: rows.max(1) as usize };
        Self {
            term: Term::new(config, &size, inbox.clone()),
            parser: Processor::new(),
            inbox,
            scan: Scan::default(),
            pending: Pending::default(),
            history,
            #[cfg(test)]
            eager: false,
            primary_stale: false,
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        if let Some(hidden_after) = self.may_put_off() {
            let plain = plain_len(rest);
            if !self.pending.push(&rest[..plain], hidden_after) {
                self.flush();
            }
            rest = &rest[plain..];
        }
        if !rest.is_empty() {
            self.flush();
            self.parser.advance(&mut self.term, rest);
            self.scan = self.scan.after(rest, self.term.screen_lines());
        }
    }

    /// Whether plain text may be kept unparsed now (see `pending`): between sequences, with the
    /// cursor in the rows that scroll, nothing held back by a synchronized update. Then, after
    /// how many line feeds a row is out of sight: the history and twice the screen, or twice
    /// the screen when the rows that scroll are below the top (none go to the history then).
    fn may_put_off(&self) -> Option<usize> {
        #[cfg(test)]
        if self.eager {
            return None;
        }
        let (start, end) = self.scrolling_rows()?;
        let line = self.term.grid().cursor.point.line.0;
        let ready = !self.pending.is_empty()
            || (self.scan.boundary == scan::Boundary::Ground
                && (start as i32..end as i32).contains(&line)
                && self.parser.sync_bytes_count() == 0);
        let rows = self.term.screen_lines();
        ready.then_some(if start > 0 { 2 * rows } else { self.history + 2 * rows })
    }

    /// The rows that scroll, `start..end`, when known.
    fn scrolling_rows(&self) -> Option<(usize, usize)> {
        match self.scan.region {
            Region::Screen => Some((0, self.term.screen_lines())),
            Region::Rows(start, end) => Some((start, end)),
            Region::Unknown => None,
        }
    }

    /// Parses the plain text kept so far.
    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let text = self.pending.take();
            self.parser.advance(&mut self.term, &text);
        }
    }

    /// Whether the bytes fed so far end between escape sequences and characters, so the widget
    /// can go on from a snapshot with the bytes that follow.
    pub fn at_boundary(&self) -> bool {
        self.scan.boundary == scan::Boundary::Ground
    }

    /// Answers to queries found in the output since the last call (to send to the program when
    /// the widget did not see those bytes; dropped otherwise, since the widget answers itself).
    pub fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.inbox.0.lock().replies)
    }

    /// True when the program just left the alternate screen and the widget's primary screen
    /// is out of date (see `primary_stale`).
    pub fn needs_snapshot(&self) -> bool {
        self.primary_stale && !self.term.mode().contains(TermMode::ALT_SCREEN)
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.flush();
        self.scan.resized();
        self.term.resize(Size { cols: cols.max(2) as usize, rows: rows.max(1) as usize });
    }

    /// The visible screen, written over whatever the widget shows (its scrollback is left as it
    /// was; the snapshot after the flood brings it up to date).
    pub fn frame(&mut self) -> Vec<u8> {
        if let Some(frame) = self.frame_of_tail() {
            return frame;
        }
        self.flush();
        self.settle();
        let alt = self.term.mode().contains(TermMode::ALT_SCREEN);
        let grid = self.term.grid();
        let frame = self.paint(|_| grid, grid, alt);
        if alt {
            self.primary_stale = true;
        }
        frame
    }

    /// During a flood of plain text, the frame without parsing it all: the rows that scroll are
    /// decided by the last `2 * rows` lines alone (see `pending`), so they are parsed into a
    /// screen of its own set up like this one (pen, modes, region), and the kept text waits for
    /// its history to be cut. The rows that do not scroll are this screen's.
    fn frame_of_tail(&self) -> Option<Vec<u8>> {
        let rows = self.term.screen_lines();
        let tail = self.pending.tail(2 * rows)?;
        let mode = *self.term.mode();
        let grid = self.term.grid();
        let (start, end) = self.scrolling_rows()?;
        if mode.intersects(TermMode::ALT_SCREEN | TermMode::ORIGIN)
            || self.scan.tabs_set
            || grid.cursor.charsets != Charsets::default()
        {
            return None; // not reproduced by the setup below
        }
        let size = Size { cols: grid.columns(), rows };
        let mut scratch = Term::new(Config { scrolling_history: 0, ..Config::default() }, &size, Listener::default());
        let mut setup = Out::new();
        setup.attrs(&grid.cursor.template);
        for (flag, set) in [(TermMode::LINE_WRAP, "?7"), (TermMode::INSERT, "4"), (TermMode::LINE_FEED_NEW_LINE, "20")]
        {
            let _ = write!(setup.s, "\x1b[{set}{}", if mode.contains(flag) { 'h' } else { 'l' });
        }
        let _ = write!(setup.s, "\x1b[{};{}r\x1b[{end};1H", start + 1, end);
        let mut parser: Processor<StdSyncHandler> = Processor::new();
        parser.advance(&mut scratch, setup.s.as_bytes());
        parser.advance(&mut scratch, tail);
        Some(self.paint(|line| if (start..end).contains(&line) { scratch.grid() } else { grid }, scratch.grid(), false))
    }

    /// The visible rows, each from the grid `rows` gives for it, and `cursor`'s cursor, with this
    /// screen's modes and title.
    fn paint<'a>(&self, rows: impl Fn(usize) -> &'a Grid<Cell>, cursor: &Grid<Cell>, alt: bool) -> Vec<u8> {
        let mut out = Out::new();
        out.s.push_str("\x18\x1b[0m");
        out.s.push_str(if alt { "\x1b[?1049h" } else { "\x1b[?1049l" });
        for r in 0..cursor.screen_lines() {
            let grid = rows(r);
            let _ = write!(out.s, "\x1b[{};1H", r + 1);
            out.row(&grid[Line(r as i32)], grid.columns(), false);
            out.s.push_str("\x1b[0m\x1b[K");
            out.pen = Pen::default();
        }
        self.state(&mut out, cursor);
        out.s.into_bytes()
    }

    /// The whole state: a reset of the widget, then the scrollback and the screen in order (so the
    /// widget's own scrolling files the history exactly), the cursor, the modes and the title.
    /// On the alternate screen the primary one is not reachable here, so only the alternate
    /// screen is painted and the primary is repainted when the program leaves it.
    pub fn snapshot(&mut self) -> Vec<u8> {
        self.flush();
        if self.term.mode().contains(TermMode::ALT_SCREEN) {
            return self.frame();
        }
        self.settle();
        self.primary_stale = false;
        let mut out = Out::new();
        out.s.push_str("\x18\x1bc");
        self.palette(&mut out);
        let grid = self.term.grid();
        let cols = grid.columns();
        let top = -(grid.history_size() as i32);
        let bottom = grid.screen_lines() as i32;
        for l in top..bottom {
            let row = &grid[Line(l)];
            let wrapped = row[Column(cols - 1)].flags.contains(Flags::WRAPLINE);
            out.row(row, cols, wrapped);
            if !wrapped && l + 1 < bottom {
                out.s.push_str("\x1b[0m\r\n");
                out.pen = Pen::default();
            }
        }
        self.state(&mut out, self.term.grid());
        out.s.into_bytes()
    }

    /// Every line of scrollback and screen as text, trailing blanks trimmed (for tests).
    pub fn text_lines(&mut self) -> Vec<String> {
        self.flush();
        let grid = self.term.grid();
        (-(grid.history_size() as i32)..grid.screen_lines() as i32)
            .map(|l| {
                let row = &grid[Line(l)];
                (0..grid.columns()).map(|c| row[Column(c)].c).collect::<String>().trim_end().to_string()
            })
            .collect()
    }

    /// Applies output held back by a synchronized update (DEC mode 2026) that never ended.
    fn settle(&mut self) {
        if self.parser.sync_bytes_count() > 0 {
            self.parser.stop_sync(&mut self.term);
        }
    }

    fn palette(&self, out: &mut Out) {
        let colors = self.term.colors();
        for i in 0..256 {
            if let Some(c) = colors[i] {
                let _ = write!(out.s, "\x1b]4;{i};rgb:{:02x}/{:02x}/{:02x}\x07", c.r, c.g, c.b);
            }
        }
        for (osc, named) in [(10, NamedColor::Foreground), (11, NamedColor::Background), (12, NamedColor::Cursor)] {
            if let Some(c) = colors[named] {
                let _ = write!(out.s, "\x1b]{osc};rgb:{:02x}/{:02x}/{:02x}\x07", c.r, c.g, c.b);
            }
        }
    }

    /// Cursor (`grid`'s), pen, modes and title, after the rows.
    fn state(&self, out: &mut Out, grid: &Grid<Cell>) {
        let cursor = &grid.cursor;
        out.s.push_str("\x1b[0m");
        let _ = write!(out.s, "\x1b[{};{}H", cursor.point.line.0 + 1, cursor.point.column.0 + 1);
        out.pen = Pen::default();
        out.attrs(&cursor.template);
        let mode = *self.term.mode();
        for (flag, code) in MODES {
            let _ = write!(out.s, "\x1b[?{code}{}", if mode.contains(flag) { 'h' } else { 'l' });
        }
        out.s.push_str(if mode.contains(TermMode::APP_KEYPAD) { "\x1b=" } else { "\x1b>" });
        out.s.push_str(if mode.contains(TermMode::INSERT) { "\x1b[4h" } else { "\x1b[4l" });
        out.s.push_str(if mode.contains(TermMode::LINE_FEED_NEW_LINE) { "\x1b[20h" } else { "\x1b[20l" });
        let style = self.term.cursor_style();
        if style != CursorStyle::default() {
            use alacritty_terminal::vte::ansi::CursorShape::*;
            let base = match style.shape {
                Underline => 3,
                Beam => 5,
                _ => 1,
            };
            let _ = write!(out.s, "\x1b[{} q", if style.blinking { base } else { base + 1 });
        }
        if let Some(title) = &self.inbox.0.lock().title {
            let clean: String = title.chars().filter(|c| !c.is_control()).collect();
            let _ = write!(out.s, "\x1b]0;{clean}\x07");
        }
    }
}

/// DEC private modes written back after a repaint, by their flag here.
const MODES: [(TermMode, u16); 10] = [
    (TermMode::SHOW_CURSOR, 25),
    (TermMode::APP_CURSOR, 1),
    (TermMode::LINE_WRAP, 7),
    (TermMode::MOUSE_REPORT_CLICK, 1000),
    (TermMode::MOUSE_DRAG, 1002),
    (TermMode::MOUSE_MOTION, 1003),
    (TermMode::FOCUS_IN_OUT, 1004),
    (TermMode::UTF8_MOUSE, 1005),
    (TermMode::SGR_MOUSE, 1006),
    (TermMode::BRACKETED_PASTE, 2004),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn screen_of(bytes: &[u8]) -> Screen {
        let mut s = Screen::new(20, 4, 100);
        s.feed(bytes);
        s
    }

    fn rows(s: &mut Screen) -> Vec<String> {
        s.text_lines()
    }

    #[test]
    fn a_snapshot_reproduces_history_screen_and_cursor() {
        let mut text = Vec::new();
        for i in 0..30 {
            text.extend_from_slice(format!("line {i} \x1b[31mred\x1b[0m\r\n").as_bytes());
        }
        text.extend_from_slice(b"a line longer than twenty columns wraps\r\n$ ");
        let mut original = screen_of(&text);
        let copy = screen_of(&original.snapshot());
        let mut copy = copy;
        assert_eq!(rows(&mut copy), rows(&mut original));
        assert_eq!(copy.term.grid().cursor.point, original.term.grid().cursor.point);
        let red = &copy.term.grid()[Line(-1)][Column(7)];
        assert_eq!(red.fg, original.term.grid()[Line(-1)][Column(7)].fg);
    }

    #[test]
    fn a_frame_repaints_the_screen_over_stale_rows() {
        let mut original = screen_of(b"one\r\ntwo\r\nthree\x1b[1;1H");
        let mut widget = screen_of(b"stale stale stale\r\nstale\r\nstale\r\nstale");
        widget.feed(&original.frame());
        let visible = |s: &mut Screen| rows(s)[s.term.grid().history_size()..].to_vec();
        assert_eq!(visible(&mut widget), visible(&mut original));
        assert_eq!(widget.term.grid().cursor.point, original.term.grid().cursor.point);
    }

    #[test]
    fn modes_and_title_are_written_back() {
        let mut original = screen_of(b"\x1b[?2004h\x1b[?1h\x1b]0;build\x07\x1b[?25l");
        let copy = screen_of(&original.snapshot());
        for m in [TermMode::BRACKETED_PASTE, TermMode::APP_CURSOR] {
            assert!(copy.term.mode().contains(m));
        }
        assert!(!copy.term.mode().contains(TermMode::SHOW_CURSOR));
        assert_eq!(copy.inbox.0.lock().title.as_deref(), Some("build"));
    }

    #[test]
    fn boundaries_follow_sequences_and_utf8() {
        let mut s = Screen::new(20, 4, 10);
        for (bytes, ground) in [
            (&b"plain"[..], true),
            (b"\x1b[3", false),
            (b"1m", true),
            (b"\x1b]0;title", false),
            (b"\x07", true),
            ("é".as_bytes().split_at(1).0, false),
            ("é".as_bytes().split_at(1).1, true),
        ] {
            s.feed(bytes);
            assert_eq!(s.at_boundary(), ground, "after {bytes:?}");
        }
    }

    /// A small deterministic generator (xorshift) for the stream below.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Output that is mostly lines of plain text, with now and then the sequences that change
    /// how plain text lands (regions, tab stops, modes, charsets, the alternate screen).
    fn stream(rng: &mut Rng, len: usize, calm: usize) -> Vec<u8> {
        const SEQS: [&[u8]; 25] = [
            b"\x1b[31m",
            b"\x1b[0m",
            b"\x1b[44;1m",
            b"\x1b[2J",
            b"\x1b[3;5H",
            b"\x1b[H",
            b"\x1b[2;3r",
            b"\x1b[r",
            b"\x1bH",
            b"\x1b[3g",
            b"\x1bc",
            b"\x1b[?1049h",
            b"\x1b[?1049l",
            b"\x1b[4h",
            b"\x1b[4l",
            b"\x1b[20h",
            b"\x1b[20l",
            b"\x1b[?7l",
            b"\x1b[?7h",
            b"\x1b(0",
            b"\x1b(B",
            "é中".as_bytes(),
            b"\x1b[1;3r\x1b[2;1H",
            b"\x1b[2;4r\x1b[4;1H",
            b"\x1b[?6h",
        ];
        let mut out = Vec::new();
        while out.len() < len {
            match rng.below(calm) {
                0 => out.extend_from_slice(SEQS[rng.below(SEQS.len())]),
                1 => out.push([b'\n', b'\r', b'\t', 0x08][rng.below(4)]),
                _ => {
                    for _ in 0..rng.below(25) {
                        out.push(b'a' + rng.below(26) as u8);
                    }
                    out.extend_from_slice(if rng.below(8) == 0 { b"\n" } else { b"\r\n" });
                }
            }
        }
        out
    }

    #[test]
    fn text_put_off_ends_in_the_state_parsing_it_all_gives() {
        for seed in 1..150u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let bytes = stream(&mut rng, 60_000, [40, 400, 4000][seed as usize % 3]);
            let mut fast = Screen::new(10, 4, 20);
            let mut eager = Screen::new(10, 4, 20);
            eager.eager = true;
            let mut at = 0;
            while at < bytes.len() {
                let end = (at + 1 + rng.below(3000)).min(bytes.len());
                fast.feed(&bytes[at..end]);
                eager.feed(&bytes[at..end]);
                at = end;
                if rng.below(3) == 0 {
                    assert_eq!(fast.frame(), eager.frame(), "seed {seed}, frame at {at}");
                }
                if rng.below(50) == 0 {
                    fast.resize(8 + rng.below(6) as u16, 3 + rng.below(3) as u16);
                    let size = (fast.term.columns() as u16, fast.term.screen_lines() as u16);
                    eager.resize(size.0, size.1);
                }
            }
            assert_eq!(fast.snapshot(), eager.snapshot(), "seed {seed}");
            assert_eq!(rows(&mut fast), rows(&mut eager));
            assert_eq!(fast.term.grid().cursor.point, eager.term.grid().cursor.point);
        }
    }

    #[test]
    fn queries_in_unseen_output_are_answered() {
        let mut s = screen_of(b"ab\x1b[6n");
        assert_eq!(s.take_replies(), b"\x1b[1;3R");
        assert!(s.take_replies().is_empty());
    }
}
