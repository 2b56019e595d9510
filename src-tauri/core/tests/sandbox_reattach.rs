//! A remote project's sandbox outlives Aura: after a restart the project's E2B sandbox (its id in
//! SQLite) is resumed, not created again; one deleted on the provider meanwhile is replaced, and
//! the service says which happened. Against the E2B contract server, every request checked
//! against the official spec. (Its own test binary: it sets the process's E2B variables.)

mod contract_server;
#[path = "support/exec.rs"]
mod exec;

use std::sync::Arc;

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::network::NetworkMode;
use aura_core::sandbox::service::SandboxService;
use aura_core::sandbox::{ExecRequest, Lifecycle, ProviderKind};
use aura_core::secrets::{SecretName, Secrets};
use aura_core::store::{ProjectRecord, ProjectSettings, Store};
use contract_server::ContractServer;

const KEY: &str = "e2b_reattach_key";

/// One run of Aura: a service, a command, then closing (the sandbox is paused, as by default).
fn session(
    rt: &tokio::runtime::Runtime,
    store: &Arc<Store>,
    secrets: &Secrets,
    root: &ProjectRoot,
    project: &ProjectRecord,
    cmd: &str,
) -> (String, String, Option<String>) {
    let svc = SandboxService::new(store.clone(), secrets.clone());
    let mut out = exec::Collect::default();
    let req = ExecRequest { command: cmd.into(), ..Default::default() };
    let o = rt.block_on(svc.exec(root, project, &req, &mut out)).unwrap();
    let out = String::from_utf8_lossy(&out.0).into_owned();
    assert_eq!(o.exit_code, Some(0), "{out}");
    let id = rt.block_on(svc.info(project)).unwrap().expect("a sandbox").id;
    let note = svc.note();
    rt.block_on(svc.release());
    (id, out, note)
}

fn creates(srv: &ContractServer) -> usize {
    srv.requests().iter().filter(|r| r["method"] == "POST" && r["path"] == "/sandboxes").count()
}

