//! A loopback reverse proxy in front of a dev server.
//!
//! It listens on 127.0.0.1 (a random port) and answers only a browser that presented the
//! preview's secret: the pane first loads `/?aura_preview_token=<secret>`, the proxy answers with
//! an HttpOnly, SameSite=Strict cookie named after its own port and redirects to the clean URL;
//! anything else gets 403. Requests are forwarded with the provider's auth headers injected and
//! our cookie removed; bodies stream in both directions (nothing is buffered), and WebSocket
//! upgrades (Vite / Next HMR) are spliced through. When nothing listens upstream, a small page
//! says so and retries by itself.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::RwLock;
use tokio::net::{TcpListener, TcpStream};

use crate::error::UserFacing;

pub const TOKEN_PARAM: &str = "aura_preview_token";

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot start the preview proxy: {0}")]
    Bind(String),
}

impl UserFacing for ProxyError {
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::Preview
    }
}

/// Where the preview's requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
    /// HTTPS (remote providers' preview hosts).
    pub tls: bool,
    /// Connect here instead of resolving `host` (a local stand-in for a provider in tests);
    /// TLS names and the Host header still use `host`.
    pub connect_to: Option<SocketAddr>,
    /// Added to every forwarded request (provider preview auth); never shown to the page.
    pub headers: Vec<(String, String)>,
    /// Connect with sockets made here instead: a local sandbox's own network namespace, where
    /// `127.0.0.1` is the sandbox's loopback, not the host's.
    pub via: Option<Via>,
}

/// Makes the sockets the proxy connects with when the upstream lives in another network
/// namespace (the socket's namespace is fixed when it is created).
pub trait Dialer: Send + Sync {
    /// A new non-blocking, unconnected TCP socket (IPv6 when `v6`).
    fn socket(&self, v6: bool) -> std::io::Result<std::os::fd::OwnedFd>;
}

/// A shared [`Dialer`]; two are equal when they are the same one.
#[derive(Clone)]
pub struct Via(pub Arc<dyn Dialer>);

impl PartialEq for Via {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Via {}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Via(sandbox network)")
    }
}

