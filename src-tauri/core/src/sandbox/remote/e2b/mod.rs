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
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{json, Value};

use super::{remote_path, ApiClient, Deadline, PtyControl, RemoteTerminal, RetryPolicy};
use crate::paths::ProjectRoot;
use crate::preview::Upstream;
use crate::sandbox::*;
use crate::secrets::Secret;

mod wire;
pub use wire::{envelope, take_envelopes};
use wire::{Event, ProcessStream};

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

/// E2B states are `running` and `paused`; a sandbox past its timeout is gone (404).
/// The header E2B's proxy checks on a sandbox URL created with `allowPublicTraffic: false`.
pub const TRAFFIC_HEADER: &str = "e2b-traffic-access-token";

/// The network a sandbox is created with: its URLs only with the traffic token (Aura's preview
/// proxy adds it; a link that leaks is useless); no way to private ranges (E2B's own network;
/// the same list the local sandbox refuses); for a list of hosts, those (allowOut wins over
/// denyOut) and nothing else.
fn network(egress: &Egress) -> Value {
    match egress {
        Egress::Only(hosts) => {
            let (names, nets) = Egress::split_hosts(hosts);
            json!({
                "allowPublicTraffic": false,
                "allowOut": names.into_iter().chain(nets).collect::<Vec<_>>(),
                "denyOut": ["0.0.0.0/0"],
            })
        }
        _ => json!({
            "allowPublicTraffic": false,
            "denyOut": crate::sandbox::local::egress::BLOCKED_V4,
        }),
    }
}

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
    /// The token its port URLs want (sandboxes are created with `allowPublicTraffic: false`).
    traffic: Option<String>,
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

    fn remember(&self, s: &wire::Sandbox) {
        let domain = s.domain.clone().unwrap_or_else(|| self.cfg.domain.clone());
        let base = format!("{}://{ENVD_PORT}-{}.{domain}", self.cfg.scheme, s.sandbox_id);
        let mut map = self.sandboxes.lock();
        let known = map.get(&s.sandbox_id);
        let token = s.envd_access_token.clone().or_else(|| known.and_then(|e| e.token.clone()));
        let traffic = s.traffic_access_token.clone().or_else(|| known.and_then(|e| e.traffic.clone()));
        map.insert(s.sandbox_id.clone(), Envd { base, token, traffic });
    }

    /// `GET /v2/sandboxes` of running and paused sandboxes (with a metadata query), every page
    /// of it (the API answers at most 100 and says where the next page starts in
    /// `X-Next-Token`).
    async fn list_where(&self, metadata: Option<String>) -> Result<Vec<SandboxInfo>, SandboxError> {
        let url = self.api_url("/v2/sandboxes");
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..1000 {
            let r = self
                .api
                .send(true, || {
                    let mut b =
                        self.api.request(Method::GET, &url).query(&[("state", "running,paused"), ("limit", "100")]);
                    if let Some(m) = &metadata {
                        b = b.query(&[("metadata", m.as_str())]);
                    }
                    match &next {
                        Some(t) => b.query(&[("nextToken", t.as_str())]),
                        None => b,
                    }
                })
                .await?;
            next = r
                .headers()
                .get("x-next-token")
                .and_then(|v| v.to_str().ok())
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            let page: Vec<wire::Sandbox> = self.api.json(r).await?;
            out.extend(page.iter().map(|s| self.info(s)));
            if next.is_none() {
                break;
            }
        }
        Ok(out)
    }

    fn info(&self, s: &wire::Sandbox) -> SandboxInfo {
        SandboxInfo {
            id: s.sandbox_id.clone(),
            provider: ProviderKind::E2b,
            state: map_state(s.state.as_deref()),
            isolated: true,
            detail: s.end_at.as_ref().map(|e| format!("ends at {e} unless extended or paused")),
            cpu: s.cpu_count,
            memory_bytes: s.memory_mb.map(|m| m * 1024 * 1024),
            guard: None,
            labels: s.metadata.clone().unwrap_or_default(),
            started_ms: s.started_at.as_deref().and_then(crate::sandbox::remote::epoch_ms),
            active_ms: None,
        }
    }

    /// envd address and token for a sandbox, connecting (which also resumes) when unknown.
    async fn envd_of(&self, id: &str) -> Result<Envd, SandboxError> {
        if let Some(e) = self.sandboxes.lock().get(id).cloned() {
            if e.token.is_some() {
                return Ok(e);
            }
        }
        self.connect(id, 300).await?;
        self.sandboxes.lock().get(id).cloned().ok_or_else(|| SandboxError::NotFound(id.to_string()))
    }

    /// Connects to sandbox `id` (resuming it if paused) and keeps it alive `timeout_s` more;
    /// remembers its envd address and token.
    async fn connect(&self, id: &str, timeout_s: u64) -> Result<(), SandboxError> {
        let path = format!("/sandboxes/{id}/connect");
        let body = json!({ "timeout": timeout_s });
        let r = self.api.send(true, || self.api.request(Method::POST, &self.api_url(&path)).json(&body)).await?;
        let s: wire::Sandbox = self.api.json(r).await?;
        self.remember(&s);
        Ok(())
    }

    fn envd_req(&self, e: &Envd, method: Method, path: &str) -> reqwest::RequestBuilder {
        envd_request(&self.envd, e, method, path)
    }

    /// A unary Connect-RPC call with a JSON body.
    async fn rpc<T: DeserializeOwned>(&self, id: &str, method: &str, body: Value) -> Result<T, SandboxError> {
        let e = self.envd_of(id).await?;
        envd_rpc(&self.envd, &e, method, &body, true).await
    }

    /// Starts `process` with a server-streamed response (`process.Process/Start`).
    async fn start_stream(&self, e: &Envd, msg: &Value) -> Result<ProcessStream, SandboxError> {
        let body = envelope(0, msg.to_string().as_bytes());
        // Starting a process is not idempotent: no retries beyond 429 / unsent requests.
        let r = self
            .envd
            .send(false, || {
                envd_request(&self.envd, e, Method::POST, "/process.Process/Start")
                    .header("Content-Type", "application/connect+json")
                    .header("Connect-Protocol-Version", "1")
                    .body(body.clone())
            })
            .await?;
        Ok(ProcessStream::new(r))
    }
}

