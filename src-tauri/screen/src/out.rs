//! Cells written back as escape sequences: one row at a time, each change of attributes (the
//! "pen") as one SGR sequence.

use std::fmt::Write as _;

use alacritty_terminal::grid::Row;
use alacritty_terminal::index::Column;
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::vte::ansi::{Color, NamedColor};

/// The attributes last written, so runs of like cells share one SGR sequence.
#[derive(Clone, PartialEq)]
pub(crate) struct Pen {
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

pub(crate) struct Out {
    pub s: String,
    pub pen: Pen,
}

impl Out {
    pub fn new() -> Self {
        Self { s: String::with_capacity(16 * 1024), pen: Pen::default() }
    }

    /// One row's cells. Trailing blank cells are left out unless the row wraps onto the next
    /// (then every column is written so the widget wraps at the same place).
    pub fn row(&mut self, row: &Row<Cell>, cols: usize, full: bool) {
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
    pub fn attrs(&mut self, cell: &Cell) {
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
