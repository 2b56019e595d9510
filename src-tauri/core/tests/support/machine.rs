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
