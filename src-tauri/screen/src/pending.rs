//! Plain text put off: during a flood most lines scroll out of the scrollback before anyone can
//! see them, so parsing them (the emulator's cost is per cell and per scrolled row) is wasted.
//!
//! Output made only of printable ASCII, CR, LF, tab and backspace, arriving when the emulator is
//! between sequences and the cursor is in the rows that scroll (the whole screen, or a scroll
//! region), is kept here instead of parsed. Only its end can still be seen: from a carriage
//! return (column 0, nothing pending to wrap) followed by `history + 2 * rows` line feeds
//! (`2 * rows` for a region below the top, which feeds no history), whatever came before is
//! scrolled out whatever row the cursor was on, since every row it could have touched is pushed
//! up past the history by the lines that follow. So everything before such a carriage return is
//! dropped unparsed, and the rest is parsed when the state is read (or other output arrives).

/// Beyond this, kept text is parsed anyway (output with no carriage returns, or very long lines).
const MOST: usize = if cfg!(test) { 16 << 10 } else { 16 << 20 };
/// Kept text is not looked at for a cut before it is this long.
const LEAST_TRIM: usize = if cfg!(test) { 64 } else { 256 << 10 };

#[derive(Default)]
pub(crate) struct Pending {
    bytes: Vec<u8>,
    /// Length at which the next cut is looked for (twice what was left after the last one).
    trim_at: usize,
    /// After how many line feeds a row is out of sight (as last given to `push`).
    lines: usize,
}

/// Bytes that only write characters and move the cursor within a row or down to the next.
pub(crate) fn plain_len(bytes: &[u8]) -> usize {
    bytes.iter().position(|&b| !matches!(b, 0x20..=0x7e | b'\r' | b'\n' | b'\t' | 0x08)).unwrap_or(bytes.len())
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Keeps `bytes` (plain, see [`plain_len`]) and drops what `lines` line feeds after it hide
    /// for good. Returns false when there is too much to keep: then it should be parsed.
    pub fn push(&mut self, bytes: &[u8], lines: usize) -> bool {
        self.bytes.extend_from_slice(bytes);
        self.lines = lines;
        if self.bytes.len() >= self.trim_at.max(LEAST_TRIM) {
            self.trim();
            self.trim_at = self.bytes.len() * 2;
        }
        self.bytes.len() <= MOST
    }

    /// What is left to parse: the kept text less what is already out of sight.
    pub fn take(&mut self) -> Vec<u8> {
        self.trim();
        self.trim_at = 0;
        std::mem::take(&mut self.bytes)
    }

    fn trim(&mut self) {
        if let Some(cut) = self.cut(self.lines) {
            self.bytes.drain(..cut);
        }
    }

    /// The end of the kept text that starts at a carriage return with at least `lines` line
    /// feeds after it, when there is one: on its own it decides every row those line feeds reach.
    pub fn tail(&self, lines: usize) -> Option<&[u8]> {
        self.cut(lines).map(|at| &self.bytes[at..])
    }

    /// Just after the last carriage return that has `lines` line feeds after it.
    fn cut(&self, lines: usize) -> Option<usize> {
        let nth = memchr::memrchr_iter(b'\n', &self.bytes).nth(lines.checked_sub(1)?)?;
        memchr::memrchr(b'\r', &self.bytes[..nth]).map(|cr| cr + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_stops_at_escapes_and_other_controls() {
        assert_eq!(plain_len(b"ab\tc\r\n\x08d\x1b[m"), 8);
        assert_eq!(plain_len("é".as_bytes()), 0);
        assert_eq!(plain_len(b"\x07"), 0);
    }

    #[test]
    fn cuts_after_a_carriage_return_with_enough_line_feeds_after_it() {
        let mut p = Pending { bytes: b"a\r\nb\r\nc\r\nd".to_vec(), ..Pending::default() };
        assert_eq!(p.tail(2), Some(&b"\nc\r\nd"[..]));
        assert_eq!(p.tail(3), Some(&b"\nb\r\nc\r\nd"[..]));
        assert_eq!(p.tail(4), None);
        p.bytes = b"a\nb\nc\n".to_vec(); // no carriage return: no column known
        assert_eq!(p.tail(1), None);
    }
}
