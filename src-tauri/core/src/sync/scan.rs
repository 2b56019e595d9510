//! Finds what changed since the manifest was written, in O(changes) hashing: a file whose size,
//! mtime and inode match its manifest row is taken as unchanged without being read; otherwise
//! it is hashed (blake3) and only a different hash is a change. Deleted files are found by
//! difference. Unreadable files become per-file errors; the rest of the scan goes on.
//!
//! `scan` walks the whole project (at start, and after anything the watcher may have missed);
//! `scan_hints` looks only at the paths a watcher or a save named.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::state::journal::JournalOp;
use crate::paths::ProjectRoot;
use crate::store::{Store, StoreError};
use crate::workspace::ignore_rules;

/// What the manifest knows of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    pub blake3: [u8; 32],
    /// Permission bits (`0o755` for an executable script).
    pub mode: u32,
}

impl FileState {
    /// The metadata half of a state (the hash is filled in by whoever read the content).
    pub fn from_meta(m: &std::fs::Metadata, blake3: [u8; 32]) -> Self {
        if m.is_dir() {
            return super::folders::state(m);
        }
        Self {
            size: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            inode: m.ino(),
            blake3,
            mode: if m.file_type().is_symlink() { super::links::LINK_MODE } else { m.permissions().mode() & 0o7777 },
        }
    }

    fn same_meta(&self, m: &std::fs::Metadata) -> bool {
        let now = Self::from_meta(m, self.blake3);
        (self.size, self.mtime_ns, self.inode, self.mode) == (now.size, now.mtime_ns, now.inode, now.mode)
    }
}

#[derive(Debug, Default)]
pub struct ScanReport {
    /// Journaled as changed (new or different content).
    pub changed: Vec<Vec<u8>>,
    /// Journaled as deleted.
    pub deleted: Vec<Vec<u8>>,
    /// Files whose content was read to hash it.
    pub hashed: usize,
    /// Files taken as unchanged from their metadata alone.
    pub unchanged: usize,
    /// Files that could not be read: (path, reason).
    pub errors: Vec<(Vec<u8>, String)>,
    /// What the scan saw but sync does not carry, with the reason (a link leading outside the
    /// project, an absolute link).
    pub skipped: Vec<(Vec<u8>, String)>,
}

/// Hashes the project file `rel` as it is on disk now, read through the root capability (see
/// [`crate::paths::open_read`]); also returns the metadata of what was read.
pub fn hash_file(dir: &cap_std::fs::Dir, rel: &[u8]) -> std::io::Result<([u8; 32], std::fs::Metadata)> {
    let f = crate::paths::open_read(dir, crate::paths::rel_bytes(rel))?;
    let meta = f.metadata()?;
    Ok((hash_open(&f)?, meta))
}

/// Hashes an open file from where it stands (the start, for a file just opened).
pub fn hash_open(f: &std::fs::File) -> std::io::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    h.update_reader(f)?;
    Ok(*h.finalize().as_bytes())
}

/// What a scan writes, kept until the end and written in one transaction.
#[derive(Default)]
struct Batch {
    ops: Vec<JournalOp>,
    touched: Vec<(Vec<u8>, FileState)>,
}

impl Batch {
    fn write(self, store: &Store, project_id: i64) -> Result<(), StoreError> {
        store.journal_record_many(project_id, &self.ops)?;
        store.manifest_put_many(project_id, &self.touched)
    }
}

/// Whether `meta` alone shows the entry is as the manifest has it (nothing is read then).
fn unchanged(before: &Option<FileState>, meta: &std::fs::Metadata, report: &mut ScanReport) -> bool {
    let same = before.as_ref().is_some_and(|b| b.same_meta(meta));
    if same {
        report.unchanged += 1;
    }
    same
}

/// Journals `rel` unless `now` has the content and mode it had; a touch or a copy back (same
/// content, new metadata) only updates what the manifest remembers.
fn record(batch: &mut Batch, rel: Vec<u8>, before: Option<FileState>, now: FileState, report: &mut ScanReport) {
    report.hashed += 1;
    match before {
        Some(b) if b.blake3 == now.blake3 && b.mode == now.mode => batch.touched.push((rel, now)),
        _ => {
            batch.ops.push(JournalOp::Upsert(rel.clone()));
            report.changed.push(rel);
        }
    }
}

