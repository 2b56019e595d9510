//! One machine of the sync tests: a project folder and its own state database.

#![allow(dead_code)]

use std::path::Path;

use aura_core::paths::ProjectRoot;
use aura_core::store::Store;
use aura_core::sync::bucket::Bucket;
use aura_core::sync::engine::{ProjectSync, PushOptions};
use aura_core::sync::scan::scan;

pub struct Machine {
    pub _data: tempfile::TempDir,
    pub folder: tempfile::TempDir,
    pub root: ProjectRoot,
    pub store: Store,
    pub id: i64,
    pub opts: PushOptions,
}

impl Machine {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let folder = tempfile::tempdir().unwrap();
        for (p, c) in files {
            write(folder.path(), p, c.as_bytes());
        }
        let root = ProjectRoot::open(folder.path()).unwrap();
        let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
        let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
        let opts = PushOptions { concurrency: 4, machine: "test".into(), ..PushOptions::default() };
        Self { _data: data, folder, root, store, id, opts }
    }

    /// A machine whose large files go up in parts from 2 MiB (so tests reach that path with
    /// small files).
    pub fn with_small_parts() -> Self {
        let mut m = Self::new(&[]);
        m.opts.multipart_threshold = 2 * 1024 * 1024;
        m.opts.part_size = 1;
        m
    }

    pub fn sync<'a>(&'a self, bucket: &'a Bucket) -> ProjectSync<'a> {
        ProjectSync { root: &self.root, store: &self.store, project_id: self.id, bucket, opts: &self.opts }
    }

    /// Writes a file and scans (as a save would journal it).
    pub fn edit(&self, path: &str, content: &str) {
        write(self.folder.path(), path, content.as_bytes());
        scan(&self.root, &self.store, self.id).unwrap();
    }

    /// Writes a file without scanning.
    pub fn write(&self, path: &str, content: &[u8]) {
        write(self.folder.path(), path, content);
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.folder.path().join(path)).unwrap()
    }
}

pub fn write(dir: &Path, path: &str, content: &[u8]) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// Content no ciphertext will hold by chance: `len` bytes of a pattern named by `seed`.
pub fn content(seed: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(format!("{seed}:{i};").as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// Every file, link and folder under `dir`, with its content or target.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .flatten()
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            let t = e.file_type();
            let body = if t.is_symlink() {
                std::fs::read_link(e.path()).unwrap().into_os_string().into_encoded_bytes()
            } else if t.is_dir() {
                b"<dir>".to_vec()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (rel, body)
        })
        .collect();
    out.sort();
    out
}
