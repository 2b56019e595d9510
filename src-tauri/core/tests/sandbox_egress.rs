//! The sandbox's outbound policy on a test network this test builds itself (`ip netns` + veth;
//! no packet goes anywhere else): *Internet* reaches public addresses only; *Registries only*
//! has no route out, and its proxy lets listed names through, asks about others and never dials
//! a private address.
//!
//! ```text
//!  "host" namespace                         "upstream" namespace
//!  this test's sandbox + pasta              198.51.100.7:8080   plays the public internet
//!  203.0.113.2/24 ── veth ── 203.0.113.1    10.99.0.1:8080      a LAN server
//!  default via 203.0.113.1                  169.254.169.254:80  cloud metadata
//!                                           203.0.113.1:8080    the router itself
//!                                           198.51.100.53:53    DNS (public/other.aura.test, rebind.aura.test)
//! ```
//!
//! The outer test (root only: it makes namespaces) builds that, then runs this same binary's
//! inner test inside "host" with `ip netns exec`, whose DNS is the test's own server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aura_core::netpolicy::{Gate, Gatekeeper, NetAnswer, Verdict};
use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::bwrap::{self, Isolation, NetPlan};
use aura_core::sandbox::local::network;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, SandboxSpec};

#[path = "support/exec.rs"]
mod exec;
#[path = "support/testnet.rs"]
mod testnet;
use exec::{rt, Collect};
use testnet::TestNet;

const INNER: &str = "AURA_EGRESS_INNER";

#[test]
fn an_isolated_sandbox_reaches_public_addresses_only() {
    if std::env::var_os(INNER).is_some() {
        return; // this binary, started again inside the test network for the inner test
    }
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("skipped: building a test network with `ip netns` needs root");
        return;
    }
    let mut net = TestNet::build("eg");
    net.start_servers(&[
        "198.51.100.7:8080=public",
        "10.99.0.1:8080=lan",
        "169.254.169.254:80=metadata",
        "203.0.113.1:8080=router",
        "[2001:db8:2::7]:8080=public6",
        "[fd00:ec2::254]:80=metadata6",
    ]);
    let out =
        net.inside(&["--exact", "inside_the_test_network", "--nocapture", "--test-threads=1"], INNER).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "the inner test failed:\n{text}");
}

/// A node one-liner: connects to host:port directly (no proxy), asks for `/`, prints
/// "CONNECTED <the body>" or the error code.
const CONNECT: &str = r#"const [h,p]=process.argv.slice(1);const s=require("net").connect(+p,h,()=>s.write("GET / HTTP/1.0\r\n\r\n"));let d="";s.on("data",b=>d+=b);s.on("end",()=>{console.log("CONNECTED "+d.split("\r\n\r\n").pop().trim());process.exit(0)});s.on("error",e=>{console.log(e.code);process.exit(0)})"#;

async fn connect(p: &LocalProvider, id: &str, host: &str, port: u16) -> String {
    sh(p, id, &format!("node -e '{CONNECT}' {host} {port}")).await
}

async fn sh(p: &LocalProvider, id: &str, cmd: &str) -> String {
    let mut c = Collect::default();
    let req = ExecRequest { command: cmd.into(), timeout_s: Some(60), ..Default::default() };
    p.exec(id, &req, &mut c).await.expect("the command runs");
    String::from_utf8_lossy(&c.0).trim().to_string()
}

