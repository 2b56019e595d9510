//! The agent server's place in the app: started with the window, its address written where
//! `aura mcp` finds it, its events forwarded to the window. And `aura mcp` itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aura_core::agent::bridge::{self, BridgeError, ENDPOINT_FILE};
use aura_core::agent::http::AgentServer;
use aura_core::agent::{token, AgentEvent, AgentService};
use aura_core::project::ProjectHost;
use parking_lot::Mutex;

/// The port agents are told to use is kept, so the line pasted into an agent keeps working.
const PORT_KEY: &str = "agent.port";

pub struct Agents {
    pub service: Arc<AgentService>,
    /// The running server, or why it is not running.
    pub server: tokio::sync::Mutex<Result<AgentServer, String>>,
    /// Where agent events go (the window subscribes once it is up).
    pub channel: Arc<Mutex<Option<tauri::ipc::Channel<AgentEvent>>>>,
    data_dir: PathBuf,
}

impl Agents {
    pub fn new(host: Arc<ProjectHost>, data_dir: &Path) -> Result<Self, aura_core::agent::AgentError> {
        let channel: Arc<Mutex<Option<tauri::ipc::Channel<AgentEvent>>>> = Arc::default();
        let to_window = channel.clone();
        let service = AgentService::new(host, data_dir.to_path_buf(), move |e| {
            if let Some(ch) = to_window.lock().as_ref() {
                let _ = ch.send(e);
            }
        })?;
        Ok(Self {
            service: Arc::new(service),
            server: tokio::sync::Mutex::new(Err("starting".into())),
            channel,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// Starts the server on the port used before (or a free one) with the token from the keychain.
    pub async fn start(&self) {
        let host = &self.service.host;
        let port = host.store.setting(PORT_KEY).ok().flatten().and_then(|p| p.parse().ok()).unwrap_or(0);
        let secrets = host.secrets.clone();
        let token = tokio::task::spawn_blocking(move || token::load(&secrets)).await.ok().and_then(|r| {
            r.map_err(|e| tracing::warn!(error = %e, "agent token not readable from the keychain")).ok().flatten()
        });
        let started = AgentServer::start(self.service.clone(), port, token).await;
        if let Ok(s) = &started {
            let _ = host.store.set_setting(PORT_KEY, Some(&s.port().to_string()));
            if let Err(e) = std::fs::write(self.data_dir.join(ENDPOINT_FILE), s.url()) {
                tracing::warn!(error = %e, "cannot write the agent endpoint file");
            }
        }
        *self.server.lock().await = started.map_err(|e| e.to_string());
    }

    pub fn stop(&self) {
        let _ = std::fs::remove_file(self.data_dir.join(ENDPOINT_FILE));
        if let Ok(Ok(s)) = self.server.try_lock().as_deref() {
            s.stop();
        }
    }
}

/// `aura mcp`: relays stdio to the running app. Returns the process exit code.
pub fn run_bridge() -> i32 {
    let fail = |e: BridgeError| {
        eprintln!("aura mcp: {e}");
        1
    };
    let data_dir = match dirs::data_dir() {
        Some(d) => d.join("dev.aura.ide"),
        None => return fail(BridgeError::Other("no data folder (HOME is not set)".into())),
    };
    let url = match std::env::var("AURA_MCP_URL") {
        Ok(u) => u,
        Err(_) => match std::fs::read_to_string(data_dir.join(ENDPOINT_FILE)) {
            Ok(u) => u.trim().to_string(),
            Err(_) => return fail(BridgeError::NotRunning),
        },
    };
    let token = match token::load(&aura_core::secrets::Secrets::default()) {
        Ok(Some(t)) => t.expose().to_string(),
        Ok(None) => return fail(BridgeError::NoToken),
        Err(e) => return fail(BridgeError::Other(e.to_string())),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(BridgeError::Other(e.to_string())),
    };
    match rt.block_on(bridge::run(url, token)) {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}
