//! Local sandbox benchmarks, side by side in one run:
//! - sandbox create + first exec (`true`), median of 50, vs the same command unsandboxed
//! - exec round trip in an existing sandbox (`echo`), median of 50, vs unsandboxed
//! - PTY spawn to first output: a shell in the sandbox vs on the host
//! - the sandbox's own network: create + first exec and exec round trip on the isolated network
//!   (own namespace + pasta) vs the host network, and `npm install` of a small Express app with
//!   a warm npm cache on each (real registry traffic)
//! - `npm install` in a *new* sandbox of the same project: with the project's kept package
//!   cache vs without one (every new sandbox started cold before), and by hand on the host with
//!   a warm npm cache
//! - `npm install` of a *second* project with the same lockfile, in a new sandbox with a new,
//!   empty cache of its own: seeded from the tarballs the first project fetched (the store
//!   shared between projects, each tarball checked) vs cold
//!
//!     cargo bench -p aura-core --bench sandbox

mod common;

use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::bwrap::Isolation;
use aura_core::sandbox::local::network::NetworkMode;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, ExecSink, Lifecycle, SandboxSpec};
use aura_core::terminal::{TerminalManager, TerminalSink, TerminalSpec};
use common::*;

struct Null;
impl ExecSink for Null {
    fn stdout(&mut self, _: &[u8]) {}
    fn stderr(&mut self, _: &[u8]) {}
}

struct First(std::sync::mpsc::Sender<()>);
impl TerminalSink for First {
    fn output(&mut self, _: Vec<u8>) {
        let _ = self.0.send(());
    }
    fn exit(&mut self, _: Option<u32>) {}
}

/// Creates a sandbox, runs `true` in it, and deletes it; returns create + exec time.
async fn create_exec(p: &LocalProvider, root: &ProjectRoot) -> Duration {
    let t = Instant::now();
    let sb = p.create_for(root, &SandboxSpec::default()).unwrap();
    let o = p.exec(&sb.id, &ExecRequest { command: "true".into(), ..Default::default() }, &mut Null).await.unwrap();
    assert_eq!(o.exit_code, Some(0));
    let d = t.elapsed();
    p.delete(&sb.id).await.unwrap();
    d
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "x").unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let boxed = LocalProvider::new(false).expect("bubblewrap");
    let plain = LocalProvider::with_isolation(Isolation::None { reason: "benchmark baseline".into() });
    let req = |c: &str| ExecRequest { command: c.into(), ..Default::default() };
    const N: usize = 50;

    rt.block_on(async {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for _ in 0..N {
            a.push(create_exec(&boxed, &root).await);
            b.push(create_exec(&plain, &root).await);
        }
        a.sort();
        b.sort();
        println!(
            "sandbox: create + first exec (true), median of {N}: bubblewrap {:.1} ms, unsandboxed {:.1} ms, ratio {:.1}x",
            ms(median(&a)),
            ms(median(&b)),
            median(&a).as_secs_f64() / median(&b).as_secs_f64()
        );

        let sa = boxed.create_for(&root, &SandboxSpec::default()).unwrap();
        let sb = plain.create_for(&root, &SandboxSpec::default()).unwrap();
        let mut a = Vec::new();
        let mut b = Vec::new();
        for _ in 0..N {
            let t = Instant::now();
            boxed.exec(&sa.id, &req("echo hi"), &mut Null).await.unwrap();
            a.push(t.elapsed());
            let t = Instant::now();
            plain.exec(&sb.id, &req("echo hi"), &mut Null).await.unwrap();
            b.push(t.elapsed());
        }
        a.sort();
        b.sort();
        println!(
            "sandbox: exec round trip (echo) in a running sandbox, median of {N}: bubblewrap {:.1} ms, unsandboxed {:.1} ms, ratio {:.1}x",
            ms(median(&a)),
            ms(median(&b)),
            median(&a).as_secs_f64() / median(&b).as_secs_f64()
        );

        network_modes(&root, N).await;
        npm_install_modes().await;
        npm_install_new_sandbox().await;

        // PTY spawn to first output.
        let mgr = TerminalManager::new();
        let spawn_first = |spec: TerminalSpec| {
            let (tx, rx) = channel();
            let t = Instant::now();
            let id = mgr.open(spec, First(tx)).unwrap();
            mgr.write(id, b"echo ready\n").unwrap();
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
            let d = t.elapsed();
            mgr.close(id);
            d
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        for _ in 0..20 {
            let mut spec = boxed.terminal_spec(&sa.id, 80, 24).unwrap();
            spec.args.pop();
            spec.args.extend(["/bin/sh".to_string()]);
            a.push(spawn_first(spec));
            let host = TerminalSpec { program: Some("/bin/sh".into()), ..TerminalSpec::shell(root.path(), 80, 24) };
            b.push(spawn_first(host));
        }
        a.sort();
        b.sort();
        println!(
            "sandbox: PTY spawn to first output (sh), median of 20: in sandbox {:.1} ms, on host {:.1} ms, ratio {:.1}x",
            ms(median(&a)),
            ms(median(&b)),
            median(&a).as_secs_f64() / median(&b).as_secs_f64()
        );
    });
}