/// Connects to `port` on the loopback of the dialer's namespace: 127.0.0.1, then ::1 (a dev
/// server may bind either).
async fn dial_via(via: &Via, port: u16) -> std::io::Result<TcpStream> {
    let mut last = None;
    for v6 in [false, true] {
        let fd = match via.0.socket(v6) {
            Ok(fd) => fd,
            Err(e) => {
                last.get_or_insert(e);
                continue;
            }
        };
        let sock = tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(fd));
        let ip: std::net::IpAddr =
            if v6 { std::net::Ipv6Addr::LOCALHOST.into() } else { std::net::Ipv4Addr::LOCALHOST.into() };
        match sock.connect(SocketAddr::new(ip, port)).await {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                last.get_or_insert(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no socket")))
}

impl Upstream {
    pub fn local(port: u16) -> Self {
        Self { host: "127.0.0.1".into(), port, tls: false, connect_to: None, headers: Vec::new(), via: None }
    }

    /// `port` on the loopback of another network namespace (a local sandbox's).
    pub fn in_namespace(port: u16, via: Via) -> Self {
        Self { via: Some(via), ..Self::local(port) }
    }

    /// From a provider's preview URL (`https://5173-<id>.<domain>`); a path is not kept.
    pub fn from_url(url: &str, headers: Vec<(String, String)>) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let tls = match scheme {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p))
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (!h.contains(':') || h.ends_with(']')) =>
            {
                (h.to_string(), p.parse().ok()?)
            }
            _ => (authority.to_string(), if tls { 443 } else { 80 }),
        };
        (!host.is_empty()).then_some(Self { host, port, tls, connect_to: None, headers, via: None })
    }

    /// The Host header value.
    fn authority(&self) -> String {
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// Whether `up` answers `GET /` with a page (`text/html`, not an error) within two seconds:
/// of several ports a run opened, the web app's rather than its API's or a debugger's.
pub async fn serves_page(up: &Upstream) -> bool {
    let probe = async {
        let tls = system_tls();
        let mut sender = connect_with::<http_body_util::Empty<Bytes>>(&tls, up).await.ok()?;
        let mut req = Request::get("/").header(header::HOST, up.authority()).header(header::ACCEPT, "text/html,*/*");
        for (k, v) in &up.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = sender.send_request(req.body(http_body_util::Empty::new()).ok()?).await.ok()?;
        let html = resp.headers().get(header::CONTENT_TYPE)?.to_str().ok()?.starts_with("text/html");
        Some(html && resp.status().as_u16() < 400)
    };
    tokio::time::timeout(std::time::Duration::from_secs(2), probe).await.ok().flatten().unwrap_or(false)
}

/// TLS settings for HTTPS upstreams: the system's roots.
pub fn system_tls() -> Arc<tokio_rustls::rustls::ClientConfig> {
    crate::install_tls_provider();
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    Arc::new(tokio_rustls::rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
}

struct Shared {
    /// The last page (document) the preview navigated to: path and query.
    location: RwLock<String>,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    token: String,
    cookie: String,
    upstream: RwLock<Upstream>,
}

/// A running proxy; dropping it stops it.
pub struct PreviewProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

type Body = BoxBody<Bytes, hyper::Error>;
/// A reusable upstream connection and the upstream it goes to.
type Conn = Arc<tokio::sync::Mutex<Option<(Upstream, hyper::client::conn::http1::SendRequest<Incoming>)>>>;

fn full(status: StatusCode, content_type: &str, text: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Full::new(Bytes::from(text)).map_err(|never| match never {}).boxed())
        .unwrap()
}

impl PreviewProxy {
    /// Starts a proxy on a random loopback port for `upstream`.
    pub async fn start(upstream: Upstream) -> Result<Self, ProxyError> {
        Self::start_with_tls(upstream, system_tls()).await
    }

    /// Like [`PreviewProxy::start`] with explicit TLS settings for HTTPS upstreams.
    pub async fn start_with_tls(
        upstream: Upstream,
        tls: Arc<tokio_rustls::rustls::ClientConfig>,
    ) -> Result<Self, ProxyError> {
        Self::start_on(std::net::Ipv4Addr::LOCALHOST, upstream, tls).await
    }

    /// Starts on a given loopback address. Browsers keep cookies per host, not per port, so
    /// previews that must not share cookies listen on different loopback addresses
    /// (127.0.0.2, 127.0.0.3, ...); where only 127.0.0.1 exists, that is used.
    pub async fn start_on(
        ip: std::net::Ipv4Addr,
        upstream: Upstream,
        tls: Arc<tokio_rustls::rustls::ClientConfig>,
    ) -> Result<Self, ProxyError> {
        if !ip.is_loopback() {
            return Err(ProxyError::Bind(format!("{ip} is not a loopback address")));
        }
        let listener = match TcpListener::bind((ip, 0)).await {
            Ok(l) => l,
            Err(_) => TcpListener::bind("127.0.0.1:0").await.map_err(|e| ProxyError::Bind(e.to_string()))?,
        };
        let addr = listener.local_addr().map_err(|e| ProxyError::Bind(e.to_string()))?;
        let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let shared = Arc::new(Shared {
            location: RwLock::new("/".into()),
            tls,
            token,
            cookie: format!("aura_preview_{}", addr.port()),
            upstream: RwLock::new(upstream),
        });
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let s = shared.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = &mut stop_rx => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let s = s.clone();
                tokio::spawn(async move {
                    // One upstream connection per browser connection, reused request after
                    // request (HTTP/1.1 keep-alive on both sides).
                    let upstream_conn: Conn = Arc::new(tokio::sync::Mutex::new(None));
                    let svc = hyper::service::service_fn(move |req| handle(s.clone(), upstream_conn.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Ok(Self { addr, shared, _stop: stop_tx })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL the preview pane opens first (it carries the secret once).
    pub fn entry_url(&self) -> String {
        format!("http://{}/?{TOKEN_PARAM}={}", self.addr, self.shared.token)
    }

    /// The URL without the secret (what the address bar shows).
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The page the preview shows now (as the proxy saw the last document request).
    pub fn location(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.location.read())
    }

    /// Points the proxy at another port or host (the user picked another server).
    pub fn set_upstream(&self, upstream: Upstream) {
        *self.shared.upstream.write() = upstream;
    }

    pub fn upstream(&self) -> Upstream {
        self.shared.upstream.read().clone()
    }
}

fn cookie_value<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(
        |c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        },
    )
}

/// The request's query without our token parameter.
fn strip_token(query: &str) -> (String, Option<String>) {
    let mut token = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix(TOKEN_PARAM).and_then(|r| r.strip_prefix('=')) {
            Some(t) => {
                token = Some(t.to_string());
                false
            }
            None => !kv.is_empty(),
        })
        .collect();
    (kept.join("&"), token)
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(s: Arc<Shared>, conn: Conn, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (query, presented) = strip_token(req.uri().query().unwrap_or(""));
    if let Some(t) = presented {
        if !constant_eq(&t, &s.token) {
            return Ok(full(
                StatusCode::FORBIDDEN,
                "text/plain; charset=utf-8",
                "This preview link is not valid.\n".into(),
            ));
        }
        // Trade the secret in the URL for a cookie, and drop it from the address.
        let path = req.uri().path();
        let location = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
        let mut r = full(StatusCode::FOUND, "text/plain; charset=utf-8", String::new());
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_str(&location).unwrap_or(HeaderValue::from_static("/")));
        let cookie = format!("{}={}; HttpOnly; SameSite=Strict; Path=/", s.cookie, s.token);
        r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).unwrap());
        return Ok(r);
    }
    if !cookie_value(&req, &s.cookie).is_some_and(|v| constant_eq(v, &s.token)) {
        return Ok(full(
            StatusCode::FORBIDDEN,
            "text/plain; charset=utf-8",
            "This preview is only shown inside Aura.\n".into(),
        ));
    }
    // Page navigations (not assets, not fetches) move the address bar and the history.
    let dest = req.headers().get("sec-fetch-dest").and_then(|v| v.to_str().ok()).unwrap_or("");
    let html = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if req.method() == hyper::Method::GET && (matches!(dest, "iframe" | "document") || (dest.is_empty() && html)) {
        let q = strip_token(req.uri().query().unwrap_or("")).0;
        *s.location.write() =
            if q.is_empty() { req.uri().path().to_string() } else { format!("{}?{q}", req.uri().path()) };
    }
    let upstream = s.upstream.read().clone();
    Ok(forward(&s, upstream, conn, req).await)
}