fn envd_request(client: &ApiClient, e: &Envd, method: Method, path: &str) -> reqwest::RequestBuilder {
    let b = client.request(method, &format!("{}{path}", e.base));
    match &e.token {
        Some(t) => b.header("X-Access-Token", t),
        None => b,
    }
}

async fn envd_rpc<T: DeserializeOwned>(
    client: &ApiClient,
    e: &Envd,
    method: &str,
    body: &Value,
    idempotent: bool,
) -> Result<T, SandboxError> {
    let r = client
        .send(idempotent, || {
            envd_request(client, e, Method::POST, &format!("/{method}"))
                .header("Connect-Protocol-Version", "1")
                .json(body)
        })
        .await?;
    client.json(r).await
}

#[async_trait]
impl Lifecycle for E2bProvider {
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
            "allow_internet_access": spec.egress != Egress::Offline,
            "network": network(&spec.egress),
        });
        let r =
            self.api.send(false, || self.api.request(Method::POST, &self.api_url("/sandboxes")).json(&body)).await?;
        let s: wire::Sandbox = self.api.json(r).await?;
        self.remember(&s);
        Ok(self.info(&s))
    }

    async fn get(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        let path = format!("/sandboxes/{id}");
        let r = self.api.send(true, || self.api.request(Method::GET, &self.api_url(&path))).await?;
        let s: wire::Sandbox = self.api.json(r).await?;
        self.remember(&s);
        Ok(self.info(&s))
    }

    /// Running and paused sandboxes of the account, newest first.
    async fn list(&self) -> Result<Vec<SandboxInfo>, SandboxError> {
        self.list_where(None).await
    }

    /// Running and paused sandboxes whose metadata has all of `labels` (newest first).
    async fn list_labelled(&self, labels: &[(String, String)]) -> Result<Vec<SandboxInfo>, SandboxError> {
        // "k=v&k2=v2", each key and value URL-encoded (the query then encodes it once more).
        let metadata = reqwest::Url::parse_with_params("aura:/", labels)
            .ok()
            .and_then(|u| u.query().map(str::to_string))
            .unwrap_or_default();
        self.list_where(Some(metadata)).await
    }

    /// The timeout set again from now: E2B pauses the sandbox `idle` after the last call.
    async fn keep_alive(&self, id: &str, idle: std::time::Duration) -> Result<(), SandboxError> {
        let url = self.api_url(&format!("/sandboxes/{id}/timeout"));
        let body = json!({ "timeout": idle.as_secs().max(1) });
        self.api.send(true, || self.api.request(Method::POST, &url).json(&body)).await?;
        Ok(())
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
        self.connect(id, 1800).await?;
        self.get(id).await
    }

    async fn delete(&self, id: &str) -> Result<(), SandboxError> {
        let path = format!("/sandboxes/{id}");
        self.api.send(true, || self.api.request(Method::DELETE, &self.api_url(&path))).await?;
        self.sandboxes.lock().remove(id);
        Ok(())
    }
}

