//! How content is sealed inside packs when a project is encrypted (see [`crate::sync::crypto`]).
//!
//! Each blob in a pack stays its own range (so a restore still reads one blob, or a run of
//! them, with one ranged GET): an *entry* is the blob cut into chunks of [`CHUNK`] bytes, each
//! sealed on its own — a large file is streamed and checked chunk by chunk, never held whole.
//! Every chunk is bound to its place (the pack's id, the entry's offset, its index, and whether
//! it is the last): chunks cannot be reordered, dropped, cut short or moved to another entry or
//! pack without being refused. The plaintext's BLAKE3, kept in the (sealed) snapshot, is
//! checked after opening, as for plaintext projects.

use crate::sync::crypto::{Cipher, CryptoError, SEAL_OVERHEAD};

/// Plaintext bytes per sealed chunk.
pub const CHUNK: u64 = 1024 * 1024;

/// Sealed bytes of one full chunk.
const SEALED_CHUNK: u64 = CHUNK + SEAL_OVERHEAD as u64;

/// Chunks of an entry of `plain` bytes (an empty blob is one empty chunk).
fn chunks(plain: u64) -> u64 {
    plain.div_ceil(CHUNK).max(1)
}

/// The sealed size of an entry of `plain` bytes.
pub fn sealed_len(plain: u64) -> u64 {
    plain + chunks(plain) * SEAL_OVERHEAD as u64
}

/// Chunks of a sealed entry of `sealed` bytes.
fn sealed_chunks(sealed: u64) -> u64 {
    sealed.div_ceil(SEALED_CHUNK).max(1)
}

/// What chunk `i` of the entry at `at` in pack `pack` is bound to.
fn aad(pack: &str, at: u64, i: u64, last: bool) -> Vec<u8> {
    format!("aura pack {pack} entry {at} chunk {i}{}", if last { " last" } else { "" }).into_bytes()
}

/// Seals chunk `i` of an entry of `total` plaintext bytes.
pub fn seal_chunk(c: &Cipher, pack: &str, at: u64, i: u64, total: u64, plain: &[u8]) -> Vec<u8> {
    c.seal(&aad(pack, at, i, i + 1 == chunks(total)), plain)
}

/// Seals a whole entry (a blob of a pack, or a file read whole).
pub fn seal_entry(c: &Cipher, pack: &str, at: u64, plain: &[u8]) -> Vec<u8> {
    let total = plain.len() as u64;
    let mut out = Vec::with_capacity(sealed_len(total) as usize);
    if plain.is_empty() {
        out.extend(seal_chunk(c, pack, at, 0, 0, plain));
    }
    for (i, part) in plain.chunks(CHUNK as usize).enumerate() {
        out.extend(seal_chunk(c, pack, at, i as u64, total, part));
    }
    out
}

/// Opens a whole sealed entry.
pub fn open_entry(c: &Cipher, pack: &str, at: u64, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut o = EntryOpener::new(c.clone(), pack, at, sealed.len() as u64);
    let mut out = o.feed(sealed)?;
    out.extend(o.finish()?);
    Ok(out)
}

/// Opens a sealed entry as it streams in: fed ciphertext, it gives plaintext chunk by chunk.
pub struct EntryOpener {
    c: Cipher,
    pack: String,
    at: u64,
    total_chunks: u64,
    next: u64,
    buf: Vec<u8>,
}

impl EntryOpener {
    /// For an entry of `sealed` bytes in all.
    pub fn new(c: Cipher, pack: &str, at: u64, sealed: u64) -> Self {
        Self { c, pack: pack.to_string(), at, total_chunks: sealed_chunks(sealed), next: 0, buf: Vec::new() }
    }

    /// The plaintext of every chunk completed by `data`.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::new();
        self.feed_into(data, &mut out)?;
        Ok(out)
    }

    /// Appends to `out` the plaintext of every chunk completed by `data` (a caller streaming a
    /// large file reuses one `out`, and each chunk is opened where it was gathered).
    pub fn feed_into(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(SEALED_CHUNK as usize);
        }
        while !data.is_empty() {
            let want = SEALED_CHUNK as usize - self.buf.len();
            let take = want.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == SEALED_CHUNK as usize {
                if self.next + 1 < self.total_chunks {
                    self.open_buffered_into(false, out)?;
                } else if !data.is_empty() {
                    // More than the entry's size said.
                    return Err(CryptoError::Tampered);
                }
            }
        }
        Ok(())
    }

    /// The last chunk's plaintext; refused when the entry ended early or ran on.
    pub fn finish(&mut self) -> Result<Vec<u8>, CryptoError> {
        if self.next + 1 != self.total_chunks {
            return Err(CryptoError::Tampered);
        }
        self.open_buffered(true)
    }

    fn open_buffered(&mut self, last: bool) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::new();
        self.open_buffered_into(last, &mut out)?;
        Ok(out)
    }

    fn open_buffered_into(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let plain = self.c.open_in_place(&aad(&self.pack, self.at, self.next, last), &mut self.buf)?;
        out.extend_from_slice(&self.buf[plain]);
        self.buf.clear();
        self.next += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::crypto::ProjectKey;

    #[test]
    fn entries_of_any_size_open_whole_and_streamed_and_only_in_their_place() {
        let c = ProjectKey::generate().cipher();
        for size in [0usize, 1, 1000, CHUNK as usize - 1, CHUNK as usize, CHUNK as usize + 1, 3 * CHUNK as usize + 7] {
            let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let sealed = seal_entry(&c, "p1", 40, &plain);
            assert_eq!(sealed.len() as u64, sealed_len(size as u64), "{size}");
            assert_eq!(open_entry(&c, "p1", 40, &sealed).unwrap(), plain, "{size}");
            // Streamed in odd pieces.
            let mut o = EntryOpener::new(c.clone(), "p1", 40, sealed.len() as u64);
            let mut got = Vec::new();
            for piece in sealed.chunks(99_991) {
                got.extend(o.feed(piece).unwrap());
            }
            got.extend(o.finish().unwrap());
            assert_eq!(got, plain, "{size} streamed");
            // Elsewhere, it does not open.
            assert!(open_entry(&c, "p2", 40, &sealed).is_err(), "another pack");
            assert!(open_entry(&c, "p1", 41, &sealed).is_err(), "another place");
        }
    }

    #[test]
    fn a_dropped_or_cut_chunk_is_refused() {
        let c = ProjectKey::generate().cipher();
        let plain = vec![7u8; 3 * CHUNK as usize];
        let sealed = seal_entry(&c, "p", 0, &plain);
        let full = SEALED_CHUNK as usize;
        // The last chunk dropped: the one before it is not marked last.
        assert!(open_entry(&c, "p", 0, &sealed[..2 * full]).is_err());
        // The middle chunk dropped: the third is not chunk 1.
        let mut gap = sealed[..full].to_vec();
        gap.extend_from_slice(&sealed[2 * full..]);
        assert!(open_entry(&c, "p", 0, &gap).is_err());
        // Swapped chunks.
        let mut swapped = sealed[full..2 * full].to_vec();
        swapped.extend_from_slice(&sealed[..full]);
        swapped.extend_from_slice(&sealed[2 * full..]);
        assert!(open_entry(&c, "p", 0, &swapped).is_err());
    }
}
