//! The sandbox target: a remote sandbox's workspace follows the project through the provider's
//! files API (here E2B, served by the local contract server that validates every request against
//! the official spec). Saves arrive, deletes propagate, ignored folders stay local, and a files
//! API that fails for a while loses nothing: the paths stay queued and go when it answers again.
//! Reattaching to the sandbox in a later session sends only what changed meanwhile.

mod contract_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;

use aura_core::sandbox::ledger::Ledger;
use aura_core::sandbox::{Delivery, Provider, SandboxSpec};
use aura_core::store::Store;
use contract_server::ContractServer;
use serde_json::json;

const KEY: &str = "e2b_mirror_test_key";

async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_remote_sandbox_follows_saves_deletes_and_outages() {
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let e2b: Arc<dyn Provider> = Arc::new(srv.e2b_client(KEY, 1));
    let proj = tempfile::tempdir().unwrap();
    let p = proj.path();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(p.join("src/app.py"), "v1\n").unwrap();
    let root = ProjectRoot::open(p).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // The project arrives through the provider's delivery: a copy, then a mirror.
        let sb = e2b.create(&SandboxSpec::default()).await.unwrap();
        let Delivery::Mirrored(m) = e2b.clone().deliver(&sb.id, &root, Ledger::default()).await.unwrap() else {
            panic!("a remote sandbox gets a copy kept equal")
        };
        let remote = |path: &'static str| {
            let (e2b, id) = (e2b.clone(), sb.id.clone());
            async move { e2b.get_file(&id, path).await.ok() }
        };

        // A save and a new folder arrive.
        std::fs::write(p.join("src/app.py"), "v2\n").unwrap();
        std::fs::create_dir_all(p.join("src/pkg")).unwrap();
        std::fs::write(p.join("src/pkg/mod.py"), "new\n").unwrap();
        m.hint(&[b"src/app.py".to_vec(), b"src/pkg".to_vec()]);
        eventually("the save in the sandbox", || async { remote("src/app.py").await.as_deref() == Some(b"v2\n") })
            .await;
        eventually("the new folder", || async { remote("src/pkg/mod.py").await.as_deref() == Some(b"new\n") }).await;

        // Ignored output stays local.
        std::fs::create_dir_all(p.join("node_modules/dep")).unwrap();
        std::fs::write(p.join("node_modules/dep/index.js"), "dep").unwrap();
        m.hint(&[b"node_modules".to_vec(), b"node_modules/dep/index.js".to_vec()]);

        // A delete propagates.
        std::fs::remove_file(p.join("src/pkg/mod.py")).unwrap();
        m.hint(&[b"src/pkg/mod.py".to_vec()]);
        eventually("the delete", || async { remote("src/pkg/mod.py").await.is_none() }).await;
        assert!(remote("node_modules/dep/index.js").await.is_none(), "node_modules is not copied");

        // The files API fails for a while: the save stays queued, then arrives.
        srv.faults(json!([{ "match": "POST /files", "status": 500, "times": 4 }]));
        std::fs::write(p.join("src/app.py"), "v3 after an outage\n").unwrap();
        m.hint(&[b"src/app.py".to_vec()]);
        eventually("the error to show", || async { m.status().last_error.is_some() }).await;
        eventually("the retried save", || async {
            remote("src/app.py").await.as_deref() == Some(b"v3 after an outage\n")
        })
        .await;
        eventually("an empty queue", || async { m.status().pending == 0 && m.status().last_error.is_none() }).await;

        // An empty folder arrives; an in-project link arrives as a link (made by a command in
        // the sandbox: the files API cannot make one); a link out of the project is listed as
        // not copied, with the reason.
        std::fs::create_dir_all(p.join("uploads/empty")).unwrap();
        std::os::unix::fs::symlink("src/app.py", p.join("AGENTS.md")).unwrap();
        std::os::unix::fs::symlink("../../etc/passwd", p.join("escape")).unwrap();
        m.hint(&[b"uploads".to_vec(), b"AGENTS.md".to_vec(), b"escape".to_vec()]);
        eventually("the empty folder", || {
            let (e2b, id) = (e2b.clone(), sb.id.clone());
            async move {
                e2b.list_files(&id, "uploads").await.is_ok_and(|l| l.iter().any(|e| e.name == "empty" && e.is_dir))
            }
        })
        .await;
        eventually("the link", || async { remote("AGENTS.md").await.as_deref() == Some(b"v3 after an outage\n") })
            .await;
        eventually("the skip", || async { m.status().skipped.contains_key("escape") }).await;
        assert!(m.status().skipped["escape"].contains("outside the project"), "{:?}", m.status().skipped);
        assert!(remote("escape").await.is_none());
        m.stop();
    });
    assert!(srv.violations().is_empty(), "requests off the contract: {:?}", srv.violations());
}

