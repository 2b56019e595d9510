//! A terminal's state kept beside its widget: every byte a program writes goes through a
//! terminal emulator here (alacritty_terminal, the one Zed uses), so when the window falls behind
//! a flood the bytes it has not seen can be replaced by what they amount to — the screen, and once
//! the flood is over the scrollback — written as escape sequences xterm.js parses like any output.
//!
//! [`Screen::frame`] repaints the visible rows only (cheap, sent while the flood goes on);
//! [`Screen::snapshot`] resets the widget and writes the whole scrollback and screen, so that once
//! the output is quiet again the widget holds what it would have held had it parsed every byte.

use std::fmt::Write as _;
use std::sync::Arc;

use alacritty_terminal::event::{Event, EventListener};
use alacritty_terminal::grid::{Dimensions, Row};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::{Color, CursorStyle, NamedColor, Processor, StdSyncHandler};
use parking_lot::Mutex;

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
    boundary: Boundary,
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
            boundary: Boundary::Ground,
            primary_stale: false,
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.advance(&mut self.term, bytes);
        self.boundary = self.boundary.after(bytes);
    }

    /// Whether the bytes fed so far end between escape sequences and characters, so the widget
    /// can go on from a snapshot with the bytes that follow.
    pub fn at_boundary(&self) -> bool {
        self.boundary == Boundary::Ground
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
        self.term.resize(Size { cols: cols.max(2) as usize, rows: rows.max(1) as usize });
    }

    /// The visible screen, written over whatever the widget shows (its scrollback is left as it
    /// was; the snapshot after the flood brings it up to date).
    pub fn frame(&mut self) -> Vec<u8> {
        self.settle();
        let mut out = Out::new();
        out.s.push_str("\x18\x1b[0m");
        let alt = self.term.mode().contains(TermMode::ALT_SCREEN);
        out.s.push_str(if alt { "\x1b[?1049h" } else { "\x1b[?1049l" });
        let grid = self.term.grid();
        for r in 0..grid.screen_lines() {
            let _ = write!(out.s, "\x1b[{};1H", r + 1);
            out.row(&grid[Line(r as i32)], grid.columns(), false);
            out.s.push_str("\x1b[0m\x1b[K");
            out.pen = Pen::default();
        }
        self.state(&mut out);
        if alt {
            self.primary_stale = true;
        }
        out.s.into_bytes()
    }

    /// The whole state: a reset of the widget, then the scrollback and the screen in order (so the
    /// widget's own scrolling files the history exactly), the cursor, the modes and the title.
    /// On the alternate screen the primary one is not reachable here, so only the alternate
    /// screen is painted and the primary is repainted when the program leaves it.
    pub fn snapshot(&mut self) -> Vec<u8> {
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
        self.state(&mut out);
        out.s.into_bytes()
    }

    /// Every line of scrollback and screen as text, trailing blanks trimmed (for tests).
    pub fn text_lines(&self) -> Vec<String> {
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

    /// Cursor, pen, modes and title, after the rows.
    fn state(&self, out: &mut Out) {
        let grid = self.term.grid();
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

/// The attributes last written, so runs of like cells share one SGR sequence.
#[derive(Clone, PartialEq)]
struct Pen {
    fg: Color,
    bg: Color,
    flags: Flags,
    underline: Option<Color>,
    link: Option<String>,
}

impl Default for Pen {
    fn default() -> Self {
        Self {
            fg: Color::Named(NamedColor::Foreground),
            bg: Color::Named(NamedColor::Background),
            flags: Flags::empty(),
            underline: None,
            link: None,
        }
    }
}

/// Flags that change how a cell looks (the others say how it is laid out).
const LOOKS: Flags = Flags::INVERSE
    .union(Flags::BOLD)
    .union(Flags::ITALIC)
    .union(Flags::ALL_UNDERLINES)
    .union(Flags::DIM)
    .union(Flags::HIDDEN)
    .union(Flags::STRIKEOUT);

struct Out {
    s: String,
    pen: Pen,
}

impl Out {
    fn new() -> Self {
        Self { s: String::with_capacity(16 * 1024), pen: Pen::default() }
    }

    /// One row's cells. Trailing blank cells are left out unless the row wraps onto the next
    /// (then every column is written so the widget wraps at the same place).
    fn row(&mut self, row: &Row<Cell>, cols: usize, full: bool) {
        let end = if full { cols } else { (0..cols).rev().find(|&c| !is_blank(&row[Column(c)])).map_or(0, |c| c + 1) };
        for c in 0..end {
            let cell = &row[Column(c)];
            if cell.flags.intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER) {
                continue;
            }
            self.attrs(cell);
            self.s.push(if cell.c == '\0' { ' ' } else { cell.c });
            if let Some(marks) = cell.zerowidth() {
                self.s.extend(marks);
            }
        }
    }

    /// Switches the pen to `cell`'s attributes (and hyperlink) if they differ.
    fn attrs(&mut self, cell: &Cell) {
        let pen = Pen {
            fg: cell.fg,
            bg: cell.bg,
            flags: cell.flags & LOOKS,
            underline: cell.underline_color(),
            link: cell.hyperlink().map(|h| h.uri().to_string()),
        };
        if pen == self.pen {
            return;
        }
        if pen.link != self.pen.link {
            let _ = write!(self.s, "\x1b]8;;{}\x1b\\", pen.link.as_deref().unwrap_or(""));
        }
        self.s.push_str("\x1b[0");
        for (flag, code) in [
            (Flags::BOLD, "1"),
            (Flags::DIM, "2"),
            (Flags::ITALIC, "3"),
            (Flags::UNDERLINE, "4"),
            (Flags::DOUBLE_UNDERLINE, "4:2"),
            (Flags::UNDERCURL, "4:3"),
            (Flags::DOTTED_UNDERLINE, "4:4"),
            (Flags::DASHED_UNDERLINE, "4:5"),
            (Flags::INVERSE, "7"),
            (Flags::HIDDEN, "8"),
            (Flags::STRIKEOUT, "9"),
        ] {
            if pen.flags.contains(flag) {
                self.s.push(';');
                self.s.push_str(code);
            }
        }
        color(&mut self.s, pen.fg, 30);
        color(&mut self.s, pen.bg, 40);
        if let Some(u) = pen.underline {
            color(&mut self.s, u, 50);
        }
        self.s.push('m');
        self.pen = pen;
    }
}

fn is_blank(cell: &Cell) -> bool {
    (cell.c == ' ' || cell.c == '\0')
        && cell.bg == Color::Named(NamedColor::Background)
        && !cell.flags.intersects(Flags::INVERSE | Flags::ALL_UNDERLINES | Flags::STRIKEOUT)
        && cell.hyperlink().is_none()
}

/// Appends `;<sgr>` for a colour; `base` is 30 (foreground), 40 (background) or 50 (underline).
fn color(s: &mut String, c: Color, base: u16) {
    match c {
        Color::Spec(rgb) => {
            let _ = write!(s, ";{};2;{};{};{}", base + 8, rgb.r, rgb.g, rgb.b);
        }
        Color::Indexed(i) => {
            let _ = write!(s, ";{};5;{i}", base + 8);
        }
        Color::Named(n) => {
            let i = n as u16;
            let index = match i {
                0..=15 => Some(i),
                // The dim variants are drawn by the widget from DIM and the base colour.
                _ if (NamedColor::DimBlack as u16..=NamedColor::DimWhite as u16).contains(&i) => {
                    Some(i - NamedColor::DimBlack as u16)
                }
                _ => None, // the default foreground / background
            };
            match index {
                Some(i) if base == 50 => {
                    let _ = write!(s, ";58;5;{i}");
                }
                Some(i) if i < 8 => {
                    let _ = write!(s, ";{}", base + i);
                }
                Some(i) => {
                    let _ = write!(s, ";{}", base + 60 + i - 8);
                }
                None => {}
            }
        }
    }
}

/// Where a byte stream stands between escape sequences and UTF-8 characters (enough to know
/// whether the bytes that follow can be parsed on their own).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Boundary {
    Ground,
    /// Continuation bytes still to come for a UTF-8 character.
    Utf8(u8),
    Escape,
    /// CSI parameters, up to the final byte.
    Csi,
    /// OSC, DCS, SOS, PM or APC text, up to BEL or ST.
    Text,
    TextEscape,
}

