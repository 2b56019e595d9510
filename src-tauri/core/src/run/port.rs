//! Which port a started app really serves on: the one it opens, not the framework's default.
//!
//! A dev server tells its port two ways: it starts listening, and it usually prints its address
//! (`Local: http://localhost:5173/`). [`PortWatch`] follows both for one run: the output is fed
//! as it arrives, the sandbox's listening ports are offered at every poll, and the first port
//! that the app printed and listens on — else the first port that started listening after the
//! run began — is the app. A port saved in `.aura/run.json` wins: then only that one is awaited.

use std::collections::BTreeSet;

/// How much of an unfinished output line is kept for the next chunk.
const CARRY: usize = 512;

/// Ports named by `http(s)://host:port` or `tcp://host:port` addresses in `text` (ANSI colours
/// and bold removed first: Vite prints the port in bold), in the order they appear.
pub fn printed_ports(text: &str) -> Vec<u16> {
    let plain = strip_ansi(text);
    let mut ports = Vec::new();
    let mut rest = plain.as_str();
    while let Some(i) = rest.find("://") {
        let scheme_ok = ["http", "https", "tcp"].iter().any(|s| rest[..i].ends_with(s));
        rest = &rest[i + 3..];
        if !scheme_ok {
            continue;
        }
        // host: a name, an IPv4 address or a bracketed IPv6 address.
        let host_end = if rest.starts_with('[') {
            rest.find(']').map(|e| e + 1)
        } else {
            Some(rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')).unwrap_or(rest.len()))
        };
        let Some(host_end) = host_end.filter(|e| *e > 0) else { continue };
        let after = &rest[host_end..];
        let Some(digits) = after.strip_prefix(':') else { continue };
        let n = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
        if let Ok(port) = digits[..n].parse::<u16>() {
            if port >= 1 && !ports.contains(&port) {
                ports.push(port);
            }
        }
    }
    ports
}

/// `text` without terminal escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, and
/// two-byte escapes).
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.peek() == Some(&'\\')) {
                        if c == '\x1b' {
                            chars.next();
                        }
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// One run's search for its port.
/// What [`PortWatch::pick`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Known(u16),
    /// Ports the run opened that no printed address names, in the order they opened (the
    /// framework's usual port first among those seen together): the caller asks which serves
    /// a page (an API often opens before the web server).
    Among(Vec<u16>),
    Nothing,
}

#[derive(Debug, Clone)]
pub struct PortWatch {
    /// Saved in `.aura/run.json`: the only port awaited.
    saved: Option<u16>,
    /// The framework's usual port: preferred when several start listening at once.
    hint: Option<u16>,
    /// What already listened when the run began (another server, a previous run).
    before: BTreeSet<u16>,
    printed: Vec<u16>,
    /// Ports that started listening during the run, in the order they were first seen.
    opened: Vec<u16>,
    carry: String,
    /// What [`PortWatch::decide`] last found.
    decided: Option<u16>,
    /// When ports opened without a printed address were first offered (see [`Pick::Among`]).
    among_since: Option<std::time::Instant>,
}

impl PortWatch {
    pub fn new(saved: Option<u16>, hint: Option<u16>, before: impl IntoIterator<Item = u16>) -> Self {
        Self {
            saved,
            hint,
            before: before.into_iter().collect(),
            printed: Vec::new(),
            opened: Vec::new(),
            carry: String::new(),
            decided: None,
            among_since: None,
        }
    }

    /// What listened when the run began (another server, an earlier run): not the app, unless
    /// it prints that port.
    pub fn listened_before(&mut self, ports: impl IntoIterator<Item = u16>) {
        self.before.extend(ports);
    }

    /// The run's output as it arrives (lines may be split across chunks).
    pub fn feed(&mut self, output: &[u8]) {
        let text = String::from_utf8_lossy(output);
        let mut buf = std::mem::take(&mut self.carry);
        buf.push_str(&text);
        let (whole, tail) = match buf.rfind(['\n', '\r']) {
            Some(i) => buf.split_at(i + 1),
            None => ("", buf.as_str()),
        };
        // The Run terminal's output passes here: most of it names no address, and is not parsed.
        let named = if whole.contains("://") { printed_ports(whole) } else { Vec::new() };
        for p in named {
            if !self.printed.contains(&p) {
                self.printed.push(p);
            }
        }
        let keep = tail.len().saturating_sub(CARRY);
        let mut start = keep;
        while !tail.is_char_boundary(start) {
            start += 1;
        }
        self.carry = tail[start..].to_string();
    }

