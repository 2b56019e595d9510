//! The Daytona client against a local server implementing the official contract
//! (shared/specs/daytona), which validates every request against the spec.

mod contract_server;

use std::time::{Duration, Instant};

use aura_core::sandbox::remote::daytona::{map_state, DaytonaConfig, DaytonaProvider};
use aura_core::sandbox::remote::RetryPolicy;
use aura_core::sandbox::{
    Egress, Exec, ExecRequest, ExecSink, Files, Lifecycle, Limits, Previews, SandboxError, SandboxSpec, SandboxState,
    Terminals,
};
use aura_core::secrets::Secret;
use contract_server::ContractServer;
use serde_json::json;

const KEY: &str = "dtn_test_key_for_contract";

/// stdout and stderr kept apart: their relative order depends on when the logs are polled.
#[derive(Default)]
struct Out(Vec<u8>, Vec<u8>);
impl ExecSink for Out {
    fn stdout(&mut self, d: &[u8]) {
        self.0.extend_from_slice(d);
    }
    fn stderr(&mut self, d: &[u8]) {
        self.1.extend_from_slice(d);
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        timeout: Duration::from_secs(3),
    }
}

fn client(srv: &ContractServer, key: &str) -> DaytonaProvider {
    let cfg = DaytonaConfig { api_url: srv.url("/api"), target: Some("us".into()), organization_id: None };
    DaytonaProvider::new(cfg, Secret::new(key), fast_retry()).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

#[test]
fn full_lifecycle_exec_and_files_follow_the_contract() {
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let dt = client(&srv, KEY);
    rt().block_on(async {
        let spec = SandboxSpec {
            name: Some("aura-test".into()),
            env: vec![("GREETING".into(), "hello".into())],
            labels: vec![("project".into(), "demo".into())],
            limits: Limits { cpus: Some(2), memory_bytes: Some(2 << 30), disk_gib: Some(5), ..Limits::default() },
            auto_stop_minutes: Some(20),
            ..Default::default()
        };
        let sb = dt.create(&spec).await.unwrap();
        assert_eq!(sb.state, SandboxState::Started);
        assert_eq!(dt.list().await.unwrap().len(), 1);
        assert_eq!(dt.get(&sb.id).await.unwrap().id, sb.id);

        dt.make_dir(&sb.id, "src").await.unwrap();
        dt.put_file(&sb.id, "src/app.js", b"console.log('hi')\n").await.unwrap();
        assert_eq!(dt.get_file(&sb.id, "src/app.js").await.unwrap(), b"console.log('hi')\n");
        let names: Vec<_> = dt.list_files(&sb.id, "src").await.unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["app.js"]);

        let mut out = Out::default();
        let req = ExecRequest {
            command: "cat src/app.js; echo $GREETING2; echo err >&2; exit 4".into(),
            env: vec![("GREETING2".into(), "it's me".into())],
            timeout_s: Some(30),
            ..Default::default()
        };
        let o = dt.exec(&sb.id, &req, &mut out).await.unwrap();
        assert_eq!(o.exit_code, Some(4));
        assert_eq!(String::from_utf8_lossy(&out.0), "console.log('hi')\nit's me\n");
        assert_eq!(String::from_utf8_lossy(&out.1), "err\n");
        // Output is streamed while the command runs: the command waits for a file that the sink
        // makes only once the first line has reached it (the contract server runs commands on
        // this machine). Buffered output would never arrive, and the command would time out.
        struct Gate(std::path::PathBuf, Vec<u8>);
        impl ExecSink for Gate {
            fn stdout(&mut self, d: &[u8]) {
                self.1.extend_from_slice(d);
                if self.1.starts_with(b"first") {
                    std::fs::write(&self.0, b"").unwrap();
                }
            }
            fn stderr(&mut self, _d: &[u8]) {}
        }
        let gate_dir = tempfile::tempdir().unwrap();
        let mut gate = Gate(gate_dir.path().join("go"), Vec::new());
        let command = format!("echo first; while [ ! -e '{}' ]; do sleep 0.05; done; echo second", gate.0.display());
        let req = ExecRequest { command, timeout_s: Some(60), ..Default::default() };
        let o = dt.exec(&sb.id, &req, &mut gate).await.expect("the first line arrived while the command ran");
        assert_eq!((o.exit_code, String::from_utf8_lossy(&gate.1).as_ref()), (Some(0), "first\nsecond\n"));

        dt.remove_file(&sb.id, "src").await.unwrap();
        assert!(dt.list_files(&sb.id, "").await.unwrap().is_empty());

        let p = dt.preview(Some(&sb.id), 5173).await.unwrap();
        // The preview-url's host, with its token in the header Daytona's preview host checks.
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", srv.port));
        assert_eq!(p.headers, vec![("x-daytona-preview-token".to_string(), format!("tok-{}", &sb.id[..8]))]);

        assert_eq!(dt.stop(&sb.id).await.unwrap().state, SandboxState::Stopped);
        assert_eq!(dt.start(&sb.id).await.unwrap().state, SandboxState::Started);
        assert_eq!(dt.pause(&sb.id).await.unwrap().state, SandboxState::Paused);
        assert_eq!(dt.resume(&sb.id).await.unwrap().state, SandboxState::Started);
        dt.delete(&sb.id).await.unwrap();
        assert!(matches!(dt.get(&sb.id).await, Err(SandboxError::NotFound(_))));
    });
    assert_eq!(srv.violations(), Vec::<String>::new(), "requests drifted from the official contract");
    let reqs = srv.requests();
    let auth = |r: &serde_json::Value| {
        r["headers"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone())
    };
    assert!(!reqs.is_empty());
    assert!(reqs.iter().all(|r| auth(r) == Some(json!(format!("Bearer {KEY}")))), "every call carries the key");
}

