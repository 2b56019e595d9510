//! The sandbox target: a remote sandbox's workspace follows the project through the provider's
//! files API (here E2B, served by the local contract server that validates every request against
//! the official spec). Saves arrive, deletes propagate, ignored folders stay local, and a files
//! API that fails for a while loses nothing: the paths stay queued and go when it answers again.

mod contract_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;

use aura_core::sandbox::{Delivery, Provider, SandboxSpec};
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
        let Delivery::Mirrored(m) = e2b.clone().deliver(&sb.id, &root).await.unwrap() else {
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
