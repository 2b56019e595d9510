//! E2B, written against the official contracts in `shared/specs/e2b`: the control plane at
//! `https://api.<E2B_DOMAIN>` (`X-API-Key`), and each sandbox's envd at
//! `https://49983-<sandboxID>.<E2B_DOMAIN>` (`X-Access-Token`: the sandbox's envdAccessToken):
//! `/files` for upload/download, and Connect-RPC (JSON, no code generation) for
//! `process.Process/Start` (a server stream: start, data, end events) and
//! `filesystem.Filesystem/{ListDir,MakeDir,Remove}`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use parking_lot::Mutex;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{remote_path, ApiClient, RetryPolicy, TermCmd};
use crate::sandbox::*;
use crate::secrets::Secret;

pub const DEFAULT_DOMAIN: &str = "e2b.app";
/// The port envd listens on inside every sandbox.
pub const ENVD_PORT: u16 = 49983;
/// The sandbox user's home, where the project lives.
const WORKDIR: &str = "/home/user/workspace";

#[derive(Debug, Clone)]
pub struct E2bConfig {
    /// `E2B_DOMAIN`.
    pub domain: String,
    /// "https" in production.
    pub scheme: String,
    /// Connect every host of the domain to this address (a local contract server); the Host
    /// header and URLs stay exactly as in production.
    pub resolve_all_to: Option<SocketAddr>,
    /// The template sandboxes are created from.
    pub template: String,
}

impl Default for E2bConfig {
    fn default() -> Self {
        Self { domain: DEFAULT_DOMAIN.into(), scheme: "https".into(), resolve_all_to: None, template: "base".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct E2bSandbox {
    #[serde(rename = "sandboxID")]
    sandbox_id: String,
    #[serde(default)]
    envd_access_token: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    cpu_count: Option<f32>,
    #[serde(default, rename = "memoryMB")]
    memory_mb: Option<u64>,
    #[serde(default)]
    end_at: Option<String>,
}

/// E2B states are `running` and `paused`; a sandbox past its timeout is gone (404).
pub fn map_state(s: Option<&str>) -> SandboxState {
    match s {
        Some("running") | None => SandboxState::Started,
        Some("paused") => SandboxState::Paused,
        Some(_) => SandboxState::Unknown,
    }
}

#[derive(Clone)]
struct Envd {
    base: String,
    token: Option<String>,
}

pub struct E2bProvider {
    api: ApiClient,
    envd: ApiClient,
    cfg: E2bConfig,
    sandboxes: Mutex<HashMap<String, Envd>>,
}

struct FixedResolver(SocketAddr);
impl reqwest::dns::Resolve for FixedResolver {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addr = self.0;
        Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs) })
    }
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default()
}

impl E2bProvider {
    pub fn new(cfg: E2bConfig, key: Secret, retry: RetryPolicy) -> Result<Self, SandboxError> {
        let tweak = |b: reqwest::ClientBuilder| match cfg.resolve_all_to {
            Some(a) => b.dns_resolver(Arc::new(FixedResolver(a))),
            None => b,
        };
        let api = ApiClient::with_builder("E2B", "X-API-Key", key, retry, tweak)?;
        // envd calls carry their own per-sandbox token header.
        let envd = ApiClient::with_builder("E2B", "X-Aura-Client", Secret::new("aura"), retry, tweak)?;
        Ok(Self { api, envd, cfg, sandboxes: Mutex::new(HashMap::new()) })
    }

    fn api_url(&self, path: &str) -> String {
        format!("{}://api.{}{}", self.cfg.scheme, self.cfg.domain, path)
    }

    fn remember(&self, s: &E2bSandbox) {
        let domain = s.domain.clone().unwrap_or_else(|| self.cfg.domain.clone());
        let base = format!("{}://{ENVD_PORT}-{}.{domain}", self.cfg.scheme, s.sandbox_id);
        let mut map = self.sandboxes.lock();
        let token = s.envd_access_token.clone().or_else(|| map.get(&s.sandbox_id).and_then(|e| e.token.clone()));
        map.insert(s.sandbox_id.clone(), Envd { base, token });
    }

