//! [`ObjectStore`] on an S3-compatible service (Cloudflare R2, SeaweedFS, AWS) through
//! aws-sdk-s3.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use bytes::Bytes;

use super::{Listing, Object, ObjectStore, ObjectStream, Written};
use crate::secrets::Secret;
use crate::sync::error::SyncError;

#[derive(Debug, Clone)]
pub struct S3Config {
    /// `https://<account>.r2.cloudflarestorage.com`, or a local S3 server.
    pub endpoint: String,
    pub bucket: String,
    /// `auto` for R2.
    pub region: String,
    pub path_style: bool,
    /// Attempts per request (the SDK's standard retry: exponential backoff with full jitter).
    pub max_attempts: u32,
}

pub struct S3Store {
    client: aws_sdk_s3::Client,
    cfg: S3Config,
}

type SdkError<E> = aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>;

/// The innermost cause of an error ("Connection refused (os error 111)"), not the SDK's
/// outer "dispatch failure".
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

fn err<E: std::error::Error + 'static>(e: SdkError<E>) -> SyncError {
    use aws_sdk_s3::error::SdkError;
    match &e {
        SdkError::TimeoutError(_) => SyncError::Unreachable("timed out".into()),
        SdkError::DispatchFailure(_) => SyncError::Unreachable(cause(&e)),
        SdkError::ServiceError(s) => SyncError::Refused(format!("{}", s.err())),
        _ => SyncError::Refused(format!("{e:?}")),
    }
}

fn status<E>(e: &SdkError<E>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn unreachable(e: impl std::fmt::Display) -> SyncError {
    SyncError::Unreachable(e.to_string())
}

fn stream(body: ByteStream) -> futures::stream::BoxStream<'static, Result<Bytes, SyncError>> {
    Box::pin(futures::stream::try_unfold(body, |mut b| async move {
        Ok(b.try_next().await.map_err(unreachable)?.map(|chunk| (chunk, b)))
    }))
}

impl S3Store {
    pub fn new(cfg: S3Config, access_key: &Secret, secret_key: &Secret) -> Self {
        let creds = Credentials::new(access_key.expose(), secret_key.expose(), None, None, "aura-keychain");
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&cfg.endpoint)
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(creds)
            .force_path_style(cfg.path_style)
            // No CRC trailer on uploads: blobs are named by their blake3 hash and every read is
            // checked against it, and TLS protects the way there. (It costs an aws-chunked body
            // and a CRC per request, about a quarter of the client's CPU on small files.)
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(cfg.max_attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        Self { client: aws_sdk_s3::Client::from_conf(conf), cfg }
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn location(&self) -> String {
        format!("{}/{}", self.cfg.endpoint.trim_end_matches('/'), self.cfg.bucket)
    }

    /// Local S3 servers get the bucket made; R2 buckets are made in the Cloudflare dashboard,
    /// and a missing one is reported.
    async fn ensure_bucket(&self) -> Result<(), SyncError> {
        match self.client.head_bucket().bucket(&self.cfg.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => {
                self.client.create_bucket().bucket(&self.cfg.bucket).send().await.map_err(err)?;
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Object>, SyncError> {
        match self.client.get_object().bucket(&self.cfg.bucket).key(key).send().await {
            Ok(o) => {
                let etag = o.e_tag().unwrap_or_default().to_string();
                let body = o.body.collect().await.map_err(unreachable)?.into_bytes();
                Ok(Some(Object { body, etag }))
            }
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Bytes>, SyncError> {
        if len == 0 {
            return Ok(Some(Bytes::new()));
        }
        let range = format!("bytes={offset}-{}", offset.saturating_add(len - 1));
        match self.client.get_object().bucket(&self.cfg.bucket).key(key).range(range).send().await {
            Ok(o) => Ok(Some(o.body.collect().await.map_err(unreachable)?.into_bytes())),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn get_stream(&self, key: &str) -> Result<Option<ObjectStream>, SyncError> {
        match self.client.get_object().bucket(&self.cfg.bucket).key(key).send().await {
            Ok(o) => Ok(Some(ObjectStream { len: o.content_length().map(|n| n as u64), body: stream(o.body) })),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, SyncError> {
        match self.client.head_object().bucket(&self.cfg.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(err(e)),
        }
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<String, SyncError> {
        let o = self
            .client
            .put_object()
            .bucket(&self.cfg.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(err)?;
        Ok(o.e_tag().unwrap_or_default().to_string())
    }

    async fn put_if(&self, key: &str, body: Bytes, expected: Option<&str>) -> Result<Written, SyncError> {
        let put = self.client.put_object().bucket(&self.cfg.bucket).key(key).body(ByteStream::from(body));
        let put = match expected {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(o) => Ok(Written::Done(o.e_tag().unwrap_or_default().to_string())),
            Err(e) if matches!(status(&e), Some(412) | Some(409)) => Ok(Written::PreconditionFailed),
            Err(e) => Err(err(e)),
        }
    }

    async fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<Listing, SyncError> {
        let mut out = Listing::default();
        let mut token = None;
        loop {
            let r = self
                .client
                .list_objects_v2()
                .bucket(&self.cfg.bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(str::to_string))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(err)?;
            for o in r.contents() {
                let t = o.last_modified().and_then(|t| t.to_millis().ok()).unwrap_or(0);
                out.objects.push((o.key().unwrap_or_default().to_string(), o.size().unwrap_or(0) as u64, t));
            }
            out.prefixes.extend(r.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_string)));
            match r.next_continuation_token() {
                Some(t) if r.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn delete(&self, keys: &[String]) -> Result<(), SyncError> {
        for chunk in keys.chunks(1000) {
            let objects: Vec<ObjectIdentifier> =
                chunk.iter().filter_map(|k| ObjectIdentifier::builder().key(k).build().ok()).collect();
            let del = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| SyncError::Refused(e.to_string()))?;
            self.client.delete_objects().bucket(&self.cfg.bucket).delete(del).send().await.map_err(err)?;
        }
        Ok(())
    }

    async fn start_upload(&self, key: &str) -> Result<String, SyncError> {
        let up = self.client.create_multipart_upload().bucket(&self.cfg.bucket).key(key).send().await.map_err(err)?;
        Ok(up.upload_id().unwrap_or_default().to_string())
    }

    async fn put_part(&self, key: &str, upload: &str, number: u32, body: Bytes) -> Result<String, SyncError> {
        let r = self
            .client
            .upload_part()
            .bucket(&self.cfg.bucket)
            .key(key)
            .upload_id(upload)
            .part_number(number as i32)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(err)?;
        Ok(r.e_tag().unwrap_or_default().to_string())
    }

    async fn finish_upload(&self, key: &str, upload: &str, parts: Vec<(u32, String)>) -> Result<(), SyncError> {
        let parts = parts
            .into_iter()
            .map(|(n, etag)| CompletedPart::builder().part_number(n as i32).e_tag(etag).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.cfg.bucket)
            .key(key)
            .upload_id(upload)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn abort_upload(&self, key: &str, upload: &str) {
        let _ = self.client.abort_multipart_upload().bucket(&self.cfg.bucket).key(key).upload_id(upload).send().await;
    }
}
