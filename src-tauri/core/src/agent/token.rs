//! The bearer token agents present: one per installation, made on request, kept in the OS
//! keychain. Its value is shown to the user once, when it is made.

use crate::secrets::{Secret, SecretName, Secrets, SecretsError};

pub fn load(secrets: &Secrets) -> Result<Option<Secret>, SecretsError> {
    secrets.get(SecretName::AgentToken)
}

/// Makes a new token (replacing the old one, which stops working) and stores it.
pub fn create(secrets: &Secrets) -> Result<Secret, SecretsError> {
    let bytes: [u8; 32] = rand::random();
    let value = format!("aura_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    secrets.set(SecretName::AgentToken, &value)?;
    Ok(Secret::new(value))
}

/// Compares in time independent of where the strings differ.
pub fn matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