    fn info(&self, s: &E2bSandbox) -> SandboxInfo {
        SandboxInfo {
            id: s.sandbox_id.clone(),
            provider: ProviderKind::E2b,
            state: map_state(s.state.as_deref()),
            isolated: true,
            detail: s.end_at.as_ref().map(|e| format!("ends at {e} unless extended or paused")),
            cpu: s.cpu_count,
            memory_bytes: s.memory_mb.map(|m| m * 1024 * 1024),
        }
    }

    /// envd address and token for a sandbox, connecting (which also resumes) when unknown.
    async fn envd_of(&self, id: &str) -> Result<Envd, SandboxError> {
        if let Some(e) = self.sandboxes.lock().get(id).cloned() {
            if e.token.is_some() {
                return Ok(e);
            }
        }
        let path = format!("/sandboxes/{id}/connect");
        let r = self
            .api
            .send(true, || self.api.request(Method::POST, &self.api_url(&path)).json(&json!({ "timeout": 300 })))
            .await?;
        let s: E2bSandbox = self.api.json(r).await?;
        self.remember(&s);
        self.sandboxes.lock().get(id).cloned().ok_or_else(|| SandboxError::NotFound(id.to_string()))
    }

    fn envd_req(&self, e: &Envd, method: Method, path: &str) -> reqwest::RequestBuilder {
        envd_request(&self.envd, e, method, path)
    }

    /// A unary Connect-RPC call with a JSON body.
    async fn rpc(&self, id: &str, method: &str, body: Value) -> Result<Value, SandboxError> {
        let e = self.envd_of(id).await?;
        envd_rpc(&self.envd, &e, method, &body, true).await
    }

    /// Starts `process` with a server-streamed response (`process.Process/Start`).
    async fn start_stream(&self, e: &Envd, msg: &Value) -> Result<reqwest::Response, SandboxError> {
        let body = envelope(0, msg.to_string().as_bytes());
        // Starting a process is not idempotent: no retries beyond 429 / unsent requests.
        self.envd
            .send(false, || {
                envd_request(&self.envd, e, Method::POST, "/process.Process/Start")
                    .header("Content-Type", "application/connect+json")
                    .header("Connect-Protocol-Version", "1")
                    .body(body.clone())
            })
            .await
    }
}

fn envd_request(client: &ApiClient, e: &Envd, method: Method, path: &str) -> reqwest::RequestBuilder {
    let b = client.request(method, &format!("{}{path}", e.base));
    match &e.token {
        Some(t) => b.header("X-Access-Token", t),
        None => b,
    }
}

async fn envd_rpc(
    client: &ApiClient,
    e: &Envd,
    method: &str,
    body: &Value,
    idempotent: bool,
) -> Result<Value, SandboxError> {
    let r = client
        .send(idempotent, || {
            envd_request(client, e, Method::POST, &format!("/{method}"))
                .header("Connect-Protocol-Version", "1")
                .json(body)
        })
        .await?;
    client.json(r).await
}

/// Splits Connect streaming envelopes (1 flag byte, 4-byte big-endian length, payload) off `buf`.
pub fn take_envelopes(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        if buf.len() < 5 {
            return out;
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if buf.len() < 5 + len {
            return out;
        }
        let flags = buf[0];
        let payload = buf[5..5 + len].to_vec();
        buf.drain(..5 + len);
        out.push((flags, payload));
    }
}

pub fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + payload.len());
    v.push(flags);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[async_trait]
