//! The sync engine against the in-memory object store: passes, differential snapshots, an
//! unreachable bucket, conflicts between two machines and a damaged blob, in milliseconds.
//! (`sync_s3.rs` runs the same engine against a real S3 server.)

use std::path::Path;
use std::sync::Arc;

use aura_core::sync::bucket::{Bucket, MemoryStore, ObjectStore};
use aura_core::sync::engine::{gc, restore, Afterwards, CommitTo};
use aura_core::sync::scan::scan;
use aura_core::sync::SyncError;

#[path = "support/machine.rs"]
mod machine;
use machine::Machine;

fn bucket() -> (Arc<MemoryStore>, Bucket) {
    let mem = Arc::new(MemoryStore::new());
    let store: Arc<dyn ObjectStore> = mem.clone();
    (mem, Bucket::new(store, "projects/p"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn a_pass_stores_each_content_once_and_a_restore_gives_the_project_back() {
    let (_, b) = bucket();
    let m =
        Machine::new(&[("src/main.rs", "fn main() {}\n"), ("src/copy.rs", "fn main() {}\n"), ("README.md", "hi\n")]);
    scan(&m.root, &m.store, m.id).unwrap();
    rt().block_on(async {
        let first = m.sync(&b).push().await.unwrap();
        assert_eq!((first.uploaded.len(), first.already_there), (2, 1), "identical content is stored once");
        assert_eq!(m.store.journal_count(m.id).unwrap(), 0, "a committed pass empties the journal");
        assert!(m.sync(&b).push().await.unwrap().snapshot.is_none(), "nothing queued: no snapshot");

        m.edit("src/main.rs", "fn main() { println!(\"2\"); }\n");
        let second = m.sync(&b).push().await.unwrap();
        let id = second.snapshot.unwrap();
        let stored = b.snapshot_stored(&id).await.unwrap();
        assert_eq!(stored.base.as_deref(), first.snapshot.as_deref(), "a small change is a difference");
        assert_eq!(stored.files.len(), 1);

        let dest = tempfile::tempdir().unwrap();
        restore(&b, None, dest.path()).await.unwrap();
        for f in ["src/main.rs", "src/copy.rs", "README.md"] {
            assert_eq!(
                std::fs::read(dest.path().join(f)).unwrap(),
                std::fs::read(m.folder.path().join(f)).unwrap(),
                "{f}"
            );
        }
    });
}

#[test]
fn an_unreachable_bucket_keeps_every_change_queued_until_it_is_back() {
    let (mem, b) = bucket();
    let m = Machine::new(&[("a.txt", "one")]);
    scan(&m.root, &m.store, m.id).unwrap();
    rt().block_on(async {
        m.sync(&b).push().await.unwrap();
        mem.set_offline(true);
        for i in 0..3 {
            m.edit(&format!("edit{i}.txt"), "x");
            let e = m.sync(&b).push().await.unwrap_err();
            assert!(matches!(e, SyncError::Unreachable(_)), "{e:?}");
        }
        assert_eq!(m.store.journal_count(m.id).unwrap(), 3);
        mem.set_offline(false);
        let r = m.sync(&b).push().await.unwrap();
        assert_eq!(r.uploaded.len(), 1, "the three edits share one content");
        assert_eq!(m.store.journal_count(m.id).unwrap(), 0);
        let head = b.snapshot(&b.head().await.unwrap().unwrap().0).await.unwrap();
        assert_eq!(head.files.len(), 4);
    });
}

#[test]
fn two_machines_conflict_and_either_side_can_win_without_losing_the_other() {
    let (_, b) = bucket();
    let a = Machine::new(&[("shared.txt", "base")]);
    let c = Machine::new(&[]);
    scan(&a.root, &a.store, a.id).unwrap();
    rt().block_on(async {
        a.sync(&b).push().await.unwrap();
        c.sync(&b).adopt(None, Afterwards::FollowHead).await.unwrap();
        assert_eq!(c.read("shared.txt"), "base");

        a.edit("shared.txt", "from a");
        c.edit("shared.txt", "from c");
        let a_snap = a.sync(&b).push().await.unwrap().snapshot.unwrap();
        match c.sync(&b).push().await {
            Err(SyncError::Conflict { remote }) => assert_eq!(remote, a_snap),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(c.store.journal_count(c.id).unwrap(), 1, "the loser's change stays queued");

        // c keeps its version; a then takes it, and a's version stays in the history.
        let kept = c.sync(&b).push_to(CommitTo::HeadOverriding).await.unwrap().snapshot.unwrap();
        assert!(matches!(a.sync(&b).push().await, Ok(r) if r.snapshot.is_none()));
        a.edit("other.txt", "a again");
        assert!(matches!(a.sync(&b).push().await, Err(SyncError::Conflict { .. })));
        let took = a.sync(&b).adopt(None, Afterwards::FollowHead).await.unwrap();
        assert_eq!(took.snapshot, kept);
        assert_eq!(a.read("shared.txt"), "from c");
        let side = took.kept_local_as.expect("a's unsynced edit is kept as a side snapshot");
        let side = b.snapshot(&side).await.unwrap();
        assert!(side.side && side.files.iter().any(|f| f.path == b"other.txt"));
        assert!(b.snapshot(&b.snapshot(&kept).await.unwrap().parent.unwrap()).await.is_ok());
    });
}

#[test]
fn a_damaged_blob_is_refused_on_restore() {
    let (mem, b) = bucket();
    let m = Machine::new(&[("a.txt", "the real content")]);
    scan(&m.root, &m.store, m.id).unwrap();
    rt().block_on(async {
        m.sync(&b).push().await.unwrap();
        let pack = mem.keys().into_iter().find(|k| k.contains("/packs/")).unwrap();
        mem.overwrite(&pack, b"the real contenT"); // same length: only the hash can tell
        let dest = tempfile::tempdir().unwrap();
        let e = restore(&b, None, dest.path()).await.unwrap_err();
        assert!(matches!(e, SyncError::Corrupt { .. }), "{e:?}");
        assert!(!dest.path().join("a.txt").exists(), "nothing unchecked is placed");
    });
}

#[test]
fn large_files_go_up_in_parts_and_come_back_whole() {
    let (mem, b) = bucket();
    let m = Machine::new(&[]);
    let big: String = (0..5_000_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    m.edit("big.txt", &big);
    let mut m = m;
    m.opts.multipart_threshold = 100_000;
    m.opts.part_size = 1; // raised to the 5 MiB S3 minimum: one part here, streamed back
    rt().block_on(async {
        let r = m.sync(&b).push().await.unwrap();
        assert_eq!(r.bytes_sent, big.len() as u64);
        let objects = mem.keys();
        assert_eq!(objects.iter().filter(|k| k.contains("/packs/")).count(), 1, "its own pack: {objects:?}");
        let dest = tempfile::tempdir().unwrap();
        restore(&b, None, dest.path()).await.unwrap();
        assert_eq!(std::fs::read_to_string(dest.path().join("big.txt")).unwrap(), big);

        // Renamed, it is recognized by its hash and not sent again.
        std::fs::rename(m.folder.path().join("big.txt"), m.folder.path().join("moved.txt")).unwrap();
        scan(&m.root, &m.store, m.id).unwrap();
        let r = m.sync(&b).push().await.unwrap();
        assert_eq!((r.bytes_sent, r.already_there), (0, 1), "{r:?}");
        assert_eq!(mem.keys().len(), objects.len() + 1, "one more snapshot, nothing else");
        let dest = tempfile::tempdir().unwrap();
        restore(&b, None, dest.path()).await.unwrap();
        assert_eq!(std::fs::read_to_string(dest.path().join("moved.txt")).unwrap(), big);

        // Long after (the record of what was sent recently has expired), a copy is still not
        // sent again: the bucket is asked whether its pack is there.
        let db = rusqlite::Connection::open(m._data.path().join("aura.sqlite3")).unwrap();
        db.execute("DELETE FROM sent_blobs", []).unwrap();
        std::fs::copy(m.folder.path().join("moved.txt"), m.folder.path().join("copy.txt")).unwrap();
        scan(&m.root, &m.store, m.id).unwrap();
        let r = m.sync(&b).push().await.unwrap();
        assert_eq!((r.bytes_sent, r.already_there), (0, 1), "{r:?}");
    });
}

/// Every file and link of `dir`, with its content or target (what a restore must give back).
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let rel = e.strip_prefix(dir).unwrap().display().to_string();
        let m = std::fs::symlink_metadata(&e).unwrap();
        let what = if m.file_type().is_symlink() {
            format!("-> {}", std::fs::read_link(&e).unwrap().display())
        } else if m.is_dir() {
            "/".into()
        } else {
            std::fs::read_to_string(&e).unwrap()
        };
        out.push((rel, what));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn small_files_travel_in_packs_and_a_second_machine_names_their_places() {
    let (mem, b) = bucket();
    let files: Vec<(String, String)> =
        (0..600).map(|i| (format!("src/m{}/f{i}.rs", i % 7), format!("// {i}\n"))).collect();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let a = Machine::new(&borrowed);
    std::os::unix::fs::symlink("m0/f0.rs", a.folder.path().join("src/link.rs")).unwrap();
    std::fs::create_dir(a.folder.path().join("empty")).unwrap();
    scan(&a.root, &a.store, a.id).unwrap();
    rt().block_on(async {
        a.sync(&b).push().await.unwrap();
        let keys = mem.keys();
        let packs = keys.iter().filter(|k| k.contains("/packs/")).count();
        assert_eq!(packs, 1, "601 small blobs are one object: {keys:?}");
        assert!(!keys.iter().any(|k| k.contains("/blobs/")), "no small blob is stored on its own");
        let dest = tempfile::tempdir().unwrap();
        restore(&b, None, dest.path()).await.unwrap();
        assert_eq!(tree(dest.path()), tree(a.folder.path()));

        // B takes A's snapshot, then changes so much that its next snapshot is a full one: the
        // entries it never uploaded itself must still say which pack holds them.
        let second = Machine::new(&[]);
        second.sync(&b).adopt(None, Afterwards::FollowHead).await.unwrap();
        for i in 0..560 {
            second.write(&format!("src/m{}/f{i}.rs", i % 7), format!("// changed {i}\n").as_bytes());
        }
        scan(&second.root, &second.store, second.id).unwrap();
        let pushed = second.sync(&b).push().await.unwrap();
        let snap = b.snapshot_stored(&pushed.snapshot.unwrap()).await.unwrap();
        assert!(snap.base.is_none() && snap.files.len() > 600, "a full snapshot, with A's entries too");
        assert!(snap.files.iter().filter(|f| f.size > 0 && f.mode & 0o170000 != 0o040000).all(|f| f.pack.is_some()));
        let dest = tempfile::tempdir().unwrap();
        restore(&b, None, dest.path()).await.unwrap();
        assert_eq!(tree(dest.path()), tree(second.folder.path()));

        // Every pack is still used by a snapshot: collecting garbage keeps them all.
        let r = gc(&b, 0).await.unwrap();
        assert_eq!((r.packs_deleted, r.packs_kept), (0, 2), "{r:?}");
        let dest = tempfile::tempdir().unwrap();
        restore(&b, None, dest.path()).await.unwrap();
        assert_eq!(tree(dest.path()), tree(second.folder.path()));
    });
}
