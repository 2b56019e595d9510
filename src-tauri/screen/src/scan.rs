//! What the emulator's private state does not tell: where the byte stream stands between escape
//! sequences and UTF-8 characters, the scroll region, and whether the program has set tab stops
//! (they decide whether and how plain text may be put off, see `pending`).

/// Where a byte stream stands between escape sequences and UTF-8 characters (enough to know
/// whether the bytes that follow can be parsed on their own).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Boundary {
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

/// The rows that scroll (DECSTBM), as the emulator applies it: `start..end`, from 0.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Region {
    Screen,
    Rows(usize, usize),
    /// Set by a sequence this scanner does not follow (sub-parameters): the fast path is off.
    Unknown,
}

/// The scanner's state (see the module). What it is unsure of counts as "set": that only makes
/// the fast path for plain text less often taken.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scan {
    pub boundary: Boundary,
    pub region: Region,
    /// Tab stops may differ from every eighth column.
    pub tabs_set: bool,
    /// The escape sequence under way has intermediates (`ESC ( 0`, `CSI $ r`) or a private
    /// marker (`CSI ? 1049 h`).
    marked: bool,
    /// Its first two numeric parameters, how many separators, and whether it has sub-parameters.
    params: [u32; 2],
    separators: usize,
    colon: bool,
}

impl Default for Scan {
    fn default() -> Self {
        Self {
            boundary: Boundary::Ground,
            region: Region::Screen,
            tabs_set: false,
            marked: false,
            params: [0; 2],
            separators: 0,
            colon: false,
        }
    }
}

impl Scan {
    /// The state after `bytes`. Text with no escape from the ground state (a `cat` of a log) is
    /// not walked byte by byte: only its last character can be unfinished.
    /// `rows`: the screen's height (a region's default bottom).
    pub fn after(mut self, bytes: &[u8], rows: usize) -> Self {
        let plain = self.boundary == Boundary::Ground && !bytes.contains(&0x1b);
        let from = if plain { bytes.len().saturating_sub(4) } else { 0 };
        for &b in &bytes[from..] {
            self.next(b, rows);
        }
        self
    }

    fn next(&mut self, b: u8, rows: usize) {
        use Boundary::*;
        let before = self.boundary;
        self.boundary = before.next(b);
        match (before, self.boundary, b) {
            (Escape, Escape, 0x20..=0x2f) | (Csi, Csi, 0x20..=0x2f | b'<'..=b'?') => self.marked = true,
            (_, Escape, _) | (Escape, Csi, _) => {
                self.marked = false;
                self.params = [0; 2];
                self.separators = 0;
                self.colon = false;
            }
            (Csi, Csi, b'0'..=b'9') => {
                if let Some(p) = self.params.get_mut(self.separators) {
                    *p = p.saturating_mul(10).saturating_add(u32::from(b - b'0'));
                }
            }
            (Csi, Csi, b';') => self.separators += 1,
            (Csi, Csi, b':') => self.colon = true,
            (Escape, Ground, b'c') if !self.marked => {
                // RIS: every region and tab stop back to its default.
                self.region = Region::Screen;
                self.tabs_set = false;
            }
            (Escape, Ground, b'H') => self.tabs_set = true, // HTS (or anything like it)
            (Csi, Ground, b'r') if !self.marked => self.region = self.decstbm(rows),
            (Csi, Ground, b'g' | b'W') => self.tabs_set = true, // TBC, CTC / DECST8C
            _ => {}
        }
    }

    /// The region after `CSI top ; bottom r`, as alacritty_terminal applies it (a region that
    /// is not at least two rows is ignored; parameters past the limits are clamped).
    fn decstbm(&self, rows: usize) -> Region {
        if self.colon {
            return Region::Unknown;
        }
        let top = (self.params[0].max(1) as usize).min(u16::MAX as usize);
        let bottom = match self.params[1] as usize {
            0 => rows,
            b => b.min(u16::MAX as usize),
        };
        if top >= bottom {
            return self.region; // ignored
        }
        let (start, end) = ((top - 1).min(rows), bottom.min(rows));
        if start == 0 && end == rows {
            Region::Screen
        } else {
            Region::Rows(start, end)
        }
    }

    /// A resize puts the scroll region back to the whole screen.
    pub fn resized(&mut self) {
        self.region = Region::Screen;
    }
}

impl Boundary {
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

    fn scan(bytes: &[u8]) -> Scan {
        Scan::default().after(bytes, 24)
    }

    #[test]
    fn regions_and_tab_stops_are_noticed() {
        assert_eq!(scan(b"\x1b[2;20r").region, Region::Rows(1, 20));
        assert_eq!(scan(b"\x1b[5r").region, Region::Rows(4, 24));
        assert_eq!(scan(b"\x1b[2;20r\x1b[r").region, Region::Screen);
        assert_eq!(scan(b"\x1b[2;20r\x1b[1;24r").region, Region::Screen);
        assert_eq!(scan(b"\x1b[2;20r\x1b[9;3r").region, Region::Rows(1, 20)); // ignored
        assert_eq!(scan(b"\x1b[2;20r\x1bc").region, Region::Screen);
        assert_eq!(scan(b"\x1b[2:1;9r").region, Region::Unknown);
        assert_eq!(scan(b"\x1b[?1049h\x1b[31m").region, Region::Screen);
        assert_eq!(scan(b"\x1b[2;20r\x1b[$r\x1b(c").region, Region::Rows(1, 20)); // not DECSTBM, not RIS
        assert!(scan(b"\x1bH").tabs_set);
        assert!(scan(b"\x1b[3g").tabs_set);
        assert!(!scan(b"\x1b[3g\x1bc").tabs_set);
        // split across chunks
        assert_eq!(scan(b"\x1b[5").after(b";9r", 24).region, Region::Rows(4, 9));
    }
}
