//! Planning a pass, without I/O: what the journal asks for, which entries a pass settles, and
//! whether its snapshot is full or differential and what it holds.

use std::collections::{BTreeMap, HashMap};

use super::hex;
use crate::sync::scan::FileState;
use crate::sync::snapshot::SnapshotFile;
use crate::sync::state::journal::{JournalEntry, JournalOp};

/// A differential snapshot grows until it differs from its base in more than this many paths
/// or a quarter of the base, whichever is more; then a pass writes a full one.
const DELTA_MIN: u64 = 512;

/// What a journaled path asks of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// Read it and store what it is now.
    Send,
    /// It is gone from the project.
    Remove,
}

/// One action per path (the last entry wins; a rename removes its source and sends its
/// destination).
pub(crate) fn fold(pending: &[JournalEntry]) -> BTreeMap<Vec<u8>, Wanted> {
    let mut out = BTreeMap::new();
    for e in pending {
        match &e.op {
            JournalOp::Upsert(p) => {
                out.insert(p.clone(), Wanted::Send);
            }
            JournalOp::Delete(p) => {
                out.insert(p.clone(), Wanted::Remove);
            }
            JournalOp::Rename { from, to } => {
                out.insert(from.clone(), Wanted::Remove);
                out.insert(to.clone(), Wanted::Send);
            }
        }
    }
    out
}

/// The paths a journal entry names.
pub(crate) fn paths_of(op: &JournalOp) -> Vec<&Vec<u8>> {
    match op {
        JournalOp::Upsert(p) | JournalOp::Delete(p) => vec![p],
        JournalOp::Rename { from, to } => vec![from, to],
    }
}

/// The entries (seq, rev) a committed pass drops: all but those naming a path that failed.
pub(crate) fn settled(pending: &[JournalEntry], failed: &HashMap<Vec<u8>, String>) -> Vec<(i64, i64)> {
    pending
        .iter()
        .filter(|e| !paths_of(&e.op).iter().any(|p| failed.contains_key(*p)))
        .map(|e| (e.seq, e.rev))
        .collect()
}

/// What a pass found: paths stored with their state, and paths gone.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub changed: Vec<(Vec<u8>, FileState)>,
    pub removed: Vec<Vec<u8>>,
}

/// A snapshot file entry for `path` in state `s`.
pub(crate) fn entry(path: &[u8], s: &FileState) -> SnapshotFile {
    SnapshotFile { path: path.to_vec(), size: s.size, blake3: hex(&s.blake3), mode: s.mode, pack: None }
}

/// What a pass's snapshot holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Contents {
    /// Every file of the project.
    Full(Vec<SnapshotFile>),
    /// What differs from full snapshot `base` (`None`: removed since).
    Differential { base: String, delta: BTreeMap<Vec<u8>, Option<SnapshotFile>> },
}

