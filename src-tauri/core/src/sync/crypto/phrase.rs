//! The recovery phrase and the project key wrapped by it.
//!
//! The phrase is 24 BIP-39 words (256 random bits, a checksum that catches a mistyped word),
//! shown once when encryption is set up. A password works the same way. Either is stretched
//! with Argon2id (its parameters and salt are stored with the wrapped key, so they can be
//! raised later) into the key that seals the project key; opening it with the wrong phrase
//! fails before anything of the project is read. Changing the phrase rewraps the same project
//! key: nothing stored is encrypted again.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{CryptoError, ProjectKey};

/// Argon2id's cost: memory in KiB, passes, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: RFC 9106's second recommended option, well under a second.
    pub const DEFAULT: Self = Self { m_kib: 64 * 1024, t: 3, p: 1 };
}

/// A recovery phrase: 24 words.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryPhrase(String);

impl std::fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryPhrase(…)")
    }
}

impl RecoveryPhrase {
    pub fn generate() -> Self {
        let mut entropy = [0u8; 32];
        rand::rng().fill_bytes(&mut entropy);
        let m = bip39::Mnemonic::from_entropy(&entropy).expect("32 bytes are a valid entropy length");
        Self(m.to_string())
    }

    /// A phrase as typed: any case and spacing; a mistyped or missing word is said.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let words: Vec<String> = text.split_whitespace().map(|w| w.to_lowercase()).collect();
        let joined = words.join(" ");
        match bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &joined) {
            Ok(m) => Ok(Self(m.to_string())),
            Err(bip39::Error::UnknownWord(i)) => Err(CryptoError::BadPhrase(format!(
                "word {} ('{}') is not a recovery-phrase word: check its spelling",
                i + 1,
                words.get(i).map(String::as_str).unwrap_or("")
            ))),
            Err(bip39::Error::BadWordCount(n)) => {
                Err(CryptoError::BadPhrase(format!("a recovery phrase has 24 words; this has {n}")))
            }
            Err(bip39::Error::InvalidChecksum) => Err(CryptoError::BadPhrase(
                "these words are not a recovery phrase as written (a word is wrong or out of order)".into(),
            )),
            Err(e) => Err(CryptoError::BadPhrase(e.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The project key sealed by a key stretched from a phrase or password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub version: u32,
    /// "argon2id".
    pub kdf: String,
    pub params: KdfParams,
    #[serde(with = "crate::sync::snapshot::b64")]
    pub salt: Vec<u8>,
    #[serde(with = "crate::sync::snapshot::b64")]
    pub sealed: Vec<u8>,
}

/// What the sealed project key is bound to.
const AAD: &[u8] = b"aura project key";

impl WrappedKey {
    /// Wraps `key` with `secret` (a phrase's text or a password).
    pub fn wrap(key: &ProjectKey, secret: &str, params: KdfParams) -> Result<Self, CryptoError> {
        let mut salt = vec![0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let kek = stretch(secret, &salt, params)?;
        let sealed = kek.cipher().seal(AAD, key.as_bytes());
        Ok(Self { version: 1, kdf: "argon2id".into(), params, salt, sealed })
    }

    /// The project key, if `secret` is the one it was wrapped with.
    pub fn unwrap(&self, secret: &str) -> Result<ProjectKey, CryptoError> {
        if self.version != 1 || self.kdf != "argon2id" {
            return Err(CryptoError::BadWrappedKey(format!("version {} with {}", self.version, self.kdf)));
        }
        let kek = stretch(secret, &self.salt, self.params)?;
        let raw = kek.cipher().open(AAD, &self.sealed).map_err(|_| CryptoError::WrongPhrase)?;
        let bytes: [u8; 32] = raw.try_into().map_err(|_| CryptoError::BadWrappedKey("not 32 bytes".into()))?;
        Ok(ProjectKey::from_bytes(bytes))
    }
}

/// Twelve words or more are a recovery phrase (checked: a mistyped word is said); anything
/// shorter is a password, used as typed.
const PHRASE_WORDS: usize = 12;

/// Argon2id over the secret as typed, spacing and case of a phrase's words set aside.
fn stretch(secret: &str, salt: &[u8], p: KdfParams) -> Result<ProjectKey, CryptoError> {
    let normal = if secret.split_whitespace().count() >= PHRASE_WORDS {
        RecoveryPhrase::parse(secret)?.0
    } else {
        secret.to_string()
    };
    let params = argon2::Params::new(p.m_kib, p.t, p.p, Some(32))
        .map_err(|e| CryptoError::BadWrappedKey(format!("Argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(normal.as_bytes(), salt, &mut out)
        .map_err(|e| CryptoError::BadWrappedKey(format!("Argon2: {e}")))?;
    Ok(ProjectKey::from_bytes(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters for tests (the stored parameters are the ones used to open).
    const QUICK: KdfParams = KdfParams { m_kib: 256, t: 1, p: 1 };

    #[test]
    fn the_phrase_opens_the_key_and_another_does_not() {
        let key = ProjectKey::generate();
        let phrase = RecoveryPhrase::generate();
        assert_eq!(phrase.as_str().split(' ').count(), 24);
        let w = WrappedKey::wrap(&key, phrase.as_str(), QUICK).unwrap();
        let stored = serde_json::to_string(&w).unwrap();
        let w: WrappedKey = serde_json::from_str(&stored).unwrap();
        assert_eq!(w.unwrap(phrase.as_str()).unwrap(), key);
        // As typed: other case and spacing.
        let typed = format!("  {}\n", phrase.as_str().to_uppercase().replace(' ', "   "));
        assert_eq!(w.unwrap(&typed).unwrap(), key);
        assert_eq!(w.unwrap(RecoveryPhrase::generate().as_str()), Err(CryptoError::WrongPhrase));
        // A password works the same way; changing it rewraps the same key.
        let w2 = WrappedKey::wrap(&w.unwrap(phrase.as_str()).unwrap(), "correct horse battery staple", QUICK).unwrap();
        assert_eq!(w2.unwrap("correct horse battery staple").unwrap(), key);
        assert_eq!(w2.unwrap("Correct horse battery staple"), Err(CryptoError::WrongPhrase));
    }

    #[test]
    fn a_mistyped_phrase_is_said_clearly() {
        let phrase = RecoveryPhrase::generate();
        let mut words: Vec<&str> = phrase.as_str().split(' ').collect();
        words[6] = "abandn";
        let Err(CryptoError::BadPhrase(m)) = RecoveryPhrase::parse(&words.join(" ")) else { panic!() };
        assert!(m.contains("word 7 ('abandn')"), "{m}");
        let Err(CryptoError::BadPhrase(m)) = RecoveryPhrase::parse(&words[..20].join(" ")) else { panic!() };
        assert!(m.contains("24 words"), "{m}");
    }
}
