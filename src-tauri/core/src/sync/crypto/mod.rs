//! End-to-end encryption of what sync stores, so the bucket holds only ciphertext: a leaked
//! bucket key, the storage provider or a public bucket reveal no file, name or tree.
//!
//! - `key`: the project key (256 random bits) and what it derives — the sealing key of an
//!   authenticated cipher (XChaCha20-Poly1305, a maintained crate; a fresh random nonce per
//!   object) and the key of keyed content addresses (keyed BLAKE3), so equal content is still
//!   stored once but a known file cannot be confirmed from an object's name.
//! - `phrase`: the recovery phrase (24 BIP-39 words, shown once) and the project key wrapped by
//!   it with Argon2id, its parameters stored beside it; a wrong phrase is refused before
//!   anything of the project is read.
//!
//! Every sealed object carries what it is as associated data (`aad`): a snapshot cannot be
//! passed off as another, nor a blob as a different one.

mod key;
mod phrase;

pub use key::{Cipher, ProjectKey, SEAL_OVERHEAD};
pub use phrase::{KdfParams, RecoveryPhrase, WrappedKey};

/// What can go wrong opening or unwrapping.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The object was changed, truncated, swapped for another or sealed with another key.
    #[error("it was changed or does not belong here")]
    Tampered,
    #[error("the recovery phrase does not open this project's key")]
    WrongPhrase,
    #[error("{0}")]
    BadPhrase(String),
    #[error("the stored key is not readable: {0}")]
    BadWrappedKey(String),
}