/// Isolated network (own namespace, pasta attached) against the host network, side by side.
async fn network_modes(root: &ProjectRoot, n: usize) {
    let iso = LocalProvider::with_network(NetworkMode::Isolated, false).expect("an isolated network");
    let host = LocalProvider::with_network(NetworkMode::Host, false).expect("bubblewrap");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..n {
        a.push(create_exec(&iso, root).await);
        b.push(create_exec(&host, root).await);
    }
    a.sort();
    b.sort();
    println!(
        "sandbox network: create + first exec (true), median of {n}: isolated {:.1} ms, host network {:.1} ms, ratio {:.2}x",
        ms(median(&a)),
        ms(median(&b)),
        median(&a).as_secs_f64() / median(&b).as_secs_f64()
    );
    let (sa, sb) = (
        iso.create_for(root, &SandboxSpec::default()).unwrap(),
        host.create_for(root, &SandboxSpec::default()).unwrap(),
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let req = ExecRequest { command: "echo hi".into(), ..Default::default() };
    for _ in 0..n {
        let t = Instant::now();
        iso.exec(&sa.id, &req, &mut Null).await.unwrap();
        a.push(t.elapsed());
        let t = Instant::now();
        host.exec(&sb.id, &req, &mut Null).await.unwrap();
        b.push(t.elapsed());
    }
    a.sort();
    b.sort();
    println!(
        "sandbox network: exec round trip (echo), median of {n}: isolated {:.1} ms, host network {:.1} ms, ratio {:.2}x",
        ms(median(&a)),
        ms(median(&b)),
        median(&a).as_secs_f64() / median(&b).as_secs_f64()
    );
}

/// `npm install` with a warm cache, isolated network vs host network, alternating, median of 3.
async fn npm_install_modes() {
    let (_dir, root) = express_project();
    let iso = LocalProvider::with_network(NetworkMode::Isolated, false).expect("an isolated network");
    let host = LocalProvider::with_network(NetworkMode::Host, false).expect("bubblewrap");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        a.push(npm_warm(&iso, &root).await);
        b.push(npm_warm(&host, &root).await);
    }
    a.sort();
    b.sort();
    println!(
        "sandbox network: npm install (express 4.21.2, 72 packages) with a warm cache, median of 3: isolated {:.0} ms, host network {:.0} ms, ratio {:.2}x",
        ms(median(&a)),
        ms(median(&b)),
        median(&a).as_secs_f64() / median(&b).as_secs_f64()
    );
}

/// The timed part of an install: `npm install` after `node_modules` is removed, in microseconds.
const TIMED_INSTALL: &str = "set -e; q='--no-audit --no-fund --loglevel=error'; rm -rf node_modules; \
     s=$(date +%s%N); npm install $q >/dev/null; e=$(date +%s%N); rm -rf node_modules; echo $(( (e - s) / 1000 ))";

/// One `npm install` in a new sandbox with `spec`; returns its time.
async fn install_in_new_sandbox(p: &LocalProvider, root: &ProjectRoot, spec: &SandboxSpec) -> Duration {
    let sb = p.create_for(root, spec).unwrap();
    let mut out = Out(Vec::new());
    let req = ExecRequest { command: TIMED_INSTALL.into(), timeout_s: Some(300), ..Default::default() };
    let o = p.exec(&sb.id, &req, &mut out).await.unwrap();
    assert_eq!(o.exit_code, Some(0), "npm install failed in the sandbox");
    p.delete(&sb.id).await.unwrap();
    Duration::from_micros(String::from_utf8_lossy(&out.0).trim().parse().expect("elapsed microseconds"))
}