#[async_trait]
impl Exec for E2bProvider {
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
        let deadline = Deadline::after(req.timeout_s);
        let mut stream = deadline.within(self.start_stream(&e, &msg)).await??;
        // Timed out, stopped by the user or dropped, the command's process is ended in the
        // sandbox too (a stream closed by Aura does not end it there).
        let mut reaper = Reaper { client: self.envd.clone(), envd: e.clone(), pid: None };
        let mut bytes_out = 0u64;
        let mut exit = None;
        while let Some(event) = deadline.within(stream.next()).await?? {
            match event {
                Event::Stdout(d) => {
                    bytes_out += d.len() as u64;
                    sink.stdout(&d);
                }
                Event::Stderr(d) => {
                    bytes_out += d.len() as u64;
                    sink.stderr(&d);
                }
                Event::Ended { exit_code, .. } => {
                    exit = Some(exit_code);
                    reaper.pid = None;
                }
                Event::Started { pid } => reaper.pid = Some(pid),
                Event::Pty(_) => {}
            }
        }
        let exit_code = exit.ok_or_else(|| SandboxError::BadResponse {
            provider: "E2B",
            message: "the process stream ended without an end event".into(),
        })?;
        Ok(ExecOutcome {
            exit_code: Some(exit_code),
            signal: None,
            duration_ms: started.elapsed().as_millis() as u64,
            bytes_out,
        })
    }

    async fn processes(&self, id: &str) -> Result<Vec<ProcessInfo>, SandboxError> {
        let list: wire::ProcessList = self.rpc(id, "process.Process/List", json!({})).await?;
        Ok(list
            .processes
            .into_iter()
            .map(|p| ProcessInfo {
                pid: p.pid,
                command: p.config.map(|c| c.cmd).unwrap_or_else(|| "?".into()),
                rss_bytes: 0,
            })
            .collect())
    }
}

