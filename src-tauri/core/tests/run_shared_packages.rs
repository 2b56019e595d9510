//! Warm installs across projects: a second project with the same dependencies installs from
//! the tarballs the first one fetched — shared between the projects' sandboxes through a store
//! only the host writes, each tarball checked against its name (`sandbox::pkgcache`) — in real
//! local sandboxes, from the real registry.

use std::path::Path;
use std::sync::Arc;

use aura_core::project::{ProjectHost, RunStatus, RunStep};
use aura_core::secrets::Secrets;
use aura_core::store::Store;

struct Quiet;
impl aura_core::terminal::TerminalSink for Quiet {
    fn output(&mut self, _: Vec<u8>) {}
    fn exit(&mut self, _: Option<u32>) {}
}

const SERVER: &str = "require('chalk');\nrequire('http').createServer((q, r) => r.end('<p>up</p>')).listen(Number(process.argv[2]), '127.0.0.1');\n";

/// A project depending on chalk 4 (six packages), its server on `port`, installed with `install`.
fn project(dir: &Path, install: &str, port: u16, lockfile: Option<&str>) {
    std::fs::write(
        dir.join("package.json"),
        r#"{ "name": "p", "private": true, "dependencies": { "chalk": "4.1.2" } }"#,
    )
    .unwrap();
    std::fs::write(dir.join("server.js"), SERVER).unwrap();
    if let Some(lock) = lockfile {
        std::fs::write(dir.join("package-lock.json"), lock).unwrap();
    }
    std::fs::create_dir_all(dir.join(".aura")).unwrap();
    let config = serde_json::json!({ "install": install, "dev": format!("node server.js {port}"), "port": port, "manifests": ["package.json"] });
    std::fs::write(dir.join(".aura/run.json"), config.to_string()).unwrap();
}

fn host(store: &Arc<Store>, caches: &Path) -> Arc<ProjectHost> {
    let host =
        Arc::new(ProjectHost::new(store.clone(), Secrets::in_memory(), tokio::runtime::Handle::current(), |_| {}));
    host.sandboxes.set_package_cache(caches.to_path_buf());
    host
}

/// ▶ Run in `dir` until it serves or ends.
async fn run(host: &Arc<ProjectHost>, dir: &Path) -> RunStatus {
    host.open(dir, |_| {}).unwrap();
    let id = host.open_run_terminal(100, 30, Quiet).await.unwrap();
    for _ in 0..1200 {
        match host.run_status(id).await.unwrap().unwrap() {
            s @ (RunStatus::Running { port: Some(_) } | RunStatus::Exited { .. }) => {
                host.terminals.close(id);
                return s;
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("▶ Run neither served nor ended in two minutes");
}

fn files_under(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir).into_iter().flatten().filter(|e| e.file_type().is_file()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_project_installs_offline_from_the_tarballs_the_first_fetched() {
    aura_core::install_tls_provider();
    let data = tempfile::tempdir().unwrap();
    let caches = data.path().join("caches");
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());

    // A installs from the registry; what it fetched reaches the shared store, checked.
    let a = tempfile::tempdir().unwrap();
    project(a.path(), "npm install", 8786, None);
    let host_a = host(&store, &caches);
    assert_eq!(run(&host_a, a.path()).await, RunStatus::Running { port: Some(8786) });
    host_a.shutdown();
    let lock = std::fs::read_to_string(a.path().join("package-lock.json")).unwrap();
    let wanted = aura_core::sandbox::pkgcache::integrities(&lock).len();
    assert_eq!(wanted, 6, "chalk and its five dependencies: {lock}");
    let shared = caches.join("shared-npm-sha512");
    for _ in 0..300 {
        if files_under(&shared) >= wanted {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(files_under(&shared), wanted, "every tarball of A's install is in the shared store");

    // B, a new project with the same lockfile, installs with npm kept off the network
    // (--offline): only the tarballs seeded into its own cache from the store can serve it.
    let b = tempfile::tempdir().unwrap();
    project(b.path(), "npm ci --offline", 8787, Some(&lock));
    let host_b = host(&store, &caches);
    assert_eq!(run(&host_b, b.path()).await, RunStatus::Running { port: Some(8787) });
    assert!(b.path().join("node_modules/chalk/package.json").is_file());
    host_b.shutdown();

    // Without the store (another base), the same offline install has nothing to install from.
    let c = tempfile::tempdir().unwrap();
    project(c.path(), "npm ci --offline", 8788, Some(&lock));
    let host_c = host(&store, &data.path().join("other-caches"));
    let s = run(&host_c, c.path()).await;
    assert!(matches!(s, RunStatus::Exited { during: RunStep::Install, .. }), "{s:?}");
    host_c.shutdown();
}
