//! The end of a command's output, kept within a size (what an agent or a log view is shown).

#[derive(Debug, Default)]
pub struct OutputTail {
    kept: Vec<u8>,
    /// Bytes that fell off the front.
    dropped: u64,
}

impl OutputTail {
    /// Appends `d`, keeping at most `cap` bytes.
    pub fn push(&mut self, d: &[u8], cap: usize) {
        self.kept.extend_from_slice(d);
        if self.kept.len() > cap {
            let cut = self.kept.len() - cap;
            self.kept.drain(..cut);
            self.dropped += cut as u64;
        }
    }

    /// The last `max` bytes as text, with a line saying how much came before when not all is shown.
    pub fn text(&self, max: usize) -> String {
        let start = self.kept.len().saturating_sub(max);
        let mut out = String::new();
        if self.dropped > 0 || start > 0 {
            out.push_str(&format!("… ({} earlier bytes not shown)\n", self.dropped + start as u64));
        }
        out.push_str(&String::from_utf8_lossy(&self.kept[start..]));
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_end_and_says_what_it_dropped() {
        let mut t = super::OutputTail::default();
        t.push(b"hello ", 8);
        t.push(b"world", 8);
        assert_eq!(t.text(100), "… (3 earlier bytes not shown)\nlo world");
        assert_eq!(t.text(5), "… (6 earlier bytes not shown)\nworld");
        let mut short = super::OutputTail::default();
        short.push(b"ok\n", 8);
        assert_eq!(short.text(100), "ok\n");
    }
}