#[test]
fn failures_become_clear_errors_and_idempotent_calls_retry() {
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let rt = rt();
    // 401: a wrong key.
    let bad = client(&srv, "wrong");
    let e = rt.block_on(bad.list()).unwrap_err();
    assert!(matches!(e, SandboxError::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains("API key"), "{e}");

    let dt = client(&srv, KEY);
    let sb = rt.block_on(dt.create(&SandboxSpec::default())).unwrap();

    // 404.
    assert!(matches!(rt.block_on(dt.get("no-such-sandbox")), Err(SandboxError::NotFound(_))));
    // 409: pausing a stopped sandbox.
    rt.block_on(dt.stop(&sb.id)).unwrap();
    assert!(matches!(rt.block_on(dt.pause(&sb.id)), Err(SandboxError::WrongState { .. })));
    rt.block_on(dt.start(&sb.id)).unwrap();

    // 500 twice on an idempotent GET: retried, then it works.
    srv.faults(json!([{ "match": "GET /api/sandbox/", "status": 500, "times": 2 }]));
    assert_eq!(rt.block_on(dt.get(&sb.id)).unwrap().id, sb.id);
    // 500 on create (not idempotent): not retried, reported.
    srv.faults(json!([{ "match": "POST /api/sandbox", "status": 500, "times": 1, "body": "runner exploded" }]));
    let before = srv.requests().len();
    let e = rt.block_on(dt.create(&SandboxSpec::default())).unwrap_err();
    assert!(
        matches!(&e, SandboxError::Api { status: 500, message, .. } if message.contains("runner exploded")),
        "{e:?}"
    );
    assert_eq!(srv.requests().len(), before + 1, "a create is never sent twice after a 500");
    // 429 with Retry-After: waited for, then retried even for create.
    srv.faults(json!([{ "match": "POST /api/sandbox", "status": 429, "times": 1, "retry_after": 1 }]));
    let t = Instant::now();
    rt.block_on(dt.create(&SandboxSpec::default())).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(900), "Retry-After was honoured");
    // 429 forever: a clear rate-limit error.
    srv.faults(json!([{ "match": "GET /api/sandbox", "status": 429, "times": 10, "retry_after": 0 }]));
    assert!(matches!(rt.block_on(dt.list()), Err(SandboxError::RateLimited { .. })));
    // A dropped connection on a GET: retried.
    srv.faults(json!([{ "match": "GET /api/sandbox/", "drop": true, "times": 1 }]));
    assert_eq!(rt.block_on(dt.get(&sb.id)).unwrap().id, sb.id);
    // Malformed JSON: a clear error, not a panic.
    srv.faults(json!([{ "match": "GET /api/sandbox/", "malformed": true, "times": 3 }]));
    let e = rt.block_on(dt.get(&sb.id)).unwrap_err();
    assert!(matches!(e, SandboxError::BadResponse { .. }), "{e:?}");
    // Slower than the client's timeout: a network error naming the wait.
    srv.faults(json!([{ "match": "GET /api/sandbox/", "delay_ms": 4000, "status": 200, "times": 3 }]));
    let e = rt.block_on(dt.get(&sb.id)).unwrap_err();
    assert!(matches!(&e, SandboxError::Network { message, .. } if message.contains("no answer")), "{e:?}");
    srv.faults(json!([]));
    // Paths outside the workspace never leave the machine.
    assert!(rt.block_on(dt.get_file(&sb.id, "../etc/passwd")).is_err());
    assert_eq!(srv.violations(), Vec::<String>::new());
}

