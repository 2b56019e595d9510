//! The history: a file's versions, retention of snapshots, garbage collection of blobs.

use super::*;

/// One version of a file in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    pub snapshot: String,
    pub created_at_ms: i64,
    pub machine: String,
    pub blake3: String,
    pub size: u64,
}

/// The distinct versions of `path` in the newest `limit` snapshots, newest first (a version
/// shows once, at the newest snapshot that has it... and the snapshot where it first appeared
/// is the one after it in the list).
pub async fn file_history(target: &Bucket, path: &[u8], limit: usize) -> Result<Vec<FileVersion>, SyncError> {
    let ids = target.list_snapshots().await?;
    let ids: Vec<String> = ids.into_iter().rev().take(limit).collect();
    let snaps: Vec<Snapshot> = futures::stream::iter(ids.iter().map(|id| target.snapshot(id)).collect::<Vec<_>>())
        .buffered(8)
        .try_collect()
        .await?;
    let mut out: Vec<FileVersion> = Vec::new();
    for s in snaps {
        if let Some(f) = s.files.iter().find(|f| f.path == path) {
            if out.last().is_none_or(|v| v.blake3 != f.blake3) {
                out.push(FileVersion {
                    snapshot: s.id.clone(),
                    created_at_ms: s.created_at_ms,
                    machine: s.machine.clone(),
                    blake3: f.blake3.clone(),
                    size: f.size,
                });
            }
        }
    }
    Ok(out)
}
#[derive(Debug, Default)]
pub struct GcReport {
    pub snapshots: usize,
    pub blobs_kept: usize,
    pub blobs_deleted: usize,
    pub packs_kept: usize,
    pub packs_deleted: usize,
    pub bytes_freed: u64,
}

/// Which snapshots history keeps: every one of the last `all_days`, then the newest of each
/// day up to `daily_days`, then the newest of each week.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub all_days: i64,
    pub daily_days: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self { all_days: 7, daily_days: 90 }
    }
}

/// Deletes snapshots the retention policy does not keep. Never HEAD, never a full snapshot
/// (differential ones, kept or written later by any machine, build on them), never one whose
/// id does not carry its time.
pub async fn prune(target: &Bucket, policy: Retention, now: i64) -> Result<usize, SyncError> {
    const DAY: i64 = 24 * 3600 * 1000;
    let head = target.head().await?.map(|h| h.0);
    let ids = target.list_snapshots().await?;
    // Newest first: the first snapshot seen in a day (or week) bucket is the one kept.
    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    for id in ids.iter().rev() {
        let Some(t) = id.split('-').next().and_then(|t| t.parse::<i64>().ok()) else { continue };
        let age = now - t;
        let bucket = if age < policy.all_days * DAY {
            continue;
        } else if age < policy.daily_days * DAY {
            (0, t / DAY)
        } else {
            (1, t / (7 * DAY))
        };
        if seen.insert(bucket) || Some(id) == head.as_ref() {
            continue;
        }
        candidates.push(id.clone());
    }
    let stored: Vec<Snapshot> =
        futures::stream::iter(candidates.iter().map(|id| target.snapshot_stored(id)).collect::<Vec<_>>())
            .buffered(8)
            .try_collect()
            .await?;
    let doomed: Vec<String> = stored.into_iter().filter(|s| s.base.is_some()).map(|s| s.id).collect();
    target.delete_snapshots(&doomed).await?;
    Ok(doomed.len())
}

/// Deletes blobs and packs no snapshot references. Objects newer than `grace_ms` are kept: a
/// pass on another machine may have stored them for a snapshot it has not committed yet. (A
/// pack goes only when none of its blobs is used any more; packs are not rewritten.)
pub async fn gc(target: &Bucket, grace_ms: i64) -> Result<GcReport, SyncError> {
    let ids = target.list_snapshots().await?;
    let (mut blobs, mut packs) = (HashSet::new(), HashSet::new());
    let snaps: Vec<Snapshot> = futures::stream::iter(ids.iter().map(|id| target.snapshot(id)).collect::<Vec<_>>())
        .buffered(8)
        .try_collect()
        .await?;
    for s in &snaps {
        for f in s.files.iter().filter(|f| !crate::sync::folders::is_dir(f.mode)) {
            match &f.pack {
                Some(p) => packs.insert(p.id.clone()),
                None => blobs.insert(f.blake3.clone()),
            };
        }
    }
    let cutoff = now_ms() - grace_ms;
    let mut report = GcReport { snapshots: snaps.len(), ..Default::default() };
    let unused = |kept: &HashSet<String>, objects: Vec<crate::sync::snapshot::BlobInfo>, freed: &mut u64| {
        let (mut doomed, mut left) = (Vec::new(), 0);
        for b in objects {
            if kept.contains(&b.hash) || b.modified_ms > cutoff {
                left += 1;
            } else {
                *freed += b.size;
                doomed.push(b.hash);
            }
        }
        (doomed, left)
    };
    let (doomed, kept) = unused(&blobs, target.list_blobs().await?, &mut report.bytes_freed);
    (report.blobs_deleted, report.blobs_kept) = (doomed.len(), kept);
    target.delete_blobs(&doomed).await?;
    let (doomed, kept) = unused(&packs, target.list_packs().await?, &mut report.bytes_freed);
    (report.packs_deleted, report.packs_kept) = (doomed.len(), kept);
    target.delete_packs(&doomed).await?;
    Ok(report)
}
