//! Where the bucket is (app-wide) and which projects sync, in the `settings` table. The access
//! keys are not here: they live in the OS keychain (`R2_ACCESS_KEY_ID`, `R2_SECRET_ACCESS_KEY`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::{Store, StoreError};

/// An S3-compatible bucket: Cloudflare R2 (`https://<account>.r2.cloudflarestorage.com`,
/// region `auto`), or any other S3 store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct BucketSettings {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// `bucket` in the path instead of the host name (local S3 servers; R2 takes both).
    pub path_style: bool,
    /// Uploads in flight at once.
    pub concurrency: u32,
    /// Files over this size (MiB) are reported and not synced.
    pub max_file_mib: u32,
}

impl Default for BucketSettings {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            bucket: String::new(),
            region: "auto".into(),
            path_style: true,
            concurrency: 16,
            max_file_mib: 1024,
        }
    }
}

impl BucketSettings {
    /// What is wrong with these settings, in words a user can act on.
    pub fn problem(&self) -> Option<String> {
        let url = self.endpoint.trim();
        if url.is_empty() || self.bucket.trim().is_empty() {
            return Some("set the bucket's endpoint and name (Settings → Sync)".into());
        }
        if !(url.starts_with("https://") || url.starts_with("http://127.") || url.starts_with("http://localhost")) {
            return Some("the endpoint must be an https:// URL (plain http only to this machine)".into());
        }
        let b = self.bucket.trim();
        if b.len() < 3
            || b.len() > 63
            || !b.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            return Some("a bucket name is 3–63 lowercase letters, digits, '-' or '.'".into());
        }
        if self.concurrency == 0 || self.concurrency > 256 {
            return Some("concurrency must be between 1 and 256".into());
        }
        if self.max_file_mib == 0 || self.max_file_mib > 64 * 1024 {
            return Some("the largest file must be between 1 MiB and 64 GiB".into());
        }
        None
    }
}

const BUCKET: &str = "sync.bucket";

fn enabled_key(project_id: i64) -> String {
    format!("sync.enabled.{project_id}")
}

impl Store {
    pub fn bucket_settings(&self) -> Result<BucketSettings, StoreError> {
        Ok(self.setting(BUCKET)?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
    }

    pub fn save_bucket_settings(&self, s: &BucketSettings) -> Result<(), StoreError> {
        self.set_setting(BUCKET, Some(&serde_json::to_string(s).unwrap_or_default()))
    }

    pub fn sync_enabled(&self, project_id: i64) -> Result<bool, StoreError> {
        Ok(self.setting(&enabled_key(project_id))?.as_deref() == Some("1"))
    }

    pub fn set_sync_enabled(&self, project_id: i64, on: bool) -> Result<(), StoreError> {
        self.set_setting(&enabled_key(project_id), on.then_some("1"))
    }
}
