//! Converting a plaintext project to an encrypted one, against the in-memory object store:
//! every snapshot of its history is carried (small files repacked, a file of its own, a large
//! file in parts, a link, a folder, a deletion) and restores byte for byte from the new place
//! as it did from the old; the new place holds no byte of a file or name; the old HEAD becomes
//! a pointer to the new place; a pass another machine commits while the history is carried is
//! carried too, and a conversion cut short resumes.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;

use aura_core::sync::bucket::{Bucket, Listing, MemoryStore, Object, ObjectStore, ObjectStream, Written};
use aura_core::sync::crypto::ProjectKey;
use aura_core::sync::engine::{convert_history, restore};
use aura_core::sync::scan::scan;
use aura_core::sync::SyncError;

#[path = "support/machine.rs"]
mod machine;
use machine::{content, tree, Machine};

/// A plaintext project with three passes of history.
async fn plaintext_history(m: &Machine, plain: &Bucket) {
    m.write("src/secret_algorithm.rs", &content("fn secret_algorithm", 3000));
    m.write("assets/medium-file.bin", &content("a medium file", 700 * 1024));
    m.write("data/large-dataset.csv", &content("large,dataset,row", 5 * 1024 * 1024 + 7));
    std::os::unix::fs::symlink("src/secret_algorithm.rs", m.folder.path().join("link-to-secret")).unwrap();
    std::fs::create_dir_all(m.folder.path().join("uploads/empty-folder")).unwrap();
    scan(&m.root, &m.store, m.id).unwrap();
    m.sync(plain).push().await.unwrap();
    m.write("src/secret_algorithm.rs", &content("fn secret_algorithm v2", 3100));
    m.write("docs/confidential-plan.md", &content("confidential plan", 40_000));
    scan(&m.root, &m.store, m.id).unwrap();
    m.sync(plain).push().await.unwrap();
    std::fs::remove_file(m.folder.path().join("assets/medium-file.bin")).unwrap();
    scan(&m.root, &m.store, m.id).unwrap();
    m.sync(plain).push().await.unwrap();
}

const NAMES: [&str; 7] =
    ["secret_algorithm", "confidential", "medium-file", "large-dataset", "empty-folder", "uploads", "link-to-secret"];

#[test]
fn the_whole_history_is_carried_sealed_and_restores_as_before() {
    let mem = Arc::new(MemoryStore::new());
    let store: Arc<dyn ObjectStore> = mem.clone();
    let plain = Bucket::new(store.clone(), "projects/p");
    let key = ProjectKey::generate();
    let sealed = Bucket::new(store.clone(), "projects/e-1").sealed_with(key.cipher());
    let m = Machine::with_small_parts();
    rt().block_on(async {
        plaintext_history(&m, &plain).await;
        let ids = plain.list_snapshots().await.unwrap();
        assert_eq!(ids.len(), 3);
        let (head, _) = plain.head().await.unwrap().unwrap();

        let seen = parking_lot::Mutex::new(Vec::new());
        let (new_head, _) =
            convert_history(&plain, &sealed, "e-1", &m.opts, &|d, t| seen.lock().push((d, t))).await.unwrap();
        assert_eq!(new_head, head);
        assert_eq!(seen.lock().last(), Some(&(3, 3)));
        assert_eq!(sealed.list_snapshots().await.unwrap(), ids, "every snapshot, under its own id");
        assert_eq!(sealed.head().await.unwrap().unwrap().0, head);

        // Each snapshot restores from the new place as it did from the old.
        for id in &ids {
            let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            restore(&plain_reader(&store), Some(id), a.path()).await.unwrap();
            restore(&sealed, Some(id), b.path()).await.unwrap();
            assert_eq!(tree(a.path()), tree(b.path()), "snapshot {id}");
            assert!(!tree(b.path()).is_empty());
        }

        // The old HEAD points at the new place; a machine syncing it is told so.
        assert!(matches!(plain.head().await, Err(SyncError::Moved { to }) if to == "e-1"));
        assert_eq!(plain.moved_to().await.unwrap().as_deref(), Some("e-1"));
        scan(&m.root, &m.store, m.id).unwrap();
        m.write("late.txt", b"a late change");
        scan(&m.root, &m.store, m.id).unwrap();
        assert!(matches!(m.sync(&plain).push().await, Err(SyncError::Moved { .. })));

        // The old place emptied but for its pointer; the new one holds no name or content.
        plain.delete_all_but_head().await.unwrap();
        let old: Vec<String> = mem.keys().into_iter().filter(|k| k.starts_with("projects/p/")).collect();
        assert_eq!(old, vec!["projects/p/HEAD".to_string()]);
        for k in mem.keys().into_iter().filter(|k| k.starts_with("projects/e-1/")) {
            let body = store.get(&k).await.unwrap().unwrap().body;
            for n in NAMES {
                assert!(!k.contains(n) && !body.windows(n.len()).any(|w| w == n.as_bytes()), "{k} holds {n}");
            }
        }
    });
}

