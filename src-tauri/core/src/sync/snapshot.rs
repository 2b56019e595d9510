//! What the bucket stores about a project besides content: snapshot manifests (every file's
//! path, size, hash and mode at one pass) and the HEAD record naming the current one.

use serde::{Deserialize, Serialize};

/// One blob in the bucket, for garbage collection.
#[derive(Debug, Clone)]
pub struct BlobInfo {
    pub hash: String,
    pub size: u64,
    pub modified_ms: i64,
}

/// One file of a snapshot. Paths are stored as bytes (base64 in JSON) so any name survives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFile {
    #[serde(with = "b64")]
    pub path: Vec<u8>,
    pub size: u64,
    pub blake3: String,
    pub mode: u32,
    /// Where the content is when it is packed with others (small files and links); `None`:
    /// its own object under `blobs/` (large files, and every blob written before packs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<PackRef>,
}

/// A blob's place inside a pack object: `len` bytes at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackRef {
    pub id: String,
    pub at: u64,
    pub len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub parent: Option<String>,
    pub created_at_ms: i64,
    /// The machine that wrote it (host name), for the history and conflict views.
    #[serde(default)]
    pub machine: String,
    /// A snapshot kept aside when a conflict was resolved by taking the other version; HEAD
    /// never pointed at it.
    #[serde(default)]
    pub side: bool,
    /// Stored form only: a differential snapshot names the full snapshot it builds on; `files`
    /// then holds what differs from it and `removed` what it lacks. `Bucket::snapshot`
    /// always returns the resolved, full form (no base, nothing removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "b64list")]
    pub removed: Vec<Vec<u8>>,
    pub files: Vec<SnapshotFile>,
}

mod b64list {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<String> = v.iter().map(|p| base64::engine::general_purpose::STANDARD.encode(p)).collect();
        list.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let list = Vec::<String>::deserialize(d)?;
        list.iter()
            .map(|p| base64::engine::general_purpose::STANDARD.decode(p).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Head {
    #[serde(default)]
    pub snapshot: String,
    /// Counts up with every move (encrypted projects), so an older HEAD put back is known.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
    /// Left in a project's old place when it moved (made end-to-end encrypted): the key of
    /// where it is now. Such a HEAD names no snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Bytes as base64 in JSON (`#[serde(with = ...)]`).
pub(crate) mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}