impl Boundary {
    /// The state after `bytes`. Plain text from the ground state (a `cat` of a log) is not
    /// walked byte by byte: only its last character can be unfinished.
    fn after(self, bytes: &[u8]) -> Self {
        let plain = self == Boundary::Ground && !bytes.contains(&0x1b);
        let from = if plain { bytes.len().saturating_sub(4) } else { 0 };
        bytes[from..].iter().fold(self, |state, &b| state.next(b))
    }

    fn next(self, b: u8) -> Self {
        use Boundary::*;
        match (self, b) {
            // CAN and SUB abort any sequence.
            (_, 0x18 | 0x1a) => Ground,
            (Text, 0x07) => Ground,
            (Text, 0x1b) => TextEscape,
            (Text, _) => Text,
            (TextEscape, b'\\') => Ground,
            (TextEscape, _) => Text,
            (_, 0x1b) => Escape,
            (Escape, b'[') => Csi,
            (Escape, b']' | b'P' | b'X' | b'^' | b'_') => Text,
            (Escape, 0x20..=0x2f) => Escape, // intermediates (charset designation and the like)
            (Escape, _) => Ground,
            (Csi, 0x40..=0x7e) => Ground,
            (Csi, _) => Csi,
            (Utf8(n), 0x80..=0xbf) if n > 1 => Utf8(n - 1),
            (Utf8(_), 0x80..=0xbf) => Ground,
            (_, 0xc0..=0xdf) => Utf8(1),
            (_, 0xe0..=0xef) => Utf8(2),
            (_, 0xf0..=0xf7) => Utf8(3),
            _ => Ground,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen_of(bytes: &[u8]) -> Screen {
        let mut s = Screen::new(20, 4, 100);
        s.feed(bytes);
        s
    }

    fn rows(s: &Screen) -> Vec<String> {
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
        assert_eq!(rows(&copy), rows(&original));
        assert_eq!(copy.term.grid().cursor.point, original.term.grid().cursor.point);
        let red = &copy.term.grid()[Line(-1)][Column(7)];
        assert_eq!(red.fg, original.term.grid()[Line(-1)][Column(7)].fg);
    }

    #[test]
    fn a_frame_repaints_the_screen_over_stale_rows() {
        let mut original = screen_of(b"one\r\ntwo\r\nthree\x1b[1;1H");
        let mut widget = screen_of(b"stale stale stale\r\nstale\r\nstale\r\nstale");
        widget.feed(&original.frame());
        let visible = |s: &Screen| rows(s)[s.term.grid().history_size()..].to_vec();
        assert_eq!(visible(&widget), visible(&original));
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

    #[test]
    fn queries_in_unseen_output_are_answered() {
        let mut s = screen_of(b"ab\x1b[6n");
        assert_eq!(s.take_replies(), b"\x1b[1;3R");
        assert!(s.take_replies().is_empty());
    }
}