/// The old place read without the hooks (the same objects).
fn plain_reader(store: &Arc<dyn ObjectStore>) -> Bucket {
    Bucket::new(store.clone(), "projects/p")
}

#[test]
fn a_pass_committed_while_converting_is_carried_and_a_cut_short_conversion_resumes() {
    let mem = Arc::new(MemoryStore::new());
    let inner: Arc<dyn ObjectStore> = mem.clone();
    let a = Machine::with_small_parts();
    let key = ProjectKey::generate();
    rt().block_on(async {
        plaintext_history(&a, &Bucket::new(inner.clone(), "projects/p")).await;

        // A cut short: two snapshots carried, then the process died (nothing else written).
        let sealed = Bucket::new(inner.clone(), "projects/e-2").sealed_with(key.cipher());
        let ids = Bucket::new(inner.clone(), "projects/p").list_snapshots().await.unwrap();
        let hooked = Arc::new(Hooked { inner: inner.clone(), before_swap: Default::default() });
        let first = Bucket::new(hooked.clone() as Arc<dyn ObjectStore>, "projects/p");
        let cut = convert_history(&first, &sealed, "e-2", &a.opts, &|done, _| {
            if done == 2 {
                std::panic::panic_any("the process died");
            }
        });
        let died = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(cut)).await;
        assert!(died.is_err());
        assert_eq!(sealed.list_snapshots().await.unwrap(), ids[..2].to_vec());
        assert!(Bucket::new(inner.clone(), "projects/p").head().await.unwrap().is_some(), "the old place untouched");

        // Resumed, while machine B commits a pass just before the old HEAD is swapped.
        let b = Arc::new(Machine::with_small_parts());
        let b_bucket = Bucket::new(inner.clone(), "projects/p");
        b.sync(&b_bucket).adopt(None, aura_core::sync::engine::Afterwards::FollowHead).await.unwrap();
        b.edit("from-b.txt", "machine B's last plaintext change");
        let committed = Arc::new(parking_lot::Mutex::new(None));
        *hooked.before_swap.lock() = Some(Box::pin({
            let (b, inner, committed) = (b.clone(), inner.clone(), committed.clone());
            async move {
                let bucket = Bucket::new(inner, "projects/p");
                let r = b.sync(&bucket).push().await.unwrap();
                *committed.lock() = r.snapshot;
            }
        }));
        let (head, _) = convert_history(&first, &sealed, "e-2", &a.opts, &|_, _| {}).await.unwrap();
        let b_snap = committed.lock().clone().expect("B committed");
        assert_eq!(head, b_snap, "B's pass was carried and is HEAD");
        let dest = tempfile::tempdir().unwrap();
        restore(&sealed, None, dest.path()).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.path().join("from-b.txt")).unwrap(),
            "machine B's last plaintext change"
        );
        assert_eq!(sealed.list_snapshots().await.unwrap().len(), 4);
    });
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The in-memory store, running `before_swap` (once) just before a project's HEAD is swapped
/// for a pointer.
struct Hooked {
    inner: Arc<dyn ObjectStore>,
    before_swap: parking_lot::Mutex<Option<BoxFuture<'static, ()>>>,
}

#[async_trait]
impl ObjectStore for Hooked {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn ensure_bucket(&self) -> Result<(), SyncError> {
        self.inner.ensure_bucket().await
    }
    async fn get(&self, key: &str) -> Result<Option<Object>, SyncError> {
        self.inner.get(key).await
    }
    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Option<Bytes>, SyncError> {
        self.inner.get_range(key, offset, len).await
    }
    async fn get_stream(&self, key: &str) -> Result<Option<ObjectStream>, SyncError> {
        self.inner.get_stream(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, SyncError> {
        self.inner.exists(key).await
    }
    async fn put(&self, key: &str, body: Bytes) -> Result<String, SyncError> {
        self.inner.put(key, body).await
    }
    async fn put_if(&self, key: &str, body: Bytes, expected: Option<&str>) -> Result<Written, SyncError> {
        if key.ends_with("/HEAD") && body.windows(7).any(|w| w == b"\"moved\"") {
            let hook = self.before_swap.lock().take();
            if let Some(h) = hook {
                h.await;
            }
        }
        self.inner.put_if(key, body, expected).await
    }
    async fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<Listing, SyncError> {
        self.inner.list(prefix, delimiter).await
    }
    async fn delete(&self, keys: &[String]) -> Result<(), SyncError> {
        self.inner.delete(keys).await
    }
    async fn start_upload(&self, key: &str) -> Result<String, SyncError> {
        self.inner.start_upload(key).await
    }
    async fn put_part(&self, key: &str, upload: &str, number: u32, body: Bytes) -> Result<String, SyncError> {
        self.inner.put_part(key, upload, number, body).await
    }
    async fn finish_upload(&self, key: &str, upload: &str, parts: Vec<(u32, String)>) -> Result<(), SyncError> {
        self.inner.finish_upload(key, upload, parts).await
    }
    async fn abort_upload(&self, key: &str, upload: &str) {
        self.inner.abort_upload(key, upload).await
    }
}
