//! The sync engine's local half on a real folder and SQLite file: the durable journal, and a
//! scan that hashes only what may have changed.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

use aura_core::paths::ProjectRoot;
use aura_core::store::Store;
use aura_core::sync::scan::{hash_file, scan, FileState};
use aura_core::sync::JournalOp;

fn setup() -> (tempfile::TempDir, tempfile::TempDir, ProjectRoot, Store, i64) {
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(proj.path().join("src")).unwrap();
    std::fs::create_dir_all(proj.path().join("node_modules/dep")).unwrap();
    std::fs::write(proj.path().join(".gitignore"), "node_modules/\n").unwrap();
    std::fs::write(proj.path().join("src/a.rs"), "fn a() {}").unwrap();
    std::fs::write(proj.path().join("src/b.rs"), "fn b() {}").unwrap();
    std::fs::write(proj.path().join("notes.md"), "# notes").unwrap();
    std::fs::write(proj.path().join("node_modules/dep/x.js"), "ignored").unwrap();
    let root = ProjectRoot::open(proj.path()).unwrap();
    let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
    (data, proj, root, store, id)
}

/// What a successful sync does: record the synced state and drop the journal entries.
fn pretend_synced(root: &ProjectRoot, store: &Store, id: i64) {
    for e in store.journal_pending(id, 10_000).unwrap() {
        match &e.op {
            JournalOp::Upsert(p) => {
                let path = root.path().join(std::ffi::OsStr::from_bytes(p));
                let m = std::fs::metadata(&path).unwrap();
                if m.is_dir() {
                    store.manifest_put(id, p, &aura_core::sync::folders::state(&m)).unwrap();
                    store.journal_done(e.seq, e.rev).unwrap();
                    continue;
                }
                use std::os::unix::fs::MetadataExt;
                let state = FileState {
                    size: m.len(),
                    mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                    inode: m.ino(),
                    blake3: hash_file(&root.dir().unwrap(), p).unwrap().0,
                    mode: 0o644,
                };
                store.manifest_put(id, p, &state).unwrap();
            }
            JournalOp::Delete(p) => store.manifest_remove(id, p).unwrap(),
            JournalOp::Rename { .. } => {}
        }
        store.journal_done(e.seq, e.rev).unwrap();
    }
}

#[test]
fn a_no_op_rescan_reads_no_file() {
    let (_d, _p, root, store, id) = setup();
    let first = scan(&root, &store, id).unwrap();
    assert_eq!(
        first.changed,
        vec![b".gitignore".to_vec(), b"notes.md".to_vec(), b"src".to_vec(), b"src/a.rs".to_vec(), b"src/b.rs".to_vec()],
        "ignored folders are not synced (the folder src is an entry of its own)"
    );
    assert_eq!(first.hashed, 4);
    pretend_synced(&root, &store, id);
    let again = scan(&root, &store, id).unwrap();
    assert_eq!((again.hashed, again.unchanged, again.changed.len()), (0, 4, 0), "nothing read, nothing journaled");
    assert_eq!(store.journal_count(id).unwrap(), 0);
}

#[test]
fn edits_touches_and_deletes() {
    let (_d, proj, root, store, id) = setup();
    scan(&root, &store, id).unwrap();
    pretend_synced(&root, &store, id);
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(proj.path().join("src/a.rs"), "fn a() { changed() }").unwrap();
    // A touch: new mtime, same bytes.
    let b = proj.path().join("src/b.rs");
    std::fs::write(&b, "fn b() {}").unwrap();
    std::fs::remove_file(proj.path().join("notes.md")).unwrap();
    let r = scan(&root, &store, id).unwrap();
    assert_eq!(r.changed, vec![b"src/a.rs".to_vec()]);
    assert_eq!(r.deleted, vec![b"notes.md".to_vec()]);
    assert_eq!(r.hashed, 2, "only the two files whose metadata changed are read");
    let ops: Vec<_> = store.journal_pending(id, 10).unwrap().into_iter().map(|e| e.op).collect();
    assert_eq!(ops, vec![JournalOp::Upsert(b"src/a.rs".to_vec()), JournalOp::Delete(b"notes.md".to_vec())]);
    // The touched file's new metadata is remembered: the next scan reads nothing.
    pretend_synced(&root, &store, id);
    assert_eq!(scan(&root, &store, id).unwrap().hashed, 0);
}

#[test]
fn odd_names_and_unreadable_files_do_not_stop_the_scan() {
    let (_d, proj, root, store, id) = setup();
    let invalid = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(proj.path().join(invalid), "latin-1 name").unwrap();
    std::fs::write(proj.path().join("line\nbreak.txt"), "newline in the name").unwrap();
    let locked = proj.path().join("src/locked.rs");
    std::fs::write(&locked, "secret").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = scan(&root, &store, id).unwrap();
    assert!(r.changed.contains(&b"caf\xe9.txt".to_vec()), "names need not be UTF-8");
    assert!(r.changed.contains(&b"line\nbreak.txt".to_vec()));
    // root can read anything; as another user the locked file is a per-file error instead.
    let unreadable = r.errors.iter().any(|(p, _)| p == b"src/locked.rs");
    assert!(unreadable || r.changed.contains(&b"src/locked.rs".to_vec()));
    assert!(r.changed.contains(&b"src/a.rs".to_vec()), "the rest is scanned");
}

