//! The open previews: one loopback proxy per sandbox port.

use std::collections::HashMap;

use serde::Serialize;
use ts_rs::TS;

use super::ProjectError;
use crate::preview::{PreviewProxy, Upstream};

/// What the preview pane (or an agent) loads.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PreviewInfo {
    /// Opens the preview once (it carries the secret).
    pub entry_url: String,
    /// The same origin without the secret.
    pub base_url: String,
    pub port: u16,
}

/// Loopback hosts previews use (127.0.0.2 ...); the window's CSP frame-src lists the same ones.
const MAX_HOSTS: usize = 16;

#[derive(Default)]
pub(super) struct Previews(tokio::sync::Mutex<HashMap<u16, PreviewProxy>>);

impl Previews {
    pub async fn open(&self, port: u16, upstream: Upstream) -> Result<PreviewInfo, ProjectError> {
        let mut previews = self.0.lock().await;
        if let Some(proxy) = previews.get(&port) {
            proxy.set_upstream(upstream);
        } else {
            // Each preview gets its own loopback host, so the apps' cookies never mix.
            let ip = std::net::Ipv4Addr::new(127, 0, 0, 2 + (previews.len() % MAX_HOSTS) as u8);
            let proxy = PreviewProxy::start_on(ip, upstream, crate::preview::system_tls()).await?;
            previews.insert(port, proxy);
        }
        let proxy = &previews[&port];
        Ok(PreviewInfo { entry_url: proxy.entry_url(), base_url: proxy.base_url(), port })
    }

    pub async fn location(&self, port: u16) -> Result<String, ProjectError> {
        Ok(self.0.lock().await.get(&port).ok_or(ProjectError::NoPreview(port))?.location())
    }

    pub async fn entry_url(&self, port: u16) -> Result<String, ProjectError> {
        Ok(self.0.lock().await.get(&port).ok_or(ProjectError::NoPreview(port))?.entry_url())
    }

    pub async fn close_all(&self) {
        self.0.lock().await.clear();
    }
}
