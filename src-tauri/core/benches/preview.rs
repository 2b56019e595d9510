//! Preview proxy overhead (issue 5), side by side in one run against the same upstream:
//! requests/s and p50/p99 latency for small responses over keep-alive connections (16 clients,
//! 3 s each), and throughput of a 100 MB response, through the proxy vs directly.
//!
//!     cargo bench -p aura-core --bench preview

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aura_core::preview::{PreviewProxy, Upstream};
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
        let d = big(direct, "x=1").await;
        let p = big(proxy.addr(), &cookie).await;
        println!(
            "preview: 100 MB response: direct {:.0} ms ({:.0} MB/s), through the proxy {:.0} ms ({:.0} MB/s); ratio {:.2}",
            common::ms(d), 100.0 / d.as_secs_f64(), common::ms(p), 100.0 / p.as_secs_f64(), p.as_secs_f64() / d.as_secs_f64()
        );
    });
}
