//! The project key and the cipher it gives.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use super::CryptoError;

/// The format of a sealed object: one version byte, the 24-byte nonce, the ciphertext with
/// its 16-byte tag.
const VERSION: u8 = 1;
const NONCE: usize = 24;
const TAG: usize = 16;

/// Bytes a sealed object has beyond its plaintext.
pub const SEAL_OVERHEAD: usize = 1 + NONCE + TAG;

/// A project's key: 256 random bits. Kept in the OS keychain and, wrapped, in the bucket.
#[derive(Clone, PartialEq, Eq)]
pub struct ProjectKey([u8; 32]);

impl std::fmt::Debug for ProjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProjectKey(…)")
    }
}

impl ProjectKey {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Self(k)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// For the keychain: the key as base64.
    pub fn to_text(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    pub fn from_text(text: &str) -> Option<Self> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()?;
        Some(Self(raw.try_into().ok()?))
    }

    /// The cipher of this key (its subkeys derived with BLAKE3's key derivation, one per use).
    pub fn cipher(&self) -> Cipher {
        let seal = blake3::derive_key("aura sync 2026 sealing key", &self.0);
        let ids = blake3::derive_key("aura sync 2026 content address key", &self.0);
        Cipher { aead: XChaCha20Poly1305::new(&seal.into()), ids }
    }
}

impl Drop for ProjectKey {
    fn drop(&mut self) {
        // Not kept in freed memory longer than needed.
        self.0 = [0; 32];
    }
}

/// Seals and opens a project's objects, and names content by keyed hashes.
#[derive(Clone)]
pub struct Cipher {
    aead: XChaCha20Poly1305,
    ids: [u8; 32],
}

impl Cipher {
    /// `plain` sealed, bound to `aad` (what the object is).
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .expect("XChaCha20-Poly1305 seals any length a bucket object has");
        let mut out = Vec::with_capacity(SEAL_OVERHEAD + plain.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The plaintext of `sealed`, if it was sealed by this key for `aad` and not changed since.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < SEAL_OVERHEAD || sealed[0] != VERSION {
            return Err(CryptoError::Tampered);
        }
        let nonce = XNonce::from_slice(&sealed[1..1 + NONCE]);
        self.aead.decrypt(nonce, Payload { msg: &sealed[1 + NONCE..], aad }).map_err(|_| CryptoError::Tampered)
    }

    /// Opens `sealed` where it is: on success its plaintext is `sealed[PLAIN_AT..len - TAG]`
    /// (returned as that range), with no copy and no allocation — large files stream through
    /// this a chunk at a time.
    pub fn open_in_place(&self, aad: &[u8], sealed: &mut [u8]) -> Result<std::ops::Range<usize>, CryptoError> {
        use chacha20poly1305::aead::AeadInPlace;
        if sealed.len() < SEAL_OVERHEAD || sealed[0] != VERSION {
            return Err(CryptoError::Tampered);
        }
        let end = sealed.len() - TAG;
        let (head, rest) = sealed.split_at_mut(1 + NONCE);
        let (body, tag) = rest.split_at_mut(end - 1 - NONCE);
        let nonce = XNonce::from_slice(&head[1..]);
        self.aead
            .decrypt_in_place_detached(nonce, aad, body, chacha20poly1305::Tag::from_slice(tag))
            .map_err(|_| CryptoError::Tampered)?;
        Ok(1 + NONCE..end)
    }

    /// A content address that only holders of the key can compute (keyed BLAKE3, hex).
    pub fn keyed_id(&self, data: &[u8]) -> String {
        blake3::keyed_hash(&self.ids, data).to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_opens_only_with_its_key_and_its_identity() {
        let k = ProjectKey::generate();
        let c = k.cipher();
        let s = c.seal(b"snapshot 1", b"hello");
        assert_eq!(s.len(), 5 + SEAL_OVERHEAD);
        assert!(!s.windows(5).any(|w| w == b"hello"));
        assert_eq!(c.open(b"snapshot 1", &s).unwrap(), b"hello");
        assert_eq!(c.open(b"snapshot 2", &s), Err(CryptoError::Tampered), "passed off as another object");
        assert_eq!(ProjectKey::generate().cipher().open(b"snapshot 1", &s), Err(CryptoError::Tampered));
        for i in 0..s.len() {
            let mut flipped = s.clone();
            flipped[i] ^= 1;
            assert_eq!(c.open(b"snapshot 1", &flipped), Err(CryptoError::Tampered), "byte {i} flipped");
        }
        assert_eq!(c.open(b"snapshot 1", &s[..s.len() - 1]), Err(CryptoError::Tampered), "truncated");
        assert_ne!(c.seal(b"x", b"same"), c.seal(b"x", b"same"), "a fresh nonce each time");
    }

    #[test]
    fn keyed_ids_are_stable_per_key_and_unlike_the_plain_hash() {
        let k = ProjectKey::generate();
        assert_eq!(k.cipher().keyed_id(b"a"), k.cipher().keyed_id(b"a"));
        assert_ne!(k.cipher().keyed_id(b"a"), ProjectKey::generate().cipher().keyed_id(b"a"));
        assert_ne!(k.cipher().keyed_id(b"a"), blake3::hash(b"a").to_hex().to_string());
        assert_eq!(ProjectKey::from_text(&k.to_text()), Some(k));
    }
}
