//! End-to-end encrypted sync against the in-memory object store: the bucket holds no byte of
//! any file, name or path; a second machine with the project key restores the project byte for
//! byte (small files in packs, a file of its own, a large file in parts, a link, an empty
//! folder); another key, a flipped byte, a swapped object and an older HEAD put back are all
//! refused, and nothing unchecked is written.

use std::sync::Arc;

use aura_core::sync::bucket::{Bucket, MemoryStore, ObjectStore};
use aura_core::sync::crypto::ProjectKey;
use aura_core::sync::engine::restore;
use aura_core::sync::scan::scan;
use aura_core::sync::SyncError;

#[path = "support/machine.rs"]
mod machine;
use machine::{content, tree, Machine};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn the_bucket_holds_only_ciphertext_and_the_key_restores_every_byte() {
    let mem = Arc::new(MemoryStore::new());
    let store: Arc<dyn ObjectStore> = mem.clone();
    let key = ProjectKey::generate();
    let b = Bucket::new(store.clone(), "projects/p").sealed_with(key.cipher());
    let m = Machine::with_small_parts();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("src/secret_algorithm.rs", content("fn secret_algorithm", 3000)),
        ("src/copy_of_it.rs", content("fn secret_algorithm", 3000)),
        ("docs/confidential-plan.md", content("confidential plan", 40_000)),
        ("assets/medium-file.bin", content("a medium file", 700 * 1024)),
        ("data/large-dataset.csv", content("large,dataset,row", 6 * 1024 * 1024 + 12_345)),
        ("empty.txt", Vec::new()),
    ];
    for (p, c) in &files {
        m.write(p, c);
    }
    std::os::unix::fs::symlink("src/secret_algorithm.rs", m.folder.path().join("link-to-secret")).unwrap();
    std::fs::create_dir_all(m.folder.path().join("uploads/empty-folder")).unwrap();
    scan(&m.root, &m.store, m.id).unwrap();

    rt().block_on(async {
        let r = m.sync(&b).push().await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);

        // No byte of any file, name or path in any object (or its key).
        let names = [
            "secret_algorithm",
            "copy_of_it",
            "confidential",
            "medium-file",
            "large-dataset",
            "empty-folder",
            "uploads",
            "link-to-secret",
        ];
        for k in mem.keys() {
            let body = store.get(&k).await.unwrap().unwrap().body;
            for n in names {
                assert!(!k.contains(n), "{k} names {n}");
                assert!(!body.windows(n.len()).any(|w| w == n.as_bytes()), "{k} holds the name {n}");
            }
            for (p, c) in files.iter().filter(|(_, c)| c.len() >= 16) {
                assert!(!body.windows(16).any(|w| w == &c[..16]), "{k} holds content of {p}");
            }
        }
        assert!(!mem.keys().iter().any(|k| k.contains("/blobs/")), "no unsealed blob objects");

        // Another machine with the key: byte for byte.
        let other =
            Bucket::new(store.clone(), "projects/p").sealed_with(ProjectKey::from_bytes(*key.as_bytes()).cipher());
        let dest = tempfile::tempdir().unwrap();
        restore(&other, None, dest.path()).await.unwrap();
        assert_eq!(tree(dest.path()), tree(m.folder.path()));

        // Another key, or none: refused, nothing written.
        for wrong in [
            Bucket::new(store.clone(), "projects/p").sealed_with(ProjectKey::generate().cipher()),
            Bucket::new(store.clone(), "projects/p"),
        ] {
            let dest = tempfile::tempdir().unwrap();
            let e = restore(&wrong, None, dest.path()).await.unwrap_err();
            assert!(matches!(e, SyncError::Corrupt { .. }), "{e:?}");
            assert!(tree(dest.path()).is_empty(), "nothing written");
        }
    });
}