/// The project's network reaches Daytona: Offline as `networkBlockAll`, a list of hosts as
/// `domainAllowList` + `networkAllowList` (no ports there), the internet as Daytona's default.
#[test]
fn the_projects_network_choice_reaches_daytona() {
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let dt = client(&srv, KEY);
    let rt = rt();
    rt.block_on(dt.create(&SandboxSpec { egress: Egress::Offline, ..Default::default() })).unwrap();
    rt.block_on(dt.create(&SandboxSpec::default())).unwrap();
    let only = vec![
        "registry.npmjs.org".to_string(),
        "*.example.com:8443".into(),
        "198.51.100.0/24".into(),
        "[2001:db8::1]:443".into(),
    ];
    rt.block_on(dt.create(&SandboxSpec { egress: Egress::Only(only), ..Default::default() })).unwrap();
    let creates: Vec<_> = srv
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/api/sandbox")
        .map(|r| r["json"].clone())
        .collect();
    assert_eq!(creates.len(), 3);
    assert_eq!(creates[0]["networkBlockAll"], json!(true));
    assert!(creates[1].get("networkBlockAll").is_none(), "{}", creates[1]);
    assert_eq!(creates[2]["domainAllowList"], json!("registry.npmjs.org,*.example.com"));
    assert_eq!(creates[2]["networkAllowList"], json!("198.51.100.0/24,2001:db8::1/128"));
    assert_eq!(srv.violations(), Vec::<String>::new());
}

/// A sandbox in use has its last activity updated (its auto-stop counts from then).
#[test]
fn keeping_a_sandbox_alive_updates_its_last_activity() {
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let dt = client(&srv, KEY);
    let rt = rt();
    let sb = rt.block_on(dt.create(&SandboxSpec::default())).unwrap();
    rt.block_on(dt.keep_alive(&sb.id, Duration::from_secs(1800))).unwrap();
    let path = format!("/api/sandbox/{}/last-activity", sb.id);
    assert_eq!(srv.requests().iter().filter(|r| r["method"] == "POST" && r["path"] == path.as_str()).count(), 1);
    assert_eq!(srv.violations(), Vec::<String>::new());
}

