//! API keys in the OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows) through `keyring`. Values never go to SQLite, logs or the UI: the UI can set, delete
//! and ask whether a key is set; only provider clients read them.

use std::fmt;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::UserFacing;

/// The keychain "service" every Aura secret is stored under.
pub const SERVICE: &str = "dev.aura.ide";

/// The secrets Aura knows. Anything else is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SecretName {
    DaytonaApiKey,
    E2bApiKey,
    R2AccessKeyId,
    R2SecretAccessKey,
    /// The agent server's bearer token (made by Aura, never typed in).
    AgentToken,
}

impl SecretName {
    /// The provider and bucket keys a user types in (the agent token is made by Aura).
    pub const ALL: [SecretName; 4] =
        [Self::DaytonaApiKey, Self::E2bApiKey, Self::R2AccessKeyId, Self::R2SecretAccessKey];

    /// The keychain account name (what a user sees in their keychain app).
    pub fn account(self) -> &'static str {
        match self {
            Self::DaytonaApiKey => "DAYTONA_API_KEY",
            Self::E2bApiKey => "E2B_API_KEY",
            Self::R2AccessKeyId => "R2_ACCESS_KEY_ID",
            Self::R2SecretAccessKey => "R2_SECRET_ACCESS_KEY",
            Self::AgentToken => "AURA_AGENT_TOKEN",
        }
    }
}

/// A secret value: its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }
    /// The value, for the provider client that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the OS keychain is not available ({0}); on Linux, a Secret Service such as GNOME Keyring or KWallet must be running and unlocked")]
    Unavailable(String),
    #[error("the key is empty or has spaces or line breaks around it; paste it again")]
    Invalid,
    #[error("keychain error: {0}")]
    Other(String),
}

impl UserFacing for SecretsError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::Unavailable(_) => crate::error::ErrorKind::KeychainUnavailable,
            Self::Invalid => crate::error::ErrorKind::InvalidSecret,
            Self::Other(_) => crate::error::ErrorKind::Keychain,
        }
    }
}

fn map(e: keyring::Error) -> SecretsError {
    match e {
        keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => {
            SecretsError::Unavailable(e.to_string())
        }
        other => SecretsError::Other(other.to_string()),
    }
}

/// Where secrets are kept: the OS keychain, or (headless tools, tests) process memory.
#[derive(Debug, Clone)]
enum Backend {
    Keychain {
        service: String,
    },
    /// Keyed by keychain account.
    Memory(std::sync::Arc<parking_lot::Mutex<std::collections::HashMap<String, String>>>),
}

/// The keychain, scoped to Aura's service name.
#[derive(Debug, Clone)]
pub struct Secrets {
    backend: Backend,
}

impl Default for Secrets {
    fn default() -> Self {
        Self::with_service(SERVICE)
    }
}

impl Secrets {
    /// A keychain scope under another service name (tests use their own).
    pub fn with_service(service: impl Into<String>) -> Self {
        Self { backend: Backend::Keychain { service: service.into() } }
    }

    /// Secrets held in memory only, never persisted (for headless use and tests).
    pub fn in_memory() -> Self {
        Self { backend: Backend::Memory(Default::default()) }
    }

    fn entry(service: &str, account: &str) -> Result<keyring::Entry, SecretsError> {
        keyring::Entry::new(service, account).map_err(map)
    }

    pub fn set(&self, name: SecretName, value: &str) -> Result<(), SecretsError> {
        self.set_account(name.account(), value)
    }

    pub fn get(&self, name: SecretName) -> Result<Option<Secret>, SecretsError> {
        self.get_account(name.account())
    }

    pub fn is_set(&self, name: SecretName) -> Result<bool, SecretsError> {
        Ok(self.get(name)?.is_some())
    }

    pub fn delete(&self, name: SecretName) -> Result<(), SecretsError> {
        self.delete_account(name.account())
    }

    /// The keychain account of an encrypted project's key (one per project in the bucket).
    fn project_key_account(sync_key: &str) -> String {
        format!("AURA_SYNC_PROJECT_KEY {sync_key}")
    }

    /// The key of the encrypted project `sync_key`, when this machine has it.
    pub fn project_key(&self, sync_key: &str) -> Result<Option<Secret>, SecretsError> {
        self.get_account(&Self::project_key_account(sync_key))
    }

    pub fn set_project_key(&self, sync_key: &str, value: &str) -> Result<(), SecretsError> {
        self.set_account(&Self::project_key_account(sync_key), value)
    }

    fn set_account(&self, account: &str, value: &str) -> Result<(), SecretsError> {
        if value.is_empty() || value.trim() != value || value.contains(['\n', '\r']) {
            return Err(SecretsError::Invalid);
        }
        match &self.backend {
            Backend::Keychain { service } => Self::entry(service, account)?.set_password(value).map_err(map)?,
            Backend::Memory(m) => {
                m.lock().insert(account.to_string(), value.to_string());
            }
        }
        tracing::info!(secret = account, "stored a secret");
        Ok(())
    }

    fn get_account(&self, account: &str) -> Result<Option<Secret>, SecretsError> {
        let service = match &self.backend {
            Backend::Keychain { service } => service,
            Backend::Memory(m) => return Ok(m.lock().get(account).cloned().map(Secret)),
        };
        match Self::entry(service, account)?.get_password() {
            Ok(v) => Ok(Some(Secret(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map(e)),
        }
    }

    fn delete_account(&self, account: &str) -> Result<(), SecretsError> {
        let service = match &self.backend {
            Backend::Keychain { service } => service,
            Backend::Memory(m) => {
                m.lock().remove(account);
                return Ok(());
            }
        };
        match Self::entry(service, account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_on_the_mock_store_and_never_print() {
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        let s = Secrets::with_service("aura-unit-test");
        // The mock store keeps nothing between entries; check the API and validation only.
        assert!(matches!(s.set(SecretName::E2bApiKey, " padded "), Err(SecretsError::Invalid)));
        assert!(matches!(s.set(SecretName::E2bApiKey, ""), Err(SecretsError::Invalid)));
        s.set(SecretName::E2bApiKey, "e2b_test_value").unwrap();
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
        assert_eq!(SecretName::DaytonaApiKey.account(), "DAYTONA_API_KEY");
    }
}
