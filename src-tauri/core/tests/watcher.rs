//! Live updates from a real inotify watcher.

use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::workspace::watcher::{FsChange, ProjectWatcher};

fn wait_for(rx: &std::sync::mpsc::Receiver<FsChange>, mut pred: impl FnMut(&FsChange) -> bool) -> FsChange {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if let Ok(c) = rx.recv_timeout(Duration::from_millis(200)) {
            if pred(&c) {
                return c;
            }
        }
    }
    panic!("no matching change");
}

#[test]
fn reports_created_renamed_and_deleted_paths_with_their_folders() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let (tx, rx) = channel();
    let _w = ProjectWatcher::start(&root, move |c| {
        let _ = tx.send(c);
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    std::fs::write(dir.path().join("src/new.rs"), "x").unwrap();
    let c = wait_for(&rx, |c| c.paths.iter().any(|p| p == "src/new.rs"));
    assert!(c.dirs.contains(&"src".to_string()));

    std::fs::rename(dir.path().join("src/new.rs"), dir.path().join("moved.rs")).unwrap();
    wait_for(&rx, |c| c.paths.iter().any(|p| p == "moved.rs") && c.dirs.contains(&String::new()));

    std::fs::write(dir.path().join(".git/index"), "x").unwrap();
    std::fs::remove_file(dir.path().join("moved.rs")).unwrap();
    let c = wait_for(&rx, |c| c.paths.iter().any(|p| p == "moved.rs"));
    assert!(c.paths.iter().all(|p| !p.starts_with(".git")), ".git internals are not reported: {c:?}");
}

#[test]
fn new_folders_are_watched_and_ignored_folders_are_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitignore"), "node_modules/\n").unwrap();
    std::fs::create_dir_all(dir.path().join("node_modules/dep")).unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let (tx, rx) = channel();
    let _w = ProjectWatcher::start(&root, move |c| {
        let _ = tx.send(c);
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // A folder created after the start gets its own watch: a file inside it is reported.
    std::fs::create_dir_all(dir.path().join("fresh/deeper")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(dir.path().join("fresh/deeper/file.txt"), "x").unwrap();
    wait_for(&rx, |c| c.paths.iter().any(|p| p == "fresh/deeper/file.txt"));
    // Writes inside an ignored folder are not reported.
    std::fs::write(dir.path().join("node_modules/dep/index.js"), "x").unwrap();
    std::fs::write(dir.path().join("marker.txt"), "x").unwrap();
    let c = wait_for(&rx, |c| c.paths.iter().any(|p| p == "marker.txt"));
    assert!(c.paths.iter().all(|p| !p.starts_with("node_modules/dep/")), "{c:?}");
    while let Ok(c) = rx.recv_timeout(Duration::from_millis(500)) {
        assert!(c.paths.iter().all(|p| !p.starts_with("node_modules/dep/")), "{c:?}");
    }
}
