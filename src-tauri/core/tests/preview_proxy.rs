//! The preview proxy against real upstream servers on loopback: the secret, header injection,
//! cookie separation, streaming without buffering, WebSocket upgrades both ways, a clear page
//! when nothing listens, and no head-of-line blocking behind a slow request.

use std::io::{Read, Write};
use std::net::TcpStream;

use aura_core::preview::{PreviewProxy, Upstream};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// `/slow` has reached the upstream.
static SLOW_ARRIVED: tokio::sync::Notify = tokio::sync::Notify::const_new();
/// Lets the upstream answer `/slow`.
static SLOW_RELEASE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// A tiny HTTP/1.1 upstream written on raw sockets: `/` echoes what it received, `/big/<n>`
/// sends `n` MiB, `/slow` is answered when the test releases it, `/ws` is a WebSocket echo
/// (greets first).
async fn upstream() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if s.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let text = String::from_utf8_lossy(&head).to_string();
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                if path == "/ws" {
                    let ws =
                        tokio_tungstenite::accept_async(PrefixedStream { head: Some(head), inner: s }).await.unwrap();
                    let (mut tx, mut rx) = ws.split();
                    tx.send(Message::text("hello from upstream")).await.unwrap();
                    while let Some(Ok(m)) = rx.next().await {
                        if m.is_text() {
                            tx.send(Message::text(format!("echo: {}", m.to_text().unwrap()))).await.unwrap();
                        }
                    }
                    return;
                }
                if let Some(mib) = path.strip_prefix("/big/") {
                    let n: usize = mib.parse().unwrap();
                    s.write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                            n << 20
                        )
                        .as_bytes(),
                    )
                    .await
                    .unwrap();
                    let chunk = vec![b'x'; 1 << 20];
                    for _ in 0..n {
                        if s.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                    return;
                }
                if path == "/slow" {
                    // Held until the test lets it go (and says it arrived).
                    SLOW_ARRIVED.notify_one();
                    SLOW_RELEASE.notified().await;
                }
                let body = text;
                let _ = s
                    .write_all(
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nSet-Cookie: app=1\r\n\r\n{body}", body.len())
                            .as_bytes(),
                    )
                    .await;
            });
        }
    });
    port
}

/// Replays the already-read request head to the WebSocket handshake.
struct PrefixedStream {
    head: Option<Vec<u8>>,
    inner: tokio::net::TcpStream,
}
impl tokio::io::AsyncRead for PrefixedStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if let Some(h) = self.head.take() {
            buf.put_slice(&h);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}
impl tokio::io::AsyncWrite for PrefixedStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        b: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, b)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A blocking raw HTTP GET (no cookie jar, no redirects): returns (status, headers, body).
fn get(addr: std::net::SocketAddr, path: &str, cookie: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let c = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{c}Connection: close\r\n\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, all[split + 4..].to_vec())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

fn login(proxy: &PreviewProxy) -> String {
    let entry = proxy.entry_url();
    let path = entry.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    let (status, head, _) = get(proxy.addr(), &path, None);
    assert_eq!(status, 302);
    let set = head.lines().find(|l| l.to_lowercase().starts_with("set-cookie:")).unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(head.contains("location: /\r") || head.to_lowercase().contains("location: /"), "{head}");
    set.split_once(':').unwrap().1.trim().split(';').next().unwrap().to_string()
}