/// A file or link that could not be read: queued anyway, so the pass reports it on the file
/// and retries until it is readable.
fn unreadable(batch: &mut Batch, rel: Vec<u8>, e: std::io::Error, report: &mut ScanReport) {
    batch.ops.push(JournalOp::Upsert(rel.clone()));
    report.errors.push((rel, e.to_string()));
}

/// Compares one regular file with its manifest row and journals it when its content differs.
fn check_file(
    batch: &mut Batch,
    dir: &cap_std::fs::Dir,
    rel: Vec<u8>,
    meta: &std::fs::Metadata,
    before: Option<FileState>,
    report: &mut ScanReport,
) {
    if unchanged(&before, meta, report) {
        return;
    }
    match hash_file(dir, &rel) {
        Ok((hash, meta)) => record(batch, rel, before, FileState::from_meta(&meta, hash), report),
        Err(e) => unreadable(batch, rel, e, report),
    }
}

/// Compares one symbolic link with its manifest row: its content is its target text. A link
/// leading outside the project is skipped with the reason (and dropped if it was synced).
fn check_link(
    batch: &mut Batch,
    dir: &cap_std::fs::Dir,
    rel: Vec<u8>,
    meta: &std::fs::Metadata,
    before: Option<FileState>,
    report: &mut ScanReport,
) {
    if unchanged(&before, meta, report) {
        return;
    }
    let target = match super::links::read_target(dir, &rel) {
        Ok(t) => t,
        Err(e) => return unreadable(batch, rel, e, report),
    };
    if let Some(why) = super::links::skip_reason(&rel, &target) {
        if before.is_some() {
            batch.ops.push(JournalOp::Delete(rel.clone()));
            report.deleted.push(rel.clone());
        }
        report.skipped.push((rel, why.to_string()));
        return;
    }
    record(batch, rel, before, FileState::from_meta(meta, *blake3::hash(&target).as_bytes()), report);
}

/// Compares one folder with its manifest row: only its being there and its mode matter.
/// (Folders are not counted as files hashed or unchanged.)
fn check_dir(
    batch: &mut Batch,
    rel: Vec<u8>,
    meta: &std::fs::Metadata,
    before: Option<FileState>,
    report: &mut ScanReport,
) {
    let now = FileState::from_meta(meta, super::folders::empty_hash());
    match before {
        Some(b) if b == now => {}
        Some(b) if b.mode == now.mode => batch.touched.push((rel, now)),
        _ => {
            batch.ops.push(JournalOp::Upsert(rel.clone()));
            report.changed.push(rel);
        }
    }
}

/// The manifest rows of `dir_rel` and everything under it (the whole manifest for `""`).
fn known_under(store: &Store, project_id: i64, dir_rel: &[u8]) -> Result<HashMap<Vec<u8>, FileState>, StoreError> {
    if dir_rel.is_empty() {
        return store.manifest_all(project_id);
    }
    let mut m = HashMap::new();
    if let Some(s) = store.manifest_get(project_id, dir_rel)? {
        m.insert(dir_rel.to_vec(), s);
    }
    for p in store.manifest_under(project_id, dir_rel)? {
        if let Some(s) = store.manifest_get(project_id, &p)? {
            m.insert(p, s);
        }
    }
    Ok(m)
}

