//! The bucket side of sync (S3-compatible: Cloudflare R2, SeaweedFS, AWS): content-addressed
//! blobs stored once (`If-None-Match: *`), one manifest per snapshot, and a `HEAD` object moved
//! with conditional writes (`If-Match` on its ETag) so two machines never overwrite each other:
//! the loser sees a conflict and keeps both versions.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use crate::secrets::Secret;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the bucket is unreachable ({0}); changes stay queued and are sent when it is back")]
    Unreachable(String),
    #[error("another machine moved this project on (it is at snapshot {remote}); both versions are kept, choose one")]
    Conflict { remote: String },
    #[error("the stored object {key} does not match its hash; it was not used")]
    Corrupt { key: String },
    #[error("the bucket refused the request: {0}")]
    Refused(String),
}

impl crate::error::UserFacing for SyncError {
    fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "offline",
            Self::Conflict { .. } => "conflict",
            Self::Corrupt { .. } => "corrupt",
            Self::Refused(_) => "refused",
        }
    }
}

#[derive(Debug, Clone)]
pub struct S3Config {
    /// `https://<account>.r2.cloudflarestorage.com`, or a local S3 server.
    pub endpoint: String,
    pub bucket: String,
    /// `auto` for R2.
    pub region: String,
    pub path_style: bool,
    /// Key prefix of this project in the bucket.
    pub prefix: String,
}

/// One file of a snapshot. Paths are stored as bytes (base64 in JSON) so any name survives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFile {
    #[serde(with = "b64")]
    pub path: Vec<u8>,
    pub size: u64,
    pub blake3: String,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub parent: Option<String>,
    pub created_at_ms: i64,
    pub files: Vec<SnapshotFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    snapshot: String,
}

mod b64 {
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

pub struct S3Target {
    client: aws_sdk_s3::Client,
    cfg: S3Config,
}

type SdkError<E> = aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>;

fn err<E: std::fmt::Debug + std::fmt::Display>(e: SdkError<E>) -> SyncError {
    use aws_sdk_s3::error::SdkError;
    match &e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => SyncError::Unreachable(e.to_string()),
        SdkError::ServiceError(s) => SyncError::Refused(format!("{}", s.err())),
        _ => SyncError::Refused(format!("{e:?}")),
    }
}

fn status<E>(e: &SdkError<E>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

impl S3Target {
    pub fn new(cfg: S3Config, access_key: &Secret, secret_key: &Secret) -> Self {
        let creds = Credentials::new(access_key.expose(), secret_key.expose(), None, None, "aura-keychain");
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&cfg.endpoint)
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(creds)
            .force_path_style(cfg.path_style)
            .build();
        Self { client: aws_sdk_s3::Client::from_conf(conf), cfg }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}/{rest}", self.cfg.prefix.trim_end_matches('/'))
    }

    fn blob_key(&self, hash: &str) -> String {
        self.key(&format!("blobs/{}/{hash}", &hash[..2.min(hash.len())]))
    }

    /// Creates the bucket when it does not exist (local S3 servers; R2 buckets are made in the
    /// Cloudflare dashboard, and a missing one is reported).
    pub async fn ensure_bucket(&self) -> Result<(), SyncError> {
        match self.client.head_bucket().bucket(&self.cfg.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => {
                self.client.create_bucket().bucket(&self.cfg.bucket).send().await.map_err(err)?;
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Stores a blob under its hash unless it is there already; true when it was uploaded.
    pub async fn put_blob(&self, hash: &str, data: Vec<u8>) -> Result<bool, SyncError> {
        let r = self
            .client
            .put_object()
            .bucket(&self.cfg.bucket)
            .key(self.blob_key(hash))
            .if_none_match("*")
            .body(ByteStream::from(data))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if matches!(status(&e), Some(412) | Some(409)) => Ok(false),
            Err(e) => Err(err(e)),
        }
    }

    /// Reads a blob and checks it against its hash.
    pub async fn get_blob(&self, hash: &str) -> Result<Vec<u8>, SyncError> {
        let key = self.blob_key(hash);
        let r = self.client.get_object().bucket(&self.cfg.bucket).key(&key).send().await.map_err(err)?;
        let bytes = r.body.collect().await.map_err(|e| SyncError::Unreachable(e.to_string()))?.into_bytes().to_vec();
        if blake3::hash(&bytes).to_hex().as_str() != hash {
            return Err(SyncError::Corrupt { key });
        }
        Ok(bytes)
    }

    /// The snapshot the project is at in the bucket, with the HEAD object's ETag.
    pub async fn head(&self) -> Result<Option<(String, String)>, SyncError> {
        let r = self.client.get_object().bucket(&self.cfg.bucket).key(self.key("HEAD")).send().await;
        match r {
            Ok(o) => {
                let etag = o.e_tag().unwrap_or_default().to_string();
                let bytes = o.body.collect().await.map_err(|e| SyncError::Unreachable(e.to_string()))?.into_bytes();
                let head: Head =
                    serde_json::from_slice(&bytes).map_err(|e| SyncError::Corrupt { key: format!("HEAD ({e})") })?;
                Ok(Some((head.snapshot, etag)))
            }
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    /// Writes a snapshot manifest and moves HEAD to it, only if HEAD is still where this
    /// machine last saw it (`expected`: its ETag, or `None` for a project new in the bucket).
    pub async fn commit(&self, snap: &Snapshot, expected: Option<&str>) -> Result<String, SyncError> {
        let body = serde_json::to_vec(snap).map_err(|e| SyncError::Refused(e.to_string()))?;
        self.client
            .put_object()
            .bucket(&self.cfg.bucket)
            .key(self.key(&format!("snapshots/{}.json", snap.id)))
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(err)?;
        let head = serde_json::to_vec(&Head { snapshot: snap.id.clone() }).unwrap();
        let put = self.client.put_object().bucket(&self.cfg.bucket).key(self.key("HEAD")).body(ByteStream::from(head));
        let put = match expected {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(o) => Ok(o.e_tag().unwrap_or_default().to_string()),
            Err(e) if matches!(status(&e), Some(412) | Some(409)) => {
                let remote = self.head().await?.map(|h| h.0).unwrap_or_default();
                Err(SyncError::Conflict { remote })
            }
            Err(e) => Err(err(e)),
        }
    }

    pub async fn snapshot(&self, id: &str) -> Result<Snapshot, SyncError> {
        let key = self.key(&format!("snapshots/{id}.json"));
        let o = self.client.get_object().bucket(&self.cfg.bucket).key(&key).send().await.map_err(err)?;
        let bytes = o.body.collect().await.map_err(|e| SyncError::Unreachable(e.to_string()))?.into_bytes();
        serde_json::from_slice(&bytes).map_err(|_| SyncError::Corrupt { key })
    }
}