#[test]
fn only_the_pane_with_the_secret_gets_through_and_auth_is_injected() {
    let rt = rt();
    let port = rt.block_on(upstream());
    let mut up = Upstream::local(port);
    up.headers.push(("x-daytona-preview-token".into(), "provider-secret".into()));
    let proxy = rt.block_on(PreviewProxy::start(up)).unwrap();
    assert!(proxy.addr().ip().is_loopback());
    assert_eq!(get(proxy.addr(), "/", None).0, 403, "no token, no preview");
    assert_eq!(get(proxy.addr(), "/?aura_preview_token=wrong", None).0, 403);
    assert_eq!(get(proxy.addr(), "/", Some("aura_preview_1=guess")).0, 403);
    let cookie = login(&proxy);
    let (status, head, body) = get(proxy.addr(), "/page?x=1", Some(&format!("{cookie}; app=1")));
    assert_eq!(status, 200);
    let seen = String::from_utf8_lossy(&body).to_lowercase();
    assert!(seen.starts_with("get /page?x=1 "), "{seen}");
    assert!(seen.contains("x-daytona-preview-token: provider-secret"), "auth injected: {seen}");
    assert!(seen.contains("cookie: app=1"), "the app's cookies pass: {seen}");
    assert!(!seen.contains("aura_preview_"), "our cookie never reaches the app: {seen}");
    assert!(head.to_lowercase().contains("set-cookie: app=1"));
}

#[test]
fn large_downloads_stream_without_buffering() {
    fn rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .unwrap()
            .trim()
            .trim_end_matches(" kB")
            .trim()
            .parse()
            .unwrap()
    }
    let rt = rt();
    let port = rt.block_on(upstream());
    let proxy = rt.block_on(PreviewProxy::start(Upstream::local(port))).unwrap();
    let cookie = login(&proxy);
    let before = rss_kib();
    let mut s = TcpStream::connect(proxy.addr()).unwrap();
    write!(s, "GET /big/200 HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let (mut total, mut peak) = (0usize, 0u64);
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
        peak = peak.max(rss_kib());
    }
    assert!(total > 200 << 20, "{total}");
    let grew_mib = peak.saturating_sub(before) / 1024;
    assert!(grew_mib < 64, "200 MiB went through with only {grew_mib} MiB more memory");
}

#[test]
fn websockets_pass_both_ways() {
    let rt = rt();
    let port = rt.block_on(upstream());
    let proxy = rt.block_on(PreviewProxy::start(Upstream::local(port))).unwrap();
    let cookie = login(&proxy);
    rt.block_on(async {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/ws", proxy.addr()).into_client_request().unwrap();
        req.headers_mut().insert("Cookie", cookie.parse().unwrap());
        let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(resp.status(), 101);
        assert_eq!(ws.next().await.unwrap().unwrap().to_text().unwrap(), "hello from upstream");
        ws.send(Message::text("hmr update")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap().to_text().unwrap(), "echo: hmr update");
        // Without the cookie the upgrade is refused.
        let bare = format!("ws://{}/ws", proxy.addr()).into_client_request().unwrap();
        assert!(tokio_tungstenite::connect_async(bare).await.is_err());
    });
}

#[test]
fn a_clear_page_when_nothing_listens_and_no_blocking_behind_slow_requests() {
    let rt = rt();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy = rt.block_on(PreviewProxy::start(Upstream::local(free))).unwrap();
    let cookie = login(&proxy);
    let (status, _, body) = get(proxy.addr(), "/", Some(&cookie));
    let page = String::from_utf8_lossy(&body);
    assert_eq!(status, 502);
    assert!(
        page.contains(&format!("Nothing is listening on {free} yet")) && page.contains("http-equiv=refresh"),
        "{page}"
    );

    // The same proxy follows the server once it is there (the user picked the port).
    let port = rt.block_on(upstream());
    proxy.set_upstream(Upstream::local(port));
    let addr = proxy.addr();
    let c2 = cookie.clone();
    let slow = std::thread::spawn(move || get(addr, "/slow", Some(&c2)).0);
    rt.block_on(SLOW_ARRIVED.notified());
    // While /slow is still unanswered upstream, another request gets through.
    assert_eq!(get(proxy.addr(), "/", Some(&cookie)).0, 200, "a slow request does not hold up others");
    assert!(!slow.is_finished());
    SLOW_RELEASE.notify_one();
    assert_eq!(slow.join().unwrap(), 200);
}