fn unreachable_page(up: &Upstream, why: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=1><title>Waiting for the dev server</title>\
         <body style=\"font-family:system-ui;color:#555;margin:3rem\"><h2>Nothing is listening on {port} yet</h2>\
         <p>Start the dev server in a terminal; this page retries every second.</p><p><small>{why}</small></p>",
        port = up.port,
        why = why.replace('<', "&lt;")
    );
    full(StatusCode::BAD_GATEWAY, "text/html; charset=utf-8", html)
}

const HOP_BY_HOP: [&str; 7] = [
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

async fn connect<B>(s: &Shared, up: &Upstream) -> Result<hyper::client::conn::http1::SendRequest<B>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    connect_with(&s.tls, up).await
}

async fn connect_with<B>(
    tls_config: &Arc<tokio_rustls::rustls::ClientConfig>,
    up: &Upstream,
) -> Result<hyper::client::conn::http1::SendRequest<B>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = match (&up.via, up.connect_to) {
        (Some(via), _) => dial_via(via, up.port).await,
        (None, Some(addr)) => TcpStream::connect(addr).await,
        (None, None) => TcpStream::connect((up.host.as_str(), up.port)).await,
    }
    .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    if up.tls {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(up.host.clone()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(tls_config.clone())
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn.with_upgrades());
        return Ok(sender);
    }
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn.with_upgrades());
    Ok(sender)
}

