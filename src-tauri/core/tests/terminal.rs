//! Terminals on real PTYs: output, input, resize, exit codes, flow control and floods the widget
//! cannot keep up with, and process-group cleanup when a terminal is closed.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use aura_core::terminal::{TerminalManager, TerminalSink, TerminalSpec, HIGH_WATER};

enum Ev {
    Out(Vec<u8>),
    Exit(Option<u32>),
}

struct Sink(Sender<Ev>);
impl TerminalSink for Sink {
    fn output(&mut self, data: Vec<u8>) {
        let _ = self.0.send(Ev::Out(data));
    }
    fn exit(&mut self, code: Option<u32>) {
        let _ = self.0.send(Ev::Exit(code));
    }
}

/// Collects output until `pred` holds on everything seen so far.
fn read_until(rx: &Receiver<Ev>, mut pred: impl FnMut(&str) -> bool) -> String {
    let end = Instant::now() + Duration::from_secs(20);
    let mut all = Vec::new();
    while Instant::now() < end {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Ev::Out(d)) => all.extend(d),
            Ok(Ev::Exit(_)) => {}
            Err(_) => {}
        }
        let s = String::from_utf8_lossy(&all).into_owned();
        if pred(&s) {
            return s;
        }
    }
    panic!("timed out; got: {:?}", String::from_utf8_lossy(&all));
}

fn sh(cwd: &std::path::Path, script: &str) -> TerminalSpec {
    TerminalSpec {
        program: Some("/bin/sh".into()),
        args: vec!["-c".into(), script.into()],
        ..TerminalSpec::shell(cwd, 80, 24)
    }
}

#[test]
fn runs_in_the_project_folder_with_a_terminal_env() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = TerminalManager::new();
    let (tx, rx) = channel();
    mgr.open(sh(dir.path(), "pwd; echo TERM=$TERM; exit 3"), Sink(tx)).unwrap();
    let out = read_until(&rx, |s| s.contains("TERM=xterm-256color"));
    assert!(out.contains(&dir.path().canonicalize().unwrap().display().to_string()), "{out}");
    let code = loop {
        if let Ev::Exit(c) = rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            break c;
        }
    };
    assert_eq!(code, Some(3));
}

#[test]
fn interactive_shell_takes_input_and_resizes() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = TerminalManager::new();
    let (tx, rx) = channel();
    let spec = TerminalSpec {
        program: Some("/bin/bash".into()),
        args: vec!["--norc".into(), "-i".into()],
        ..TerminalSpec::shell(dir.path(), 80, 24)
    };
    let id = mgr.open(spec, Sink(tx)).unwrap();
    mgr.write(id, b"echo $((6*7))\n").unwrap();
    read_until(&rx, |s| s.contains("42"));
    mgr.resize(id, 132, 43).unwrap();
    mgr.write(id, b"stty size\n").unwrap();
    read_until(&rx, |s| s.contains("43 132"));
    mgr.close(id);
    assert!(mgr.write(id, b"x").is_err(), "closed terminals refuse input");
}

/// A paste far larger than the PTY's buffer into a program that reads nothing yet: `write`
/// returns at once (the window that called it goes on), and every byte arrives, in order, once
/// the program reads.
#[test]
fn a_large_paste_into_a_program_that_does_not_read_never_blocks_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = std::sync::Arc::new(TerminalManager::new());
    let (tx, rx) = channel();
    // Raw mode (so the line discipline keeps every byte), read nothing until the file `go`
    // exists, then count what arrived.
    let script = "stty raw -echo; echo ready; while [ ! -e go ]; do sleep 0.05; done; \
                  head -c 1048576 | wc -c; echo counted";
    let id = mgr.open(sh(dir.path(), script), Sink(tx)).unwrap();
    read_until(&rx, |s| s.contains("ready"));
    // 1 MiB in 256 pastes: far more than a PTY holds (a few KiB), so a blocking write would
    // wait here until the program reads. The guard only stops a hang; it is not a timing.
    let (done_tx, done_rx) = channel();
    let m = mgr.clone();
    std::thread::spawn(move || {
        for _ in 0..256 {
            m.write(id, &[b'x'; 4096]).unwrap();
        }
        let _ = done_tx.send(());
    });
    done_rx.recv_timeout(Duration::from_secs(120)).expect("write blocked on a PTY that nobody reads");
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = read_until(&rx, |s| s.contains("counted"));
    assert!(out.contains("1048576"), "every byte arrived: {out}");
    mgr.close(id);
}

