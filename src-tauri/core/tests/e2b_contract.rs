//! The E2B client against a local server implementing the official contract (shared/specs/e2b):
//! routed by the real host names (api.<domain>, 49983-<id>.<domain>), validated against
//! openapi.yml, envd.yaml and the Connect-RPC .proto files.

mod contract_server;

use aura_core::sandbox::remote::e2b::{envelope, map_state, take_envelopes, E2bProvider};
use aura_core::sandbox::{
    Egress, Exec, ExecRequest, ExecSink, Files, Lifecycle, Previews, SandboxError, SandboxSpec, SandboxState, Terminals,
};
use contract_server::ContractServer;
use serde_json::json;

const KEY: &str = "e2b_contract_test_key";

#[derive(Default)]
struct Split {
    out: Vec<u8>,
    err: Vec<u8>,
    chunks: usize,
}
impl ExecSink for Split {
    fn stdout(&mut self, d: &[u8]) {
        self.out.extend_from_slice(d);
        self.chunks += 1;
    }
    fn stderr(&mut self, d: &[u8]) {
        self.err.extend_from_slice(d);
    }
}

fn client(srv: &ContractServer, key: &str) -> E2bProvider {
    srv.e2b_client(key, 3)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

#[test]
fn lifecycle_streamed_exec_and_files_follow_the_contract() {
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let e2b = client(&srv, KEY);
    rt().block_on(async {
        let spec = SandboxSpec {
            name: Some("demo".into()),
            env: vec![("FROM_SPEC".into(), "1".into())],
            auto_stop_minutes: Some(10),
            ..Default::default()
        };
        let sb = e2b.create(&spec).await.unwrap();
        assert_eq!(sb.state, SandboxState::Started);
        assert_eq!(e2b.get(&sb.id).await.unwrap().state, SandboxState::Started);
        assert_eq!(e2b.list().await.unwrap().len(), 1);

        e2b.make_dir(&sb.id, "src").await.unwrap();
        e2b.put_file(&sb.id, "src/main.py", b"print('hi from e2b')\n").await.unwrap();
        assert_eq!(e2b.get_file(&sb.id, "src/main.py").await.unwrap(), b"print('hi from e2b')\n");
        let entries = e2b.list_files(&sb.id, "src").await.unwrap();
        assert_eq!((entries[0].name.as_str(), entries[0].is_dir, entries[0].size), ("main.py", false, 21));

        // Output arrives as it is produced (several data events), stdout and stderr apart.
        let mut sink = Split::default();
        let req = ExecRequest {
            command: "cat src/main.py; for i in 1 2 3; do echo line$i; sleep 0.2; done; echo oops >&2; exit 5".into(),
            env: vec![("X".into(), "y".into())],
            ..Default::default()
        };
        let o = e2b.exec(&sb.id, &req, &mut sink).await.unwrap();
        assert_eq!(o.exit_code, Some(5));
        assert_eq!(String::from_utf8_lossy(&sink.out), "print('hi from e2b')\nline1\nline2\nline3\n");
        assert_eq!(String::from_utf8_lossy(&sink.err), "oops\n");
        assert!(sink.chunks >= 3, "streamed, not buffered: {} chunks", sink.chunks);

        e2b.remove_file(&sb.id, "src").await.unwrap();
        assert!(e2b.list_files(&sb.id, "").await.unwrap().is_empty());
        // Any port at `<port>-<sandboxID>.<domain>`, reached where the domain is (here: the
        // contract server).
        let p = e2b.preview(Some(&sb.id), 3000).await.unwrap();
        assert_eq!((p.host.as_str(), p.port, p.tls), (format!("3000-{}.e2b.test", sb.id).as_str(), 80, false));
        assert_eq!(p.connect_to, Some(format!("127.0.0.1:{}", srv.port).parse().unwrap()));
        // Its URLs are not open to the world: created with allowPublicTraffic false, reached
        // with the traffic token the create answered (the contract server refuses without).
        let create = srv.requests().into_iter().find(|r| r["method"] == "POST" && r["path"] == "/sandboxes").unwrap();
        assert_eq!(create["json"]["network"]["allowPublicTraffic"], json!(false));
        assert_eq!(create["json"]["allow_internet_access"], json!(true));
        assert!(create["json"]["network"]["denyOut"].as_array().unwrap().contains(&json!("169.254.0.0/16")));
        let token = p.headers.iter().find(|(k, _)| k == "e2b-traffic-access-token").map(|(_, v)| v.clone());
        let token = token.expect("the preview carries the traffic token");
        let port_status = |tok: Option<&str>| {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
            let auth = tok.map(|t| format!("e2b-traffic-access-token: {t}\r\n")).unwrap_or_default();
            use std::io::{Read, Write};
            write!(s, "GET / HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n", p.host).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out.split(' ').nth(1).unwrap_or("").to_string()
        };
        assert_eq!(port_status(None), "403", "no token, no entry");
        assert_eq!(port_status(Some("wrong")), "403");
        assert_eq!(port_status(Some(&token)), "502", "with the token the request reaches the (empty) port");
        assert!(matches!(e2b.preview(None, 3000).await, Err(SandboxError::NotFound(_))), "no sandbox, no preview");

        assert_eq!(e2b.pause(&sb.id).await.unwrap().state, SandboxState::Paused);
        assert_eq!(e2b.resume(&sb.id).await.unwrap().state, SandboxState::Started);
        e2b.delete(&sb.id).await.unwrap();
        assert!(matches!(e2b.get(&sb.id).await, Err(SandboxError::NotFound(_))));
    });
    assert_eq!(srv.violations(), Vec::<String>::new(), "requests drifted from the official contract");
}

/// The project's network reaches E2B: Offline without internet access, a list of hosts as
/// `allowOut` over a `denyOut` of everything.
#[test]
fn the_projects_network_choice_reaches_e2b() {
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let e2b = client(&srv, KEY);
    rt().block_on(e2b.create(&SandboxSpec { egress: Egress::Offline, ..Default::default() })).unwrap();
    let only = vec!["pypi.org".to_string(), "*.github.com".into(), "example.com:8443".into(), "198.51.100.7".into()];
    rt().block_on(e2b.create(&SandboxSpec { egress: Egress::Only(only), ..Default::default() })).unwrap();
    let creates: Vec<_> = srv
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/sandboxes")
        .map(|r| r["json"].clone())
        .collect();
    assert_eq!(creates[0]["allow_internet_access"], json!(false));
    assert_eq!(creates[0]["network"]["allowPublicTraffic"], json!(false));
    assert_eq!(creates[1]["allow_internet_access"], json!(true));
    assert_eq!(
        creates[1]["network"]["allowOut"],
        json!(["pypi.org", "*.github.com", "example.com", "198.51.100.7/32"])
    );
    assert_eq!(creates[1]["network"]["denyOut"], json!(["0.0.0.0/0"]));
    assert_eq!(srv.violations(), Vec::<String>::new());
}

/// E2B has no port listing: the sandbox's own kernel tables are read by a command, and a
/// server started there is found (the contract server's sandboxes share this machine's
/// tables, so other ports may be listed too; envd's never is).
#[test]
fn the_ports_a_server_listens_on_are_listed() {
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let e2b = client(&srv, KEY);
    let rt = rt();
    let sb = rt.block_on(e2b.create(&SandboxSpec::default())).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = contract_server::listener(port);
    rt.block_on(e2b.exec(&sb.id, &ExecRequest { command: listen, ..Default::default() }, &mut Split::default()))
        .unwrap();
    let ports = rt.block_on(e2b.listening_ports(&sb.id)).unwrap();
    contract_server::stop_listener(port);
    assert!(ports.contains(&port), "{port} not in {ports:?}");
    assert!(!ports.contains(&49983));
    assert_eq!(srv.violations(), Vec::<String>::new());
}

#[test]
fn failures_become_clear_errors() {
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let rt = rt();
    assert!(matches!(rt.block_on(client(&srv, "nope").list()), Err(SandboxError::Unauthorized { .. })));
    let e2b = client(&srv, KEY);
    let sb = rt.block_on(e2b.create(&SandboxSpec::default())).unwrap();
    rt.block_on(e2b.pause(&sb.id)).unwrap();
    assert!(matches!(rt.block_on(e2b.pause(&sb.id)), Err(SandboxError::WrongState { .. })), "409 on a double pause");
    rt.block_on(e2b.resume(&sb.id)).unwrap();
    srv.faults(json!([{ "match": "GET /sandboxes/", "status": 503, "times": 2 }]));
    assert_eq!(rt.block_on(e2b.get(&sb.id)).unwrap().id, sb.id, "5xx on GET is retried");
    srv.faults(json!([{ "match": "POST /sandboxes", "status": 500, "times": 1 }]));
    assert!(matches!(rt.block_on(e2b.create(&SandboxSpec::default())), Err(SandboxError::Api { status: 500, .. })));
    srv.faults(json!([{ "match": "POST /process.Process/Start", "status": 429, "times": 1, "retry_after": 0 }]));
    let mut sink = Split::default();
    let o = rt
        .block_on(e2b.exec(&sb.id, &ExecRequest { command: "echo ok".into(), ..Default::default() }, &mut sink))
        .unwrap();
    assert_eq!((o.exit_code, sink.out.as_slice()), (Some(0), b"ok\n".as_slice()));
    srv.faults(json!([{ "match": "GET /v2/sandboxes", "malformed": true, "times": 3 }]));
    assert!(matches!(rt.block_on(e2b.list()), Err(SandboxError::BadResponse { .. })));
    srv.faults(json!([]));
    let slow = ExecRequest { command: "sleep 5".into(), timeout_s: Some(1), ..Default::default() };
    assert!(matches!(rt.block_on(e2b.exec(&sb.id, &slow, &mut Split::default())), Err(SandboxError::Timeout(1))));
    assert!(rt.block_on(e2b.get_file(&sb.id, "../../etc/passwd")).is_err());
    assert_eq!(srv.violations(), Vec::<String>::new());
}

#[test]
fn envelopes_and_states() {
    let mut buf = envelope(0, br#"{"a":1}"#);
    buf.extend(envelope(2, b"{}"));
    buf.extend(&[0, 0, 0]); // a partial next envelope stays buffered
    let got = take_envelopes(&mut buf);
    assert_eq!(got, vec![(0, br#"{"a":1}"#.to_vec()), (2, b"{}".to_vec())]);
    assert_eq!(buf, vec![0, 0, 0]);
    assert_eq!(map_state(Some("running")), SandboxState::Started);
    assert_eq!(map_state(Some("paused")), SandboxState::Paused);
}

#[test]
fn an_interactive_pty_takes_input_resizes_and_closes() {
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let e2b = client(&srv, KEY);
    let rt = rt();
    let sb = rt.block_on(e2b.create(&SandboxSpec::default())).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let term = rt.block_on(e2b.open_terminal(&sb.id, 80, 24, Box::new(contract_server::TermOut(tx)))).unwrap();
    contract_server::exercise_terminal(term.as_ref(), &rx);
    assert_eq!(srv.violations(), Vec::<String>::new());
}

#[test]
fn a_command_timed_out_or_stopped_ends_in_the_sandbox_too() {
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let e2b = client(&srv, KEY);
    let rt = rt();
    let sb = rt.block_on(e2b.create(&SandboxSpec::default())).unwrap();
    let pid_of = |file: &str| -> Option<i32> {
        let data = rt.block_on(e2b.get_file(&sb.id, file)).ok()?;
        String::from_utf8(data).ok()?.trim().parse().ok()
    };
    // Timed out.
    let req =
        ExecRequest { command: contract_server::waits_with_pid("pid-a"), timeout_s: Some(1), ..Default::default() };
    assert!(matches!(rt.block_on(e2b.exec(&sb.id, &req, &mut Split::default())), Err(SandboxError::Timeout(1))));
    contract_server::ended(pid_of("pid-a").expect("the command ran"), "timed out");
    // Stopped: the exec is dropped once its process runs (what the panel's Stop does).
    let req = ExecRequest { command: contract_server::waits_with_pid("pid-b"), ..Default::default() };
    rt.block_on(async {
        let mut sink = Split::default();
        let run = e2b.exec(&sb.id, &req, &mut sink);
        let started = async {
            while e2b.get_file(&sb.id, "pid-b").await.map(|d| d.ends_with(b"\n")).ok() != Some(true) {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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