    /// Given the ports the sandbox listens on now, the app's port once it is known (of several
    /// that opened, the first; [`PortWatch::pick`] says when there are several).
    pub fn decide(&mut self, listening: &[u16]) -> Option<u16> {
        let port = match self.pick(listening) {
            Pick::Known(p) => Some(p),
            Pick::Among(ports) => ports.first().copied(),
            Pick::Nothing => None,
        };
        self.settle(port);
        port
    }

    /// What the ports the sandbox listens on now say: the app's port (saved, or printed and
    /// listening), or the ports the run opened with nothing printed to tell them apart (the
    /// caller asks which serves a page, then [`PortWatch::settle`]s), or none yet. Once settled
    /// on a port that still listens, that one.
    pub fn pick(&mut self, listening: &[u16]) -> Pick {
        if self.saved.is_none() {
            if let Some(d) = self.decided.filter(|d| listening.contains(d)) {
                if !self.printed.iter().any(|p| listening.contains(p) && *p != d) {
                    return Pick::Known(d);
                }
            }
        }
        match self.find(listening) {
            Some(p) if self.saved.is_some() || self.printed.contains(&p) => Pick::Known(p),
            Some(_) => {
                self.among_since.get_or_insert_with(std::time::Instant::now);
                Pick::Among(self.opened.iter().copied().filter(|p| listening.contains(p)).collect())
            }
            None => Pick::Nothing,
        }
    }

    /// The app's port, as the caller found it among those opened (or none).
    pub fn settle(&mut self, port: Option<u16>) {
        if port.is_some() {
            self.decided = port;
        }
    }

    /// Ports opened without a printed address were first offered at least `wait` ago: time to
    /// take the first even if none serves a page (an API-only app).
    pub fn waited(&self, wait: std::time::Duration) -> bool {
        self.among_since.is_some_and(|t| t.elapsed() >= wait)
    }

    /// The app's port as last found (else the saved one), without looking again.
    pub fn known(&self) -> Option<u16> {
        self.decided.or(self.saved)
    }

    fn find(&mut self, listening: &[u16]) -> Option<u16> {
        if let Some(saved) = self.saved {
            return listening.contains(&saved).then_some(saved);
        }
        if let Some(p) = self.printed.iter().find(|p| listening.contains(p)) {
            return Some(*p);
        }
        let mut fresh: Vec<u16> =
            listening.iter().copied().filter(|p| !self.before.contains(p) && !self.opened.contains(p)).collect();
        fresh.sort_unstable();
        // Seen in the same poll: the framework's usual port first, else the lowest.
        if let Some(i) = fresh.iter().position(|p| Some(*p) == self.hint) {
            let p = fresh.remove(i);
            fresh.insert(0, p);
        }
        self.opened.extend(fresh);
        self.opened.iter().find(|p| listening.contains(p)).copied()
    }