fn alive(pid: i32) -> bool {
    // Zombies count as gone: read the state from /proc.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

#[test]
fn closing_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = TerminalManager::new();
    let (tx, rx) = channel();
    // A background child that ignores SIGHUP: only the group kill can stop it.
    let id = mgr.open(sh(dir.path(), "trap '' HUP; sleep 300 & echo CHILD=$!; wait"), Sink(tx)).unwrap();
    let out = read_until(&rx, |s| s.contains("CHILD=") && s.trim_end().ends_with(|c: char| c.is_ascii_digit()));
    let child: i32 = out.split("CHILD=").nth(1).unwrap().trim().parse().unwrap();
    let leader = mgr.pid(id).unwrap() as i32;
    assert!(alive(child) && alive(leader));
    mgr.close(id);
    let end = Instant::now() + Duration::from_secs(10);
    while (alive(child) || alive(leader)) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(child), "background child {child} survived");
    assert!(!alive(leader), "shell {leader} survived");
    assert_eq!(mgr.count(), 0);
}

/// The state a stream of terminal output leaves: every line of scrollback and screen, trimmed.
fn lines_after(bytes: &[u8], cols: u16, rows: u16) -> Vec<String> {
    let mut screen = aura_screen::Screen::new(cols, rows, aura_core::terminal::SCROLLBACK);
    screen.feed(bytes);
    screen.text_lines()
}

/// How many numbers count up to `last` just before `marker` in `lines`.
fn run_before(lines: &[String], marker: &str, last: u64) -> usize {
    let end = lines.iter().position(|l| l == marker).unwrap_or_else(|| panic!("no {marker}: {lines:?}"));
    let mut want = last;
    let mut n = 0;
    for l in lines[..end].iter().rev() {
        if l.parse::<u64>().ok() != Some(want) {
            break;
        }
        n += 1;
        want -= 1;
    }
    n
}

#[test]
fn a_flood_never_waits_for_the_widget_and_ends_in_the_state_it_would_have_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = TerminalManager::new();
    let (tx, rx) = channel();
    // About 2 MB, four times the high-water mark, and no acknowledgement at all.
    mgr.open(sh(dir.path(), "seq 1 300000; echo end-of-flood"), Sink(tx)).unwrap();
    let mut all = Vec::new();
    let code = loop {
        match rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the program was held back by a widget that never caught up")
        {
            Ev::Out(d) => all.extend(d),
            Ev::Exit(code) => break code,
        }
    };
    assert_eq!(code, Some(0));
    assert!(all.len() < 2 * HIGH_WATER + 1024 * 1024, "{} bytes queued for a widget that acknowledged none", all.len());
    // What arrived (the first bytes, then the snapshot) leaves the full scrollback: the last
    // 10 000 lines of the output, in order, none lost or doubled.
    let lines = lines_after(&all, 80, 24);
    let counted = run_before(&lines, "end-of-flood", 300000);
    assert!(counted >= aura_core::terminal::SCROLLBACK, "only {counted} lines count up to the end");
}

#[test]
fn a_slow_widget_gets_frames_then_the_whole_state() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = TerminalManager::new();
    let (tx, rx) = channel();
    let id = mgr.open(sh(dir.path(), "seq 1 300000; echo end-of-flood; sleep 1; echo after"), Sink(tx)).unwrap();
    let mut all = Vec::new();
    let mut messages = 0;
    let mut snapshots = 0;
    while let Ev::Out(d) = rx.recv_timeout(Duration::from_secs(60)).expect("output stopped") {
        // A widget that needs a moment for each message (at most ~6 MB/s).
        std::thread::sleep(Duration::from_millis(20));
        mgr.ack(id, d.len()).unwrap();
        messages += 1;
        snapshots += usize::from(d.starts_with(b"\x18\x1bc"));
        all.extend(d);
    }
    assert!(snapshots >= 1, "the widget never fell behind");
    let lines = lines_after(&all, 80, 24);
    assert!(run_before(&lines, "end-of-flood", 300000) >= aura_core::terminal::SCROLLBACK);
    // Output after the flood arrives as bytes again, after the snapshot.
    assert_eq!(lines.iter().rev().find(|l| !l.is_empty()).map(String::as_str), Some("after"));
    assert!(all.len() < 6 * 1024 * 1024, "{} bytes in {messages} messages: more than the output itself", all.len());
}