#[test]
fn https_upstreams_get_tls_host_and_injected_auth() {
    use std::sync::Arc;
    use tokio_rustls::rustls;
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A self-signed "remote preview host" on loopback, trusted only by this proxy.
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let server_cfg = Arc::new(
        rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(vec![der.clone()], key).unwrap(),
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client_cfg = Arc::new(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth());

    let rt = rt();
    let (port, seen) = rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let acceptor = tokio_rustls::TlsAcceptor::from(server_cfg);
        let tx = Arc::new(once_slot::Slot::new(tx));
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else { return };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    // A client that rejects our certificate hangs up mid-handshake: fine.
                    let Ok(mut tls) = acceptor.accept(s).await else { return };
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if tls.read_exact(&mut b).await.is_err() {
                            return;
                        }
                        head.push(b[0]);
                    }
                    tx.send(String::from_utf8_lossy(&head).to_string());
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure").await;
                    let _ = tls.flush().await;
                });
            }
        });
        (port, rx)
    });
    let up = Upstream {
        host: "127.0.0.1".into(),
        port,
        tls: true,
        connect_to: None,
        headers: vec![("x-daytona-preview-token".into(), "tok".into())],
        via: None,
    };
    let proxy = rt.block_on(PreviewProxy::start_with_tls(up, client_cfg)).unwrap();
    let cookie = login(&proxy);
    let (status, _, body) = get(proxy.addr(), "/", Some(&cookie));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"secure");
    let seen = rt.block_on(seen).unwrap().to_lowercase();
    assert!(seen.contains("x-daytona-preview-token: tok"), "{seen}");
    assert!(seen.contains(&format!("host: 127.0.0.1:{port}")), "{seen}");

    // An upstream whose certificate is not trusted is refused, with a page that says why.
    let untrusted = rt
        .block_on(PreviewProxy::start(Upstream {
            host: "127.0.0.1".into(),
            port,
            tls: true,
            connect_to: None,
            headers: vec![],
            via: None,
        }))
        .unwrap();
    let cookie = login(&untrusted);
    let (status, _, body) = get(untrusted.addr(), "/", Some(&cookie));
    assert_eq!(status, 502);
    assert!(String::from_utf8_lossy(&body).contains("TLS"), "{}", String::from_utf8_lossy(&body));
}

/// A one-shot sender usable from several tasks (the first send wins).
mod once_slot {
    pub struct Slot<T>(std::sync::Mutex<Option<tokio::sync::oneshot::Sender<T>>>);
    impl<T> Slot<T> {
        pub fn new(tx: tokio::sync::oneshot::Sender<T>) -> Self {
            Self(std::sync::Mutex::new(Some(tx)))
        }
        pub fn send(&self, v: T) {
            if let Some(tx) = self.0.lock().unwrap().take() {
                let _ = tx.send(v);
            }
        }
    }
}

#[test]
fn previews_live_on_their_own_loopback_host_and_track_the_page() {
    let rt = rt();
    let port = rt.block_on(upstream());
    let ip = std::net::Ipv4Addr::new(127, 0, 0, 3);
    let proxy =
        rt.block_on(PreviewProxy::start_on(ip, Upstream::local(port), aura_core::preview::system_tls())).unwrap();
    assert_eq!(proxy.addr().ip(), std::net::IpAddr::V4(ip), "its own host: its cookies are its own");
    assert!(
        rt.block_on(PreviewProxy::start_on(
            std::net::Ipv4Addr::new(10, 0, 0, 1),
            Upstream::local(port),
            aura_core::preview::system_tls()
        ))
        .is_err(),
        "never off loopback"
    );
    let cookie = login(&proxy);
    let send = |path: &str, dest: &str| {
        let mut s = TcpStream::connect(proxy.addr()).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nSec-Fetch-Dest: {dest}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
    };
    send("/docs/page?x=1", "iframe");
    assert_eq!(proxy.location(), format!("http://{}/docs/page?x=1", proxy.addr()));
    send("/assets/app.js", "script");
    send("/api/data", "empty");
    assert!(proxy.location().ends_with("/docs/page?x=1"), "assets and fetches do not move the page");
}
