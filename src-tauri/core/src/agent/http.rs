//! The agent server on the network: MCP streamable HTTP at `http://127.0.0.1:<port>/mcp`, only on
//! loopback, only with the installation's bearer token. Browsers are turned away (a request with
//! an `Origin` header is a web page's, never an agent's), as are other hosts in `Host`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::RwLock;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::tools::AuraTools;
use super::{AgentError, AgentService};
use crate::secrets::Secret;

pub const PATH: &str = "/mcp";

pub struct AgentServer {
    addr: SocketAddr,
    token: Arc<RwLock<Option<Secret>>>,
    stop: CancellationToken,
}

type Body = BoxBody<Bytes, std::convert::Infallible>;

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", "text/plain; charset=utf-8".parse().expect("a valid header"));
    r
}

impl AgentServer {
    /// Listens on 127.0.0.1:`port` (0, or a port that is taken: any free one). Requests are
    /// refused with 401 until a token is set.
    pub async fn start(agent: Arc<AgentService>, port: u16, token: Option<Secret>) -> Result<Self, AgentError> {
        let listener = match tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(l) => l,
            Err(_) => tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .map_err(|e| AgentError::Listen(e.to_string()))?,
        };
        let addr = listener.local_addr().map_err(|e| AgentError::Listen(e.to_string()))?;
        let stop = CancellationToken::new();
        let mcp = Arc::new(StreamableHttpService::new(
            move || Ok(AuraTools::new(agent.clone())),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default()
                .with_cancellation_token(stop.child_token())
                // Large enough that an over-limit write reaches the tool and gets its clear message.
                .with_max_request_body_bytes(crate::workspace::files::MAX_SAVE_BYTES),
        ));
        let token = Arc::new(RwLock::new(token));
        let (tok, cancel) = (token.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    r = listener.accept() => match r {
                        Ok((s, _)) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "agent server: accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                    _ = cancel.cancelled() => break,
                };
                let (mcp, tok) = (mcp.clone(), tok.clone());
                let svc = hyper::service::service_fn(move |req| {
                    let (mcp, tok) = (mcp.clone(), tok.clone());
                    async move { Ok::<_, std::convert::Infallible>(route(&mcp, &tok, req).await) }
                });
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = cancel.cancelled() => {}
                    }
                });
            }
        });
        tracing::info!(%addr, "agent server listening");
        Ok(Self { addr, token, stop })
    }

    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A new token takes effect at once; the old one stops working.
    pub fn set_token(&self, token: Option<Secret>) {
        *self.token.write() = token;
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for AgentServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn route(
    mcp: &StreamableHttpService<AuraTools, LocalSessionManager>,
    token: &RwLock<Option<Secret>>,
    req: Request<hyper::body::Incoming>,
) -> Response<Body> {
    if req.uri().path() != PATH {
        return plain(StatusCode::NOT_FOUND, "Aura's agent server answers at /mcp");
    }
    if req.headers().contains_key("origin") {
        return plain(StatusCode::FORBIDDEN, "web pages may not use Aura's agent server");
    }
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ok = token.read().as_ref().is_some_and(|t| super::token::matches(t.expose(), given));
    if !ok {
        let mut r = plain(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token: use the agent token from Aura's Settings → Agents (Authorization: Bearer …)",
        );
        r.headers_mut().insert("www-authenticate", "Bearer realm=\"aura\"".parse().expect("a valid header"));
        return r;
    }
    mcp.handle(req).await
}