/// The toolbox's port list drives the preview: a server started in the sandbox is found.
#[test]
fn the_ports_a_server_listens_on_are_listed() {
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let dt = client(&srv, KEY);
    let rt = rt();
    let sb = rt.block_on(dt.create(&SandboxSpec::default())).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let req = ExecRequest { command: contract_server::listener(port), ..Default::default() };
    rt.block_on(dt.exec(&sb.id, &req, &mut Out::default())).unwrap();
    let ports = rt.block_on(dt.listening_ports(&sb.id)).unwrap();
    contract_server::stop_listener(port);
    assert!(ports.contains(&port), "{port} not in {ports:?}");
    assert_eq!(srv.violations(), Vec::<String>::new());
}

/// Aura's sandboxes are found again by the labels it gave them.
#[test]
fn sandboxes_are_found_by_their_labels() {
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let dt = client(&srv, KEY);
    let rt = rt();
    let label =
        |p: &str| vec![("aura-project".to_string(), p.to_string()), ("aura-machine".to_string(), "m1".to_string())];
    let a = rt.block_on(dt.create(&SandboxSpec { labels: label("aaa"), ..Default::default() })).unwrap();
    rt.block_on(dt.create(&SandboxSpec { labels: label("bbb"), ..Default::default() })).unwrap();
    let found = rt.block_on(dt.list_labelled(&label("aaa"))).unwrap();
    assert_eq!(found.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [a.id.as_str()]);
    assert!(rt.block_on(dt.list_labelled(&label("ccc"))).unwrap().is_empty());
    assert_eq!(srv.violations(), Vec::<String>::new());
}

#[test]
fn every_documented_state_is_mapped() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/daytona/api-openapi.yaml"))
            .unwrap();
    let block = spec.split("    SandboxState:\n      enum:\n").nth(1).unwrap();
    let states: Vec<&str> = block
        .lines()
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim().trim_start_matches("- "))
        .collect();
    assert!(states.len() >= 20, "{states:?}");
    for s in states {
        let mapped = map_state(Some(s));
        assert!(s == "unknown" || mapped != SandboxState::Unknown, "state {s} is not mapped");
    }
}

#[test]
fn an_interactive_pty_over_the_toolbox_websocket() {
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let dt = client(&srv, KEY);
    let rt = rt();
    let sb = rt.block_on(dt.create(&SandboxSpec::default())).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let term = rt.block_on(dt.open_terminal(&sb.id, 80, 24, Box::new(contract_server::TermOut(tx)))).unwrap();
    contract_server::exercise_terminal(term.as_ref(), &rx);
    assert_eq!(srv.violations(), Vec::<String>::new());
}

#[test]
fn a_command_timed_out_or_stopped_ends_in_the_sandbox_too() {
    let srv = ContractServer::start("daytona_server.py", "daytona", KEY);
    let dt = client(&srv, KEY);
    let rt = rt();
    let sb = rt.block_on(dt.create(&SandboxSpec::default())).unwrap();
    let pid_of = |file: &str| -> Option<i32> {
        let data = rt.block_on(dt.get_file(&sb.id, file)).ok()?;
        String::from_utf8(data).ok()?.trim().parse().ok()
    };
    let req =
        ExecRequest { command: contract_server::waits_with_pid("pid-a"), timeout_s: Some(1), ..Default::default() };
    assert!(matches!(rt.block_on(dt.exec(&sb.id, &req, &mut Out::default())), Err(SandboxError::Timeout(1))));
    contract_server::ended(pid_of("pid-a").expect("the command ran"), "timed out");
    let req = ExecRequest { command: contract_server::waits_with_pid("pid-b"), ..Default::default() };
    rt.block_on(async {
        let mut sink = Out::default();
        let run = dt.exec(&sb.id, &req, &mut sink);
        let started = async {
            while dt.get_file(&sb.id, "pid-b").await.map(|d| d.ends_with(b"\n")).ok() != Some(true) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            _ = run => panic!("the command ended by itself"),
            _ = started => {}
        }
    });
    contract_server::ended(pid_of("pid-b").expect("the command ran"), "stopped");
    assert_eq!(srv.violations(), Vec::<String>::new());
}
