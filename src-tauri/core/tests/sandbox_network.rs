//! The local sandbox's network on real bubblewrap + pasta: an isolated sandbox reaches the
//! package registry but nothing of the host (loopback TCP/UDP, abstract unix sockets) nor another
//! sandbox; offline has loopback only; the preview dials into the sandbox's own loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::network::NetworkMode;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, Lifecycle, SandboxError, SandboxSpec};

#[path = "support/exec.rs"]
mod exec;
use exec::{rt, Collect};

async fn run(p: &LocalProvider, id: &str, cmd: &str) -> (Option<i32>, String) {
    let mut c = Collect::default();
    let req = ExecRequest { command: cmd.into(), timeout_s: Some(120), ..Default::default() };
    let r = p.exec(id, &req, &mut c).await.expect("the command runs");
    (r.exit_code, String::from_utf8_lossy(&c.0).into_owned())
}

/// A node one-liner that tries to reach something and prints what happened.
fn probe(js: &str) -> String {
    format!("node -e '{js}'")
}

const TCP: &str = r#"const s=require("net").connect(+process.argv[1],"127.0.0.1");s.on("connect",()=>{console.log("CONNECTED");process.exit(0)});s.on("error",e=>{console.log(e.code);process.exit(0)})"#;
const UDP: &str = r#"const s=require("dgram").createSocket("udp4");s.on("error",e=>{console.log(e.code);process.exit(0)});s.connect(+process.argv[1],"127.0.0.1",()=>{s.send("hello");s.on("message",()=>{console.log("ECHO");process.exit(0)})})"#;
const ABSTRACT: &str = r#"const s=require("net").connect({path:"\0"+process.argv[1]});s.on("connect",()=>{console.log("CONNECTED");process.exit(0)});s.on("error",e=>{console.log(e.code);process.exit(0)})"#;

#[test]
fn an_isolated_sandbox_reaches_the_registry_but_nothing_of_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let p = LocalProvider::with_network(NetworkMode::Isolated, false).expect("pasta or slirp4netns must work here");

    // Host services on the host's loopback, each counting who reached it.
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = tcp.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for c in tcp.incoming().flatten() {
            h.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    udp.set_nonblocking(true).unwrap();
    let name = format!("aura-test-{}", std::process::id());
    let abs = UnixListener::bind_addr(&UnixAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    abs.set_nonblocking(true).unwrap();

    // Sanity: the same probes from the host do reach them.
    assert!(std::net::TcpStream::connect(("127.0.0.1", tcp_port)).is_ok());

    rt().block_on(async {
        let sb = p.create_for(&root, &SandboxSpec::default()).unwrap();
        let (code, out) = run(&p, &sb.id, &format!("{} {tcp_port}", probe(TCP))).await;
        assert_eq!((code, out.trim()), (Some(0), "ECONNREFUSED"), "host loopback TCP must be unreachable");
        let (_, out) = run(&p, &sb.id, &format!("{} {udp_port}", probe(UDP))).await;
        assert_eq!(out.trim(), "ECONNREFUSED", "host loopback UDP must be unreachable");
        let (_, out) = run(&p, &sb.id, &format!("{} {name}", probe(ABSTRACT))).await;
        assert_eq!(out.trim(), "ECONNREFUSED", "the host's abstract unix socket must be unreachable");
        let (_, out) = run(&p, &sb.id, "cat /proc/net/unix").await;
        assert!(!out.contains(&name) && !out.contains("X11"), "no host abstract socket is listed: {out}");

        // The only outside traffic: the npm registry, through pasta. (Without npm's notice of a newer
        // npm, which appears on its own schedule and is not the answer.)
        let (code, out) =
            run(&p, &sb.id, "npm view is-number@7.0.0 version --prefer-online --no-update-notifier").await;
        assert_eq!((code, out.trim()), (Some(0), "7.0.0"), "{out}");
    });
    assert_eq!(hits.load(Ordering::SeqCst), 1, "only the host's own sanity probe reached the TCP service");
    let mut buf = [0u8; 16];
    assert!(udp.recv_from(&mut buf).is_err(), "no datagram reached the host");
    assert!(abs.accept().is_err(), "nothing connected to the abstract socket");
}

/// A server in one sandbox is reachable from its other commands and from the preview's dialer,
/// never from another sandbox.
#[test]
fn sandboxes_cannot_reach_each_other_but_the_preview_reaches_them() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = r#"require("net").createServer(c=>{c.on("error",()=>{});c.end("from-b\n")}).listen(+process.argv.at(-1),"127.0.0.1",()=>console.log("LISTENING"))"#;
    std::fs::write(b_dir.path().join("server.js"), server).unwrap();
    let p = Arc::new(LocalProvider::with_network(NetworkMode::Isolated, false).unwrap());
    let port = 47_123;
    rt().block_on(async {
        let a = p.create_for(&ProjectRoot::open(a_dir.path()).unwrap(), &SandboxSpec::default()).unwrap();
        let b = p.create_for(&ProjectRoot::open(b_dir.path()).unwrap(), &SandboxSpec::default()).unwrap();
        let (pb, bid) = (p.clone(), b.id.clone());
        let serving = tokio::spawn(async move { run(&pb, &bid, &format!("node server.js {port}")).await });
        // Wait until the server listens (the namespace's own table says so).
        let ns = p.netns(&b.id).unwrap().expect("an isolated sandbox has its own namespace");
        while !ns.listening_ports().contains(&port) {
            assert!(!serving.is_finished(), "the server exited: {:?}", serving.await);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(p.listening_ports(&b.id).unwrap(), vec![port]);
        assert!(p.listening_ports(&a.id).unwrap().is_empty());

        let (_, out) = run(&p, &b.id, &format!("{} {port}", probe(TCP))).await;
        assert_eq!(out.trim(), "CONNECTED", "the sandbox's own commands share its loopback");
        let (_, out) = run(&p, &a.id, &format!("{} {port}", probe(TCP))).await;
        assert_eq!(out.trim(), "ECONNREFUSED", "another sandbox's port must be unreachable");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing is opened on the host");

        // The preview's way in: a socket made in b's namespace, connected from the host.
        assert!(!serving.is_finished(), "the server stopped: {:?}", ns.listening_ports());
        let fd = ns.tcp_socket(false).unwrap();
        let sock = tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(fd));
        let mut stream = sock.connect(([127, 0, 0, 1], port).into()).await.unwrap().into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        let mut got = String::new();
        stream.read_to_string(&mut got).unwrap();
        assert_eq!(got, "from-b\n");

        p.delete(&b.id).await.unwrap();
        let (code, _) = serving.await.unwrap();
        assert_ne!(code, Some(0), "deleting the sandbox ends its server");
    });
}

