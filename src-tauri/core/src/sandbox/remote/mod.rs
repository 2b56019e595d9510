//! HTTP plumbing shared by the Daytona and E2B clients: auth headers, timeouts, retries with
//! exponential backoff and jitter (idempotent calls, and any call answered 429), `Retry-After`,
//! and one mapping from HTTP failures to [`SandboxError`]s a user can act on. Also shared: the
//! driver of a remote PTY (`pty`) and a command's time limit (`deadline`).

pub mod daytona;
mod deadline;
pub mod e2b;
mod pty;

pub(crate) use deadline::Deadline;
pub(crate) use pty::{PtyControl, RemoteTerminal};

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::SandboxError;
use crate::secrets::Secret;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            timeout: Duration::from_secs(60),
        }
    }
}

/// One provider's API endpoint with its credentials.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    pub provider: &'static str,
    auth_header: &'static str,
    auth_value: Secret,
    pub retry: RetryPolicy,
}

/// An RFC 3339 time as the providers write it (`2024-10-01T12:00:00.123Z`, or with an offset),
/// in ms since the epoch.
pub(crate) fn epoch_ms(text: &str) -> Option<i64> {
    Some(text.parse::<jiff::Timestamp>().ok()?.as_millisecond())
}

fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        crate::install_tls_provider();
    });
}

impl ApiClient {
    pub fn new(
        provider: &'static str,
        auth_header: &'static str,
        auth_value: Secret,
        retry: RetryPolicy,
    ) -> Result<Self, SandboxError> {
        Self::with_builder(provider, auth_header, auth_value, retry, |b| b)
    }

    /// Like [`ApiClient::new`], letting the caller adjust the HTTP client (e.g. DNS).
    pub fn with_builder(
        provider: &'static str,
        auth_header: &'static str,
        auth_value: Secret,
        retry: RetryPolicy,
        tweak: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<Self, SandboxError> {
        install_crypto();
        let http = tweak(reqwest::Client::builder())
            .connect_timeout(Duration::from_secs(10))
            .timeout(retry.timeout)
            .user_agent(concat!("aura/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SandboxError::Network { provider, message: e.to_string() })?;
        Ok(Self { http, provider, auth_header, auth_value, retry })
    }

    /// The auth header's value (for connections reqwest does not make, e.g. WebSockets).
    pub(crate) fn auth_value(&self) -> &str {
        self.auth_value.expose()
    }

    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.http.request(method, url).header(self.auth_header, self.auth_value.expose())
    }

    /// Sends with retries. `idempotent` calls are retried on network errors and 5xx; every call
    /// is retried on 429. `build` makes a fresh request per attempt.
    pub async fn send(&self, idempotent: bool, build: impl Fn() -> RequestBuilder) -> Result<Response, SandboxError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.attempts;
            let res = build().send().await;
            let wait = match res {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => {
                    let status = r.status();
                    let retry_after = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS || (idempotent && status.is_server_error());
                    if !retryable || last {
                        return Err(self.http_error(status, retry_after, r).await);
                    }
                    tracing::warn!(provider = self.provider, %status, attempt, "retrying");
                    retry_after.map(|s| Duration::from_secs(s.min(30))).unwrap_or_else(|| self.backoff(attempt))
                }
                Err(e) => {
                    // A request that never reached the server can always be resent.
                    let safe = idempotent || e.is_connect();
                    if !safe || last {
                        return Err(self.network_error(&e));
                    }
                    tracing::warn!(provider = self.provider, error = %e, attempt, "retrying");
                    self.backoff(attempt)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.retry.base_delay.saturating_mul(1 << (attempt - 1).min(10));
        let capped = exp.min(self.retry.max_delay);
        // Full jitter: anywhere between half and all of the capped delay.
        let jitter = rand::random::<f64>() * 0.5 + 0.5;
        capped.mul_f64(jitter)
    }

    fn network_error(&self, e: &reqwest::Error) -> SandboxError {
        let message = if e.is_timeout() {
            format!("no answer within {} s", self.retry.timeout.as_secs())
        } else if e.is_connect() {
            "connection failed (offline, or the API URL in Settings is wrong)".into()
        } else {
            e.to_string()
        };
        SandboxError::Network { provider: self.provider, message }
    }

    async fn http_error(&self, status: StatusCode, retry_after: Option<u64>, r: Response) -> SandboxError {
        let text = r.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| text.chars().take(300).collect());
        let provider = self.provider;
        match status.as_u16() {
            401 => SandboxError::Unauthorized { provider },
            403 => SandboxError::Forbidden { provider, message },
            404 => SandboxError::NotFound(message),
            409 => SandboxError::WrongState { state: message, action: "this" },
            429 => SandboxError::RateLimited { provider, retry_after_s: retry_after.unwrap_or(0) },
            s => SandboxError::Api { provider, status: s, message },
        }
    }

    /// Decodes a JSON body, naming the provider when it is not what the contract says.
    pub async fn json<T: DeserializeOwned>(&self, r: Response) -> Result<T, SandboxError> {
        let bytes = r.bytes().await.map_err(|e| self.network_error(&e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| SandboxError::BadResponse { provider: self.provider, message: e.to_string() })
    }
}

/// A preview URL and headers as the preview proxy's upstream.
pub(crate) fn upstream(url: &str, headers: Vec<(String, String)>) -> Result<crate::preview::Upstream, SandboxError> {
    crate::preview::Upstream::from_url(url, headers).ok_or_else(|| SandboxError::BadResponse {
        provider: "preview",
        message: format!("unusable preview URL {url}"),
    })
}

pub(crate) fn no_sandbox_yet() -> SandboxError {
    SandboxError::NotFound("(no sandbox yet: run something first)".into())
}

/// Copies `project` into sandbox `id` — all of it into a new one; into one reattached to, only
/// what differs from what `ledger` says it holds — then keeps it equal with a mirror (what the
/// copy skipped is reported by the mirror, never silently dropped).
pub(crate) async fn copy_in<P: super::Provider + 'static>(
    provider: std::sync::Arc<P>,
    id: &str,
    project: &crate::paths::ProjectRoot,
    ledger: super::ledger::Ledger,
) -> Result<super::Delivery, SandboxError> {
    let held = ledger.load();
    let mut up = super::mirror::upload_project(provider.as_ref(), id, project, &held, &ledger).await?;
    tracing::info!(sent = up.sent, unchanged = up.unchanged, removed = up.removed, "project copied into the sandbox");
    let held = std::mem::take(&mut up.held);
    let mirror = super::mirror::Mirror::start(provider, id.to_string(), project.clone(), held, ledger);
    mirror.note_copy(up);
    Ok(super::Delivery::Mirrored(mirror))
}

/// `s` as one word for `sh` (single quotes; a quote inside closed, escaped and reopened).
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A workspace-relative path as a path under `workdir` in the remote sandbox; never outside it.
pub(crate) fn remote_path(workdir: &str, path: &str) -> Result<String, SandboxError> {
    let clean = path.trim_start_matches("./");
    if clean.starts_with('/') || clean.split('/').any(|c| c == "..") || clean.contains('\0') {
        return Err(SandboxError::Path(crate::paths::PathError::ParentTraversal(path.to_string())));
    }
    Ok(if clean.is_empty() { workdir.to_string() } else { format!("{workdir}/{clean}") })
}