/// Uploads (POST /files) the contract server has seen.
fn uploads(srv: &ContractServer) -> usize {
    srv.requests().iter().filter(|r| r["method"] == "POST" && r["path"] == "/files").count()
}

/// Aura restarts and reattaches to the sandbox: the copy sends what changed on disk meanwhile,
/// removes what was deleted, and leaves the rest — the record of what was sent is in SQLite.
#[test]
fn reattaching_sends_only_the_difference() {
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    let e2b: Arc<dyn Provider> = Arc::new(srv.e2b_client(KEY, 1));
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let proj = tempfile::tempdir().unwrap();
    let p = proj.path();
    for i in 0..20 {
        std::fs::create_dir_all(p.join(format!("src/m{}", i % 4))).unwrap();
        std::fs::write(p.join(format!("src/m{}/f{i}.py", i % 4)), format!("v1 {i}\n")).unwrap();
    }
    std::fs::create_dir_all(p.join("old")).unwrap();
    std::fs::write(p.join("old/gone.txt"), "bye\n").unwrap();
    let root = ProjectRoot::open(p).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let sb = e2b.create(&SandboxSpec::default()).await.unwrap();
        let deliver = || async {
            let Delivery::Mirrored(m) =
                e2b.clone().deliver(&sb.id, &root, Ledger::new(store.clone(), &sb.id)).await.unwrap()
            else {
                panic!("a remote sandbox gets a copy kept equal")
            };
            m
        };
        let m = deliver().await;
        assert_eq!((m.status().sent, m.status().unchanged), (27, 0), "a new sandbox gets everything: {:?}", m.status());
        // A save while the session runs is recorded too.
        std::fs::write(p.join("src/m0/f0.py"), "v2 0\n").unwrap();
        m.hint(&[b"src/m0/f0.py".to_vec()]);
        eventually("the save", || async { m.status().sent == 28 }).await;
        m.stop();
        drop(m);

        // Aura is closed; meanwhile a file changes, one is added, a folder is deleted.
        std::fs::write(p.join("src/m1/f1.py"), "v2 1\n").unwrap();
        std::fs::write(p.join("src/m2/new.py"), "new\n").unwrap();
        std::fs::remove_dir_all(p.join("old")).unwrap();
        let before = uploads(&srv);

        let m = deliver().await;

        let st = m.status();
        assert_eq!((st.sent, st.unchanged, st.removed), (2, 24, 1), "{st:?}");

        assert_eq!(uploads(&srv) - before, 2, "only the changed and the new file are uploaded");
        let remote = |path: &'static str| {
            let (e2b, id) = (e2b.clone(), sb.id.clone());
            async move { e2b.get_file(&id, path).await.ok() }
        };
        assert_eq!(remote("src/m1/f1.py").await.as_deref(), Some(&b"v2 1\n"[..]));
        assert_eq!(remote("src/m2/new.py").await.as_deref(), Some(&b"new\n"[..]));
        assert_eq!(remote("src/m0/f0.py").await.as_deref(), Some(&b"v2 0\n"[..]), "the save of the earlier session");
        assert!(remote("old/gone.txt").await.is_none(), "deleted while away: removed in the sandbox");
        m.stop();
    });
    assert!(srv.violations().is_empty(), "requests off the contract: {:?}", srv.violations());
}
