//! The background worker: a pass whenever the journal has entries, backing off while the
//! bucket is unreachable, stopping at a conflict; each pass's outcome becomes events and status.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::{lossy, Active, ConflictInfo, StatusFn, SyncEvent, SyncEventKind, SyncState, SyncStatus};
use crate::store::{now_ms, Store};
use crate::sync::engine::{CommitTo, PushReport};
use crate::sync::error::SyncError;

const EVENTS_KEPT: usize = 300;
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const RESCAN_EVERY: Duration = Duration::from_secs(600);

/// The next backoff after a failed pass: from half a second, doubling, up to a minute.
fn grow(b: Duration) -> Duration {
    if b.is_zero() {
        Duration::from_millis(500)
    } else {
        (b * 2).min(MAX_BACKOFF)
    }
}

/// Files a restore left in place because their content is in no snapshot.
pub(super) fn note_kept(a: &Active, kept: &[String]) {
    for k in kept {
        push_event(
            a,
            SyncEventKind::Kept,
            Some(k.as_bytes()),
            "in no snapshot (too large or unreadable): kept here".into(),
        );
    }
}

pub(super) fn push_event(a: &Active, kind: SyncEventKind, path: Option<&[u8]>, message: String) {
    let mut ev = a.events.lock();
    if ev.len() >= EVENTS_KEPT {
        ev.pop_front();
    }
    ev.push_back(SyncEvent { at_ms: now_ms(), kind, path: path.map(lossy), message });
}

pub(super) struct Worker {
    pub(super) a: Arc<Active>,
    pub(super) store: Arc<Store>,
    pub(super) on_status: StatusFn,
    /// The plaintext place the project moved from, still to be emptied.
    pub(super) left: Option<crate::sync::bucket::Bucket>,
}

impl Worker {
    fn publish(&self, f: impl FnOnce(&mut SyncStatus)) {
        let s = {
            let mut st = self.a.status.lock();
            f(&mut st);
            st.pending = self.store.journal_count(self.a.project_id).unwrap_or(st.pending);
            st.failing = self.store.journal_failing(self.a.project_id).unwrap_or(0);
            st.clone()
        };
        if !self.a.stopped.load(Ordering::SeqCst) {
            (self.on_status)(&s);
        }
    }

    /// Finds changes made while Aura was closed, or missed by the watcher (names that are not
    /// UTF-8, events dropped under load): cheap, only changed metadata is hashed.
    async fn full_scan(&self) {
        let a = self.a.clone();
        let (root, store, id) = (a.root.clone(), self.store.clone(), a.project_id);
        match tokio::task::spawn_blocking(move || {
            let _ = store.prune_sent_blobs();
            crate::sync::scan::scan(&root, &store, id)
        })
        .await
        {
            Ok(Ok(r)) => {
                for (p, e) in r.errors {
                    push_event(&a, SyncEventKind::Error, Some(&p), e);
                }
                // Seen, not carried (a link out of the project): said, never silently dropped.
                for (p, why) in r.skipped {
                    push_event(&a, SyncEventKind::Skipped, Some(&p), why);
                }
            }
            Ok(Err(e)) => push_event(&a, SyncEventKind::Error, None, e.to_string()),
            Err(e) => push_event(&a, SyncEventKind::Error, None, e.to_string()),
        }
    }

