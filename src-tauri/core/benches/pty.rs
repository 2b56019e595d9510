//! Terminal throughput: `cat` of a 50 MB file through Aura's PTY pipeline (reader,
//! batching flusher, sink with acknowledgements) vs raw `cat` to a PTY drained by a plain read
//! loop, side by side in one run.
//!
//!     cargo bench -p aura-core --bench pty

mod common;

use std::io::Read;
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::terminal::{TerminalManager, TerminalSink, TerminalSpec};
use common::*;
use portable_pty::{native_pty_system, CommandBuilder, PtySize};

const SIZE: usize = 50 * 1024 * 1024;

enum Ev {
    Out(usize),
    Exit,
}
struct Sink(Sender<Ev>);
impl TerminalSink for Sink {
    fn output(&mut self, data: Vec<u8>) {
        let _ = self.0.send(Ev::Out(data.len()));
    }
    fn exit(&mut self, _: Option<u32>) {
        let _ = self.0.send(Ev::Exit);
    }
}

fn aura_cat(mgr: &Arc<TerminalManager>, file: &std::path::Path) -> (Duration, usize) {
    let (tx, rx) = channel();
    let spec = TerminalSpec {
        program: Some("cat".into()),
        args: vec![file.display().to_string()],
        ..TerminalSpec::shell(file.parent().unwrap(), 200, 50)
    };
    let t = Instant::now();
    let id = mgr.open(spec, Sink(tx)).unwrap();
    let mut total = 0;
    let mut batches = 0;
    while let Ev::Out(n) = rx.recv().unwrap() {
        total += n;
        batches += 1;
        mgr.ack(id, n).unwrap();
    }
    let d = t.elapsed();
    mgr.close(id);
    assert!(total >= SIZE, "got {total}");
    (d, batches)
}

fn raw_cat(file: &std::path::Path) -> Duration {
    let pair = native_pty_system().openpty(PtySize { rows: 50, cols: 200, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new("cat");
    cmd.arg(file);
    let t = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut r = pair.master.try_clone_reader().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n;
    }
    child.wait().unwrap();
    let d = t.elapsed();
    assert!(total >= SIZE, "got {total}");
    d
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("50mb.txt");
    // Text with newlines, like a real log: 80-column lines.
    let line = format!("{}\n", "0123456789abcdefghijklmnopqrstuvwxyz".repeat(3).chars().take(79).collect::<String>());
    let body = line.repeat(SIZE / line.len() + 1);
    std::fs::write(&file, &body.as_bytes()[..SIZE]).unwrap();

    let mgr = Arc::new(TerminalManager::new());
    let mut aura = Vec::new();
    let mut raw = Vec::new();
    let mut batches = 0;
    for _ in 0..5 {
        let (d, b) = aura_cat(&mgr, &file);
        aura.push(d);
        batches = b;
        raw.push(raw_cat(&file));
    }
    aura.sort();
    raw.sort();
    let mbps = |d: Duration| SIZE as f64 / 1e6 / d.as_secs_f64();
    println!(
        "pty: cat 50 MB: aura pipeline median {:.0} ms ({:.0} MB/s, {} batches), raw pty median {:.0} ms ({:.0} MB/s), ratio aura/raw time = {:.2}",
        ms(median(&aura)),
        mbps(median(&aura)),
        batches,
        ms(median(&raw)),
        mbps(median(&raw)),
        median(&aura).as_secs_f64() / median(&raw).as_secs_f64()
    );
}
