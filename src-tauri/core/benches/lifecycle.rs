//! A remote project's sandbox over its life, against the E2B contract server with the
//! provider's documented latencies injected (create ~200 ms, resume of a paused sandbox ~1 s,
//! 30 ms for every other call): open a project → its first command done, when the sandbox is
//! created, when a kept (paused) one is reattached and resumed by that command, and when it was
//! resumed in the background as the project opened (warm start); then the keep-alive calls an
//! hour of active and of idle use costs (simulated clock), against the once-a-minute bound.
//!
//!     cargo bench -p aura-core --bench lifecycle

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::keepalive::KeepAlive;
use aura_core::sandbox::remote::e2b::{E2bConfig, E2bProvider};
use aura_core::sandbox::remote::RetryPolicy;
use aura_core::sandbox::service::SandboxService;
use aura_core::sandbox::{ExecRequest, Provider, ProviderKind, SandboxSpec};
use aura_core::secrets::{Secret, SecretName, Secrets};
use aura_core::store::{ProjectSettings, Store};
use common::*;

const KEY: &str = "k";
const RUNS: usize = 5;

fn control(port: u16, path: &str, body: serde_json::Value) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.to_string();
    write!(s, "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
}

/// One opening of the project: a new service (a new start of Aura) on the same state database.
struct Opening {
    svc: SandboxService,
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let srv = contract_server("e2b_server.py", "e2b", KEY);
    // The documented latencies: every rule applies as often as needed.
    let n = 1_000_000;
    control(
        srv.1,
        "/__faults",
        serde_json::json!({ "rules": [
            { "re": "POST /sandboxes", "delay_ms": 200, "times": n },
            { "re": "POST /sandboxes/[^/]+/connect", "delay_ms": 1000, "times": n },
            { "re": ".*", "delay_ms": 30, "times": n },
        ]}),
    );
    std::env::set_var("E2B_DOMAIN", "e2b.test");
    std::env::set_var("AURA_E2B_SCHEME", "http");
    std::env::set_var("AURA_E2B_RESOLVE", format!("127.0.0.1:{}", srv.1));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let secrets = Secrets::in_memory();
    secrets.set(SecretName::E2bApiKey, KEY).unwrap();
    let req = ExecRequest { command: "true".into(), ..Default::default() };
    let first_command = |o: &Opening, root: &ProjectRoot, p: &aura_core::store::ProjectRecord| {
        let t = Instant::now();
        rt.block_on(o.svc.exec(root, p, &req, &mut Out(Vec::new()))).unwrap();
        t.elapsed()
    };

    let (mut create, mut resume, mut warm_first, mut warm_bg) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let data = tempfile::tempdir().unwrap();
        let proj = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::write(proj.path().join(format!("src_{i}.js")), format!("console.log({i});\n")).unwrap();
        }
        let root = ProjectRoot::open(proj.path()).unwrap();
        let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
        let p = store.touch_project(&root.path().display().to_string(), "bench").unwrap();
        store
            .save_project_settings(p.id, &ProjectSettings { provider: ProviderKind::E2b, ..Default::default() })
            .unwrap();
        let open = || Opening { svc: SandboxService::new(store.clone(), secrets.clone()) };

        // 1. No sandbox yet: the first command makes one.
        let o = open();
        create.push(first_command(&o, &root, &p));
        rt.block_on(o.svc.release()); // paused when Aura closes (the default)

        // 2. Kept from the last session: the first command reattaches and resumes it.
        let o = open();
        resume.push(first_command(&o, &root, &p));
        rt.block_on(o.svc.release());

        // 3. Warm start: resumed as the project opens; the first command comes once the user
        //    has looked around (here: as soon as the warm-up is done).
        let o = open();
        let t = Instant::now();
        assert!(rt.block_on(o.svc.warm(&root, &p)).unwrap());
        warm_bg.push(t.elapsed());
        warm_first.push(first_command(&o, &root, &p));
        rt.block_on(o.svc.release());
    }
    for v in [&mut create, &mut resume, &mut warm_first, &mut warm_bg] {
        v.sort();
    }
    println!("lifecycle: open project → first command done (E2B contract server, documented latencies injected), median of {RUNS}:");
    println!("  new sandbox (create + copy + run)        {:8.0} ms", ms(median(&create)));
    println!(
        "  kept sandbox, resumed by the command     {:8.0} ms  ({:.1}× the new one)",
        ms(median(&resume)),
        ms(median(&resume)) / ms(median(&create))
    );
    println!(
        "  kept sandbox, warm start                 {:8.0} ms  ({:.2}× the resume; the warm-up itself took {:.0} ms in the background)",
        ms(median(&warm_first)),
        ms(median(&warm_first)) / ms(median(&resume)),
        ms(median(&warm_bg))
    );

    // Keep-alive calls in an hour, simulated: used every 10 s, and not at all.
    let client: Arc<dyn Provider> = Arc::new(
        E2bProvider::new(
            E2bConfig {
                domain: "e2b.test".into(),
                scheme: "http".into(),
                resolve_all_to: Some(format!("127.0.0.1:{}", srv.1).parse().unwrap()),
                template: "base".into(),
            },
            Secret::new(KEY),
            RetryPolicy::default(),
        )
        .unwrap(),
    );
    let hour = |busy: bool| {
        let spec = SandboxSpec { auto_stop_minutes: Some(30), ..Default::default() };
        let id = rt.block_on(client.create(&spec)).unwrap().id;
        let seconds = Arc::new(AtomicU64::new(0));
        let clock = seconds.clone();
        let keep = KeepAlive::with_clock(Arc::new(move || Duration::from_secs(clock.load(Ordering::SeqCst))));
        keep.keep(client.clone(), &id, Duration::from_secs(1800));
        for _minute in 0..60 {
            for _ in 0..6 {
                seconds.fetch_add(10, Ordering::SeqCst);
                if busy {
                    keep.touch();
                }
            }
            rt.block_on(keep.tick()).unwrap();
        }
        keep.calls()
    };
    let (active, idle) = (hour(true), hour(false));
    println!("lifecycle: keep-alive calls in an hour (simulated clock): used every 10 s {active} (bound: 60, one a minute); idle {idle}");
}
