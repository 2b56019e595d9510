//! Where and how a project runs, as the user set it ([`ProjectSettings`], stored per project),
//! and the one place it becomes a provider's configuration ([`ProviderConfig`]), with the
//! environment variables the official SDKs read.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::local::network::NetworkMode;
use super::remote::daytona::DaytonaConfig;
use super::remote::e2b::E2bConfig;
use super::{Limits, ProviderKind};

/// Where and how a project runs. API keys are not here: they live in the OS keychain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct ProjectSettings {
    pub provider: ProviderKind,
    pub env: Vec<(String, String)>,
    pub limits: Limits,
    pub auto_stop_minutes: Option<u32>,
    /// Stop remote sandboxes when Aura closes (local ones always stop).
    pub stop_on_close: bool,
    /// The user accepted running commands without isolation where bubblewrap cannot work.
    pub allow_unsandboxed: bool,
    /// The user chose to run commands even where the sandbox cannot protect everything this
    /// machine runs by itself in the project (the Sandbox panel names what).
    pub allow_unprotected: bool,
    /// How the sandbox reaches the network: the public internet by default; "offline" for
    /// remote sandboxes too (set when one is created); "host" only locally, after the user
    /// accepted the warning.
    pub network: NetworkMode,
    /// Where a *Registries only* sandbox goes without asking (see `netpolicy::allowlist`): the
    /// package registries to begin with, and every host the user allowed "always".
    pub network_allow: Vec<String>,
    /// Daytona API base (`DAYTONA_API_URL`); empty = the environment or the SDK default.
    pub daytona_api_url: String,
    /// Daytona region (`DAYTONA_TARGET`); empty = the account default.
    pub daytona_target: String,
    /// Daytona snapshot / E2B template to create from; empty = the provider default.
    pub image: String,
    /// E2B domain (`E2B_DOMAIN`); empty = the environment or e2b.app.
    pub e2b_domain: String,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Local,
            env: Vec::new(),
            limits: Limits::default(),
            auto_stop_minutes: Some(30),
            stop_on_close: true,
            allow_unsandboxed: false,
            allow_unprotected: false,
            network: NetworkMode::Isolated,
            network_allow: crate::netpolicy::REGISTRIES.iter().map(|s| s.to_string()).collect(),
            daytona_api_url: String::new(),
            daytona_target: String::new(),
            image: String::new(),
            e2b_domain: String::new(),
        }
    }
}

/// What a provider is made from.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    Local { network: NetworkMode, allow_unsandboxed: bool },
    Daytona(DaytonaConfig),
    E2b(E2bConfig),
}

/// A setting, else the environment variable, else nothing.
fn env_or(setting: &str, var: &str) -> Option<String> {
    Some(setting.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var(var).ok().filter(|s| !s.is_empty()))
}

impl ProjectSettings {
    /// The provider's configuration: these settings, then `DAYTONA_API_URL`, `DAYTONA_TARGET`,
    /// `DAYTONA_ORGANIZATION_ID`, `E2B_DOMAIN`, and the development / test knobs
    /// `AURA_E2B_SCHEME` (plain HTTP) and `AURA_E2B_RESOLVE` (every E2B host at one address).
    pub fn provider_config(&self) -> ProviderConfig {
        match self.provider {
            ProviderKind::Local => {
                ProviderConfig::Local { network: self.network, allow_unsandboxed: self.allow_unsandboxed }
            }
            ProviderKind::Daytona => ProviderConfig::Daytona(DaytonaConfig {
                api_url: env_or(&self.daytona_api_url, "DAYTONA_API_URL")
                    .unwrap_or_else(|| DaytonaConfig::default().api_url),
                target: env_or(&self.daytona_target, "DAYTONA_TARGET"),
                organization_id: std::env::var("DAYTONA_ORGANIZATION_ID").ok(),
            }),
            ProviderKind::E2b => {
                let mut cfg = E2bConfig::default();
                if let Some(d) = env_or(&self.e2b_domain, "E2B_DOMAIN") {
                    cfg.domain = d;
                }
                if let Ok(s) = std::env::var("AURA_E2B_SCHEME") {
                    cfg.scheme = s;
                }
                cfg.resolve_all_to = std::env::var("AURA_E2B_RESOLVE").ok().and_then(|a| a.parse::<SocketAddr>().ok());
                if !self.image.is_empty() {
                    cfg.template = self.image.clone();
                }
                ProviderConfig::E2b(cfg)
            }
        }
    }
}