impl Provider for E2bProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::E2b
    }

    async fn create(&self, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError> {
        let env: serde_json::Map<String, Value> = spec.env.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let mut meta: serde_json::Map<String, Value> = spec.labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        meta.insert("created-by".into(), json!("aura"));
        if let Some(n) = &spec.name {
            meta.insert("name".into(), json!(n));
        }
        let timeout_s = spec.auto_stop_minutes.map(|m| m as u64 * 60).unwrap_or(1800);
        let body = json!({
            "templateID": spec.image.clone().unwrap_or_else(|| self.cfg.template.clone()),
            "timeout": timeout_s,
            "autoPause": true,
            "envVars": env,
            "metadata": meta,
        });
        let r =
            self.api.send(false, || self.api.request(Method::POST, &self.api_url("/sandboxes")).json(&body)).await?;
        let s: E2bSandbox = self.api.json(r).await?;
        self.remember(&s);
        Ok(self.info(&s))
    }

    async fn get(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        let path = format!("/sandboxes/{id}");
        let r = self.api.send(true, || self.api.request(Method::GET, &self.api_url(&path))).await?;
        let s: E2bSandbox = self.api.json(r).await?;
        self.remember(&s);
        Ok(self.info(&s))
    }

    async fn list(&self) -> Result<Vec<SandboxInfo>, SandboxError> {
        let r = self.api.send(true, || self.api.request(Method::GET, &self.api_url("/v2/sandboxes"))).await?;
        let list: Vec<E2bSandbox> = self.api.json(r).await?;
        Ok(list.iter().map(|s| self.info(s)).collect())
    }

    /// E2B has no stopped state: starting means connecting (which resumes a paused sandbox).
    async fn start(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.resume(id).await
    }

    /// Stopping an E2B sandbox pauses it (its state is kept); delete ends it.
    async fn stop(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.pause(id).await
    }

    async fn pause(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        let path = format!("/sandboxes/{id}/pause");
        self.api.send(true, || self.api.request(Method::POST, &self.api_url(&path)).json(&json!({}))).await?;
        self.get(id).await
    }

    async fn resume(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        let path = format!("/sandboxes/{id}/connect");
        let r = self
            .api
            .send(true, || self.api.request(Method::POST, &self.api_url(&path)).json(&json!({ "timeout": 1800 })))
            .await?;
        let s: E2bSandbox = self.api.json(r).await?;
        self.remember(&s);
        self.get(id).await
    }

    async fn delete(&self, id: &str) -> Result<(), SandboxError> {
        let path = format!("/sandboxes/{id}");
        self.api.send(true, || self.api.request(Method::DELETE, &self.api_url(&path))).await?;
        self.sandboxes.lock().remove(id);
        Ok(())
    }

    async fn exec(&self, id: &str, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, SandboxError> {
        let started = std::time::Instant::now();
        let e = self.envd_of(id).await?;
        let envs: serde_json::Map<String, Value> = req.env.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let cwd = match &req.cwd {
            Some(c) => remote_path(WORKDIR, c)?,
            None => WORKDIR.to_string(),
        };
        let msg = json!({
            "process": { "cmd": "/bin/bash", "args": ["-l", "-c", req.command], "envs": envs, "cwd": cwd },
            "stdin": false,
        });
        let send = self.start_stream(&e, &msg);
        let mut r = match req.timeout_s {
            Some(t) => tokio::time::timeout(std::time::Duration::from_secs(t), send)
                .await
                .map_err(|_| SandboxError::Timeout(t))??,
            None => send.await?,
        };
        let bad = |m: String| SandboxError::BadResponse { provider: "E2B", message: m };
        let mut buf = Vec::new();
        let mut bytes_out = 0u64;
        let mut exit: Option<(Option<i32>, Option<String>)> = None;
        let deadline = req.timeout_s.map(|t| tokio::time::Instant::now() + std::time::Duration::from_secs(t));
        loop {
            let next = r.chunk();
            let chunk = match deadline {
                Some(d) => tokio::time::timeout_at(d, next)
                    .await
                    .map_err(|_| SandboxError::Timeout(req.timeout_s.unwrap_or(0)))?,
                None => next.await,
            }
            .map_err(|e| SandboxError::Network { provider: "E2B", message: e.to_string() })?;
            let Some(chunk) = chunk else { break };
            buf.extend_from_slice(&chunk);
            for (flags, payload) in take_envelopes(&mut buf) {
                let v: Value = serde_json::from_slice(&payload).map_err(|e| bad(e.to_string()))?;
                if flags & 0x02 != 0 {
                    // End of stream: an error here is the RPC's failure.
                    if let Some(err) = v.get("error") {
                        let message =
                            err.get("message").and_then(Value::as_str).unwrap_or("process failed").to_string();
                        return Err(SandboxError::Api { provider: "E2B", status: 200, message });
                    }
                    continue;
                }
                let ev = v.get("event").cloned().unwrap_or(Value::Null);
                if let Some(data) = ev.get("data") {
                    if let Some(s) = data.get("stdout").and_then(Value::as_str) {
                        let d = b64(s);
                        bytes_out += d.len() as u64;
                        sink.stdout(&d);
                    }
                    if let Some(s) = data.get("stderr").and_then(Value::as_str) {
                        let d = b64(s);
                        bytes_out += d.len() as u64;
                        sink.stderr(&d);
                    }
                } else if let Some(end) = ev.get("end") {
                    let code = end.get("exitCode").and_then(Value::as_i64).map(|c| c as i32).or(Some(0));
                    exit = Some((code, end.get("error").and_then(Value::as_str).map(str::to_string)));
                }
            }
        }
        let (exit_code, _err) = exit.ok_or_else(|| bad("the process stream ended without an end event".into()))?;
        Ok(ExecOutcome { exit_code, signal: None, duration_ms: started.elapsed().as_millis() as u64, bytes_out })
    }

    async fn processes(&self, id: &str) -> Result<Vec<ProcessInfo>, SandboxError> {
        let v = self.rpc(id, "process.Process/List", json!({})).await?;
        Ok(v.get("processes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| ProcessInfo {
                        pid: p.get("pid").and_then(Value::as_u64).unwrap_or(0) as u32,
                        command: p.pointer("/config/cmd").and_then(Value::as_str).unwrap_or("?").to_string(),
                        rss_bytes: 0,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn put_file(&self, id: &str, path: &str, data: &[u8]) -> Result<(), SandboxError> {
        let rp = remote_path(WORKDIR, path)?;
        let e = self.envd_of(id).await?;
        let name = path.rsplit('/').next().unwrap_or("file").to_string();
        self.envd
            .send(true, || {
                let part = reqwest::multipart::Part::bytes(data.to_vec()).file_name(name.clone());
                self.envd_req(&e, Method::POST, "/files")
                    .query(&[("path", rp.as_str()), ("username", "user")])
                    .multipart(reqwest::multipart::Form::new().part("file", part))
            })
            .await?;
        Ok(())
    }

    async fn get_file(&self, id: &str, path: &str) -> Result<Vec<u8>, SandboxError> {
        let rp = remote_path(WORKDIR, path)?;
        let e = self.envd_of(id).await?;
        let r = self
            .envd
            .send(true, || {
                self.envd_req(&e, Method::GET, "/files").query(&[("path", rp.as_str()), ("username", "user")])
            })
            .await?;
        Ok(r.bytes().await.map_err(|e| SandboxError::Network { provider: "E2B", message: e.to_string() })?.to_vec())
    }

    async fn list_files(&self, id: &str, path: &str) -> Result<Vec<RemoteEntry>, SandboxError> {
        let v = self
            .rpc(id, "filesystem.Filesystem/ListDir", json!({ "path": remote_path(WORKDIR, path)?, "depth": 1 }))
            .await?;
        let num = |x: Option<&Value>| match x {
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            _ => 0,
        };
        Ok(v.get("entries")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| RemoteEntry {
                        name: e.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                        is_dir: e.get("type").and_then(Value::as_str) == Some("FILE_TYPE_DIRECTORY"),
                        size: num(e.get("size")),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn remove_file(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        self.rpc(id, "filesystem.Filesystem/Remove", json!({ "path": remote_path(WORKDIR, path)? })).await?;
        Ok(())
    }

    async fn make_dir(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        self.rpc(id, "filesystem.Filesystem/MakeDir", json!({ "path": remote_path(WORKDIR, path)? })).await?;
        Ok(())
    }

    async fn open_terminal(
        &self,
        id: &str,
        cols: u16,
        rows: u16,
        mut sink: Box<dyn crate::terminal::TerminalSink>,
    ) -> Result<Arc<dyn crate::terminal::TerminalHandle>, SandboxError> {
        let e = self.envd_of(id).await?;
        let msg = json!({
            "process": { "cmd": "/bin/bash", "args": ["-i", "-l"], "envs": { "TERM": "xterm-256color" }, "cwd": WORKDIR },
            "pty": { "size": { "cols": cols, "rows": rows } },
        });
        let mut r = self.start_stream(&e, &msg).await?;
        let (pid_tx, pid_rx) = tokio::sync::oneshot::channel::<u32>();
        // Output: read the stream until the end event.
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut pid_tx = Some(pid_tx);
            let mut code = None;
            while let Ok(Some(chunk)) = r.chunk().await {
                buf.extend_from_slice(&chunk);
                for (flags, payload) in take_envelopes(&mut buf) {
                    if flags & 0x02 != 0 {
                        continue;
                    }
                    let Ok(v) = serde_json::from_slice::<Value>(&payload) else { continue };
                    let ev = v.get("event").cloned().unwrap_or(Value::Null);
                    if let Some(pid) = ev.pointer("/start/pid").and_then(Value::as_u64) {
                        if let Some(tx) = pid_tx.take() {
                            let _ = tx.send(pid as u32);
                        }
                    } else if let Some(s) = ev.pointer("/data/pty").and_then(Value::as_str) {
                        sink.output(b64(s));
                    } else if let Some(end) = ev.get("end") {
                        code = end.get("exitCode").and_then(Value::as_u64).map(|c| c as u32).or(Some(0));
                    }
                }
            }
            sink.exit(code);
        });
        // Input, resize, kill: in order, once the pid is known.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<TermCmd>();
        let client = self.envd.clone();
        tokio::spawn(async move {
            let Ok(pid) = pid_rx.await else { return };
            let sel = json!({ "pid": pid });
            while let Some(cmd) = rx.recv().await {
                let res = match cmd {
                    TermCmd::Input(d) => {
                        let body = json!({ "process": sel, "input": { "pty": base64::engine::general_purpose::STANDARD.encode(d) } });
                        envd_rpc(&client, &e, "process.Process/SendInput", &body, false).await
                    }
                    TermCmd::Resize(cols, rows) => {
                        let body = json!({ "process": sel, "pty": { "size": { "cols": cols, "rows": rows } } });
                        envd_rpc(&client, &e, "process.Process/Update", &body, true).await
                    }
                    TermCmd::Kill => {
                        let body = json!({ "process": sel, "signal": "SIGNAL_SIGKILL" });
                        let _ = envd_rpc(&client, &e, "process.Process/SendSignal", &body, true).await;
                        return;
                    }
                };
                if let Err(err) = res {
                    tracing::warn!(error = %err, "remote terminal call failed");
                }
            }
        });
        Ok(Arc::new(super::RemoteTerminal { tx }))
    }

    /// Any port is reached at `<port>-<sandboxID>.<domain>`.
    async fn preview(&self, id: &str, port: u16) -> Result<PreviewTarget, SandboxError> {
        Ok(PreviewTarget { url: format!("{}://{port}-{id}.{}", self.cfg.scheme, self.cfg.domain), headers: Vec::new() })
    }
}
