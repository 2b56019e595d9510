//! A project leaving its place in the bucket (made end-to-end encrypted, it moves to a new
//! key): its old HEAD is swapped, conditionally, for a pointer to where it went, so a machine
//! still syncing the old place is stopped at its next commit and told where the project is,
//! and what the old place held is then deleted.

use bytes::Bytes;

use super::{Bucket, Written};
use crate::sync::error::SyncError;
use crate::sync::snapshot::Head;

impl Bucket {
    /// Replaces HEAD by a pointer to project `to`, only if HEAD is still at `expected` (its
    /// ETag): a pass another machine committed meanwhile is a [`SyncError::Conflict`], and the
    /// caller carries that snapshot over too before trying again.
    pub async fn mark_moved(&self, to: &str, expected: &str) -> Result<(), SyncError> {
        let head = Head { snapshot: String::new(), seq: 0, moved: Some(to.to_string()) };
        let body = serde_json::to_vec(&head).expect("a HEAD serializes");
        match self.store().put_if(&self.key("HEAD"), Bytes::from(body), Some(expected)).await? {
            Written::Done(_) => Ok(()),
            Written::PreconditionFailed => {
                let remote = match self.head().await {
                    Ok(h) => h.map(|h| h.0).unwrap_or_default(),
                    Err(SyncError::Moved { to }) => format!("(moved to {to})"),
                    Err(e) => return Err(e),
                };
                Err(SyncError::Conflict { remote })
            }
        }
    }

    /// Where the project went, if it moved (its HEAD is a pointer).
    pub async fn moved_to(&self) -> Result<Option<String>, SyncError> {
        match self.head().await {
            Ok(_) => Ok(None),
            Err(SyncError::Moved { to }) => Ok(Some(to)),
            Err(e) => Err(e),
        }
    }

    /// Deletes everything of the project but its HEAD (the pointer of a moved project);
    /// returns how many objects went.
    pub async fn delete_all_but_head(&self) -> Result<usize, SyncError> {
        let head = self.key("HEAD");
        let keys: Vec<String> = self
            .store()
            .list(&self.key(""), None)
            .await?
            .objects
            .into_iter()
            .map(|(k, _, _)| k)
            .filter(|k| *k != head)
            .collect();
        for chunk in keys.chunks(1000) {
            self.store().delete(chunk).await?;
        }
        Ok(keys.len())
    }
}
