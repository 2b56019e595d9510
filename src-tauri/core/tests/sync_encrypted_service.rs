//! End-to-end encrypted sync as the app runs it, against a real SeaweedFS: a project made
//! encrypted before its first pass syncs only ciphertext (its key in the keychain, wrapped by
//! the recovery phrase in the bucket); another machine restores it with the phrase — refused
//! without it or with a wrong one before anything is read — and a machine without the key
//! cannot push plaintext into it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::secrets::{Secret, SecretName, Secrets};
use aura_core::store::Store;
use aura_core::sync::bucket::{project_prefix, Bucket, ObjectStore, S3Config, S3Store};
use aura_core::sync::engine::{ProjectSync, PushOptions};
use aura_core::sync::service::{SyncService, SyncState};
use aura_core::sync::settings::BucketSettings;
use aura_core::sync::SyncError;

#[path = "support/weed.rs"]
mod support;
use support::{weed, ACCESS_KEY, SECRET_KEY};

const BUCKET: &str = "aura-encrypted";

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One machine's sync service, with its own database and keychain.
fn machine(rt: &tokio::runtime::Runtime, endpoint: &str) -> (tempfile::TempDir, Arc<Store>, Secrets, SyncService) {
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let secrets = Secrets::in_memory();
    secrets.set(SecretName::R2AccessKeyId, ACCESS_KEY).unwrap();
    secrets.set(SecretName::R2SecretAccessKey, SECRET_KEY).unwrap();
    let bucket = BucketSettings { endpoint: endpoint.to_string(), bucket: BUCKET.into(), ..Default::default() };
    store.save_bucket_settings(&bucket).unwrap();
    let svc = SyncService::new(store.clone(), secrets.clone(), rt.handle().clone(), |_| {});
    let end = Instant::now() + Duration::from_secs(30);
    while rt.block_on(svc.test_bucket(&bucket)).is_err() {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(300));
    }
    (data, store, secrets, svc)
}

#[test]
fn an_encrypted_project_syncs_ciphertext_and_restores_with_its_phrase_only() {
    let Some(w) = weed() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(proj.path().join("src")).unwrap();
    let secret_code = "fn the_secret_algorithm() -> u64 { 42 }\n".repeat(20);
    std::fs::write(proj.path().join("src/the_secret_algorithm.rs"), &secret_code).unwrap();
    std::fs::write(proj.path().join("README.md"), "# A confidential project\n").unwrap();

    // Machine A: encrypted before its first pass, then synced.
    let (_a, store, secrets, svc) = machine(&rt, &w.endpoint());
    let root = ProjectRoot::open(proj.path()).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "enc").unwrap().id;
    svc.open_project(id, root.clone());
    let phrase = rt.block_on(svc.encrypt_project(id)).unwrap();
    assert_eq!(phrase.split(' ').count(), 24);
    let key = store.sync_key(id).unwrap();
    assert!(secrets.project_key(&key).unwrap().is_some(), "the key is in the keychain");
    let key_text = secrets.project_key(&key).unwrap().unwrap().expose().to_string();
    for f in ["aura.sqlite3", "aura.sqlite3-wal"] {
        let bytes = std::fs::read(_a.path().join(f)).unwrap_or_default();
        for (what, secret) in
            [("phrase", phrase.split(' ').take(3).collect::<Vec<_>>().join(" ")), ("key", key_text.clone())]
        {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the {what} is not in {f}");
        }
    }
    assert!(matches!(rt.block_on(svc.encrypt_project(id)), Err(SyncError::Invalid(_))), "once");
    svc.set_enabled(true).unwrap();
    wait_for("the first sync", 30, || {
        let s = svc.status();
        s.state == SyncState::Synced && s.pending == 0 && s.snapshot.is_some()
    });

    // The bucket: no content, name or path of the project in any object.
    let cfg = S3Config {
        endpoint: w.endpoint(),
        bucket: BUCKET.into(),
        region: "auto".into(),
        path_style: true,
        max_attempts: 3,
    };
    let s3: Arc<dyn ObjectStore> = Arc::new(S3Store::new(cfg, &Secret::new(ACCESS_KEY), &Secret::new(SECRET_KEY)));
    rt.block_on(async {
        let listed = s3.list("projects/", None).await.unwrap().objects;
        assert!(listed.len() >= 4, "key.json, HEAD, a snapshot, a pack: {listed:?}");
        for (k, _, _) in &listed {
            let body = s3.get(k).await.unwrap().unwrap().body;
            for needle in ["the_secret_algorithm", "confidential", "README", "src/"] {
                assert!(!body.windows(needle.len()).any(|w| w == needle.as_bytes()), "{k} holds '{needle}'");
                assert!(!k.contains(needle), "{k} names '{needle}'");
            }
        }
    });

    // Machine B: without the phrase, or with a wrong one, nothing is read or written.
    let (_b, _, secrets_b, svc_b) = machine(&rt, &w.endpoint());
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("copy");
    let e = rt.block_on(svc_b.restore_project(&key, None, &dest, None)).unwrap_err();
    assert!(matches!(e, SyncError::PhraseNeeded), "{e:?}");
    assert!(matches!(rt.block_on(svc_b.cloud_snapshots(&key, 10)), Err(SyncError::PhraseNeeded)));
    let wrong = aura_core::sync::crypto::RecoveryPhrase::generate();
    let e = rt.block_on(svc_b.restore_project(&key, None, &dest, Some(wrong.as_str()))).unwrap_err();
    assert!(matches!(&e, SyncError::Phrase(m) if m.contains("does not open")), "{e:?}");
    let mut typo: Vec<&str> = phrase.split(' ').collect();
    typo[3] = "qwertyx";
    let e = rt.block_on(svc_b.restore_project(&key, None, &dest, Some(&typo.join(" ")))).unwrap_err();
    assert!(matches!(&e, SyncError::Phrase(m) if m.contains("word 4")), "{e:?}");
    assert!(!dest.exists(), "nothing made before the phrase opened the key");

    // With the phrase (typed in capitals): byte for byte, and B keeps the key to sync on.
    let restored = rt.block_on(svc_b.restore_project(&key, None, &dest, Some(&phrase.to_uppercase()))).unwrap();
    assert_eq!(std::fs::read_to_string(restored.path().join("src/the_secret_algorithm.rs")).unwrap(), secret_code);
    assert!(secrets_b.project_key(&key).unwrap().is_some());

    // Machine C has no key: a push of plaintext into the encrypted project is refused.
    let (_c, store_c, _, _) = machine(&rt, &w.endpoint());
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("plain.txt"), "plaintext that must not land").unwrap();
    let root_c = ProjectRoot::open(other.path()).unwrap();
    let id_c = store_c.touch_project(&root_c.path().display().to_string(), "c").unwrap().id;
    aura_core::sync::scan(&root_c, &store_c, id_c).unwrap();
    let s3c = Arc::new(S3Store::new(
        S3Config {
            endpoint: w.endpoint(),
            bucket: BUCKET.into(),
            region: "auto".into(),
            path_style: true,
            max_attempts: 3,
        },
        &Secret::new(ACCESS_KEY),
        &Secret::new(SECRET_KEY),
    ));
    let plain = Bucket::new(s3c, project_prefix(&key));
    let opts = PushOptions::default();
    let sync = ProjectSync { root: &root_c, store: &store_c, project_id: id_c, bucket: &plain, opts: &opts };
    assert!(matches!(rt.block_on(sync.push()), Err(SyncError::Locked)));
    svc.close();
    svc_b.close();
}