/// Walks `dir_rel` (project-relative; empty for the whole project) and journals what differs
/// from the manifest rows under it (the folder itself included), including files that are gone.
fn scan_dir(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    dir_rel: &[u8],
    walk: bool,
    report: &mut ScanReport,
) -> Result<(), StoreError> {
    let mut known = known_under(store, project_id, dir_rel)?;
    let start = root.path().join(OsStr::from_bytes(dir_rel));
    let dir = match root.dir() {
        Ok(d) => d,
        Err(e) => {
            report.errors.push((dir_rel.to_vec(), e.to_string()));
            return Ok(());
        }
    };
    let mut batch = Batch::default();
    let tracked = crate::workspace::tracked::tracked(root.path());
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let (walker, left_out) = ignore_rules::sync_walker_noting(root.path(), &start);
    let walked = walker.build();
    for entry in walked.take_while(|_| walk) {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                report.errors.push((Vec::new(), e.to_string()));
                continue;
            }
        };
        // Regular files, symbolic links (as links: never followed) and folders; FIFOs and
        // sockets have no content to sync.
        let Some(kind) = entry.file_type() else { continue };
        if !(kind.is_symlink() || kind.is_file() || kind.is_dir()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root.path()) else { continue };
        let rel = rel.as_os_str().as_bytes().to_vec();
        if rel.is_empty() {
            continue; // the project folder itself
        }
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) => {
                report.errors.push((rel, e.to_string()));
                continue;
            }
        };
        if !tracked.is_empty() {
            seen.insert(rel.clone());
        }
        let before = known.remove(&rel);
        if kind.is_dir() {
            check_dir(&mut batch, rel, &meta, before, report);
        } else if kind.is_symlink() {
            check_link(&mut batch, &dir, rel, &meta, before, report);
        } else {
            check_file(&mut batch, &dir, rel, &meta, before, report);
        }
    }
    // Files Git tracks that the ignore rules or the build-output list left out of the walk.
    for rel in tracked.under(dir_rel).filter(|r| !seen.contains(*r)) {
        let Ok(meta) = std::fs::symlink_metadata(root.path().join(OsStr::from_bytes(rel))) else { continue };
        let before = known.remove(rel);
        if meta.is_file() {
            check_file(&mut batch, &dir, rel.clone(), &meta, before, report);
        } else if meta.file_type().is_symlink() {
            check_link(&mut batch, &dir, rel.clone(), &meta, before, report);
        } else if let Some(b) = before {
            known.insert(rel.clone(), b); // no longer a file: gone, below
        }
    }
    // The whole project's walk says which build-output folders it left out (never silently).
    if dir_rel.is_empty() {
        for folder in std::mem::take(&mut *left_out.lock()) {
            let why = std::str::from_utf8(&folder)
                .map(|f| ignore_rules::sync_reason(root.path(), f, true).to_string())
                .unwrap_or_else(|_| "Not synced: a dependency or build-output folder.".into());
            report.skipped.push((folder, why));
        }
    }
    // Whatever the manifest still holds is gone from disk.
    for (path, _) in known {
        batch.ops.push(JournalOp::Delete(path.clone()));
        report.deleted.push(path);
    }
    batch.write(store, project_id)
}

/// Scans the project against the manifest and journals what changed.
pub fn scan(root: &ProjectRoot, store: &Store, project_id: i64) -> Result<ScanReport, StoreError> {
    let mut report = ScanReport::default();
    scan_dir(root, store, project_id, b"", true, &mut report)?;
    report.changed.sort();
    report.deleted.sort();
    Ok(report)
}

/// Journals what changed at the given project-relative paths (from the watcher or a save): a
/// file is compared with its manifest row, a folder is scanned, a path that is gone is deleted
/// with everything the manifest holds under it. Ignored paths are left alone.
pub fn scan_hints(
    root: &ProjectRoot,
    store: &Store,
    project_id: i64,
    paths: &[Vec<u8>],
) -> Result<ScanReport, StoreError> {
    let mut report = ScanReport::default();
    let mut paths: Vec<&Vec<u8>> = paths.iter().collect();
    paths.sort();
    paths.dedup();
    for rel in paths {
        let rel = rel.strip_suffix(b"/").unwrap_or(rel);
        if rel.is_empty() {
            scan_dir(root, store, project_id, b"", true, &mut report)?;
            continue;
        }
        let abs = root.path().join(OsStr::from_bytes(rel));
        match std::fs::symlink_metadata(&abs) {
            Ok(m) if m.is_dir() => {
                // An ignored folder is not walked; files Git tracks in it still count.
                let walk = !ignore_rules::sync_ignored(root.path(), rel, true);
                scan_dir(root, store, project_id, rel, walk, &mut report)?;
            }
            Ok(m) if m.is_file() || m.file_type().is_symlink() => {
                if !ignore_rules::sync_ignored(root.path(), rel, false) {
                    let before = store.manifest_get(project_id, rel)?;
                    let mut batch = Batch::default();
                    match root.dir() {
                        Ok(dir) if m.is_file() => check_file(&mut batch, &dir, rel.to_vec(), &m, before, &mut report),
                        Ok(dir) => check_link(&mut batch, &dir, rel.to_vec(), &m, before, &mut report),
                        Err(e) => report.errors.push((rel.to_vec(), e.to_string())),
                    }
                    batch.write(store, project_id)?;
                }
            }
            // Gone, or replaced by something sync does not carry (a FIFO, a socket).
            Ok(_) | Err(_) => {
                let mut gone = store.manifest_under(project_id, rel)?;
                if store.manifest_get(project_id, rel)?.is_some() {
                    gone.push(rel.to_vec());
                }
                for p in gone {
                    store.journal_record(project_id, &JournalOp::Delete(p.clone()))?;
                    report.deleted.push(p);
                }
            }
        }
    }
    Ok(report)
}
