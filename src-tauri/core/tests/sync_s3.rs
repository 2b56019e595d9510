//! The bucket side of sync against a real S3 server on 127.0.0.1 (SeaweedFS, `weed mini`):
//! blobs stored once, snapshots, HEAD moved with conditional writes, conflicts between two
//! machines, hash-checked reads, and a store that is down.

use std::time::{Duration, Instant};

#[path = "support/weed.rs"]
mod support;
use support::{free_pair, weed};

use aura_core::secrets::Secret;
use aura_core::sync::bucket::{Bucket, S3Config, S3Store};
use aura_core::sync::engine::{Afterwards, ProjectSync, PushOptions};
use aura_core::sync::snapshot::{Snapshot, SnapshotFile};
use aura_core::sync::SyncError;

fn target(port: u16, prefix: &str) -> Bucket {
    let cfg = S3Config {
        endpoint: format!("http://127.0.0.1:{port}"),
        bucket: "aura-test".into(),
        region: "auto".into(),
        path_style: true,
        max_attempts: 2,
    };
    let store = S3Store::new(cfg, &Secret::new("aura-test-key"), &Secret::new("aura-test-secret"));
    Bucket::new(std::sync::Arc::new(store), prefix)
}

/// Waits until the freshly started server answers, creating the bucket.
async fn ready(t: &Bucket) {
    let end = Instant::now() + Duration::from_secs(30);
    while let Err(e) = t.ensure_bucket().await {
        assert!(Instant::now() < end, "bucket: {e}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Small parts so multipart is exercised without big files.
/// The engine's view of one project.
fn sync<'a>(
    root: &'a aura_core::paths::ProjectRoot,
    store: &'a aura_core::store::Store,
    project_id: i64,
    bucket: &'a Bucket,
    opts: &'a PushOptions,
) -> ProjectSync<'a> {
    ProjectSync { root, store, project_id, bucket, opts }
}

fn opts() -> aura_core::sync::engine::PushOptions {
    aura_core::sync::engine::PushOptions {
        concurrency: 8,
        multipart_threshold: 6 * 1024 * 1024,
        part_size: 5 * 1024 * 1024,
        max_file_size: 64 * 1024 * 1024,
        machine: "test".into(),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

fn snap(id: &str, parent: Option<&str>, files: &[(&[u8], &[u8])]) -> Snapshot {
    Snapshot {
        id: id.into(),
        parent: parent.map(str::to_string),
        created_at_ms: 0,
        machine: "test".into(),
        side: false,
        base: None,
        removed: Vec::new(),
        files: files
            .iter()
            .map(|(p, c)| SnapshotFile {
                path: p.to_vec(),
                size: c.len() as u64,
                blake3: blake3::hash(c).to_hex().to_string(),
                mode: 0o644,
                pack: None,
            })
            .collect(),
    }
}

#[test]
fn blobs_snapshots_conflicts_and_a_store_that_is_down() {
    let Some(w) = weed() else { return };
    let rt = rt();
    rt.block_on(async {
        let a = target(w.s3_port, "projects/demo");
        // The server may need a moment after opening its port.
        ready(&a).await;
        // Content-addressed: the same bytes are stored once.
        let content = b"fn main() {}\n".to_vec();
        let hash = blake3::hash(&content).to_hex().to_string();
        a.put_blob(&hash, content.clone()).await.unwrap();
        a.put_blob(&hash, content.clone()).await.unwrap();
        assert_eq!(a.list_blobs().await.unwrap().len(), 1, "the same content is one object");
        assert!(a.has_blob(&hash).await.unwrap());
        assert_eq!(a.get_blob(&hash).await.unwrap(), content);
        // A blob whose bytes do not match its name is refused on read.
        let fake = blake3::hash(b"other").to_hex().to_string();
        a.put_blob(&fake, b"tampered".to_vec()).await.unwrap();
        assert!(matches!(a.get_blob(&fake).await, Err(SyncError::Corrupt { .. })));

        // Machine A creates the project; machine B (same bucket) sees it.
        assert_eq!(a.head().await.unwrap(), None);
        let names: [(&[u8], &[u8]); 2] = [(b"src/main.rs", b"fn main() {}\n"), (b"caf\xe9 \n.txt", b"odd name")];
        let etag1 = a.commit(&snap("s1", None, &names), None).await.unwrap();
        let b = target(w.s3_port, "projects/demo");
        let (at, etag_b) = b.head().await.unwrap().unwrap();
        assert_eq!(at, "s1");
        assert_eq!(b.snapshot("s1").await.unwrap().files[1].path, b"caf\xe9 \n.txt".to_vec(), "any file name survives");

        // Both edit from s1. A commits first; B's conditional write must fail: a conflict,
        // and A's snapshot is untouched.
        let etag2 = a.commit(&snap("s2-a", Some("s1"), &names[..1]), Some(&etag1)).await.unwrap();
        assert_ne!(etag1, etag2);
        match b.commit(&snap("s2-b", Some("s1"), &names[1..]), Some(&etag_b)).await {
            Err(SyncError::Conflict { remote }) => assert_eq!(remote, "s2-a"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(a.head().await.unwrap().unwrap().0, "s2-a");
        // B's version is kept too (its manifest was written before HEAD was refused).
        assert_eq!(b.snapshot("s2-b").await.unwrap().parent.as_deref(), Some("s1"));
        // A new project cannot be created twice either.
        let c = target(w.s3_port, "projects/demo");
        assert!(matches!(c.commit(&snap("s-new", None, &[]), None).await, Err(SyncError::Conflict { .. })));
    });
    drop(w);
    // The store is down: a clear "unreachable" error, nothing else.
    let down = target(free_pair(), "projects/demo");
    let e = rt.block_on(down.head()).unwrap_err();
    assert!(matches!(e, SyncError::Unreachable(_)), "{e:?}");
    assert!(e.to_string().contains("queued"), "{e}");
    assert!(e.to_string().to_lowercase().contains("refused"), "says why, not the SDK's 'dispatch failure': {e}");
}

#[test]
fn push_and_restore_a_project_byte_for_byte() {
    use aura_core::paths::ProjectRoot;
    use aura_core::store::Store;
    use aura_core::sync::engine::restore;
    use aura_core::sync::scan::scan;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    let Some(w) = weed() else { return };
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    let p = proj.path();
    std::fs::create_dir_all(p.join("src/deep")).unwrap();
    std::fs::write(p.join(".gitignore"), "target/\n").unwrap();
    std::fs::create_dir_all(p.join("target")).unwrap();
    std::fs::write(p.join("target/big.o"), vec![7u8; 4096]).unwrap();
    std::fs::write(p.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(p.join("src/same.rs"), "fn main() {}\n").unwrap(); // same content: one blob
    std::fs::write(p.join("src/deep/data.bin"), (0..=255u8).cycle().take(100_000).collect::<Vec<_>>()).unwrap();
    std::fs::write(p.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(p.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(p.join(std::ffi::OsStr::from_bytes(b"na\xefve.txt")), "latin-1 name").unwrap();
    let root = ProjectRoot::open(p).unwrap();
    let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
    let rt = rt();
    rt.block_on(async {
        let t = target(w.s3_port, "projects/roundtrip");
        ready(&t).await;
        scan(&root, &store, id).unwrap();
        let first = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        assert_eq!((first.uploaded.len(), first.already_there), (5, 1), "identical content is stored once");
        assert_eq!(store.journal_count(id).unwrap(), 0);
        let s1 = first.snapshot.unwrap();

        // Edit, delete, add: the next pass sends only the new content.
        std::fs::write(p.join("src/main.rs"), "fn main() { println!(\"v2\"); }\n").unwrap();
        std::fs::remove_file(p.join("src/same.rs")).unwrap();
        std::fs::write(p.join("NEW.md"), "# new\n").unwrap();
        scan(&root, &store, id).unwrap();
        let second = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        assert_eq!((second.uploaded.len(), second.deleted.len()), (2, 1));
        // Stored as a difference from the first (full) snapshot; read back whole.
        let s2 = second.snapshot.clone().unwrap();
        let stored = t.snapshot_stored(&s2).await.unwrap();
        assert_eq!(stored.base.as_deref(), Some(s1.as_str()));
        assert_eq!((stored.files.len(), stored.removed.len()), (2, 1), "{stored:?}");
        let files = |s: &Snapshot| s.files.iter().filter(|f| !aura_core::sync::folders::is_dir(f.mode)).count();
        assert_eq!(files(&t.snapshot(&s2).await.unwrap()), 6);
        // A pass with nothing to do sends nothing (and reads nothing).
        let noop = scan(&root, &store, id).unwrap();
        assert_eq!((noop.hashed, noop.changed.len()), (0, 0));
        assert!(sync(&root, &store, id, &t, &opts()).push().await.unwrap().snapshot.is_none());

        // Renames, of a file and of a folder, propagate without sending content again.
        std::fs::rename(p.join("NEW.md"), p.join("RENAMED.md")).unwrap();
        std::fs::rename(p.join("src/deep"), p.join("src/moved")).unwrap();
        let hints: Vec<Vec<u8>> =
            ["NEW.md", "RENAMED.md", "src/deep", "src/moved"].iter().map(|s| s.as_bytes().to_vec()).collect();
        aura_core::sync::scan_hints(&root, &store, id, &hints).unwrap();
        let moved = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        // Gone: NEW.md, the folder src/deep and the file in it.
        assert_eq!((moved.uploaded.len(), moved.deleted.len()), (0, 3), "{moved:?}");
        let after = tempfile::tempdir().unwrap();
        restore(&t, None, after.path()).await.unwrap();
        assert!(after.path().join("RENAMED.md").exists() && !after.path().join("NEW.md").exists());
        assert!(after.path().join("src/moved/data.bin").exists() && !after.path().join("src/deep").exists());
        std::fs::rename(p.join("RENAMED.md"), p.join("NEW.md")).unwrap();
        std::fs::rename(p.join("src/moved"), p.join("src/deep")).unwrap();
        scan(&root, &store, id).unwrap();
        sync(&root, &store, id, &t, &opts()).push().await.unwrap();

        // Restore the latest snapshot into an empty folder: byte-identical, modes kept,
        // ignored build output absent.
        let out = tempfile::tempdir().unwrap();
        restore(&t, None, out.path()).await.unwrap();
        for rel in ["src/main.rs", "src/deep/data.bin", "run.sh", "NEW.md", ".gitignore"] {
            assert_eq!(std::fs::read(out.path().join(rel)).unwrap(), std::fs::read(p.join(rel)).unwrap(), "{rel}");
        }
        let odd = std::ffi::OsStr::from_bytes(b"na\xefve.txt");
        assert_eq!(std::fs::read(out.path().join(odd)).unwrap(), b"latin-1 name");
        assert_eq!(std::fs::metadata(out.path().join("run.sh")).unwrap().permissions().mode() & 0o777, 0o755);
        assert!(!out.path().join("src/same.rs").exists() && !out.path().join("target").exists());
        // Any earlier point in time too.
        let old = tempfile::tempdir().unwrap();
        restore(&t, Some(&s1), old.path()).await.unwrap();
        assert_eq!(std::fs::read(old.path().join("src/main.rs")).unwrap(), b"fn main() {}\n");
        assert!(old.path().join("src/same.rs").exists());

        // One file back from the history. Synced content is simply replaced; content the
        // bucket does not have yet is moved aside first, never lost.
        let v1 = blake3::hash(b"fn main() {}\n").to_hex().to_string();
        let synced_now = std::fs::read(p.join("src/main.rs")).unwrap();
        let back = sync(&root, &store, id, &t, &opts()).restore_file(b"src/main.rs", &s1).await.unwrap();
        assert_eq!((back.kept, back.blake3), (None, v1.clone()), "the replaced version is in the bucket");
        assert_eq!(std::fs::read(p.join("src/main.rs")).unwrap(), b"fn main() {}\n");
        std::fs::write(p.join("src/main.rs"), &synced_now).unwrap();
        scan(&root, &store, id).unwrap();
        sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        std::fs::write(p.join("src/main.rs"), "unsynced work\n").unwrap();
        let kept = sync(&root, &store, id, &t, &opts())
            .restore_file(b"src/main.rs", &s1)
            .await
            .unwrap()
            .kept
            .expect("moved aside");
        assert!(kept.starts_with("src/main.rs.aura-kept-"), "{kept}");
        assert_eq!(std::fs::read(p.join(&kept)).unwrap(), b"unsynced work\n");
        assert_eq!(std::fs::read(p.join("src/main.rs")).unwrap(), b"fn main() {}\n");
    });
}

/// Whether any object in the bucket holds `needle` (a blob on its own or inside a pack).
async fn holds(t: &Bucket, needle: &[u8]) -> bool {
    let store = t.store();
    for (key, _, _) in store.list("projects/", None).await.unwrap().objects {
        let body = store.get(&key).await.unwrap().map(|o| o.body).unwrap_or_default();
        if body.windows(needle.len()).any(|w| w == needle) {
            return true;
        }
    }
    false
}

#[test]
fn a_store_that_goes_down_loses_nothing_and_two_machines_conflict_safely() {
    use aura_core::paths::ProjectRoot;
    use aura_core::store::Store;
    use aura_core::sync::engine::{file_history, gc, restore, CommitTo};
    use aura_core::sync::scan::scan;
    use futures::StreamExt;

    /// The content of `path` as snapshot `id` holds it (packed or not).
    async fn version_of(t: &Bucket, id: &str, path: &[u8]) -> Vec<u8> {
        let snap = t.snapshot(id).await.unwrap();
        let f = snap.files.iter().find(|f| f.path == path).unwrap();
        t.get_blob_at(&f.blake3, f.pack.as_ref()).await.unwrap().to_vec()
    }

    let Some(mut w) = weed() else { return };
    let rt = rt();
    let machine = |files: &[(&str, &str)]| {
        let data = tempfile::tempdir().unwrap();
        let proj = tempfile::tempdir().unwrap();
        for (p, c) in files {
            std::fs::write(proj.path().join(p), c).unwrap();
        }
        let root = ProjectRoot::open(proj.path()).unwrap();
        let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
        let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
        (data, proj, root, store, id)
    };
    let (_da, proj_a, root_a, store_a, id_a) = machine(&[("a.txt", "one")]);
    let t = target(w.s3_port, "projects/shared");
    rt.block_on(async {
        ready(&t).await;
        scan(&root_a, &store_a, id_a).unwrap();
        sync(&root_a, &store_a, id_a, &t, &opts()).push().await.unwrap();
    });

    // The store goes down while the user keeps editing: the queue grows, nothing is lost.
    w.stop();
    for i in 0..5 {
        std::fs::write(proj_a.path().join(format!("edit{i}.txt")), format!("edit {i}")).unwrap();
        scan(&root_a, &store_a, id_a).unwrap();
        let e = rt.block_on(sync(&root_a, &store_a, id_a, &t, &opts()).push()).unwrap_err();
        assert!(matches!(e, SyncError::Unreachable(_)), "{e:?}");
    }
    assert_eq!(store_a.journal_count(id_a).unwrap(), 5, "every edit is still queued");
    // Back up: the queue drains and the bucket has every file.
    w.restart();
    rt.block_on(async {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            match sync(&root_a, &store_a, id_a, &t, &opts()).push().await {
                Ok(r) => {
                    assert!(r.snapshot.is_some());
                    break;
                }
                Err(e) => {
                    assert!(Instant::now() < end, "{e:?}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }
        assert_eq!(store_a.journal_count(id_a).unwrap(), 0);
        let out = tempfile::tempdir().unwrap();
        let snap = restore(&t, None, out.path()).await.unwrap();
        assert_eq!(snap.files.len(), 6);

        // Machine B restores onto an empty folder (the "Restore from cloud" path), then both
        // edit and push: the second one gets a conflict, its changes stay queued locally and
        // A's snapshot stays HEAD.
        let (_db, proj_b, root_b, store_b, id_b) = machine(&[]);
        let r = sync(&root_b, &store_b, id_b, &t, &opts()).adopt(None, Afterwards::FollowHead).await.unwrap();
        assert_eq!((r.written, r.kept_local_as), (6, None));
        assert_eq!(store_b.journal_count(id_b).unwrap(), 0, "a restored project starts in sync");
        std::fs::write(proj_a.path().join("a.txt"), "A's version").unwrap();
        std::fs::write(proj_b.path().join("a.txt"), "B's version").unwrap();
        scan(&root_a, &store_a, id_a).unwrap();
        scan(&root_b, &store_b, id_b).unwrap();
        let a_snap = sync(&root_a, &store_a, id_a, &t, &opts()).push().await.unwrap().snapshot.unwrap();
        match sync(&root_b, &store_b, id_b, &t, &opts()).push().await {
            Err(SyncError::Conflict { remote }) => assert_eq!(remote, a_snap),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert!(store_b.journal_count(id_b).unwrap() > 0, "B's changes are kept, queued");
        assert_eq!(std::fs::read_to_string(proj_b.path().join("a.txt")).unwrap(), "B's version");
        let check = tempfile::tempdir().unwrap();
        restore(&t, None, check.path()).await.unwrap();
        assert_eq!(std::fs::read_to_string(check.path().join("a.txt")).unwrap(), "A's version");

        // B picks "keep mine": B's files become HEAD, A's version stays in the history.
        let kept = sync(&root_b, &store_b, id_b, &t, &opts()).push_to(CommitTo::HeadOverriding).await.unwrap();
        let b_snap = kept.snapshot.unwrap();
        assert_eq!(t.head().await.unwrap().unwrap().0, b_snap);
        assert_eq!(t.snapshot(&b_snap).await.unwrap().parent.as_deref(), Some(a_snap.as_str()));
        assert_eq!(store_b.journal_count(id_b).unwrap(), 0);
        // A edits again and is now behind: a conflict; A picks "take theirs". A's unsynced
        // edit is kept as a side snapshot first, then A's folder equals B's.
        std::fs::write(proj_a.path().join("a.txt"), "A's second version").unwrap();
        // A file too large to sync exists only here: taking theirs must not delete it.
        std::fs::File::create(proj_a.path().join("huge.bin")).unwrap().set_len(100 * 1024 * 1024).unwrap();
        scan(&root_a, &store_a, id_a).unwrap();
        assert!(matches!(sync(&root_a, &store_a, id_a, &t, &opts()).push().await, Err(SyncError::Conflict { .. })));
        let took = sync(&root_a, &store_a, id_a, &t, &opts()).adopt(None, Afterwards::FollowHead).await.unwrap();
        assert!(proj_a.path().join("huge.bin").exists(), "a file in no snapshot is never removed");
        assert_eq!(took.kept, vec!["huge.bin".to_string()]);
        let side = took.kept_local_as.expect("A's edit kept aside");
        assert!(t.snapshot(&side).await.unwrap().side);
        assert_eq!(std::fs::read_to_string(proj_a.path().join("a.txt")).unwrap(), "B's version");
        assert_eq!(store_a.journal_count(id_a).unwrap(), 0);
        // Every version is in the file's history: nothing was lost.
        let versions: Vec<Vec<u8>> = file_history(&t, b"a.txt", 50)
            .await
            .unwrap()
            .iter()
            .map(|v| version_of(&t, &v.snapshot, b"a.txt"))
            .collect::<futures::stream::FuturesOrdered<_>>()
            .collect()
            .await;
        for want in ["one", "A's version", "B's version", "A's second version"] {
            assert!(versions.iter().any(|v| v == want.as_bytes()), "{want} is in the history");
        }
        // And A's next edit goes straight on top of B's.
        std::fs::write(proj_a.path().join("a.txt"), "agreed").unwrap();
        scan(&root_a, &store_a, id_a).unwrap();
        sync(&root_a, &store_a, id_a, &t, &opts()).push().await.unwrap();

        // Garbage collection deletes only blobs no snapshot references.
        let orphan = b"never referenced".to_vec();
        let orphan_hash = blake3::hash(&orphan).to_hex().to_string();
        t.put_blob(&orphan_hash, orphan).await.unwrap();
        let before = t.list_blobs().await.unwrap().len();
        let gc_report = gc(&t, 0).await.unwrap();
        assert_eq!(gc_report.blobs_deleted, 1);
        assert_eq!(t.list_blobs().await.unwrap().len(), before - 1);
        assert!(!t.has_blob(&orphan_hash).await.unwrap());
        for id in t.list_snapshots().await.unwrap() {
            let out = tempfile::tempdir().unwrap();
            restore(&t, Some(&id), out.path()).await.unwrap_or_else(|e| panic!("snapshot {id} after gc: {e}"));
        }
    });
}

#[test]
fn large_files_go_in_parts_and_bad_inputs_fail_alone() {
    use aura_core::paths::ProjectRoot;
    use aura_core::store::Store;
    use aura_core::sync::engine::restore;
    use aura_core::sync::scan::scan;
    use std::os::unix::ffi::OsStrExt;

    let Some(w) = weed() else { return };
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    let p = proj.path();
    // 20 MiB of varied bytes: four parts of 5 MiB.
    let big: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(p.join("big.bin"), &big).unwrap();
    // A 2 GiB sparse file: over the limit, reported, not read.
    let sparse = std::fs::File::create(p.join("sparse.img")).unwrap();
    sparse.set_len(2 * 1024 * 1024 * 1024).unwrap();
    drop(sparse);
    // Odd names and a very long path.
    let odd: [&[u8]; 3] = [b"new\nline.txt", b"bad-\xff\xfe-utf8.txt", b"tab\tand space .txt"];
    for n in odd {
        std::fs::write(p.join(std::ffi::OsStr::from_bytes(n)), n).unwrap();
    }
    let mut long = std::path::PathBuf::new();
    for i in 0..14 {
        long.push(format!("{i:02}-{}", "d".repeat(200)));
    }
    std::fs::create_dir_all(p.join(&long)).unwrap();
    let long_file = long.join("deep.txt");
    std::fs::write(p.join(&long_file), "deep").unwrap();
    assert!(long_file.as_os_str().len() > 2800);
    std::fs::write(p.join("ok.txt"), "fine").unwrap();

    let root = ProjectRoot::open(p).unwrap();
    let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
    let rt = rt();
    rt.block_on(async {
        let t = target(w.s3_port, "projects/bad-inputs");
        ready(&t).await;
        scan(&root, &store, id).unwrap();
        let r = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert_eq!(r.errors[0].0, b"sparse.img".to_vec());
        assert!(r.errors[0].1.contains("over the 64 MiB limit"), "{}", r.errors[0].1);
        assert_eq!(r.uploaded.len(), 6, "everything else went: {:?}", r.uploaded);
        assert_eq!(store.journal_count(id).unwrap(), 1, "the refused file stays queued");

        let out = tempfile::tempdir().unwrap();
        restore(&t, None, out.path()).await.unwrap();
        assert_eq!(std::fs::read(out.path().join("big.bin")).unwrap(), big, "multipart upload is byte-identical");
        for n in odd {
            assert_eq!(std::fs::read(out.path().join(std::ffi::OsStr::from_bytes(n))).unwrap(), n);
        }
        assert_eq!(std::fs::read(out.path().join(&long_file)).unwrap(), b"deep");
        assert!(!out.path().join("sparse.img").exists());

        // A file that vanishes or shrinks while its parts are read: the upload is abandoned
        // with a clear error, and no object is left for it.
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(p.join("ok.txt")).unwrap();
        let claimed = (12 * 1024 * 1024, m.mtime() * 1_000_000_000 + m.mtime_nsec(), m.ino());
        let ok = std::sync::Arc::new(std::fs::File::open(p.join("ok.txt")).unwrap());
        let packs = t.list_packs().await.unwrap().len();
        let e = t.put_file_once(ok, "ok.txt", claimed, 5 * 1024 * 1024, 4).await.unwrap_err();
        assert!(matches!(e, SyncError::Changed { .. }), "{e:?}");
        assert!(e.to_string().contains("changed while it was being uploaded"));
        assert_eq!(t.list_packs().await.unwrap().len(), packs);
        // A file deleted after it was journaled is a delete, not an error.
        std::fs::write(p.join("brief.txt"), "here").unwrap();
        scan(&root, &store, id).unwrap();
        std::fs::remove_file(p.join("brief.txt")).unwrap();
        let r = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        assert!(r.errors.iter().all(|(p, _)| p == b"sparse.img"), "{:?}", r.errors);
    });
}

#[test]
fn pruning_keeps_recent_daily_and_weekly_snapshots_head_and_every_base() {
    use aura_core::sync::engine::{prune, restore, Retention};
    let Some(w) = weed() else { return };
    rt().block_on(async {
        let t = target(w.s3_port, "projects/prune");
        ready(&t).await;
        const H: i64 = 3600 * 1000;
        const DAY: i64 = 24 * H;
        let now = aura_core::store::now_ms();
        let day40 = (now - 40 * DAY) / DAY * DAY;
        let week200 = (now - 200 * DAY) / (7 * DAY) * (7 * DAY);
        let id = |t: i64, name: &str| format!("{t:013}-{name}");
        let content: [(&[u8], &[u8]); 1] = [(b"a.txt", b"base")];
        let blob = blake3::hash(b"base").to_hex().to_string();
        t.put_blob(&blob, b"base".to_vec()).await.unwrap();
        let full = id(day40 + H, "full");
        t.put_snapshot(&snap(&full, None, &content)).await.unwrap();
        let delta = |name: &str, at: i64| {
            let mut d = snap(&id(at, name), None, &[]);
            d.base = Some(full.clone());
            d
        };
        let all = [
            delta("older-same-day", day40 + 3 * H / 2),
            delta("head", day40 + 2 * H),
            delta("newest-of-day", day40 + 3 * H),
            delta("recent-1", now - 3 * DAY),
            delta("recent-2", now - 3 * DAY + H),
            delta("old-week-1", week200 + H),
            delta("old-week-2", week200 + 2 * H),
        ];
        for d in &all {
            t.put_snapshot(d).await.unwrap();
        }
        t.move_head(&all[1].id, None).await.unwrap();
        assert_eq!(prune(&t, Retention::default(), now).await.unwrap(), 2);
        let left = t.list_snapshots().await.unwrap();
        assert!(!left.contains(&all[0].id) && !left.contains(&all[5].id), "{left:?}");
        for kept in [&full, &all[1].id, &all[2].id, &all[3].id, &all[4].id, &all[6].id] {
            assert!(left.contains(kept), "{kept} kept: {left:?}");
        }
        // A kept differential snapshot still restores through its base.
        let out = tempfile::tempdir().unwrap();
        restore(&t, Some(&all[2].id), out.path()).await.unwrap();
        assert_eq!(std::fs::read(out.path().join("a.txt")).unwrap(), b"base");
        // Pruning again finds nothing more.
        assert_eq!(prune(&t, Retention::default(), now).await.unwrap(), 0);
    });
}

/// Sandboxed code can swap a project folder for a symlink to a folder outside between the scan
/// that journals a file and the pass that reads it. The pass, the history restore and search
/// read through the project's root capability: the outside file's content never reaches the
/// bucket or the UI.
#[test]
fn a_folder_swapped_for_a_link_after_the_scan_never_uploads_outside_content() {
    use aura_core::paths::ProjectRoot;
    use aura_core::store::Store;
    use aura_core::sync::scan::scan;
    use aura_core::workspace::search::{search, SearchQuery};

    let Some(w) = weed() else { return };
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let p = proj.path();
    std::fs::create_dir(p.join("sub")).unwrap();
    std::fs::write(p.join("sub/notes.txt"), "inside\n").unwrap();
    std::fs::write(p.join("keep.txt"), "kept\n").unwrap();
    let secret = b"TOP SECRET host key\n";
    std::fs::write(outside.path().join("notes.txt"), secret).unwrap();
    let root = ProjectRoot::open(p).unwrap();
    let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
    rt().block_on(async {
        let t = target(w.s3_port, "projects/swapped");
        ready(&t).await;
        scan(&root, &store, id).unwrap();
        assert_eq!(store.journal_count(id).unwrap(), 3, "two files and the folder sub");
        // The swap, after the scan journaled sub/notes.txt and before the pass reads it.
        std::fs::rename(p.join("sub"), p.join("sub.real")).unwrap();
        std::os::unix::fs::symlink(outside.path(), p.join("sub")).unwrap();
        let r = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        let secret_blob = blake3::hash(secret).to_hex().to_string();
        assert!(
            !t.has_blob(&secret_blob).await.unwrap() && !holds(&t, secret).await,
            "the outside file's content must not be uploaded"
        );
        let snap = t.snapshot(r.snapshot.as_deref().unwrap()).await.unwrap();
        let paths: Vec<_> = snap.files.iter().map(|f| String::from_utf8_lossy(&f.path).into_owned()).collect();
        assert_eq!(paths, ["keep.txt"], "only the project's own regular files are in the snapshot");
    });

    // Search and the file tree do not show the outside file's content either (the walk does
    // not follow links; a link swapped in mid-walk fails the file).
    let found = search(
        &root,
        &SearchQuery {
            pattern: "TOP SECRET".into(),
            regex: false,
            case_sensitive: false,
            whole_word: false,
            max_results: None,
        },
    )
    .unwrap();
    assert!(found.matches.is_empty(), "{:?}", found.matches);
    let dir = root.dir().unwrap();
    let e = aura_core::paths::open_read(&dir, std::path::Path::new("sub/notes.txt")).unwrap_err();
    assert!(aura_core::paths::escaped("sub/notes.txt", &e).is_some(), "{e}");
    let e = aura_core::workspace::tree::list_dir(&root, "sub").unwrap_err();
    assert!(e.to_string().contains("outside the project"), "{e}");
}

/// Symbolic links are part of a snapshot (as links, never followed): in-project file and
/// folder links, nested relative ones, a dangling one and a loop come back as the same links;
/// a link out of the project and an absolute one are skipped and reported, never followed.
#[test]
fn links_come_back_as_links_and_links_out_of_the_project_are_reported() {
    use aura_core::paths::ProjectRoot;
    use aura_core::store::Store;
    use aura_core::sync::engine::restore;
    use aura_core::sync::scan::scan;
    use std::os::unix::fs::symlink;

    let Some(w) = weed() else { return };
    let data = tempfile::tempdir().unwrap();
    let outer = tempfile::tempdir().unwrap();
    let p = outer.path().join("project");
    std::fs::create_dir_all(p.join("src/deep")).unwrap();
    std::fs::create_dir_all(p.join("docs")).unwrap();
    std::fs::write(outer.path().join("secret.txt"), "outside the project").unwrap();
    std::fs::write(p.join("CLAUDE.md"), "agents read this\n").unwrap();
    std::fs::write(p.join("LICENSE"), "MIT\n").unwrap();
    std::fs::write(p.join("src/deep/main.rs"), "fn main() {}\n").unwrap();
    symlink("CLAUDE.md", p.join("AGENTS.md")).unwrap();
    symlink("../LICENSE", p.join("docs/LICENSE")).unwrap();
    symlink("../../LICENSE", p.join("src/deep/LICENSE")).unwrap();
    symlink("src", p.join("code")).unwrap();
    symlink("missing.txt", p.join("dangling")).unwrap();
    symlink("loop-b", p.join("loop-a")).unwrap();
    symlink("loop-a", p.join("loop-b")).unwrap();
    symlink("../secret.txt", p.join("escape")).unwrap();
    symlink("/etc/hostname", p.join("absolute")).unwrap();
    let root = ProjectRoot::open(&p).unwrap();
    let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
    let out = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let t = target(w.s3_port, "projects/links");
        ready(&t).await;
        let s = scan(&root, &store, id).unwrap();
        let mut skipped: Vec<_> =
            s.skipped.iter().map(|(p, why)| (String::from_utf8_lossy(p).into_owned(), why.clone())).collect();
        skipped.sort();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(skipped[0].0, "absolute");
        assert!(skipped[0].1.contains("absolute path"), "{}", skipped[0].1);
        assert_eq!(skipped[1].0, "escape");
        assert!(skipped[1].1.contains("outside the project"), "{}", skipped[1].1);
        let r = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let secret = blake3::hash(b"outside the project").to_hex().to_string();
        assert!(
            !t.has_blob(&secret).await.unwrap() && !holds(&t, b"outside the project").await,
            "a link out of the project is never followed"
        );
        restore(&t, None, out.path()).await.unwrap();

        // Edit a link's target: the next pass carries the new target.
        std::fs::remove_file(p.join("AGENTS.md")).unwrap();
        symlink("LICENSE", p.join("AGENTS.md")).unwrap();
        let s = scan(&root, &store, id).unwrap();
        assert_eq!(s.changed, vec![b"AGENTS.md".to_vec()]);
        sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        let again = tempfile::tempdir().unwrap();
        restore(&t, None, again.path()).await.unwrap();
        assert_eq!(std::fs::read_link(again.path().join("AGENTS.md")).unwrap(), std::path::Path::new("LICENSE"));
    });

    // The restored tree equals the project, links compared as links, except the two skipped.
    std::fs::remove_file(p.join("AGENTS.md")).unwrap();
    symlink("CLAUDE.md", p.join("AGENTS.md")).unwrap();
    let diff =
        std::process::Command::new("diff").args(["-r", "--no-dereference"]).arg(&p).arg(out.path()).output().unwrap();
    let text = String::from_utf8_lossy(&diff.stdout);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 2, "only the skipped links differ:\n{text}");
    assert!(lines[0].ends_with(": absolute") && lines[1].ends_with(": escape"), "{text}");
    for (link, to) in
        [("AGENTS.md", "CLAUDE.md"), ("docs/LICENSE", "../LICENSE"), ("code", "src"), ("loop-a", "loop-b")]
    {
        assert_eq!(std::fs::read_link(out.path().join(link)).unwrap(), std::path::Path::new(to), "{link}");
    }
    assert_eq!(std::fs::read_to_string(out.path().join("src/deep/LICENSE")).unwrap(), "MIT\n", "resolves in the copy");
}

/// Folders are snapshot entries: empty ones (nested too) and their modes come back, a
/// read-only folder included (its mode is given after its files are written); a folder removed
/// on one machine is removed on the other when it follows.
#[test]
fn empty_folders_and_folder_modes_come_back() {
    use aura_core::paths::ProjectRoot;
    use aura_core::store::Store;
    use aura_core::sync::engine::restore;
    use aura_core::sync::scan::scan;
    use std::os::unix::fs::PermissionsExt;

    let Some(w) = weed() else { return };
    let data = tempfile::tempdir().unwrap();
    let p = tempfile::tempdir().unwrap();
    let p = p.path();
    for d in ["uploads", "logs/2026/empty", "src", "ro", "private"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    std::fs::write(p.join("src/main.py"), "print(1)\n").unwrap();
    std::fs::write(p.join("ro/readme"), "read only folder\n").unwrap();
    std::fs::set_permissions(p.join("private"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(p.join("ro"), std::fs::Permissions::from_mode(0o555)).unwrap();
    let mode = |d: &std::path::Path| std::fs::metadata(d).unwrap().permissions().mode() & 0o7777;
    let root = ProjectRoot::open(p).unwrap();
    let store = Store::open(&data.path().join("a.sqlite3")).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
    let out = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let other_db = Store::open(&data.path().join("b.sqlite3")).unwrap();
    rt().block_on(async {
        let t = target(w.s3_port, "projects/folders");
        ready(&t).await;
        let s = scan(&root, &store, id).unwrap();
        assert_eq!(s.hashed, 2, "folders are not counted as files read");
        let r = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.uploaded.len(), 2, "folders upload no content: {:?}", r.uploaded);
        let snap = restore(&t, None, out.path()).await.unwrap();
        assert_eq!(snap.files.iter().filter(|f| aura_core::sync::folders::is_dir(f.mode)).count(), 7);
        for d in ["uploads", "logs/2026/empty", "private", "ro"] {
            assert!(out.path().join(d).is_dir(), "{d} restored");
            assert_eq!(mode(&out.path().join(d)), mode(&p.join(d)), "{d}'s mode");
        }
        assert_eq!(std::fs::read_to_string(out.path().join("ro/readme")).unwrap(), "read only folder\n");
        let diff = std::process::Command::new("diff")
            .args(["-r", "--no-dereference"])
            .arg(p)
            .arg(out.path())
            .output()
            .unwrap();
        assert!(diff.stdout.is_empty(), "{}", String::from_utf8_lossy(&diff.stdout));
        assert_eq!(scan(&root, &store, id).unwrap().changed.len(), 0, "a no-op scan sees no folder change");

        // A second machine follows; then a folder goes on the first and on the second after it.
        let q = ProjectRoot::open(other.path()).unwrap();
        let qid = other_db.touch_project(&q.path().display().to_string(), "p").unwrap().id;
        sync(&q, &other_db, qid, &t, &opts()).adopt(None, Afterwards::FollowHead).await.unwrap();
        assert!(other.path().join("logs/2026/empty").is_dir());
        std::fs::remove_dir_all(p.join("logs")).unwrap();
        std::fs::set_permissions(p.join("uploads"), std::fs::Permissions::from_mode(0o750)).unwrap();
        let s = scan(&root, &store, id).unwrap();
        assert_eq!(s.deleted.len(), 3, "{:?}", s.deleted);
        assert_eq!(s.changed, vec![b"uploads".to_vec()], "a folder's mode is a change");
        sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        let r = sync(&q, &other_db, qid, &t, &opts()).adopt(None, Afterwards::FollowHead).await.unwrap();
        assert!(!other.path().join("logs").exists(), "removed folders go: {r:?}");
        assert_eq!(mode(&other.path().join("uploads")), 0o750);
        assert_eq!(other_db.journal_count(qid).unwrap(), 0, "following leaves nothing to send");
    });
    for d in [p.join("ro"), out.path().join("ro"), other.path().join("ro")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Every file Git tracks is synced, whatever the ignore rules say: folders the `.gitignore`
/// re-includes (`node_modules`, `dist` fixtures), files added with `git add -f`, and a tracked
/// file inside a build-output folder the project says nothing about. The index is read, `git`
/// never runs on the project. Restored, the copy has every path `git ls-files` lists.
#[test]
fn every_file_git_tracks_is_restored() {
    use aura_core::paths::ProjectRoot;
    use aura_core::store::Store;
    use aura_core::sync::engine::restore;
    use aura_core::sync::scan::{scan, scan_hints};

    let Some(w) = weed() else { return };
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    let p = proj.path();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").arg("-C").arg(p).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    git(&["init", "-q"]);
    let files = [
        ("src/index.js", "code"),
        ("test/fixtures/glob-exports/node_modules/pkg/index.js", "fixture"),
        ("examples/site/dist/index.html", "<p>built</p>"),
        ("logs/keep.log", "force-added"),
        ("vendor/node_modules/patched/index.js", "tracked inside a build-output folder"),
        ("node_modules/installed/index.js", "installed, untracked"),
        ("debug.log", "ignored, untracked"),
    ];
    for (f, text) in files {
        std::fs::create_dir_all(p.join(f).parent().unwrap()).unwrap();
        std::fs::write(p.join(f), text).unwrap();
    }
    std::fs::write(
        p.join(".gitignore"),
        "node_modules/\ndist/\n*.log\n!**/fixtures/glob-exports/node_modules\n!/examples/site/dist\n",
    )
    .unwrap();
    git(&["add", "."]);
    git(&["add", "-f", "logs/keep.log", "vendor/node_modules/patched/index.js"]);
    let root = ProjectRoot::open(p).unwrap();
    let store = Store::open(&data.path().join("aura.sqlite3")).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "p").unwrap().id;
    let out = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let t = target(w.s3_port, "projects/tracked");
        ready(&t).await;
        scan(&root, &store, id).unwrap();
        let r = sync(&root, &store, id, &t, &opts()).push().await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        restore(&t, None, out.path()).await.unwrap();
        // A save of a tracked file in an ignored folder is a change like any other.
        std::fs::write(p.join("logs/keep.log"), "edited").unwrap();
        let s = scan_hints(&root, &store, id, &[b"logs/keep.log".to_vec()]).unwrap();
        assert_eq!(s.changed, vec![b"logs/keep.log".to_vec()]);
        let s = scan_hints(&root, &store, id, &[b"logs".to_vec()]).unwrap();
        assert!(s.deleted.is_empty(), "a hint on the ignored folder keeps its tracked file: {s:?}");
        std::fs::write(p.join("logs/keep.log"), "force-added").unwrap();
    });
    let listed = String::from_utf8(git(&["ls-files"])).unwrap();
    assert_eq!(listed.lines().count(), 6, "{listed}");
    for f in listed.lines() {
        assert_eq!(std::fs::read(out.path().join(f)).ok(), Some(std::fs::read(p.join(f)).unwrap()), "{f} restored");
    }
    assert!(
        !out.path().join("node_modules").exists() && !out.path().join("debug.log").exists(),
        "untracked ignored files stay out"
    );
}
