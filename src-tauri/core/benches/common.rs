//! Helpers shared by the benchmarks: timing, generated trees, a warm `npm install` in a sandbox.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, ExecSink, Lifecycle, SandboxSpec};

/// Runs `f` `n` times and returns the sorted durations.
pub fn sample(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}

pub fn median(v: &[Duration]) -> Duration {
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A 100k-file project: `dirs` folders of `per_dir` small source files, plus a few at the root.
/// Every 97th file contains `NEEDLE`.
pub const NEEDLE: &str = "aura_needle_4471";

pub fn generate_tree(root: &Path, dirs: usize, per_dir: usize) {
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
    for i in 0..20 {
        std::fs::write(root.join(format!("root_{i}.txt")), "root file\n").unwrap();
    }
    let mut n = 0usize;
    for d in 0..dirs {
        let dir = root.join(format!("pkg_{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..per_dir {
            n += 1;
            let body = if n.is_multiple_of(97) {
                format!("fn f{n}() {{\n    let x = \"{NEEDLE}\";\n}}\n")
            } else {
                format!("fn f{n}() {{\n    let x = {n};\n    println!(\"{{x}}\");\n}}\n")
            };
            std::fs::write(dir.join(format!("file_{f:04}.rs")), body).unwrap();
        }
    }
}

/// Collects a command's standard output.
pub struct Out(pub Vec<u8>);
impl ExecSink for Out {
    fn stdout(&mut self, d: &[u8]) {
        self.0.extend_from_slice(d);
    }
    fn stderr(&mut self, _: &[u8]) {}
}

/// The small app the install benchmarks use (express 4.21.2: 72 packages).
pub const EXPRESS_APP: &str =
    r#"{ "name": "bench-app", "version": "1.0.0", "private": true, "dependencies": { "express": "4.21.2" } }"#;

/// A project folder holding [`EXPRESS_APP`] as its `package.json`.
pub fn express_project() -> (tempfile::TempDir, ProjectRoot) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), EXPRESS_APP).unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    (dir, root)
}

/// One warm-cache `npm install` in a sandbox of `p`: a first install fills the cache (the
/// sandbox's home lives as long as the command), then `node_modules` is removed and the timed
/// install runs against the warm cache, still asking the registry whether anything changed.
pub async fn npm_warm(p: &LocalProvider, root: &ProjectRoot) -> Duration {
    let sb = p.create_for(root, &SandboxSpec::default()).unwrap();
    let cmd = "set -e; q='--no-audit --no-fund --loglevel=error --no-update-notifier'; npm install $q >/dev/null; rm -rf node_modules; \
               s=$(date +%s%N); npm install $q >/dev/null; e=$(date +%s%N); rm -rf node_modules; echo $(( (e - s) / 1000 ))";
    let mut out = Out(Vec::new());
    let req = ExecRequest { command: cmd.into(), timeout_s: Some(300), ..Default::default() };
    let o = p.exec(&sb.id, &req, &mut out).await.unwrap();
    assert_eq!(o.exit_code, Some(0), "npm install failed in the sandbox");
    p.delete(&sb.id).await.unwrap();
    let us: u64 = String::from_utf8_lossy(&out.0).trim().parse().expect("elapsed microseconds");
    Duration::from_micros(us)
}

/// A contract server of tests/contract (killed when dropped) and its port.
pub struct Server(pub std::process::Child, pub u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// Starts `script` of tests/contract with the official spec folder `spec` and API key `key`.
pub fn contract_server(script: &str, spec: &str, key: &str) -> Server {
    use std::io::BufRead;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut child = std::process::Command::new("python3")
        .arg(format!("{root}/tests/contract/{script}"))
        .args([format!("{root}/../shared/specs/{spec}"), key.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().trim_start_matches("LISTENING ").parse().unwrap();
    Server(child, port)
}