#[test]
fn inside_the_test_network() {
    if std::env::var_os(INNER).is_none() {
        return; // runs only when the outer test starts it inside the test network
    }
    // The host's own service, on its own address (not loopback).
    let own = TcpListener::bind("203.0.113.2:0").unwrap();
    let own_port = own.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for c in own.incoming().flatten() {
            h.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    // Sanity: from the host, every server of the test network answers.
    for (addr, who) in [("10.99.0.1:8080", "lan"), ("169.254.169.254:80", "metadata"), ("198.51.100.7:8080", "public")]
    {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        assert!(got.ends_with(&format!("\r\n\r\n{who}\n")), "{got}");
    }

    let dir = tempfile::tempdir().unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let gate = Arc::new(Gatekeeper::default());
    let tool = network::probe_isolated().expect("pasta and nft work here");
    let iso =
        Isolation::Bubblewrap { bwrap: bwrap::detect().unwrap(), network: NetPlan::Isolated(tool, Gate(gate.clone())) };
    let p = LocalProvider::with_isolation(iso);
    rt().block_on(async {
        let sb = p.create_for(&root, &SandboxSpec::default()).unwrap();
        let id = sb.id.as_str();
        assert_eq!(connect(&p, id, "198.51.100.7", 8080).await, "CONNECTED public", "the internet is reachable");
        assert_eq!(connect(&p, id, "public.aura.test", 8080).await, "CONNECTED public", "by name too");
        assert_eq!(connect(&p, id, "2001:db8:2::7", 8080).await, "CONNECTED public6", "and over IPv6");
        // "Administratively prohibited": IPv4 says no route to host, IPv6 permission denied.
        for (host, port, what, errno) in [
            ("10.99.0.1", 8080, "a LAN server", "EHOSTUNREACH"),
            ("169.254.169.254", 80, "cloud metadata", "EHOSTUNREACH"),
            ("203.0.113.1", 8080, "the host's router", "EHOSTUNREACH"),
            ("rebind.aura.test", 8080, "a public name answered with a private address", "EHOSTUNREACH"),
            ("::ffff:10.99.0.1", 8080, "a LAN server as an IPv4-mapped address", "EHOSTUNREACH"),
            ("fd00:ec2::254", 80, "cloud metadata over IPv6", "EACCES"),
        ] {
            assert_eq!(connect(&p, id, host, port).await, errno, "{what} must be refused");
        }
        let own = connect(&p, id, "203.0.113.2", own_port).await;
        assert!(!own.starts_with("CONNECTED"), "the host's own address: {own}");
        // The sandbox cannot see nor change the rules.
        let nft = sh(&p, id, "nft flush ruleset 2>&1; echo rc=$?").await; // one stream keeps the order
        assert!(nft.ends_with("rc=1") && nft.contains("Operation not permitted"), "{nft}");
        assert_eq!(connect(&p, id, "10.99.0.1", 8080).await, "EHOSTUNREACH", "still refused after trying");

        // The panel's list: what the filter let out and what it refused, as it logged them.
        let row = |h: &str, port: u16| gate.connections().into_iter().find(|c| c.host == h && c.port == port);
        for (host, port, verdict) in [
            ("198.51.100.7", 8080, Verdict::Allowed),
            ("10.99.0.1", 8080, Verdict::Blocked),
            ("169.254.169.254", 80, Verdict::Blocked),
            ("2001:db8:2::7", 8080, Verdict::Allowed),
            ("fd00:ec2::254", 80, Verdict::Blocked),
        ] {
            let mut waited = 0;
            while row(host, port).is_none() && waited < 500 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                waited += 1;
            }
            let c = row(host, port).unwrap_or_else(|| panic!("{host}:{port} is not listed: {:?}", gate.connections()));
            assert_eq!(c.verdict, verdict, "{host}:{port}");
        }
        // Only what the sandbox's code did: not the kernel's multicast listener reports (ff02::16)
        // sent when the sandbox's interface came up.
        let noise: Vec<_> = gate.connections().into_iter().filter(|c| c.host.starts_with("ff02:")).collect();
        assert!(noise.is_empty(), "{noise:?}");
    });
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the host's own service");
    registries_only(&root);
    let _ = std::io::stdout().flush();
}

/// Registries only: no route out; the proxy lets listed names through, asks about the rest,
/// and never dials a private address.
fn registries_only(root: &ProjectRoot) {
    let gate = Arc::new(Gatekeeper::new(Duration::from_secs(60)));
    gate.set_list(&["public.aura.test:8080", "rebind.aura.test:8080"]).unwrap();
    let iso =
        Isolation::Bubblewrap { bwrap: bwrap::detect().unwrap(), network: NetPlan::Registries(Gate(gate.clone())) };
    let p = Arc::new(LocalProvider::with_isolation(iso));
    rt().block_on(async {
        let sb = p.create_for(root, &SandboxSpec::default()).unwrap();
        let id = sb.id.clone();
        let curl = "curl -sS --max-time 60";
        assert_eq!(sh(&p, &id, &format!("{curl} http://public.aura.test:8080/")).await, "public", "listed, plain HTTP");
        assert_eq!(sh(&p, &id, &format!("{curl} -p http://public.aura.test:8080/")).await, "public", "listed, CONNECT");
        assert_eq!(connect(&p, &id, "198.51.100.7", 8080).await, "ENETUNREACH", "no way out but the proxy");
        let rebind = sh(&p, &id, &format!("{curl} http://rebind.aura.test:8080/")).await;
        assert!(
            rebind.contains("blocked by Aura's network policy: rebind.aura.test resolves to 10.99.0.1"),
            "{rebind}"
        );

        // Not listed: the request waits for the user; a denied HTTPS tunnel gets the 403 too.
        for (answer, flags, expect) in [
            (NetAnswer::Once, "", "public"),
            (NetAnswer::Deny, "", "blocked by Aura's network policy: other.aura.test:8080 was denied"),
            (NetAnswer::Deny, "-p", "CONNECT tunnel failed, response 403"),
        ] {
            let (p2, id2) = (p.clone(), id.clone());
            let cmd = format!("{curl} {flags} http://other.aura.test:8080/");
            let asking = tokio::spawn(async move { sh(&p2, &id2, &cmd).await });
            let ask = loop {
                if let Some(a) = gate.pending().first().cloned() {
                    break a;
                }
                assert!(!asking.is_finished(), "the request ended without a question: {:?}", asking.await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            assert_eq!((ask.host.as_str(), ask.port), ("other.aura.test", 8080));
            assert!(gate.answer(ask.id, answer));
            let out = asking.await.unwrap();
            assert!(out.contains(expect), "{answer:?} {flags}: {out}");
        }
        let log = gate.connections();
        let row = |h: &str, v: Verdict| log.iter().find(|c| c.host == h && c.verdict == v).map(|c| c.count);
        assert_eq!(row("public.aura.test", Verdict::Allowed), Some(2));
        assert_eq!(row("rebind.aura.test", Verdict::Blocked), Some(1));
        assert_eq!(row("other.aura.test", Verdict::AllowedByUser), Some(1));
        assert_eq!(row("other.aura.test", Verdict::Denied), Some(2));
    });
}