#[test]
fn offline_has_loopback_only_with_a_clear_error_outside() {
    let dir = tempfile::tempdir().unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let p = LocalProvider::with_network(NetworkMode::Offline, false).unwrap();
    rt().block_on(async {
        let sb = p.create_for(&root, &SandboxSpec::default()).unwrap();
        assert!(sb.detail.as_deref().unwrap_or("").contains("network: offline"), "{:?}", sb.detail);
        let (code, out) = run(&p, &sb.id, "npm view is-number version --fetch-retries=0 --no-update-notifier").await;
        assert_ne!(code, Some(0));
        assert!(out.contains("ENOTFOUND") || out.contains("EAI_AGAIN") || out.contains("ENETUNREACH"), "{out}");
        // Loopback inside works (a server and a client in the same sandbox).
        let both = r#"const n=require("net");n.createServer(c=>c.end("ok")).listen(0,"127.0.0.1",function(){n.connect(this.address().port,"127.0.0.1").on("data",d=>{console.log(String(d));process.exit(0)})})"#;
        let (code, out) = run(&p, &sb.id, &probe(both)).await;
        assert_eq!((code, out.trim()), (Some(0), "ok"));
    });
}

/// A host-network sandbox is what the user accepted: its loopback is the host's (the probe that
/// the isolated mode refuses goes through here, which shows the probe itself works).
#[test]
fn the_host_network_mode_shares_the_host_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let p = LocalProvider::with_network(NetworkMode::Host, false).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in tcp.incoming().flatten() {
            let _ = c.write_all(b"x");
        }
    });
    rt().block_on(async {
        let sb = p.create_for(&root, &SandboxSpec::default()).unwrap();
        assert!(sb.detail.as_deref().unwrap_or("").contains("HOST NETWORK"), "{:?}", sb.detail);
        assert!(p.netns(&sb.id).unwrap().is_none());
        let (_, out) = run(&p, &sb.id, &format!("{} {port}", probe(TCP))).await;
        assert_eq!(out.trim(), "CONNECTED");
    });
}

/// Without a working tool an isolated network is refused with the cause, not weakened.
#[test]
fn an_unusable_network_is_a_clear_error() {
    let e = SandboxError::NetworkUnavailable("neither 'pasta' nor 'slirp4netns' is installed".into());
    let text = e.to_string();
    assert!(text.contains("Registries only") && text.contains("Offline") && text.contains("host network"), "{text}");
}