async fn forward(s: &Shared, up: Upstream, pool: Conn, mut req: Request<Incoming>) -> Response<Body> {
    let wants_upgrade = req.headers().contains_key(header::UPGRADE);
    // Reuse this browser connection's upstream connection when it is to the same place and
    // idle; an upgrade always gets its own (it becomes a tunnel).
    let reused = if wants_upgrade {
        None
    } else {
        let taken = pool.lock().await.take();
        match taken {
            Some((u, mut sender)) if u == up => sender.ready().await.ok().map(|_| sender),
            _ => None,
        }
    };
    let mut sender = match reused {
        Some(sn) => sn,
        None => match connect(s, &up).await {
            Ok(sn) => sn,
            Err(e) => return unreachable_page(&up, &e),
        },
    };

    let client_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    let (query, _) = strip_token(parts.uri.query().unwrap_or(""));
    let path = if query.is_empty() { parts.uri.path().to_string() } else { format!("{}?{query}", parts.uri.path()) };
    parts.uri = path.parse().unwrap_or_else(|_| "/".parse().unwrap());
    let h = &mut parts.headers;
    for name in HOP_BY_HOP {
        h.remove(name);
    }
    if !wants_upgrade {
        h.remove(header::CONNECTION);
        h.remove(header::UPGRADE);
    }
    h.insert(header::HOST, HeaderValue::from_str(&up.authority()).unwrap_or(HeaderValue::from_static("127.0.0.1")));
    // Our cookie stays with us.
    let cookies: Vec<String> = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';').map(str::trim).map(str::to_string).collect::<Vec<_>>())
        .filter(|c| !c.starts_with(&format!("{}=", s.cookie)) && !c.is_empty())
        .collect();
    h.remove(header::COOKIE);
    if !cookies.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&cookies.join("; ")) {
            h.insert(header::COOKIE, v);
        }
    }
    for (k, v) in &up.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            h.insert(k, v);
        }
    }
    let mut resp = match sender.send_request(Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(e) => return unreachable_page(&up, &e.to_string()),
    };
    if !wants_upgrade {
        *pool.lock().await = Some((up.clone(), sender));
    }
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_upgrade) = client_upgrade {
            let server_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                if let (Ok(a), Ok(b)) = tokio::join!(client_upgrade, server_upgrade) {
                    let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(a), &mut TokioIo::new(b)).await;
                }
            });
        }
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, http_body_util::Empty::new().map_err(|never| match never {}).boxed());
    }
    let (mut parts, body) = resp.into_parts();
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    Response::from_parts(parts, body.boxed())
}

#[cfg(test)]
mod tests {
    use super::Upstream;

    #[test]
    fn upstreams_from_provider_urls() {
        let e2b = Upstream::from_url("https://5173-abc.e2b.app", vec![]).unwrap();
        assert_eq!((e2b.host.as_str(), e2b.port, e2b.tls), ("5173-abc.e2b.app", 443, true));
        assert_eq!(e2b.authority(), "5173-abc.e2b.app");
        let dt = Upstream::from_url(
            "https://3000-x.proxy.daytona.works/some/path",
            vec![("x-daytona-preview-token".into(), "t".into())],
        )
        .unwrap();
        assert_eq!((dt.port, dt.headers.len()), (443, 1));
        let local = Upstream::from_url("http://127.0.0.1:8080/", vec![]).unwrap();
        assert_eq!(
            (local.host.as_str(), local.port, local.tls, local.authority()),
            ("127.0.0.1", 8080, false, "127.0.0.1:8080".to_string())
        );
        let v6 = Upstream::from_url("http://[::1]:9000", vec![]).unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("[::1]", 9000));
        assert!(Upstream::from_url("ftp://x", vec![]).is_none());
        assert!(Upstream::from_url("https://", vec![]).is_none());
    }
}
