//! Preview proxy overhead, side by side in one run against the same upstream:
//! requests/s and p50/p99 latency for small responses over keep-alive connections (16 clients,
//! 3 s each), and throughput of a 100 MB response, through the proxy vs directly; then the same
//! small-response load through the proxy to a dev server inside a local sandbox, on the isolated
//! network (the proxy dials inside the sandbox's namespace) vs the host network.
//!
//!     cargo bench -p aura-core --bench preview

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::preview::proxy::{Dialer, Via};
use aura_core::preview::{PreviewProxy, Upstream};
use aura_core::sandbox::local::network::{Netns, NetworkMode};
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, ExecSink, Lifecycle, SandboxSpec};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Keep-alive HTTP/1.1 upstream: `/` answers 13 bytes, `/big` 100 MB.
async fn upstream() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (s, _) = l.accept().await.unwrap();
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if h == "\r\n" {
                            break;
                        }
                    }
                    if path == "/big" {
                        let n = 100usize << 20;
                        w.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").as_bytes())
                            .await
                            .unwrap();
                        let chunk = vec![b'x'; 1 << 20];
                        for _ in 0..100 {
                            w.write_all(&chunk).await.unwrap();
                        }
                    } else if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nhello, aura!\n").await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Reads one response with a Content-Length body; returns the body length.
async fn read_response(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> usize {
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await.unwrap();
        if h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut left = len;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let n = r.read(&mut buf[..left.min(1 << 16)]).await.unwrap();
        assert!(n > 0);
        left -= n;
    }
    len
}