#[test]
fn the_journal_survives_a_restart_and_retries() {
    let (data, _p, root, store, id) = setup();
    scan(&root, &store, id).unwrap();
    // Recording an upsert again does not duplicate it.
    store.journal_record(id, &JournalOp::Upsert(b"src/a.rs".to_vec())).unwrap();
    assert_eq!(store.journal_count(id).unwrap(), 5, "four files and the folder src");
    let first = store.journal_pending(id, 1).unwrap().remove(0);
    store.journal_failed(first.seq, "network down").unwrap();
    drop(store);
    let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
    let pending = store.journal_pending(id, 10).unwrap();
    assert_eq!(pending.len(), 5, "nothing lost across a restart");
    assert_eq!((pending[0].attempts, pending[0].last_error.as_deref()), (1, Some("network down")));
    store.journal_record(id, &JournalOp::Rename { from: b"src/a.rs".to_vec(), to: b"src/c.rs".to_vec() }).unwrap();
    let last = store.journal_pending(id, 10).unwrap().pop().unwrap();
    assert_eq!(last.op, JournalOp::Rename { from: b"src/a.rs".to_vec(), to: b"src/c.rs".to_vec() });
}

#[test]
fn a_change_folded_into_a_row_being_uploaded_is_not_dropped_with_it() {
    let (_data, _p, _root, store, id) = setup();
    store.journal_record(id, &JournalOp::Upsert(b"a.txt".to_vec())).unwrap();
    let taken = store.journal_pending(id, 10).unwrap().remove(0);
    // A save lands while the pass uploads the earlier content.
    store.journal_record(id, &JournalOp::Upsert(b"a.txt".to_vec())).unwrap();
    store.journal_done(taken.seq, taken.rev).unwrap();
    let left = store.journal_pending(id, 10).unwrap();
    assert_eq!(left.len(), 1, "the newer save is still queued");
    store.journal_done(left[0].seq, left[0].rev).unwrap();
    assert_eq!(store.journal_count(id).unwrap(), 0);
}

#[test]
fn a_file_deleted_and_made_again_ends_as_an_upsert() {
    let (_data, _p, _root, store, id) = setup();
    let p = b"x.txt".to_vec();
    store.journal_record(id, &JournalOp::Upsert(p.clone())).unwrap();
    store.journal_record(id, &JournalOp::Delete(p.clone())).unwrap();
    store.journal_record(id, &JournalOp::Upsert(p.clone())).unwrap();
    let ops: Vec<JournalOp> = store.journal_pending(id, 10).unwrap().into_iter().map(|e| e.op).collect();
    assert_eq!(ops.last(), Some(&JournalOp::Upsert(p)), "the newest change is last: {ops:?}");
}

/// The project's own rules decide before the built-in list of build-output folders: folders
/// named `node_modules` or `dist` that the `.gitignore` re-includes (committed test fixtures,
/// an example's built files) are synced; the others are still left out.
#[test]
fn folders_the_project_re_includes_are_synced_despite_the_built_in_list() {
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    let p = proj.path();
    let files = [
        "node_modules/dep/index.js",
        "dist/app.js",
        "test/fixtures/glob-exports/node_modules/pkg/index.js",
        "test/fixtures/glob-exports/node_modules/pkg/package.json",
        "examples/site/dist/index.html",
        "examples/other/node_modules/x.js",
        "src/main.js",
    ];
    for f in files {
        std::fs::create_dir_all(p.join(f).parent().unwrap()).unwrap();
        std::fs::write(p.join(f), f).unwrap();
    }
    std::fs::write(
        p.join(".gitignore"),
        "node_modules/\ndist/\n!**/fixtures/glob-exports/node_modules\n!/examples/site/dist\n",
    )
    .unwrap();
    let root = ProjectRoot::open(p).unwrap();
    let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
    let r = scan(&root, &store, id).unwrap();
    let mut got: Vec<String> = r
        .changed
        .iter()
        .filter(|f| p.join(std::ffi::OsStr::from_bytes(f)).is_file())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ".gitignore",
            "examples/site/dist/index.html",
            "src/main.js",
            "test/fixtures/glob-exports/node_modules/pkg/index.js",
            "test/fixtures/glob-exports/node_modules/pkg/package.json",
        ]
    );
    // A change hinted inside a re-included folder is journaled too; one in a left-out folder is not.
    pretend_synced(&root, &store, id);
    std::fs::write(p.join("test/fixtures/glob-exports/node_modules/pkg/index.js"), "changed").unwrap();
    std::fs::write(p.join("node_modules/dep/index.js"), "changed").unwrap();
    let hints =
        [b"test/fixtures/glob-exports/node_modules/pkg/index.js".to_vec(), b"node_modules/dep/index.js".to_vec()];
    let r = aura_core::sync::scan::scan_hints(&root, &store, id, &hints).unwrap();
    assert_eq!(r.changed, vec![b"test/fixtures/glob-exports/node_modules/pkg/index.js".to_vec()]);
}
