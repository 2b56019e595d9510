//! `aura mcp`: the agent server over stdio, for clients that start a command
//! (`claude mcp add aura -- aura mcp`). It relays each JSON-RPC line from stdin to the running
//! app's HTTP server (with the token from the keychain) and writes every message back as a line.

use std::sync::Arc;

use parking_lot::RwLock;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Where the running app's agent server is (the app writes it when its server starts).
pub const ENDPOINT_FILE: &str = "agent-endpoint";

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("Aura is not running (or its agent server is off): start Aura, then the agent")]
    NotRunning,
    #[error("no agent token yet: make one in Aura's Settings → Agents")]
    NoToken,
    #[error("{0}")]
    Other(String),
}

#[derive(Default)]
struct Session {
    id: Option<String>,
    protocol: Option<String>,
}

/// The token only ever goes to Aura on this machine.
fn loopback(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Relays stdin to `url` until stdin ends.
pub async fn run(url: String, token: String) -> Result<(), BridgeError> {
    if !loopback(&url) {
        return Err(BridgeError::Other(format!("{url} is not Aura on this machine (http://127.0.0.1:PORT/mcp)")));
    }
    crate::install_tls_provider();
    let http = reqwest::Client::builder().no_proxy().build().map_err(|e| BridgeError::Other(e.to_string()))?;
    let session = Arc::new(RwLock::new(Session::default()));
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = out_rx.recv().await {
            if stdout.write_all(format!("{line}\n").as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut calls = tokio::task::JoinSet::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let (http, url, token, session, out) =
            (http.clone(), url.clone(), token.clone(), session.clone(), out_tx.clone());
        let is_initialize = line.contains("\"initialize\"");
        let call = async move {
            if let Err(e) = relay(&http, &url, &token, &session, &line, &out).await {
                // The client sees the failure as the answer to its request (if it was one).
                if let Some(id) =
                    serde_json::from_str::<serde_json::Value>(&line).ok().and_then(|v| v.get("id").cloned())
                {
                    let msg = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": e.to_string()}});
                    let _ = out.send(msg.to_string());
                }
            }
        };
        // Initialize first (the session id comes with its answer); later requests run side by
        // side so a long command does not hold up a cancel.
        if is_initialize {
            call.await;
        } else {
            calls.spawn(call);
        }
    }
    while calls.join_next().await.is_some() {}
    let id = session.read().id.clone();
    if let Some(id) = id {
        let _ = http.delete(&url).bearer_auth(&token).header("mcp-session-id", id).send().await;
    }
    drop(out_tx);
    let _ = writer.await;
    Ok(())
}

async fn relay(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    session: &RwLock<Session>,
    line: &str,
    out: &mpsc::UnboundedSender<String>,
) -> Result<(), BridgeError> {
    let mut req = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(line.to_string());
    {
        let s = session.read();
        if let Some(id) = &s.id {
            req = req.header("mcp-session-id", id);
        }
        if let Some(v) = &s.protocol {
            req = req.header("mcp-protocol-version", v);
        }
    }
    let mut resp = req.send().await.map_err(|e| {
        if e.is_connect() {
            BridgeError::NotRunning
        } else {
            BridgeError::Other(e.to_string())
        }
    })?;
    if let Some(id) = resp.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()) {
        session.write().id = Some(id.to_string());
    }
    let status = resp.status();
    let is_sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if status == reqwest::StatusCode::ACCEPTED {
        return Ok(());
    }
    if !status.is_success() && !is_sse {
        let text = resp.text().await.unwrap_or_default();
        if text.trim_start().starts_with('{') {
            let _ = out.send(text.trim().to_string());
            return Ok(());
        }
        return Err(BridgeError::Other(format!("Aura's agent server answered {status}: {}", text.trim())));
    }
    if !is_sse {
        let text = resp.text().await.map_err(|e| BridgeError::Other(e.to_string()))?;
        emit(session, text.trim(), out);
        return Ok(());
    }
    // Server-sent events: each event's data lines are one JSON-RPC message.
    let (mut buf, mut data) = (Vec::<u8>::new(), String::new());
    while let Some(chunk) = resp.chunk().await.map_err(|e| BridgeError::Other(e.to_string()))? {
        buf.extend_from_slice(&chunk);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = buf.drain(..=nl).collect();
            let l = String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_string();
            if l.is_empty() {
                if !data.is_empty() {
                    emit(session, &std::mem::take(&mut data), out);
                }
            } else if let Some(d) = l.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
    }
    if !data.is_empty() {
        emit(session, &data, out);
    }
    Ok(())
}

/// Writes one message to the client, remembering the protocol version an initialize answer names.
fn emit(session: &RwLock<Session>, msg: &str, out: &mpsc::UnboundedSender<String>) {
    if msg.is_empty() {
        return;
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(msg) else { return };
    if let Some(p) = v.pointer("/result/protocolVersion").and_then(|p| p.as_str()) {
        session.write().protocol = Some(p.to_string());
    }
    let _ = out.send(v.to_string());
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_only_goes_to_loopback() {
        assert!(super::loopback("http://127.0.0.1:4000/mcp"));
        assert!(super::loopback("http://127.0.0.9:4000/mcp"));
        assert!(super::loopback("http://localhost:4000/mcp"));
        for bad in [
            "https://127.0.0.1/mcp",
            "http://10.0.0.1:4000/mcp",
            "http://127.0.0.1.evil.example/mcp",
            "http://evil.example/127.0.0.1",
        ] {
            assert!(!super::loopback(bad), "{bad}");
        }
    }
}