/// The snapshot of a pass. `base` is the full snapshot differential ones build on, with its
/// file count; `delta` what differed from it before this pass; `in_base` the base's entries
/// of the paths this pass changed or removed; `manifest` every file this machine last synced
/// (read only when the snapshot is full).
pub(crate) fn contents<E>(
    base: Option<(String, u64)>,
    mut delta: BTreeMap<Vec<u8>, Option<SnapshotFile>>,
    in_base: &HashMap<Vec<u8>, SnapshotFile>,
    changes: &Changes,
    manifest: impl FnOnce() -> Result<BTreeMap<Vec<u8>, FileState>, E>,
) -> Result<Contents, E> {
    for (p, st) in &changes.changed {
        let f = entry(p, st);
        match in_base.get(p) {
            Some(b) if b.blake3 == f.blake3 && b.mode == f.mode => {
                delta.remove(p);
            }
            _ => {
                delta.insert(p.clone(), Some(f));
            }
        }
    }
    for p in &changes.removed {
        if in_base.contains_key(p) {
            delta.insert(p.clone(), None);
        } else {
            delta.remove(p);
        }
    }
    match base {
        Some((base, count)) if delta.len() as u64 <= DELTA_MIN.max(count / 4) => {
            Ok(Contents::Differential { base, delta })
        }
        _ => {
            let mut files = manifest()?;
            for p in &changes.removed {
                files.remove(p);
            }
            for (p, st) in &changes.changed {
                files.insert(p.clone(), st.clone());
            }
            Ok(Contents::Full(files.iter().map(|(p, s)| entry(p, s)).collect()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(seq: i64, p: &str) -> JournalEntry {
        JournalEntry { seq, op: JournalOp::Upsert(p.into()), rev: 0, attempts: 0, last_error: None }
    }

    fn state(n: u8) -> FileState {
        FileState { size: n as u64, mtime_ns: 0, inode: 0, blake3: [n; 32], mode: 0o644 }
    }

    fn no_manifest() -> Result<BTreeMap<Vec<u8>, FileState>, ()> {
        panic!("a differential snapshot never reads the manifest")
    }

    #[test]
    fn the_last_entry_for_a_path_wins_and_a_rename_is_a_remove_and_a_send() {
        let mut pending = vec![upsert(1, "a"), upsert(2, "b")];
        pending.push(JournalEntry { seq: 3, op: JournalOp::Delete(b"a".to_vec()), ..upsert(3, "") });
        pending.push(JournalEntry {
            seq: 4,
            op: JournalOp::Rename { from: b"b".to_vec(), to: b"c".to_vec() },
            ..upsert(4, "")
        });
        let got: Vec<(Vec<u8>, Wanted)> = fold(&pending).into_iter().collect();
        assert_eq!(
            got,
            vec![(b"a".to_vec(), Wanted::Remove), (b"b".to_vec(), Wanted::Remove), (b"c".to_vec(), Wanted::Send)]
        );
    }

    #[test]
    fn entries_naming_a_failed_path_stay_queued() {
        let mut pending = vec![upsert(1, "ok"), upsert(2, "bad")];
        pending.push(JournalEntry {
            seq: 3,
            op: JournalOp::Rename { from: b"bad".to_vec(), to: b"x".to_vec() },
            ..upsert(3, "")
        });
        let failed = HashMap::from([(b"bad".to_vec(), "too large".to_string())]);
        assert_eq!(settled(&pending, &failed), vec![(1, 0)]);
    }

    #[test]
    fn the_first_pass_is_full_and_holds_the_manifest_with_this_pass_applied() {
        let changes = Changes { changed: vec![(b"new".to_vec(), state(2))], removed: vec![b"old".to_vec()] };
        let manifest = || Ok::<_, ()>(BTreeMap::from([(b"old".to_vec(), state(1)), (b"kept".to_vec(), state(3))]));
        let got = contents(None, BTreeMap::new(), &HashMap::new(), &changes, manifest).unwrap();
        assert_eq!(got, Contents::Full(vec![entry(b"kept", &state(3)), entry(b"new", &state(2))]));
    }

    #[test]
    fn a_small_change_is_differential_and_a_file_back_to_its_base_version_leaves_the_delta() {
        let base = Some(("base".to_string(), 10_000));
        let in_base = HashMap::from([
            (b"same".to_vec(), entry(b"same", &state(1))),
            (b"gone".to_vec(), entry(b"gone", &state(4))),
        ]);
        let before = BTreeMap::from([(b"same".to_vec(), Some(entry(b"same", &state(9))))]);
        let changes = Changes {
            changed: vec![(b"same".to_vec(), state(1)), (b"edited".to_vec(), state(2))],
            removed: vec![b"gone".to_vec(), b"never-synced".to_vec()],
        };
        let got = contents(base, before, &in_base, &changes, no_manifest).unwrap();
        let delta = BTreeMap::from([(b"edited".to_vec(), Some(entry(b"edited", &state(2)))), (b"gone".to_vec(), None)]);
        assert_eq!(got, Contents::Differential { base: "base".into(), delta });
    }

    #[test]
    fn a_delta_past_a_quarter_of_the_base_makes_a_full_snapshot() {
        let changed: Vec<(Vec<u8>, FileState)> = (0..600).map(|i| (format!("f{i}").into_bytes(), state(1))).collect();
        let changes = Changes { changed, removed: vec![] };
        let small_base = contents(Some(("b".into(), 1_000)), BTreeMap::new(), &HashMap::new(), &changes, || {
            Ok::<_, ()>(BTreeMap::new())
        });
        assert!(matches!(small_base, Ok(Contents::Full(f)) if f.len() == 600));
        let large_base = contents(Some(("b".into(), 4_000)), BTreeMap::new(), &HashMap::new(), &changes, no_manifest);
        assert!(matches!(large_base, Ok(Contents::Differential { delta, .. }) if delta.len() == 600));
    }
}
