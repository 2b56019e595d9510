//! The project as it was when an agent began changing it, so "Undo agent changes" can bring it
//! back exactly: every path sync carries (files with their modes, folders, links), taken before
//! the agent's first write or command. Contents are kept by blake3 in Aura's data folder (which no
//! sandbox can see); the project is read and written only through its root capability.

use cap_std::fs::PermissionsExt as _;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use cap_std::fs::Dir;
use serde::Serialize;
use ts_rs::TS;

use crate::paths::{rel_bytes, ProjectRoot};

/// Files larger than this are not kept (listed as not covered instead).
const MAX_FILE: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Saved {
    File { hash: [u8; 32], mode: u32 },
    Folder { mode: u32 },
    Link(Vec<u8>),
}

pub struct Baseline {
    pub project_id: i64,
    pub taken_ms: i64,
    entries: BTreeMap<Vec<u8>, Saved>,
    /// Paths seen but not kept, with why (an undo leaves them as they are).
    pub not_covered: BTreeMap<String, String>,
    blobs: PathBuf,
}

/// What the panel shows about the baseline.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct BaselineInfo {
    #[ts(type = "number")]
    pub taken_ms: i64,
    pub files: u32,
    pub not_covered: Vec<String>,
}

/// What an undo did.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[ts(export)]
pub struct UndoReport {
    /// Paths written back (changed or deleted since the baseline).
    pub restored: Vec<String>,
    /// Paths the agent added, removed.
    pub removed: Vec<String>,
    /// Paths left as they are, with why.
    pub skipped: Vec<String>,
}

fn name(rel: &[u8]) -> String {
    String::from_utf8_lossy(rel).into_owned()
}

fn read_state(dir: &Dir, rel: &[u8]) -> std::io::Result<Option<(Saved, Option<Vec<u8>>)>> {
    let p = rel_bytes(rel);
    let m = match dir.symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mode = m.permissions().mode() & 0o7777;
    if m.file_type().is_symlink() {
        use std::os::unix::ffi::OsStrExt;
        return Ok(Some((Saved::Link(dir.read_link_contents(p)?.as_os_str().as_bytes().to_vec()), None)));
    }
    if m.is_dir() {
        return Ok(Some((Saved::Folder { mode }, None)));
    }
    if !m.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if m.len() > MAX_FILE {
        return Err(std::io::Error::other(format!("over {} MiB", MAX_FILE >> 20)));
    }
    let mut data = Vec::with_capacity(m.len() as usize);
    crate::paths::open_read(dir, p)?.read_to_end(&mut data)?;
    Ok(Some((Saved::File { hash: *blake3::hash(&data).as_bytes(), mode }, Some(data))))
}

impl Baseline {
    /// Takes the project as it is now. `blobs` is a folder of Aura's data directory.
    pub fn capture(root: &ProjectRoot, project_id: i64, blobs: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(blobs)?;
        let dir = root.dir().map_err(std::io::Error::other)?;
        let mut entries = BTreeMap::new();
        let mut not_covered = BTreeMap::new();
        for rel in crate::sync::carried::carried_paths(root, root.path()) {
            match read_state(&dir, &rel) {
                Ok(Some((saved, data))) => {
                    if let (Saved::File { hash, .. }, Some(data)) = (&saved, data) {
                        let at = blobs.join(blake3::Hash::from_bytes(*hash).to_hex().as_str());
                        if !at.exists() {
                            let tmp = at.with_extension("tmp");
                            std::fs::write(&tmp, &data)?;
                            std::fs::rename(&tmp, &at)?;
                        }
                    }
                    entries.insert(rel, saved);
                }
                Ok(None) => {}
                Err(e) => {
                    not_covered.insert(name(&rel), e.to_string());
                }
            }
        }
        Ok(Self { project_id, taken_ms: crate::store::now_ms(), entries, not_covered, blobs: blobs.to_path_buf() })
    }