/// The bucket's objects under `prefix` (a real S3 listing).
fn objects(rt: &tokio::runtime::Runtime, endpoint: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let cfg = S3Config {
        endpoint: endpoint.into(),
        bucket: BUCKET.into(),
        region: "auto".into(),
        path_style: true,
        max_attempts: 3,
    };
    let s3 = S3Store::new(cfg, &Secret::new(ACCESS_KEY), &Secret::new(SECRET_KEY));
    rt.block_on(async {
        let mut out = Vec::new();
        for (k, _, _) in s3.list(prefix, None).await.unwrap().objects {
            out.push((k.clone(), s3.get(&k).await.unwrap().unwrap().body.to_vec()));
        }
        out
    })
}

#[test]
fn a_synced_plaintext_project_is_converted_with_its_history_and_other_machines_follow_with_the_phrase() {
    let Some(w) = weed() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::write(proj.path().join("plan.md"), "the confidential plan, version one\n").unwrap();
    std::fs::write(proj.path().join("big.bin"), "a file of its own;".repeat(60_000)).unwrap();

    // Machine A syncs in plaintext: two passes of history.
    let (_a, store, secrets, svc) = machine(&rt, &w.endpoint());
    let root = ProjectRoot::open(proj.path()).unwrap();
    let id = store.touch_project(&root.path().display().to_string(), "convert-me").unwrap().id;
    svc.open_project(id, root.clone());
    svc.set_enabled(true).unwrap();
    let synced = |svc: &SyncService| {
        let s = svc.status();
        s.state == SyncState::Synced && s.pending == 0 && s.snapshot.is_some()
    };
    wait_for("the first pass", 30, || synced(&svc));
    std::fs::write(proj.path().join("plan.md"), "the confidential plan, version two\n").unwrap();
    svc.hint(&["plan.md".as_bytes().to_vec()]);
    wait_for("the second pass", 30, || synced(&svc) && rt.block_on(svc.snapshots(10)).unwrap().len() == 2);
    let plain_key = store.sync_key(id).unwrap();
    assert!(plain_key.starts_with("convert-me-"));

    // Machine B restored it in plaintext and syncs it too.
    let (_b, store_b, secrets_b, svc_b) = machine(&rt, &w.endpoint());
    let out = tempfile::tempdir().unwrap();
    let root_b = rt.block_on(svc_b.restore_project(&plain_key, None, &out.path().join("b"), None)).unwrap();
    let id_b = store_b.touch_project(&root_b.path().display().to_string(), "b").unwrap().id;
    svc_b.open_project(id_b, root_b.clone());

    // A converts: a new place with a name that says nothing, the whole history, sealed.
    let phrase = rt.block_on(svc.encrypt_project(id)).unwrap();
    let key = store.sync_key(id).unwrap();
    assert!(key.starts_with("e-") && !key.contains("convert"), "{key}");
    assert!(svc.encrypted(id).unwrap());
    let history = rt.block_on(svc.snapshots(10)).unwrap();
    assert_eq!(history.len(), 2, "the history came along");
    let old = history.iter().find(|s| !s.head).unwrap().id.clone();
    rt.block_on(svc.restore_file("plan.md", &old)).unwrap();
    assert_eq!(std::fs::read_to_string(proj.path().join("plan.md")).unwrap(), "the confidential plan, version one\n");
    svc.hint(&["plan.md".as_bytes().to_vec()]);
    wait_for("a pass after the conversion", 30, || synced(&svc) && rt.block_on(svc.snapshots(10)).unwrap().len() >= 3);
    let resent: Vec<_> = svc.events().into_iter().filter(|e| e.path.as_deref() == Some("big.bin")).collect();
    assert!(resent.is_empty(), "nothing unchanged is sent again: {resent:?}");

    // The old place: only the pointer; the new: no name or content.
    let left = objects(&rt, &w.endpoint(), &format!("projects/{plain_key}/"));
    assert_eq!(left.len(), 1, "{:?}", left.iter().map(|o| &o.0).collect::<Vec<_>>());
    assert!(String::from_utf8_lossy(&left[0].1).contains(&key));
    for (k, body) in objects(&rt, &w.endpoint(), &format!("projects/{key}/")) {
        for needle in ["confidential", "plan.md", "a file of its own", "convert-me"] {
            assert!(
                !k.contains(needle) && !body.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{k}: {needle}"
            );
        }
    }

    // B's next change: it is told, nothing of it stays at the old place, and it follows with
    // the phrase.
    std::fs::write(root_b.path().join("from-b.txt"), "B syncs sealed now\n").unwrap();
    svc_b.hint(&["from-b.txt".as_bytes().to_vec()]);
    wait_for("B told", 30, || svc_b.status().phrase_needed);
    wait_for("the old place emptied", 30, || objects(&rt, &w.endpoint(), &format!("projects/{plain_key}/")).len() == 1);
    assert!(svc_b.status().message.unwrap_or_default().contains("converted on another machine"));
    let wrong = aura_core::sync::crypto::RecoveryPhrase::generate();
    assert!(matches!(rt.block_on(svc_b.enter_phrase(wrong.as_str())), Err(SyncError::Phrase(_))));
    rt.block_on(svc_b.enter_phrase(&phrase)).unwrap();
    assert_eq!(store_b.sync_key(id_b).unwrap(), key);
    assert!(secrets_b.project_key(&key).unwrap().is_some());
    // A moved on meanwhile: B keeps its version, sealed, over A's.
    wait_for("B's pass", 30, || svc_b.status().conflict.is_some());
    rt.block_on(svc_b.resolve(true)).unwrap();
    wait_for("B synced", 30, || synced(&svc_b));

    // A new phrase: the old one no longer opens the project, the new one does — from the old
    // key too (Restore from cloud follows the pointer).
    let phrase2 = rt.block_on(svc.change_phrase(id)).unwrap();
    assert_ne!(phrase2, phrase);
    let (_c, _, _, svc_c) = machine(&rt, &w.endpoint());
    let e = rt.block_on(svc_c.restore_project(&plain_key, None, &out.path().join("c"), Some(&phrase))).unwrap_err();
    assert!(matches!(&e, SyncError::Phrase(m) if m.contains("does not open")), "{e:?}");
    let root_c = rt.block_on(svc_c.restore_project(&plain_key, None, &out.path().join("c"), Some(&phrase2))).unwrap();
    let read = |p: &str| std::fs::read_to_string(root_c.path().join(p)).unwrap();
    assert_eq!(read("from-b.txt"), "B syncs sealed now\n");
    assert_eq!(read("big.bin"), "a file of its own;".repeat(60_000));
    assert_eq!(read("plan.md"), "the confidential plan, version two\n");
    assert!(secrets.project_key(&key).unwrap().is_some());
    svc.close();
    svc_b.close();
}