async fn load(addr: SocketAddr, cookie: &str, clients: usize, dur: Duration) -> (f64, Duration, Duration) {
    let mut tasks = Vec::new();
    let end = Instant::now() + dur;
    for _ in 0..clients {
        let cookie = cookie.to_string();
        tasks.push(tokio::spawn(async move {
            let s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            let mut lat = Vec::new();
            let req = format!("GET / HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n");
            while Instant::now() < end {
                let t = Instant::now();
                w.write_all(req.as_bytes()).await.unwrap();
                read_response(&mut r).await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let rps = all.len() as f64 / dur.as_secs_f64();
    (rps, all[all.len() / 2], all[all.len() * 99 / 100])
}

async fn big(addr: SocketAddr, cookie: &str) -> Duration {
    let s = TcpStream::connect(addr).await.unwrap();
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let t = Instant::now();
    w.write_all(format!("GET /big HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n").as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut r).await, 100 << 20);
    t.elapsed()
}

async fn cookie_for(proxy: &PreviewProxy) -> String {
    let url = proxy.entry_url();
    let path = format!("/{}", url.splitn(4, '/').nth(3).unwrap());
    let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let line = out.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).unwrap();
    line.split_once(':').unwrap().1.trim().split(';').next().unwrap().to_string()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let port = upstream().await;
        let direct: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let proxy = PreviewProxy::start(Upstream::local(port)).await.unwrap();
        let cookie = cookie_for(&proxy).await;
        let dur = Duration::from_secs(3);
        let (d_rps, d50, d99) = load(direct, "x=1", 16, dur).await;
        let (p_rps, p50, p99) = load(proxy.addr(), &cookie, 16, dur).await;
        println!(
            "preview: small responses, 16 keep-alive clients: direct {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms), through the proxy {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms); proxy/direct throughput {:.2}",
            d_rps, common::ms(d50), common::ms(d99), p_rps, common::ms(p50), common::ms(p99), p_rps / d_rps
        );
        sandboxed(dur).await;
        let d = big(direct, "x=1").await;
        let p = big(proxy.addr(), &cookie).await;
        println!(
            "preview: 100 MB response: direct {:.0} ms ({:.0} MB/s), through the proxy {:.0} ms ({:.0} MB/s); ratio {:.2}",
            common::ms(d), 100.0 / d.as_secs_f64(), common::ms(p), 100.0 / p.as_secs_f64(), p.as_secs_f64() / d.as_secs_f64()
        );
    });
}

/// A keep-alive HTTP server like [`upstream`]'s small answer, as a dev server would run.
const DEV_SERVER: &str = "require('http').createServer((q, s) => { s.setHeader('Content-Length', 13); \
    s.end('hello, aura!\\n'); }).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));";

struct Quiet;
impl ExecSink for Quiet {
    fn stdout(&mut self, _: &[u8]) {}
    fn stderr(&mut self, d: &[u8]) {
        eprint!("{}", String::from_utf8_lossy(d));
    }
}

struct InSandbox(std::sync::Arc<Netns>);
impl Dialer for InSandbox {
    fn socket(&self, v6: bool) -> std::io::Result<std::os::fd::OwnedFd> {
        self.0.tcp_socket(v6)
    }
}

/// Starts the dev server in a new sandbox of `p` on `port`; returns the sandbox id once it answers.
async fn dev_server(p: &std::sync::Arc<LocalProvider>, root: &ProjectRoot, port: u16) -> String {
    let sb = p.create_for(root, &SandboxSpec::default()).unwrap();
    let (p2, id) = (p.clone(), sb.id.clone());
    tokio::spawn(async move {
        let req = ExecRequest { command: format!("exec node server.js {port}"), ..Default::default() };
        if let Err(e) = p2.exec(&id, &req, &mut Quiet).await {
            eprintln!("dev server: {e}");
        }
    });
    let end = Instant::now() + Duration::from_secs(20);
    while !p.listening_ports(&sb.id).unwrap_or_default().contains(&port) {
        assert!(Instant::now() < end, "the dev server did not start in the sandbox");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sb.id
}

/// The proxy to a dev server bound to 127.0.0.1 inside a sandbox: isolated network vs host network.
async fn sandboxed(dur: Duration) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.js"), DEV_SERVER).unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let iso =
        std::sync::Arc::new(LocalProvider::with_network(NetworkMode::Isolated, false).expect("an isolated network"));
    let host = std::sync::Arc::new(LocalProvider::with_network(NetworkMode::Host, false).expect("bubblewrap"));
    let host_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let a = dev_server(&iso, &root, 5173).await;
    let b = dev_server(&host, &root, host_port).await;
    let ns = iso.netns(&a).unwrap().expect("the isolated sandbox has a namespace");
    let via = Via(std::sync::Arc::new(InSandbox(ns)));
    let p_iso = PreviewProxy::start(Upstream::in_namespace(5173, via)).await.unwrap();
    let p_host = PreviewProxy::start(Upstream::local(host_port)).await.unwrap();
    let (c_iso, c_host) = (cookie_for(&p_iso).await, cookie_for(&p_host).await);
    // Alternating halves so drift on a busy machine hits both sides alike.
    let half = dur / 2;
    let (i1, h1) = (load(p_iso.addr(), &c_iso, 16, half).await, load(p_host.addr(), &c_host, 16, half).await);
    let (i2, h2) = (load(p_iso.addr(), &c_iso, 16, half).await, load(p_host.addr(), &c_host, 16, half).await);
    let (i_rps, h_rps) = ((i1.0 + i2.0) / 2.0, (h1.0 + h2.0) / 2.0);
    let (i99, h99) = (i1.2.max(i2.2), h1.2.max(h2.2));
    println!(
        "preview in a sandbox (node dev server on 127.0.0.1), 16 keep-alive clients: isolated network {:.0} req/s (p99 {:.2} ms), host network {:.0} req/s (p99 {:.2} ms); isolated/host throughput {:.2}, p99 ratio {:.2}",
        i_rps, common::ms(i99), h_rps, common::ms(h99), i_rps / h_rps, i99.as_secs_f64() / h99.as_secs_f64()
    );
    iso.delete(&a).await.unwrap();
    host.delete(&b).await.unwrap();
}