    /// What the status bar waits for: the saved port, else none in particular.
    pub fn awaited(&self) -> Option<u16> {
        self.saved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_servers_printed_addresses() {
        let cases: &[(&str, &[u16])] = &[
            // Vite (port in bold), with the network line.
            ("  \x1b[32m➜\x1b[39m  \x1b[1mLocal\x1b[22m:   \x1b[36mhttp://localhost:\x1b[1m5173\x1b[22m/\x1b[39m\n  ➜  Network: http://192.168.1.4:5173/", &[5173]),
            // Next.js
            ("   ▲ Next.js 15.0.3\n   - Local:        http://localhost:3000\n   - Network:      http://10.0.0.2:3000", &[3000]),
            // Astro
            (" astro  v4.16.0 ready in 412 ms\n┃ Local    http://localhost:4321/\n┃ Network  use --host to expose", &[4321]),
            // Angular, old and new
            ("** Angular Live Development Server is listening on localhost:4200, open your browser on http://localhost:4200/ **", &[4200]),
            ("  ➜  Local:   http://localhost:4200/", &[4200]),
            // uvicorn, Flask, Django, Rails (Puma)
            ("INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)", &[8000]),
            (" * Running on http://127.0.0.1:5000\nPress CTRL+C to quit", &[5000]),
            ("Starting development server at http://127.0.0.1:8000/\nQuit the server with CONTROL-C.", &[8000]),
            ("* Listening on http://127.0.0.1:3000\n* Listening on http://[::1]:3000", &[3000]),
            ("Puma starting in single mode...\n* Listening on tcp://0.0.0.0:3001", &[3001]),
            // Not addresses with ports.
            ("see https://vitejs.dev/guide and ftp://x:21 and http://localhost/ and ratio 3:2", &[]),
            ("http://:8080 and http://[::]:9000/", &[9000]),
        ];
        for (text, want) in cases {
            assert_eq!(printed_ports(text), *want, "{text:?}");
        }
    }

    #[test]
    fn printed_and_listening_wins_over_the_framework_guess() {
        // The sample: guessed 3000 (plain Node.js), prints and listens on 5173.
        let mut w = PortWatch::new(None, Some(3000), []);
        w.feed(b"  Local: http://localhost:5173/\n");
        assert_eq!(w.decide(&[]), None, "printed but not listening yet");
        assert_eq!(w.decide(&[5173]), Some(5173));
    }

    #[test]
    fn a_server_that_prints_one_port_and_listens_on_another() {
        let mut w = PortWatch::new(None, None, []);
        w.feed(b"open http://localhost:8080/ in your browser\n");
        assert_eq!(w.decide(&[8081]), Some(8081), "what it opened, since the printed one never listens");
        assert_eq!(w.decide(&[8080, 8081]), Some(8080), "the printed one once it listens");
    }

    #[test]
    fn first_new_listener_in_order_and_old_ones_ignored() {
        let mut w = PortWatch::new(None, None, [5432]);
        assert_eq!(w.decide(&[5432]), None, "what listened before the run is not the app");
        assert_eq!(w.decide(&[5432, 9229]), Some(9229));
        assert_eq!(w.decide(&[5432, 3000, 9229]), Some(9229), "the first one seen stays the app");
        let mut w = PortWatch::new(None, Some(5173), []);
        assert_eq!(w.decide(&[24678, 5173]), Some(5173), "at the same moment: the framework's port");
        let mut w = PortWatch::new(None, None, []);
        assert_eq!(w.decide(&[8001, 8000]), Some(8000), "else the lowest");
    }

    #[test]
    fn ports_opened_without_a_printed_address_are_offered_in_order() {
        let mut w = PortWatch::new(None, Some(3000), [5432]);
        assert_eq!(w.pick(&[5432]), Pick::Nothing);
        assert!(!w.waited(std::time::Duration::ZERO), "nothing offered yet");
        assert_eq!(w.pick(&[5432, 8000]), Pick::Among(vec![8000]), "an API first: not known to be the app");
        assert_eq!(w.pick(&[5432, 8000, 5173]), Pick::Among(vec![8000, 5173]));
        assert!(w.waited(std::time::Duration::ZERO));
        w.settle(Some(5173));
        assert_eq!(w.pick(&[5432, 8000, 5173]), Pick::Known(5173), "settled");
        w.feed(b"listening on http://localhost:8000\n");
        assert_eq!(w.pick(&[5432, 8000, 5173]), Pick::Known(8000), "a printed address wins");
    }

    #[test]
    fn a_saved_port_is_the_only_one_awaited() {
        let mut w = PortWatch::new(Some(4000), None, []);
        w.feed(b"Local: http://localhost:5173/\n");
        assert_eq!(w.decide(&[5173]), None);
        assert_eq!(w.decide(&[5173, 4000]), Some(4000));
        assert_eq!(w.awaited(), Some(4000));
    }

    #[test]
    fn a_line_split_across_chunks() {
        let mut w = PortWatch::new(None, None, []);
        w.feed(b"  Local: http://local");
        w.feed(b"host:51");
        assert_eq!(w.decide(&[5173]), Some(5173), "nothing printed yet, so the new listener");
        let mut w = PortWatch::new(None, None, [5173]);
        w.feed(b"  Local: http://local");
        w.feed(b"host:5173/\r\n");
        assert_eq!(w.decide(&[5173]), Some(5173), "printed, though it listened before");
    }
}
