//! Host-side file operations on a project the sandbox can write: a process inside a real
//! bubblewrap sandbox flips a project folder between a real folder and a symlink to a folder
//! outside, in a tight loop, while the host saves, creates and deletes in that folder and sync
//! restores a snapshot into it from a real S3 server (SeaweedFS). No byte may land outside the
//! project, and every refused operation says why.

use std::path::Path;

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, ExecSink, SandboxSpec};
use aura_core::workspace::files;

#[path = "support/weed.rs"]
mod support;

struct Discard;
impl ExecSink for Discard {
    fn stdout(&mut self, _: &[u8]) {}
    fn stderr(&mut self, _: &[u8]) {}
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn a_folder_swapped_for_a_symlink_never_redirects_a_host_write() {
    let project = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join("sub")).unwrap();
    let root = ProjectRoot::open(project.path()).unwrap();
    let p = LocalProvider::new(false).expect("bubblewrap must work here");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let sb = p.create_for(&root, &SandboxSpec::default()).unwrap();

    // Inside the sandbox the link's target does not exist, but the host would follow it.
    // A snapshot holding sub/restored.txt, restored into the project while the folder flips.
    let weed = support::weed();
    let bucket = weed.as_ref().map(|w| {
        let cfg = aura_core::sync::bucket::S3Config {
            endpoint: w.endpoint(),
            bucket: "aura-race".into(),
            region: "auto".into(),
            path_style: true,
            max_attempts: 2,
        };
        let key = aura_core::secrets::Secret::new("aura-test-key");
        let store =
            aura_core::sync::bucket::S3Store::new(cfg, &key, &aura_core::secrets::Secret::new("aura-test-secret"));
        let t = aura_core::sync::bucket::Bucket::new(std::sync::Arc::new(store), "race");
        rt.block_on(snapshot_with(&t, b"sub/restored.txt", b"restored\n"));
        t
    });

    // Inside the sandbox the link's target does not exist, but the host would follow it. A
    // folder that a restore made while `sub` was missing is moved out of the way.
    let target = outside.path().display().to_string();
    let flip = format!(
        "while :; do mv -T sub sub.real 2>/dev/null; ln -s '{target}' sub 2>/dev/null; \
         rm -f sub; rm -rf sub.made; mv -T sub sub.made 2>/dev/null; mv -T sub.real sub 2>/dev/null; done"
    );
    let flipper = rt.spawn({
        let id = sb.id.clone();
        let p = std::sync::Arc::new(p);
        let p2 = p.clone();
        async move {
            let req = ExecRequest { command: flip, timeout_s: Some(600), ..Default::default() };
            let _ = p2.exec(&id, &req, &mut Discard).await;
            p
        }
    });
    // Let the loop start (the folder is seen missing or as a link at least once).
    while project.path().join("sub").is_dir() && !project.path().join("sub.real").exists() {
        assert!(!flipper.is_finished(), "the flipping loop did not start");
        std::thread::yield_now();
    }

    let (mut saved, mut refused, mut restored, mut restore_refused) = (0, 0, 0, 0);
    for i in 0..1000 {
        let ops = [
            files::write_file(&root, "sub/file.txt", &format!("save {i}\n"), None).map(drop),
            files::create_file(&root, &format!("sub/new-{i}.txt")),
            files::delete_path(&root, &format!("sub/new-{i}.txt")),
        ];
        for r in ops {
            match r {
                Ok(()) => saved += 1,
                Err(e) => {
                    refused += 1;
                    let text = e.to_string();
                    assert!(!text.is_empty(), "a refusal says why: {e:?}");
                }
            }
        }
        if let (Some(t), true) = (&bucket, i % 4 == 0) {
            match rt.block_on(aura_core::sync::engine::restore(t, None, project.path())) {
                Ok(_) => restored += 1,
                Err(e) => {
                    restore_refused += 1;
                    assert!(e.to_string().contains("restored.txt"), "a refused restore names the file: {e}");
                }
            }
        }
        assert!(entries(outside.path()).is_empty(), "written outside the project: {:?}", entries(outside.path()));
    }
    assert!(saved > 0, "some operations found the real folder");
    assert!(refused > 0, "some operations met the swapped folder");
    eprintln!("{saved} operations done, {refused} refused with a reason");
    eprintln!("{restored} restores done, {restore_refused} refused with a reason");
    if bucket.is_some() {
        assert!(restored > 0, "some restores found the real folder (or made it)");
    }

    // Ending the task drops the provider, which kills the sandbox.
    rt.block_on(async {
        flipper.abort();
        let _ = flipper.await;
    });
    assert!(entries(outside.path()).is_empty(), "nothing outside the project: {:?}", entries(outside.path()));
}

/// Stores one file as a blob and commits a snapshot holding only it as the bucket's HEAD.
async fn snapshot_with(t: &aura_core::sync::bucket::Bucket, path: &[u8], content: &[u8]) {
    use aura_core::sync::snapshot::{Snapshot, SnapshotFile};
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Err(e) = t.ensure_bucket().await {
        assert!(std::time::Instant::now() < end, "bucket: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let hash = blake3::hash(content).to_hex().to_string();
    t.put_blob(&hash, content.to_vec()).await.unwrap();
    let snap = Snapshot {
        id: "race-1".into(),
        parent: None,
        created_at_ms: 0,
        machine: "test".into(),
        side: false,
        base: None,
        removed: Vec::new(),
        files: vec![SnapshotFile {
            path: path.to_vec(),
            size: content.len() as u64,
            blake3: hash,
            mode: 0o644,
            pack: None,
        }],
    };
    t.put_snapshot(&snap).await.unwrap();
    t.move_head(&snap.id, None).await.unwrap();
}
