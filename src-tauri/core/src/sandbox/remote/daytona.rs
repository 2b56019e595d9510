//! Daytona, written against the official contracts in `shared/specs/daytona`:
//! the control plane (`/sandbox...`, `Authorization: Bearer <DAYTONA_API_KEY>`, optional
//! `X-Daytona-Organization-ID`) and the in-sandbox toolbox reached at
//! `<toolboxProxyUrl>/<sandboxId>` (`/process/execute`, `/files...`).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{remote_path, shell_quote, ApiClient, Deadline, PtyControl, RemoteTerminal, RetryPolicy};
use crate::paths::ProjectRoot;
use crate::preview::Upstream;
use crate::sandbox::*;
use crate::secrets::Secret;

/// Where the project lives, relative to the sandbox user's home (the toolbox's base folder).
const WORKDIR: &str = "workspace";

/// The SDKs' default API base.
pub const DEFAULT_API_URL: &str = "https://app.daytona.io/api";

#[derive(Debug, Clone)]
pub struct DaytonaConfig {
    /// `DAYTONA_API_URL`.
    pub api_url: String,
    /// `DAYTONA_TARGET` (region), if any.
    pub target: Option<String>,
    pub organization_id: Option<String>,
}

impl Default for DaytonaConfig {
    fn default() -> Self {
        Self { api_url: DEFAULT_API_URL.into(), target: None, organization_id: None }
    }
}

/// The fields of the spec's `Sandbox` schema that Aura uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DtSandbox {
    id: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error_reason: Option<String>,
    #[serde(default)]
    cpu: Option<f32>,
    /// GiB.
    #[serde(default)]
    memory: Option<f64>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    toolbox_proxy_url: Option<String>,
    #[serde(default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    last_activity_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileInfo {
    name: String,
    is_dir: bool,
    size: u64,
}

#[derive(Debug, Deserialize)]
struct PreviewUrl {
    url: String,
    token: String,
}

/// Maps the spec's `SandboxState` values; anything new is `Unknown`, never a wrong state.
pub fn map_state(s: Option<&str>) -> SandboxState {
    use SandboxState::*;
    match s.unwrap_or("unknown") {
        "creating" => Creating,
        "restoring" => Restoring,
        "destroyed" => Destroyed,
        "destroying" => Destroying,
        "started" => Started,
        "stopped" => Stopped,
        "starting" => Starting,
        "stopping" => Stopping,
        "error" => Error,
        "build_failed" => BuildFailed,
        "pending_build" => PendingBuild,
        "building_snapshot" => BuildingSnapshot,
        "pulling_snapshot" => PullingSnapshot,
        "archived" => Archived,
        "archiving" => Archiving,
        "resizing" => Resizing,
        "snapshotting" => Snapshotting,
        "forking" => Forking,
        "pausing" => Pausing,
        "paused" => Paused,
        "resuming" => Resuming,
        _ => Unknown,
    }
}

pub struct DaytonaProvider {
    api: ApiClient,
    cfg: DaytonaConfig,
    /// Toolbox base URL per sandbox (from the sandbox record).
    toolbox: Mutex<HashMap<String, String>>,
}