/// A second project with `first`'s lockfile, in a new sandbox with a new, empty cache of its own:
/// its install seeded from the shared store that `first_cache` was harvested into (the seeding
/// timed with the install) vs `cold`, the same install with nothing cached; median of 3.
async fn second_project(p: &LocalProvider, first: &ProjectRoot, first_cache: &std::path::Path, cold: Duration) {
    let base = tempfile::tempdir().unwrap();
    let caches = aura_core::sandbox::pkgcache::PackageCaches::default();
    caches.set_base(base.path().to_path_buf());
    let shared = caches.harvest(first_cache).unwrap();
    let lock = std::fs::read(first.path().join("package-lock.json")).unwrap();
    let mut seeded = Vec::new();
    for _ in 0..3 {
        let (_dir, root) = express_project();
        std::fs::write(root.path().join("package-lock.json"), &lock).unwrap();
        let own = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let copied = caches.seed(&root, own.path()).unwrap().copied;
        assert_eq!(copied, shared.copied, "every tarball of the lockfile seeded");
        let seeding = t.elapsed();
        let spec = SandboxSpec { cache_dir: Some(own.path().to_path_buf()), ..Default::default() };
        seeded.push(seeding + install_in_new_sandbox(p, &root, &spec).await);
    }
    seeded.sort();
    let s = median(&seeded);
    println!(
        "shared packages: npm install (express 4.21.2, {} tarballs) of a second project with the same lockfile, new sandbox and new empty cache, median of 3: seeded from the shared store {:.0} ms (seeding included), cold {:.0} ms ({:.1}x faster)",
        shared.copied,
        ms(s),
        ms(cold),
        cold.as_secs_f64() / s.as_secs_f64()
    );
}

/// `npm install` in a new sandbox of a project that installed before: with the project's kept
/// package cache vs without (cold), vs by hand on the host with a warm cache; median of 3.
async fn npm_install_new_sandbox() {
    let (_dir, root) = express_project();
    let p = LocalProvider::new(false).expect("bubblewrap with an isolated network");
    let cache = tempfile::tempdir().unwrap();
    let kept = SandboxSpec { cache_dir: Some(cache.path().to_path_buf()), ..Default::default() };
    // The project's first install fills its cache.
    install_in_new_sandbox(&p, &root, &kept).await;
    // The peer: its own copy of the project (its lockfile is its own) and npm's defaults, as in
    // the sandbox (no user .npmrc).
    let (_host_dir, host_root) = express_project();
    let host_cache = tempfile::tempdir().unwrap();
    let by_hand = || {
        let out = std::process::Command::new("sh")
            .args(["-c", TIMED_INSTALL])
            .current_dir(host_root.path())
            .env("npm_config_cache", host_cache.path())
            .env("npm_config_userconfig", "/dev/null")
            .env("npm_config_update_notifier", "false")
            .output()
            .unwrap();
        assert!(out.status.success(), "npm install on the host failed");
        Duration::from_micros(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap())
    };
    by_hand(); // warms the host's cache
    let (mut warm, mut cold, mut host) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        warm.push(install_in_new_sandbox(&p, &root, &kept).await);
        cold.push(install_in_new_sandbox(&p, &root, &SandboxSpec::default()).await);
        host.push(by_hand());
    }
    for v in [&mut warm, &mut cold, &mut host] {
        v.sort();
    }
    let (w, c, h) = (median(&warm), median(&cold), median(&host));
    second_project(&p, &root, cache.path(), c).await;
    println!(
        "package cache: npm install (express 4.21.2, 72 packages) in a new sandbox, median of 3: kept cache {:.0} ms, no kept cache {:.0} ms ({:.1}x faster); by hand on the host with a warm cache {:.0} ms, ratio {:.2}x",
        ms(w),
        ms(c),
        c.as_secs_f64() / w.as_secs_f64(),
        ms(h),
        w.as_secs_f64() / h.as_secs_f64()
    );
}