#[async_trait]
impl Files for E2bProvider {
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
        let body = json!({ "path": remote_path(WORKDIR, path)?, "depth": 1 });
        let dir: wire::DirListing = self.rpc(id, "filesystem.Filesystem/ListDir", body).await?;
        Ok(dir
            .entries
            .into_iter()
            .map(|e| RemoteEntry { is_dir: e.file_type == "FILE_TYPE_DIRECTORY", name: e.name, size: e.size })
            .collect())
    }

    async fn remove_file(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        self.rpc::<IgnoredAny>(id, "filesystem.Filesystem/Remove", json!({ "path": remote_path(WORKDIR, path)? }))
            .await?;
        Ok(())
    }

    async fn make_dir(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        self.rpc::<IgnoredAny>(id, "filesystem.Filesystem/MakeDir", json!({ "path": remote_path(WORKDIR, path)? }))
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Terminals for E2bProvider {
    async fn open_terminal(
        &self,
        id: &str,
        cols: u16,
        rows: u16,
        sink: Box<dyn crate::terminal::TerminalSink>,
    ) -> Result<Arc<dyn crate::terminal::TerminalHandle>, SandboxError> {
        let e = self.envd_of(id).await?;
        let msg = json!({
            "process": { "cmd": "/bin/bash", "args": ["-i", "-l"], "envs": { "TERM": "xterm-256color" }, "cwd": WORKDIR },
            "pty": { "size": { "cols": cols, "rows": rows } },
        });
        let mut stream = self.start_stream(&e, &msg).await?;
        let (mut sink, relayed) =
            crate::terminal::relay_output(cols, rows, sink).map_err(|e| SandboxError::Spawn(e.to_string()))?;
        let (pid_tx, pid_rx) = tokio::sync::oneshot::channel::<u32>();
        // Output: read the stream until the end event.
        tokio::spawn(async move {
            let mut pid_tx = Some(pid_tx);
            let mut code = None;
            while let Ok(Some(event)) = stream.next().await {
                match event {
                    Event::Started { pid } => {
                        if let Some(tx) = pid_tx.take() {
                            let _ = tx.send(pid);
                        }
                    }
                    Event::Pty(d) => sink.output(d),
                    Event::Ended { exit_code, .. } => code = Some(exit_code as u32),
                    Event::Stdout(_) | Event::Stderr(_) => {}
                }
            }
            sink.exit(code);
        });
        Ok(relayed.handle(RemoteTerminal::start(E2bPty {
            client: self.envd.clone(),
            envd: e,
            pid: Pid::Waiting(Some(pid_rx)),
        })))
    }
}

#[async_trait]
impl Previews for E2bProvider {
    /// Any port is reached at `<port>-<sandboxID>.<domain>`, with the sandbox's traffic token
    /// (its URLs are not open to the world).
    async fn preview(&self, id: Option<&str>, port: u16) -> Result<Upstream, SandboxError> {
        let id = id.ok_or_else(super::no_sandbox_yet)?;
        let headers = match self.envd_of(id).await?.traffic {
            Some(t) => vec![(TRAFFIC_HEADER.to_string(), t)],
            None => Vec::new(),
        };
        let mut up = super::upstream(&format!("{}://{port}-{id}.{}", self.cfg.scheme, self.cfg.domain), headers)?;
        // Reached where every host of the domain is (a local stand-in in tests).
        up.connect_to = self.cfg.resolve_all_to;
        Ok(up)
    }

    /// The sandbox's TCP listeners, read from its kernel's tables by a short command (E2B has
    /// no port listing); envd's own port is not the app's.
    async fn listening_ports(&self, id: &str) -> Result<Vec<u16>, SandboxError> {
        struct Text(Vec<u8>);
        impl ExecSink for Text {
            fn stdout(&mut self, d: &[u8]) {
                self.0.extend_from_slice(d);
            }
            fn stderr(&mut self, _: &[u8]) {}
        }
        let mut out = Text(Vec::new());
        let req = ExecRequest {
            command: "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; true".into(),
            timeout_s: Some(20),
            ..Default::default()
        };
        self.exec(id, &req, &mut out).await?;
        let ports = crate::preview::ports::listening_in(&String::from_utf8_lossy(&out.0));
        Ok(ports.into_iter().filter(|&p| p != ENVD_PORT).collect())
    }
}

#[async_trait]
impl Provider for E2bProvider {
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

/// The process of a PTY: its pid arrives with the stream's start event.
enum Pid {
    Waiting(Option<tokio::sync::oneshot::Receiver<u32>>),
    Known(u32),
}

/// An envd PTY process: input, resize and kill as Connect-RPC calls naming its pid.
/// Ends a command's process in the sandbox when dropped before its end event (`pid` is cleared
/// when the process ends by itself).
struct Reaper {
    client: ApiClient,
    envd: Envd,
    pid: Option<u32>,
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let (Some(pid), Ok(rt)) = (self.pid, tokio::runtime::Handle::try_current()) else { return };
        let (client, envd) = (self.client.clone(), self.envd.clone());
        rt.spawn(async move {
            let body = json!({ "process": { "pid": pid }, "signal": "SIGNAL_SIGKILL" });
            if let Err(e) = envd_rpc::<IgnoredAny>(&client, &envd, "process.Process/SendSignal", &body, true).await {
                tracing::warn!(pid, error = %e, "a stopped command's process could not be ended in the E2B sandbox");
            }
        });
    }
}

struct E2bPty {
    client: ApiClient,
    envd: Envd,
    pid: Pid,
}

impl E2bPty {
    async fn selector(&mut self) -> Result<Value, SandboxError> {
        if let Pid::Waiting(rx) = &mut self.pid {
            let ended = || SandboxError::Spawn("the terminal's process did not start".into());
            let pid = rx.take().ok_or_else(ended)?.await.map_err(|_| ended())?;
            self.pid = Pid::Known(pid);
        }
        let Pid::Known(pid) = self.pid else { unreachable!("set above") };
        Ok(json!({ "pid": pid }))
    }

    async fn call(&mut self, method: &str, body: Value, idempotent: bool) -> Result<(), SandboxError> {
        envd_rpc::<IgnoredAny>(&self.client, &self.envd, method, &body, idempotent).await.map(|_| ())
    }
}

#[async_trait]
impl PtyControl for E2bPty {
    async fn input(&mut self, data: Vec<u8>) -> Result<(), SandboxError> {
        let sel = self.selector().await?;
        let pty = base64::engine::general_purpose::STANDARD.encode(data);
        self.call("process.Process/SendInput", json!({ "process": sel, "input": { "pty": pty } }), false).await
    }

    async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), SandboxError> {
        let sel = self.selector().await?;
        let body = json!({ "process": sel, "pty": { "size": { "cols": cols, "rows": rows } } });
        self.call("process.Process/Update", body, true).await
    }

    async fn kill(&mut self) {
        if let Ok(sel) = self.selector().await {
            let _ = self
                .call("process.Process/SendSignal", json!({ "process": sel, "signal": "SIGNAL_SIGKILL" }), true)
                .await;
        }
    }
}