#[test]
fn a_restart_reattaches_to_the_projects_sandbox_and_a_deleted_one_is_replaced() {
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::write(proj.path().join("hello.txt"), "from the project\n").unwrap();
    let root = ProjectRoot::open(proj.path()).unwrap();
    let srv = ContractServer::start("e2b_server.py", "e2b", KEY);
    std::env::set_var("E2B_DOMAIN", "e2b.test");
    std::env::set_var("AURA_E2B_SCHEME", "http");
    std::env::set_var("AURA_E2B_RESOLVE", format!("127.0.0.1:{}", srv.port));
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let project = store.touch_project(&root.path().display().to_string(), "p").unwrap();
    store
        .save_project_settings(project.id, &ProjectSettings { provider: ProviderKind::E2b, ..Default::default() })
        .unwrap();
    let secrets = Secrets::in_memory();
    secrets.set(SecretName::E2bApiKey, KEY).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();

    // First run: a new sandbox; a file made inside it stays there.
    let (first, _, note) = session(&rt, &store, &secrets, &root, &project, "echo kept > made-inside");
    assert_eq!((creates(&srv), note), (1, None));

    // Aura again: the same sandbox, resumed (what was made inside is still there).
    let (again, out, note) = session(&rt, &store, &secrets, &root, &project, "cat made-inside hello.txt");
    assert_eq!(again, first, "the project's sandbox is reattached");
    assert_eq!(out, "kept\nfrom the project\n");
    let note = note.unwrap();
    assert!(note.starts_with(&format!("Reattached to this project's sandbox {first}")), "{note}");
    assert!(note.ends_with("brought up to date: 0 sent, 1 already there, 0 removed."), "nothing sent again: {note}");
    assert_eq!(creates(&srv), 1, "no second sandbox");

    // Deleted on the provider meanwhile: one new sandbox, and the service says so.
    rt.block_on(srv.e2b_client(KEY, 3).delete(&first)).unwrap();
    let (third, _, note) = session(&rt, &store, &secrets, &root, &project, "cat hello.txt");
    assert_ne!(third, first);
    assert_eq!(creates(&srv), 2);
    assert!(note.unwrap().contains(&format!("{first} is gone on the provider; a new one, {third}, was created")));
    // While it is used, it is kept alive: at most one call a tick, none without use.
    let svc = SandboxService::new(store.clone(), secrets.clone());
    let req = ExecRequest { command: "true".into(), ..Default::default() };
    rt.block_on(svc.exec(&root, &project, &req, &mut exec::Collect::default())).unwrap();
    assert!(rt.block_on(svc.keep_alive_tick()).unwrap(), "used: the provider is told");
    assert!(!rt.block_on(svc.keep_alive_tick()).unwrap(), "not used since: nothing is sent");
    let timeouts: Vec<_> = srv
        .requests()
        .into_iter()
        .filter(|r| r["path"] == format!("/sandboxes/{third}/timeout"))
        .map(|r| r["json"].clone())
        .collect();
    assert_eq!(timeouts, vec![serde_json::json!({ "timeout": 1800 })], "the project's 30 idle minutes from now");
    assert_eq!(svc.keep_alive_calls(), 1);
    rt.block_on(svc.release());

    // A new state database (the ids are gone): the sandbox is found by its labels.
    std::fs::remove_file(data.path().join("aura.sqlite3")).unwrap();
    for f in ["aura.sqlite3-wal", "aura.sqlite3-shm"] {
        let _ = std::fs::remove_file(data.path().join(f));
    }
    let fresh = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    fresh.set_setting("install.id", Some(&store.install_id().unwrap())).unwrap();
    let project2 = fresh.touch_project(&root.path().display().to_string(), "p").unwrap();
    fresh
        .save_project_settings(project2.id, &ProjectSettings { provider: ProviderKind::E2b, ..Default::default() })
        .unwrap();
    let (found, _, note) = session(&rt, &fresh, &secrets, &root, &project2, "true");
    assert_eq!(found, third, "found by its labels");
    assert!(note.unwrap().starts_with("Reattached"));
    assert_eq!(creates(&srv), 2);

    // Each is labelled with the project and this installation.
    let meta = &srv.requests().into_iter().find(|r| r["method"] == "POST" && r["path"] == "/sandboxes").unwrap()
        ["json"]["metadata"];
    assert_eq!(meta["aura-machine"].as_str(), Some(store.install_id().unwrap().as_str()));
    assert_eq!(meta["aura-project"].as_str().map(str::len), Some(16));
    assert_eq!(meta["aura-network"].as_str().map(str::len), Some(12));

    // The project turned Offline: its sandbox (made with internet) is not reattached; a new
    // one is made offline, and the service says why.
    let offline = ProjectSettings { provider: ProviderKind::E2b, network: NetworkMode::Offline, ..Default::default() };
    fresh.save_project_settings(project2.id, &offline).unwrap();
    let (fourth, _, note) = session(&rt, &fresh, &secrets, &root, &project2, "true");
    assert_ne!(fourth, third);
    assert_eq!(creates(&srv), 3);
    assert!(note.unwrap().contains(&format!("network setting changed since its sandbox {third} was made")));
    let last = srv.requests().into_iter().rfind(|r| r["method"] == "POST" && r["path"] == "/sandboxes").unwrap();
    assert_eq!(last["json"]["allow_internet_access"], serde_json::json!(false));
    // ...and that one is reattached while the setting stays.
    let (again, _, _) = session(&rt, &fresh, &secrets, &root, &project2, "true");
    assert_eq!((again, creates(&srv)), (fourth.clone(), 3));

    // Warm start: opening the project resumes its kept (paused) sandbox before any command;
    // the first command then finds it running. A project that never had one gets none.
    let svc = SandboxService::new(fresh.clone(), secrets.clone());
    assert_eq!(
        rt.block_on(srv.e2b_client(KEY, 3).get(&fourth)).unwrap().state,
        aura_core::sandbox::SandboxState::Paused
    );
    assert!(rt.block_on(svc.warm(&root, &project2)).unwrap());
    assert_eq!(rt.block_on(svc.info(&project2)).unwrap().unwrap().state, aura_core::sandbox::SandboxState::Started);
    let resumes = |srv: &ContractServer| {
        srv.requests().iter().filter(|r| r["path"] == format!("/sandboxes/{fourth}/connect")).count()
    };
    let before = resumes(&srv);
    rt.block_on(svc.exec(
        &root,
        &project2,
        &ExecRequest { command: "true".into(), ..Default::default() },
        &mut exec::Collect::default(),
    ))
    .unwrap();
    assert_eq!(resumes(&srv), before, "the first command waits for nothing");
    assert!(!rt.block_on(svc.warm(&root, &project2)).unwrap(), "already running: nothing to do");
    rt.block_on(svc.release());
    let other = tempfile::tempdir().unwrap();
    let other_root = ProjectRoot::open(other.path()).unwrap();
    let never = fresh.touch_project(&other_root.path().display().to_string(), "q").unwrap();
    fresh
        .save_project_settings(never.id, &ProjectSettings { provider: ProviderKind::E2b, ..Default::default() })
        .unwrap();
    assert!(!rt.block_on(svc.warm(&other_root, &never)).unwrap());
    assert_eq!(creates(&srv), 3, "opening a project makes no sandbox");

    // A crash: the open session ends at Aura's last heartbeat (each minute), not where it
    // began; the next start closes it and reattaches.
    let svc = SandboxService::new(fresh.clone(), secrets.clone());
    rt.block_on(svc.exec(
        &root,
        &project2,
        &ExecRequest { command: "true".into(), ..Default::default() },
        &mut exec::Collect::default(),
    ))
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    rt.block_on(svc.keep_alive_tick()).unwrap();
    std::mem::forget(svc); // killed: nothing is closed
    assert!(fresh.sandbox_record(&fourth).unwrap().unwrap().open);
    let (after, _, _) = session(&rt, &fresh, &secrets, &root, &project2, "true");
    assert_eq!(after, fourth);
    let spans = fresh.session_spans(0).unwrap();
    assert!(spans.iter().any(|s| s.ms >= 1200), "the crashed session lasted until its heartbeat: {spans:?}");
    assert_eq!(srv.violations(), Vec::<String>::new());
}