impl DaytonaProvider {
    /// Every sandbox (with `labels`, a JSON object, only those carrying them), following the
    /// cursor pagination of `ListSandboxesResponse` to the end.
    async fn list_filtered(&self, labels: Option<String>) -> Result<Vec<SandboxInfo>, SandboxError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            items: Vec<DtSandbox>,
            next_cursor: Option<String>,
        }
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let r = self
                .api
                .send(true, || {
                    let mut b = self.req(Method::GET, "/sandbox").query(&[("limit", "200")]);
                    if let Some(l) = &labels {
                        b = b.query(&[("labels", l.as_str())]);
                    }
                    match &cursor {
                        Some(c) => b.query(&[("cursor", c.as_str())]),
                        None => b,
                    }
                })
                .await?;
            let page: Page = self.api.json(r).await?;
            out.extend(page.items.into_iter().map(|s| self.info(s)));
            match page.next_cursor.filter(|c| !c.is_empty()) {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(out)
    }

    pub fn new(cfg: DaytonaConfig, key: Secret, retry: RetryPolicy) -> Result<Self, SandboxError> {
        let auth = Secret::new(format!("Bearer {}", key.expose()));
        let api = ApiClient::new("Daytona", "Authorization", auth, retry)?;
        Ok(Self { api, cfg, toolbox: Mutex::new(HashMap::new()) })
    }

    fn auth_header_value(&self) -> String {
        self.api.auth_value().to_string()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.cfg.api_url.trim_end_matches('/'), path)
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let b = self.api.request(method, &self.url(path));
        match &self.cfg.organization_id {
            Some(org) => b.header("X-Daytona-Organization-ID", org),
            None => b,
        }
    }

    fn info(&self, s: DtSandbox) -> SandboxInfo {
        if let Some(t) = &s.toolbox_proxy_url {
            self.toolbox.lock().insert(s.id.clone(), format!("{}/{}", t.trim_end_matches('/'), s.id));
        }
        SandboxInfo {
            provider: ProviderKind::Daytona,
            state: map_state(s.state.as_deref()),
            isolated: true,
            detail: s.error_reason.or(s.target.map(|t| format!("region {t}"))),
            cpu: s.cpu,
            memory_bytes: s.memory.map(|g| (g * 1024.0 * 1024.0 * 1024.0) as u64),
            guard: None,
            labels: s.labels.unwrap_or_default(),
            started_ms: s.created_at.as_deref().and_then(super::epoch_ms),
            active_ms: s.last_activity_at.as_deref().and_then(super::epoch_ms),
            id: s.id,
        }
    }

    async fn sandbox_call(&self, method: Method, path: String, idempotent: bool) -> Result<SandboxInfo, SandboxError> {
        let r = self.api.send(idempotent, || self.req(method.clone(), &path)).await?;
        let s: DtSandbox = self.api.json(r).await?;
        Ok(self.info(s))
    }

    /// The toolbox base for a sandbox, asking the API when it is not known yet.
    async fn toolbox_base(&self, id: &str) -> Result<String, SandboxError> {
        if let Some(b) = self.toolbox.lock().get(id).cloned() {
            return Ok(b);
        }
        let path = format!("/sandbox/{}/toolbox-proxy-url", enc(id));
        let r = self.api.send(true, || self.req(Method::GET, &path)).await?;
        #[derive(Deserialize)]
        struct U {
            url: String,
        }
        let u: U = self.api.json(r).await?;
        let base = format!("{}/{}", u.url.trim_end_matches('/'), id);
        self.toolbox.lock().insert(id.to_string(), base.clone());
        Ok(base)
    }

    async fn exec_in_session(
        &self,
        base: &str,
        session: &str,
        req: &ExecRequest,
        sink: &mut dyn ExecSink,
        started: std::time::Instant,
    ) -> Result<ExecOutcome, SandboxError> {
        // The toolbox session has no cwd/env fields: put them in the command line.
        let mut line = String::new();
        for (k, v) in &req.env {
            line.push_str(&format!("export {k}={}; ", shell_quote(v)));
        }
        if let Some(c) = &req.cwd {
            line.push_str(&format!("cd {} && ", shell_quote(&remote_path(WORKDIR, c)?)));
        } else {
            line.push_str("cd workspace 2>/dev/null; ");
        }
        line.push_str(&req.command);
        let url = format!("{base}/process/session/{session}/exec");
        let body = json!({ "command": line, "runAsync": true });
        let r = self.api.send(false, || self.api.request(Method::POST, &url).json(&body)).await?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Started {
            cmd_id: String,
        }
        let cmd: Started = self.api.json(r).await?;
        #[derive(Deserialize, Default)]
        struct Logs {
            #[serde(default)]
            stdout: String,
            #[serde(default)]
            stderr: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Cmd {
            exit_code: Option<i32>,
        }
        let logs_url = format!("{base}/process/session/{session}/command/{}/logs", cmd.cmd_id);
        let cmd_url = format!("{base}/process/session/{session}/command/{}", cmd.cmd_id);
        let (mut out_at, mut err_at, mut bytes_out) = (0usize, 0usize, 0u64);
        let deadline = Deadline::after(req.timeout_s);
        loop {
            // Read the exit code first, so the logs fetched after it are complete.
            let r = self.api.send(true, || self.api.request(Method::GET, &cmd_url)).await?;
            let state: Cmd = self.api.json(r).await?;
            let r = self
                .api
                .send(true, || self.api.request(Method::GET, &logs_url).header("Accept", "application/json"))
                .await?;
            let logs: Logs = self.api.json(r).await.unwrap_or_default();
            if logs.stdout.len() > out_at {
                sink.stdout(&logs.stdout.as_bytes()[out_at..]);
                bytes_out += (logs.stdout.len() - out_at) as u64;
                out_at = logs.stdout.len();
            }
            if logs.stderr.len() > err_at {
                sink.stderr(&logs.stderr.as_bytes()[err_at..]);
                bytes_out += (logs.stderr.len() - err_at) as u64;
                err_at = logs.stderr.len();
            }
            if let Some(code) = state.exit_code {
                return Ok(ExecOutcome {
                    exit_code: Some(code),
                    signal: None,
                    duration_ms: started.elapsed().as_millis() as u64,
                    bytes_out,
                });
            }
            deadline.check()?;
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
    }

    async fn tb(&self, id: &str, method: Method, path: &str) -> Result<(String, reqwest::Method), SandboxError> {
        Ok((format!("{}{}", self.toolbox_base(id).await?, path), method))
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[async_trait]
impl Lifecycle for DaytonaProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Daytona
    }

    async fn create(&self, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError> {
        let env: serde_json::Map<String, serde_json::Value> =
            spec.env.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let mut labels: serde_json::Map<String, serde_json::Value> =
            spec.labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        labels.insert("created-by".into(), json!("aura"));
        let mut body = json!({ "env": env, "labels": labels });
        let o = body.as_object_mut().unwrap();
        if let Some(n) = &spec.name {
            o.insert("name".into(), json!(n));
        }
        if let Some(i) = &spec.image {
            o.insert("snapshot".into(), json!(i));
        }
        if let Some(t) = &self.cfg.target {
            o.insert("target".into(), json!(t));
        }
        if let Some(c) = spec.limits.cpus {
            o.insert("cpu".into(), json!(c));
        }
        if let Some(m) = spec.limits.memory_bytes {
            o.insert("memory".into(), json!((m >> 30).max(1)));
        }
        if let Some(d) = spec.limits.disk_gib {
            o.insert("disk".into(), json!(d));
        }
        if let Some(a) = spec.auto_stop_minutes {
            o.insert("autoStopInterval".into(), json!(a));
        }
        match &spec.egress {
            Egress::Internet => {}
            Egress::Offline => {
                o.insert("networkBlockAll".into(), json!(true));
            }
            // Daytona keeps names and ranges apart, and no ports.
            Egress::Only(hosts) => {
                let (names, nets) = Egress::split_hosts(hosts);
                o.insert("domainAllowList".into(), json!(names.join(",")));
                o.insert("networkAllowList".into(), json!(nets.join(",")));
            }
        }
        // Creating is not idempotent: only a 429 (or a connection never made) is retried.
        let r = self.api.send(false, || self.req(Method::POST, "/sandbox").json(&body)).await?;
        let s: DtSandbox = self.api.json(r).await?;
        Ok(self.info(s))
    }

    async fn get(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.sandbox_call(Method::GET, format!("/sandbox/{}", enc(id)), true).await
    }

    async fn list(&self) -> Result<Vec<SandboxInfo>, SandboxError> {
        self.list_filtered(None).await
    }

    async fn list_labelled(&self, labels: &[(String, String)]) -> Result<Vec<SandboxInfo>, SandboxError> {
        let map: serde_json::Map<String, serde_json::Value> =
            labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        self.list_filtered(Some(serde_json::Value::Object(map).to_string())).await
    }

    async fn start(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.sandbox_call(Method::POST, format!("/sandbox/{}/start", enc(id)), true).await
    }

    /// Daytona's last activity updated: its auto-stop interval counts from now.
    async fn keep_alive(&self, id: &str, _idle: std::time::Duration) -> Result<(), SandboxError> {
        let path = format!("/sandbox/{}/last-activity", enc(id));
        self.api.send(true, || self.req(Method::POST, &path)).await?;
        Ok(())
    }

    async fn stop(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.sandbox_call(Method::POST, format!("/sandbox/{}/stop", enc(id)), true).await
    }

    async fn pause(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.sandbox_call(Method::POST, format!("/sandbox/{}/pause", enc(id)), true).await
    }

    /// Daytona resumes a paused sandbox with `start`.
    async fn resume(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.start(id).await
    }

    async fn delete(&self, id: &str) -> Result<(), SandboxError> {
        let path = format!("/sandbox/{}", enc(id));
        self.api.send(true, || self.req(Method::DELETE, &path)).await?;
        self.toolbox.lock().remove(id);
        Ok(())
    }
}

/// Deletes a toolbox session (ending what runs in it): at once with [`SessionEnd::now`], or in
/// the background when dropped before.
struct SessionEnd {
    api: ApiClient,
    url: Option<String>,
}

impl SessionEnd {
    async fn now(mut self) {
        if let Some(url) = self.url.take() {
            let _ = self.api.send(true, || self.api.request(Method::DELETE, &url)).await;
        }
    }
}

impl Drop for SessionEnd {
    fn drop(&mut self) {
        let (Some(url), Ok(rt)) = (self.url.take(), tokio::runtime::Handle::try_current()) else { return };
        let api = self.api.clone();
        rt.spawn(async move {
            if let Err(e) = api.send(true, || api.request(Method::DELETE, &url)).await {
                tracing::warn!(error = %e, "a stopped command's session could not be deleted in the Daytona sandbox");
            }
        });
    }
}

#[async_trait]
impl Exec for DaytonaProvider {
    /// Runs the command asynchronously in a fresh toolbox session and streams its logs by
    /// polling (`/process/session/{id}/command/{cmd}/logs`, stdout and stderr apart) until the
    /// command reports its exit code; the session is deleted afterwards.
    async fn exec(&self, id: &str, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, SandboxError> {
        let started = std::time::Instant::now();
        let base = self.toolbox_base(id).await?;
        let session = format!("aura-exec-{}", uuid::Uuid::new_v4());
        let url = format!("{base}/process/session");
        self.api.send(false, || self.api.request(Method::POST, &url).json(&json!({ "sessionId": session }))).await?;
        // Deleting the session ends its command: done after the command, and also when it is
        // stopped by the user or dropped (the guard's drop), so nothing keeps running there.
        let guard = SessionEnd { api: self.api.clone(), url: Some(format!("{base}/process/session/{session}")) };
        let result = self.exec_in_session(&base, &session, req, sink, started).await;
        guard.now().await;
        result
    }

    async fn processes(&self, _id: &str) -> Result<Vec<ProcessInfo>, SandboxError> {
        Err(SandboxError::Unsupported("listing processes"))
    }
}

#[async_trait]
impl Files for DaytonaProvider {
    async fn put_file(&self, id: &str, path: &str, data: &[u8]) -> Result<(), SandboxError> {
        let rp = remote_path(WORKDIR, path)?;
        let (url, m) = self.tb(id, Method::POST, "/files/upload").await?;
        let name = path.rsplit('/').next().unwrap_or("file").to_string();
        self.api
            .send(true, || {
                let part = reqwest::multipart::Part::bytes(data.to_vec()).file_name(name.clone());
                let form = reqwest::multipart::Form::new().part("file", part);
                self.api.request(m.clone(), &url).query(&[("path", rp.as_str())]).multipart(form)
            })
            .await?;
        Ok(())
    }

    async fn get_file(&self, id: &str, path: &str) -> Result<Vec<u8>, SandboxError> {
        let rp = remote_path(WORKDIR, path)?;
        let (url, m) = self.tb(id, Method::GET, "/files/download").await?;
        let r = self.api.send(true, || self.api.request(m.clone(), &url).query(&[("path", rp.as_str())])).await?;
        Ok(r.bytes().await.map_err(|e| SandboxError::Network { provider: "Daytona", message: e.to_string() })?.to_vec())
    }

    async fn list_files(&self, id: &str, path: &str) -> Result<Vec<RemoteEntry>, SandboxError> {
        let rp = remote_path(WORKDIR, path)?;
        let (url, m) = self.tb(id, Method::GET, "/files").await?;
        let r = self.api.send(true, || self.api.request(m.clone(), &url).query(&[("path", rp.as_str())])).await?;
        let list: Vec<FileInfo> = self.api.json(r).await?;
        Ok(list.into_iter().map(|f| RemoteEntry { name: f.name, is_dir: f.is_dir, size: f.size }).collect())
    }

    async fn remove_file(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        let rp = remote_path(WORKDIR, path)?;
        let (url, m) = self.tb(id, Method::DELETE, "/files").await?;
        self.api
            .send(true, || self.api.request(m.clone(), &url).query(&[("path", rp.as_str()), ("recursive", "true")]))
            .await?;
        Ok(())
    }

    async fn make_dir(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        let rp = remote_path(WORKDIR, path)?;
        let (url, m) = self.tb(id, Method::POST, "/files/folder").await?;
        self.api
            .send(true, || self.api.request(m.clone(), &url).query(&[("path", rp.as_str()), ("mode", "755")]))
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Terminals for DaytonaProvider {
    async fn open_terminal(
        &self,
        id: &str,
        cols: u16,
        rows: u16,
        sink: Box<dyn crate::terminal::TerminalSink>,
    ) -> Result<std::sync::Arc<dyn crate::terminal::TerminalHandle>, SandboxError> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::Message;

        let base = self.toolbox_base(id).await?;
        let session = format!("aura-{}", uuid::Uuid::new_v4());
        let body = json!({ "id": session, "cols": cols, "rows": rows, "cwd": "workspace", "envs": { "TERM": "xterm-256color" }, "lazyStart": false });
        let url = format!("{base}/process/pty");
        let r = self.api.send(false, || self.api.request(Method::POST, &url).json(&body)).await?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            session_id: String,
        }
        let created: Created = self.api.json(r).await?;
        let sid = created.session_id;
        let ws_url = format!("{base}/process/pty/{sid}/connect").replacen("http", "ws", 1);
        let net = |m: String| SandboxError::Network { provider: "Daytona", message: m };
        let mut req = ws_url.into_client_request().map_err(|e| net(e.to_string()))?;
        req.headers_mut().insert(
            "Authorization",
            self.auth_header_value()
                .parse()
                .map_err(|_| SandboxError::Spawn("the API key has characters not allowed in an HTTP header".into()))?,
        );
        let (ws, _) = tokio_tungstenite::connect_async(req).await.map_err(|e| net(e.to_string()))?;
        let (ws_tx, mut ws_rx) = ws.split();
        let (mut sink, relayed) =
            crate::terminal::relay_output(cols, rows, sink).map_err(|e| SandboxError::Spawn(e.to_string()))?;
        tokio::spawn(async move {
            while let Some(Ok(msg)) = ws_rx.next().await {
                match msg {
                    Message::Binary(b) => sink.output(b.to_vec()),
                    Message::Text(t) => sink.output(t.as_bytes().to_vec()),
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            sink.exit(None);
        });
        Ok(relayed.handle(RemoteTerminal::start(DaytonaPty {
            ws: ws_tx,
            api: self.api.clone(),
            url: format!("{base}/process/pty/{sid}"),
        })))
    }
}

#[async_trait]
impl Previews for DaytonaProvider {
    /// The port's preview URL, with its token as the header Daytona's preview host checks.
    async fn preview(&self, id: Option<&str>, port: u16) -> Result<Upstream, SandboxError> {
        let id = id.ok_or_else(super::no_sandbox_yet)?;
        let path = format!("/sandbox/{}/ports/{port}/preview-url", enc(id));
        let r = self.api.send(true, || self.req(Method::GET, &path)).await?;
        let p: PreviewUrl = self.api.json(r).await?;
        super::upstream(&p.url, vec![("x-daytona-preview-token".into(), p.token)])
    }

    /// The toolbox's list of active ports.
    async fn listening_ports(&self, id: &str) -> Result<Vec<u16>, SandboxError> {
        #[derive(Deserialize)]
        struct PortList {
            #[serde(default)]
            ports: Vec<u16>,
        }
        let (url, m) = self.tb(id, Method::GET, "/port").await?;
        let r = self.api.send(true, || self.api.request(m.clone(), &url)).await?;
        let mut list: PortList = self.api.json(r).await?;
        list.ports.sort_unstable();
        list.ports.dedup();
        Ok(list.ports)
    }
}

#[async_trait]
impl Provider for DaytonaProvider {
    /// A copy of the project, then a mirror that keeps it equal.
    async fn deliver(
        self: Arc<Self>,
        id: &str,
        project: &ProjectRoot,
        ledger: crate::sandbox::ledger::Ledger,
    ) -> Result<Delivery, SandboxError> {
        super::copy_in(self, id, project, ledger).await
    }
}

type WsSink = futures::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Message,
>;

/// A toolbox PTY session: input over its WebSocket, resize and kill through REST.
struct DaytonaPty {
    ws: WsSink,
    api: ApiClient,
    /// `<toolbox>/process/pty/<session>`
    url: String,
}

#[async_trait]
impl PtyControl for DaytonaPty {
    async fn input(&mut self, data: Vec<u8>) -> Result<(), SandboxError> {
        use futures::SinkExt;
        let msg = tokio_tungstenite::tungstenite::Message::Binary(data.into());
        self.ws.send(msg).await.map_err(|e| SandboxError::Network { provider: "Daytona", message: e.to_string() })
    }

    async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), SandboxError> {
        let (api, url, body) = (&self.api, format!("{}/resize", self.url), json!({ "cols": cols, "rows": rows }));
        api.send(true, || api.request(Method::POST, &url).json(&body)).await.map(|_| ())
    }

    async fn kill(&mut self) {
        use futures::SinkExt;
        let _ = self.ws.close().await;
        let _ = self.api.send(true, || self.api.request(Method::DELETE, &self.url)).await;
    }
}
