//! The background sync the app runs, headless: saves are journaled and pushed without being
//! asked; with the bucket down the status says offline and the pending count grows; when it is
//! back everything drains; a conflict stops pushing until the user picks. Real SeaweedFS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::secrets::{SecretName, Secrets};
use aura_core::store::Store;
use aura_core::sync::service::{SyncService, SyncState, SyncStatus};
use aura_core::sync::settings::BucketSettings;
use parking_lot::Mutex;

#[path = "support/weed.rs"]
mod support;
use support::{weed, ACCESS_KEY, SECRET_KEY};

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn saves_sync_in_the_background_offline_queues_and_drains() {
    let Some(mut w) = weed() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::write(proj.path().join("main.py"), "print('v1')\n").unwrap();
    std::fs::create_dir_all(proj.path().join("node_modules/x")).unwrap();
    std::fs::write(proj.path().join("node_modules/x/index.js"), "dependency").unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let secrets = Secrets::in_memory();
    secrets.set(SecretName::R2AccessKeyId, ACCESS_KEY).unwrap();
    secrets.set(SecretName::R2SecretAccessKey, SECRET_KEY).unwrap();
    let bucket = BucketSettings { endpoint: w.endpoint(), bucket: "aura-service".into(), ..Default::default() };
    store.save_bucket_settings(&bucket).unwrap();
    let seen: Arc<Mutex<Vec<SyncStatus>>> = Arc::default();
    let s2 = seen.clone();
    let svc = SyncService::new(store.clone(), secrets, rt.handle().clone(), move |s| s2.lock().push(s.clone()));
    let end = Instant::now() + Duration::from_secs(30);
    while rt.block_on(svc.test_bucket(&bucket)).is_err() {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(300));
    }
    let root = ProjectRoot::open(proj.path()).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "svc").unwrap().id;
    svc.open_project(id, root.clone());
    assert_eq!(svc.status().state, SyncState::Off, "off until the user turns it on");
    svc.set_enabled(true).unwrap();
    let synced = |svc: &SyncService| {
        let s = svc.status();
        s.state == SyncState::Synced && s.pending == 0 && s.snapshot.is_some()
    };
    wait_for("the first sync", 30, || synced(&svc));
    let first = svc.status().snapshot.unwrap();

    // A save: journaled at once, pushed without being asked.
    std::fs::write(proj.path().join("main.py"), "print('v2')\n").unwrap();
    svc.hint(&[b"main.py".to_vec()]);
    wait_for("the save to reach the bucket", 30, || synced(&svc) && svc.status().snapshot.as_deref() != Some(&first));
    let snaps = rt.block_on(svc.snapshots(10)).unwrap();
    assert!(snaps[0].head && snaps[0].files == 1, "node_modules is not uploaded: {snaps:?}");

    // The bucket goes down: offline, and the queue grows with each save.
    w.stop();
    for i in 0..4 {
        std::fs::write(proj.path().join(format!("offline{i}.txt")), format!("{i}")).unwrap();
        svc.hint(&[format!("offline{i}.txt").into_bytes()]);
    }
    wait_for("offline", 60, || svc.status().state == SyncState::Offline);
    assert_eq!(svc.status().pending, 4, "{:?}", svc.status());
    assert!(svc.status().message.unwrap().contains("queued"));
    // Back: "sync now" drains the queue.
    w.restart();
    wait_for("the queue to drain", 60, || {
        let _ = svc.sync_now();
        synced(&svc)
    });
    let outages = svc.events().iter().filter(|e| e.kind == aura_core::sync::service::SyncEventKind::Offline).count();
    assert_eq!(outages, 1, "one line per outage in the panel, not one per retry: {:?}", svc.events());
    let out = tempfile::tempdir().unwrap();
    let restored = out.path().join("copy");
    let key = svc.status().key.unwrap();
    let root2 = rt.block_on(svc.restore_project(&key, None, &restored, None)).unwrap();
    for f in ["main.py", "offline0.txt", "offline3.txt"] {
        assert_eq!(std::fs::read(root2.path().join(f)).unwrap(), std::fs::read(proj.path().join(f)).unwrap());
    }
    assert!(!root2.path().join("node_modules").exists());
    // Progress was reported while passes sent files.
    assert!(seen.lock().iter().any(|s| matches!(s.progress, Some((d, t)) if d == t && t > 0)), "progress reported");
    // The status updates were pushed to the callback as they happened.
    let states: Vec<SyncState> = seen.lock().iter().map(|s| s.state).collect();
    for st in [SyncState::Syncing, SyncState::Synced, SyncState::Offline] {
        assert!(states.contains(&st), "{st:?} in {states:?}");
    }

    // What the bucket holds, as the usage panel measures it: one project here, so all of it.
    let stored = rt.block_on(svc.storage()).unwrap();
    assert!(stored.objects >= 3 && stored.bytes > 0, "{stored:?}");
    assert_eq!((stored.project_bytes, stored.project_objects), (Some(stored.bytes), Some(stored.objects)));

    // Stopping for an update: it returns only between passes. Either a pass was under way (it
    // said so, and that pass committed) or none was (the change is still in the journal).
    let before = svc.status().snapshot;
    std::fs::write(proj.path().join("big.bin"), vec![7u8; 24 << 20]).unwrap();
    svc.hint(&[b"big.bin".to_vec()]);
    wait_for("the pass to start", 30, || svc.status().state == SyncState::Syncing);
    let mut waited = false;
    rt.block_on(svc.stop_after_pass(|| waited = true));
    let pending = store.journal_count(id).unwrap();
    let committed = store.sync_position(id).unwrap().0;
    if waited {
        assert_ne!(committed, before, "the pass it waited for committed its snapshot");
    } else {
        assert_eq!((pending, committed.clone()), (1, before.clone()), "no pass ran: the change waits in the journal");
    }
    // Resumed, what is left goes out.
    svc.restart();
    wait_for("the resumed sync", 60, || synced(&svc) && svc.status().snapshot != before);
    svc.close();
}