    pub fn info(&self) -> BaselineInfo {
        BaselineInfo {
            taken_ms: self.taken_ms,
            files: self.entries.values().filter(|s| matches!(s, Saved::File { .. })).count() as u32,
            not_covered: self.not_covered.iter().map(|(p, why)| format!("{p} ({why})")).collect(),
        }
    }

    /// Makes the project equal to the baseline again: what the agent added is removed, what it
    /// changed or deleted is written back. Returns the paths touched (for sync and the sandbox).
    pub fn restore(&self, root: &ProjectRoot) -> std::io::Result<UndoReport> {
        let dir = root.dir().map_err(std::io::Error::other)?;
        let mut report = UndoReport::default();
        let now: BTreeSet<Vec<u8>> = crate::sync::carried::carried_paths(root, root.path()).into_iter().collect();
        // Added since: deepest first, so a folder is empty by the time it is removed.
        for rel in now.iter().rev().filter(|r| !self.entries.contains_key(*r)) {
            if self.not_covered.contains_key(&name(rel)) {
                continue;
            }
            let p = rel_bytes(rel);
            let res = match dir.symlink_metadata(p) {
                Ok(m) if m.is_dir() => dir.remove_dir_all(p),
                Ok(_) => dir.remove_file(p),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => Err(e),
            };
            match res {
                Ok(()) => report.removed.push(name(rel)),
                Err(e) => report.skipped.push(format!("{} ({e})", name(rel))),
            }
        }
        // Changed or deleted since: parents first (entries are sorted).
        for (rel, saved) in &self.entries {
            match read_state(&dir, rel) {
                Ok(Some((cur, _))) if &cur == saved => continue,
                _ => {}
            }
            match self.put(&dir, rel, saved) {
                Ok(()) => report.restored.push(name(rel)),
                Err(e) => report.skipped.push(format!("{} ({e})", name(rel))),
            }
        }
        // Folder modes last, deepest first (a read-only folder must not block its files).
        for (rel, saved) in self.entries.iter().rev() {
            if let Saved::Folder { mode } = saved {
                let _ = dir.set_permissions(
                    rel_bytes(rel),
                    cap_std::fs::Permissions::from_std(std::fs::Permissions::from_mode(*mode)),
                );
            }
        }
        Ok(report)
    }

    fn put(&self, dir: &Dir, rel: &[u8], saved: &Saved) -> std::io::Result<()> {
        let p = rel_bytes(rel);
        let existing = dir.symlink_metadata(p).ok();
        let clear = |dir: &Dir| match &existing {
            Some(m) if m.is_dir() => dir.remove_dir_all(p),
            Some(_) => dir.remove_file(p),
            None => Ok(()),
        };
        match saved {
            Saved::Folder { .. } => {
                if !existing.as_ref().is_some_and(|m| m.is_dir()) {
                    clear(dir)?;
                    dir.create_dir(p)?;
                }
                Ok(())
            }
            Saved::Link(target) => {
                use std::os::unix::ffi::OsStrExt;
                clear(dir)?;
                dir.symlink_contents(std::ffi::OsStr::from_bytes(target), p)
            }
            Saved::File { hash, mode } => {
                let data = std::fs::read(self.blobs.join(blake3::Hash::from_bytes(*hash).to_hex().as_str()))?;
                if existing.as_ref().is_some_and(|m| m.is_dir() || m.file_type().is_symlink()) {
                    clear(dir)?;
                }
                let parent = p.parent().map(Path::to_path_buf).unwrap_or_default();
                let tmp = parent.join(format!(".aura-undo-{:016x}", rand::random::<u64>()));
                let written = (|| {
                    let mut f =
                        dir.open_with(&tmp, cap_std::fs::OpenOptions::new().write(true).create_new(true))?.into_std();
                    std::io::Write::write_all(&mut f, &data)?;
                    f.set_permissions(std::fs::Permissions::from_mode(*mode))?;
                    f.sync_all()?;
                    dir.rename(&tmp, dir, p)
                })();
                if written.is_err() {
                    let _ = dir.remove_file(&tmp);
                }
                written
            }
        }
    }

    /// Removes the kept contents no baseline needs any more.
    pub fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.blobs);
    }
}