#[test]
fn a_flipped_byte_a_swapped_object_and_an_older_head_are_refused() {
    let mem = Arc::new(MemoryStore::new());
    let store: Arc<dyn ObjectStore> = mem.clone();
    let b = Bucket::new(store.clone(), "projects/p").sealed_with(ProjectKey::generate().cipher());
    let m = Machine::with_small_parts();
    m.write("a.txt", &content("first file", 2000));
    m.write("big.bin", &content("a large one", 3 * 1024 * 1024));
    scan(&m.root, &m.store, m.id).unwrap();
    rt().block_on(async {
        m.sync(&b).push().await.unwrap();
        let old_head = store.get("projects/p/HEAD").await.unwrap().unwrap().body;
        let first_snapshot = b.head().await.unwrap().unwrap().0;
        m.write("b.txt", &content("second file", 2000));
        scan(&m.root, &m.store, m.id).unwrap();
        m.sync(&b).push().await.unwrap();
        let keys = mem.keys();
        let packs: Vec<&String> = keys.iter().filter(|k| k.contains("/packs/")).collect();
        assert!(packs.len() >= 3, "{keys:?}");

        let br = &b;
        let refused = move |what: &'static str| async move {
            let dest = tempfile::tempdir().unwrap();
            let e = restore(br, None, dest.path()).await.unwrap_err();
            assert!(matches!(e, SyncError::Corrupt { .. }), "{what}: {e:?}");
            assert!(
                tree(dest.path()).iter().all(|(p, _)| !p.ends_with(".txt") && !p.ends_with(".bin")),
                "{what}: nothing unchecked placed"
            );
        };

        // A flipped byte, in each pack in turn.
        for p in &packs {
            let good = store.get(p).await.unwrap().unwrap().body;
            let mut bad = good.to_vec();
            let at = bad.len() / 2;
            bad[at] ^= 0x40;
            mem.overwrite(p, &bad);
            refused("a flipped byte").await;
            mem.overwrite(p, &good);
        }
        // One pack's object put in another's place.
        let (p0, p1) = (packs[0], packs[1]);
        let (g0, g1) = (store.get(p0).await.unwrap().unwrap().body, store.get(p1).await.unwrap().unwrap().body);
        mem.overwrite(p0, &g1);
        refused("a swapped pack").await;
        mem.overwrite(p0, &g0);
        // A snapshot passed off as another.
        let snaps: Vec<&String> = keys.iter().filter(|k| k.contains("/snapshots/")).collect();
        let (s0, s1) =
            (store.get(snaps[0]).await.unwrap().unwrap().body, store.get(snaps[1]).await.unwrap().unwrap().body);
        mem.overwrite(snaps[1], &s0);
        let e = b.snapshot(&b.head().await.unwrap().unwrap().0).await.unwrap_err();
        assert!(matches!(e, SyncError::Corrupt { .. }), "a swapped snapshot: {e:?}");
        mem.overwrite(snaps[1], &s1);
        // The first HEAD put back (a rollback to an older snapshot): refused by this machine,
        // which has seen a later one.
        mem.overwrite("projects/p/HEAD", &old_head);
        let e = b.head().await.unwrap_err();
        assert!(matches!(&e, SyncError::Corrupt { key } if key.contains("older HEAD")), "{e:?}");
        // After a restart (a new Bucket) this machine still knows: its next pass is refused.
        let restarted = Bucket::new(store.clone(), "projects/p").sealed_with(b.cipher().unwrap().clone());
        m.write("c.txt", &content("third file", 100));
        scan(&m.root, &m.store, m.id).unwrap();
        let e = m.sync(&restarted).push().await.unwrap_err();
        assert!(matches!(&e, SyncError::Corrupt { key } if key.contains("older HEAD")), "after a restart: {e:?}");
        // A machine that never saw the later one reads it (it cannot know), and it is the first
        // snapshot indeed: the rollback is only of what was sealed.
        let fresh = Bucket::new(store.clone(), "projects/p").sealed_with(b.cipher().unwrap().clone());
        assert_eq!(fresh.head().await.unwrap().unwrap().0, first_snapshot);
        let dest = tempfile::tempdir().unwrap();
        restore(&b, Some(&first_snapshot), dest.path()).await.unwrap();
        assert_eq!(std::fs::read(dest.path().join("a.txt")).unwrap(), content("first file", 2000));
    });
}