    pub(super) async fn run(self) {
        let a = self.a.clone();
        if let Some(old) = &self.left {
            super::delete_left(&self.store, old, a.project_id).await;
        }
        self.check_place().await;
        self.full_scan().await;
        let mut backoff = Duration::ZERO;
        loop {
            if a.stopped.load(Ordering::SeqCst) {
                return;
            }
            let in_conflict = a.status.lock().conflict.is_some();
            if !in_conflict {
                backoff = self.pass(backoff).await;
            }
            if a.stopped.load(Ordering::SeqCst) {
                return;
            }
            let conflict = a.status.lock().conflict.is_some();
            if conflict || backoff.is_zero() {
                if tokio::time::timeout(RESCAN_EVERY, a.nudge.notified()).await.is_err() && !conflict {
                    self.full_scan().await;
                }
            } else {
                // Back off: new saves queue up; only the timer or "sync now" starts a pass.
                let jittered = backoff.mul_f64(0.5 + rand::random::<f64>() * 0.5);
                let sleep = tokio::time::sleep(jittered);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        _ = &mut sleep => break,
                        _ = a.nudge.notified() => {
                            if a.now.swap(false, Ordering::SeqCst) || a.stopped.load(Ordering::SeqCst) {
                                break;
                            }
                            self.publish(|_| {});
                        }
                    }
                }
            }
            a.now.store(false, Ordering::SeqCst);
        }
    }

    /// One pass; returns the backoff before the next one (zero: wait for a change).
    async fn pass(&self, backoff: Duration) -> Duration {
        let a = &self.a;
        let _g = a.pass.lock().await;
        // Stopped while waiting (a conversion moved the project): nothing goes to the old place.
        if a.stopped.load(Ordering::SeqCst) {
            return Duration::ZERO;
        }
        if self.store.journal_count(a.project_id).unwrap_or(0) == 0 {
            self.publish(|s| {
                if s.state != SyncState::Offline || backoff.is_zero() {
                    s.state = SyncState::Synced;
                    s.message = None;
                }
            });
            return Duration::ZERO;
        }
        self.publish(|s| s.state = SyncState::Syncing);
        // Progress goes to the window at most every 250 ms.
        let last = Mutex::new(std::time::Instant::now());
        let on_progress = |done: usize, total: usize| {
            let mut l = last.lock();
            if l.elapsed() >= Duration::from_millis(250) || done == total {
                *l = std::time::Instant::now();
                drop(l);
                self.publish(|s| s.progress = Some((done as u64, total as u64)));
            }
        };
        let r = a.sync(&self.store).push_observed(CommitTo::Head, Some(&on_progress)).await;
        self.a.status.lock().progress = None;
        match r {
            Ok(report) => self.passed(&report, backoff),
            Err(SyncError::Conflict { remote }) => {
                self.conflict(remote).await;
                Duration::ZERO
            }
            Err(e @ SyncError::Moved { .. }) => {
                // The project was converted elsewhere: what this pass stored at its old,
                // plaintext place is deleted at once (the changes stay queued for the new one).
                if let Err(d) = a.target.delete_all_but_head().await {
                    tracing::warn!(error = %d, "a pass's plaintext objects at a moved project's place are left");
                }
                self.failed(&e, backoff)
            }
            Err(e) => self.failed(&e, backoff),
        }
    }

    /// Says at once, not at the next save, when the project cannot be synced from here
    /// without its recovery phrase (encrypted, or converted and moved, on another machine).
    async fn check_place(&self) {
        let t = &self.a.target;
        let r = match t.check_unlocked().await {
            Ok(()) if t.cipher().is_none() => t.moved_to().await.map(|_| ()),
            other => other,
        };
        if let Err(e @ (SyncError::Locked | SyncError::Moved { .. })) = r {
            push_event(&self.a, SyncEventKind::Error, None, e.to_string());
            self.publish(|s| {
                s.state = SyncState::Error;
                s.message = Some(e.to_string());
                s.phrase_needed = true;
            });
        }
    }

    /// A committed pass: its events and status. Returns the backoff before the next one.
    fn passed(&self, report: &PushReport, backoff: Duration) -> Duration {
        self.record(report);
        let more = self.store.journal_count(self.a.project_id).unwrap_or(0) > 0;
        self.publish(|s| {
            s.state = if more { SyncState::Pending } else { SyncState::Synced };
            s.phrase_needed = false;
            s.message = report.errors.first().map(|(p, e)| format!("{}: {e}", lossy(p)));
            if report.snapshot.is_some() {
                s.snapshot = report.snapshot.clone();
            }
        });
        if !report.errors.is_empty() {
            // Files that failed are retried, less and less often.
            grow(backoff).max(Duration::from_secs(2))
        } else {
            if more {
                self.a.nudge.notify_one();
            }
            Duration::ZERO
        }
    }

    /// Another machine moved HEAD: pushing stops until the user picks a version.
    async fn conflict(&self, remote: String) {
        let snap = self.a.target.snapshot(&remote).await.ok();
        let info = ConflictInfo {
            remote_snapshot: remote.clone(),
            remote_machine: snap.as_ref().map(|s| s.machine.clone()).unwrap_or_default(),
            remote_at_ms: snap.as_ref().map(|s| s.created_at_ms).unwrap_or(0),
        };
        let msg = format!(
            "{} moved this project on (snapshot {remote}); your changes are kept here — keep yours or take theirs",
            if info.remote_machine.is_empty() { "another machine" } else { &info.remote_machine }
        );
        push_event(&self.a, SyncEventKind::Conflict, None, msg.clone());
        self.publish(|s| {
            s.state = SyncState::Conflict;
            s.message = Some(msg);
            s.conflict = Some(info);
        });
    }

    /// A pass that failed as a whole (offline, refused): one event per outage, the status, and
    /// a longer backoff.
    fn failed(&self, e: &SyncError, backoff: Duration) -> Duration {
        let offline = matches!(e, SyncError::Unreachable(_));
        let next = grow(backoff);
        let msg = format!("{e}; retrying in about {} s", next.as_secs().max(1));
        if backoff.is_zero() {
            let kind = if offline { SyncEventKind::Offline } else { SyncEventKind::Error };
            push_event(&self.a, kind, None, e.to_string());
        }
        tracing::warn!(error = %e, "sync pass failed");
        self.publish(|s| {
            s.state = if offline { SyncState::Offline } else { SyncState::Error };
            s.message = Some(msg);
            s.phrase_needed = matches!(e, SyncError::Locked | SyncError::Moved { .. });
        });
        next
    }

    fn record(&self, r: &PushReport) {
        let a = &self.a;
        for p in r.uploaded.iter().take(100) {
            push_event(a, SyncEventKind::Upload, Some(p), "uploaded".into());
        }
        if r.uploaded.len() > 100 {
            push_event(a, SyncEventKind::Upload, None, format!("and {} more files", r.uploaded.len() - 100));
        }
        for p in r.deleted.iter().take(100) {
            push_event(a, SyncEventKind::Delete, Some(p), "deleted".into());
        }
        for (p, e) in &r.errors {
            push_event(a, SyncEventKind::Error, Some(p), e.clone());
        }
        for (p, why) in &r.skipped {
            push_event(a, SyncEventKind::Skipped, Some(p), why.clone());
        }
        if let Some(s) = &r.snapshot {
            push_event(
                a,
                SyncEventKind::Snapshot,
                None,
                format!(
                    "snapshot {s}: {} sent ({} KiB), {} already there",
                    r.uploaded.len(),
                    r.bytes_sent / 1024,
                    r.already_there
                ),
            );
        }
    }
}
