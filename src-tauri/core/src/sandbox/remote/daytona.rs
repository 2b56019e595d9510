//! Daytona, written against the official contracts in `shared/specs/daytona`:
//! the control plane (`/sandbox...`, `Authorization: Bearer <DAYTONA_API_KEY>`, optional
//! `X-Daytona-Organization-ID`) and the in-sandbox toolbox reached at
//! `<toolboxProxyUrl>/<sandboxId>` (`/process/execute`, `/files...`).

use std::collections::HashMap;

use async_trait::async_trait;
use parking_lot::Mutex;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{ApiClient, RetryPolicy};
use crate::sandbox::*;
use crate::secrets::Secret;

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
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecuteResponse {
    #[serde(default)]
    exit_code: Option<i32>,
    result: String,
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
    pub fn new(cfg: DaytonaConfig, key: Secret, retry: RetryPolicy) -> Result<Self, SandboxError> {
        let auth = Secret::new(format!("Bearer {}", key.expose()));
        let api = ApiClient::new("Daytona", "Authorization", auth, retry)?;
        Ok(Self { api, cfg, toolbox: Mutex::new(HashMap::new()) })
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

/// Workspace-relative paths become paths under the sandbox user's home folder.
fn remote_path(path: &str) -> Result<String, SandboxError> {
    let clean = path.trim_start_matches("./");
    if clean.starts_with('/') || clean.split('/').any(|c| c == "..") || clean.contains('\0') {
        return Err(SandboxError::Path(crate::paths::PathError::ParentTraversal(path.to_string())));
    }
    Ok(if clean.is_empty() { "workspace".to_string() } else { format!("workspace/{clean}") })
}

#[async_trait]
impl Provider for DaytonaProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Daytona
    }

    async fn create(&self, spec: &SandboxSpec) -> Result<SandboxInfo, SandboxError> {
        let env: serde_json::Map<String, serde_json::Value> = spec.env.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
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
        // Creating is not idempotent: only a 429 (or a connection never made) is retried.
        let r = self.api.send(false, || self.req(Method::POST, "/sandbox").json(&body)).await?;
        let s: DtSandbox = self.api.json(r).await?;
        Ok(self.info(s))
    }

    async fn get(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.sandbox_call(Method::GET, format!("/sandbox/{}", enc(id)), true).await
    }

    /// Follows the cursor pagination of `ListSandboxesResponse` to the end.
    async fn list(&self) -> Result<Vec<SandboxInfo>, SandboxError> {
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
                    let b = self.req(Method::GET, "/sandbox").query(&[("limit", "200")]);
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

    async fn start(&self, id: &str) -> Result<SandboxInfo, SandboxError> {
        self.sandbox_call(Method::POST, format!("/sandbox/{}/start", enc(id)), true).await
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

    async fn exec(&self, id: &str, req: &ExecRequest, sink: &mut dyn ExecSink) -> Result<ExecOutcome, SandboxError> {
        let started = std::time::Instant::now();
        let (url, m) = self.tb(id, Method::POST, "/process/execute").await?;
        let mut body = json!({ "command": req.command });
        let o = body.as_object_mut().unwrap();
        if let Some(c) = &req.cwd {
            o.insert("cwd".into(), json!(remote_path(c)?));
        }
        if !req.env.is_empty() {
            let envs: serde_json::Map<String, serde_json::Value> = req.env.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            o.insert("envs".into(), json!(envs));
        }
        if let Some(t) = req.timeout_s {
            o.insert("timeout".into(), json!(t));
        }
        let r = self.api.send(false, || self.api.request(m.clone(), &url).json(&body)).await?;
        let res: ExecuteResponse = self.api.json(r).await?;
        // /process/execute answers once, with stdout and stderr combined.
        sink.stdout(res.result.as_bytes());
        Ok(ExecOutcome {
            exit_code: res.exit_code,
            signal: None,
            duration_ms: started.elapsed().as_millis() as u64,
            bytes_out: res.result.len() as u64,
        })
    }

    async fn processes(&self, _id: &str) -> Result<Vec<ProcessInfo>, SandboxError> {
        Err(SandboxError::Unsupported("listing processes"))
    }

    async fn put_file(&self, id: &str, path: &str, data: &[u8]) -> Result<(), SandboxError> {
        let rp = remote_path(path)?;
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
        let rp = remote_path(path)?;
        let (url, m) = self.tb(id, Method::GET, "/files/download").await?;
        let r = self.api.send(true, || self.api.request(m.clone(), &url).query(&[("path", rp.as_str())])).await?;
        Ok(r.bytes().await.map_err(|e| SandboxError::Network { provider: "Daytona", message: e.to_string() })?.to_vec())
    }

    async fn list_files(&self, id: &str, path: &str) -> Result<Vec<RemoteEntry>, SandboxError> {
        let rp = remote_path(path)?;
        let (url, m) = self.tb(id, Method::GET, "/files").await?;
        let r = self.api.send(true, || self.api.request(m.clone(), &url).query(&[("path", rp.as_str())])).await?;
        let list: Vec<FileInfo> = self.api.json(r).await?;
        Ok(list.into_iter().map(|f| RemoteEntry { name: f.name, is_dir: f.is_dir, size: f.size }).collect())
    }

    async fn remove_file(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        let rp = remote_path(path)?;
        let (url, m) = self.tb(id, Method::DELETE, "/files").await?;
        self.api
            .send(true, || self.api.request(m.clone(), &url).query(&[("path", rp.as_str()), ("recursive", "true")]))
            .await?;
        Ok(())
    }

    async fn make_dir(&self, id: &str, path: &str) -> Result<(), SandboxError> {
        let rp = remote_path(path)?;
        let (url, m) = self.tb(id, Method::POST, "/files/folder").await?;
        self.api.send(true, || self.api.request(m.clone(), &url).query(&[("path", rp.as_str()), ("mode", "755")])).await?;
        Ok(())
    }

    async fn preview(&self, id: &str, port: u16) -> Result<PreviewTarget, SandboxError> {
        let path = format!("/sandbox/{}/ports/{port}/preview-url", enc(id));
        let r = self.api.send(true, || self.req(Method::GET, &path)).await?;
        let p: PreviewUrl = self.api.json(r).await?;
        Ok(PreviewTarget { url: p.url, headers: vec![("x-daytona-preview-token".into(), p.token)] })
    }
}
