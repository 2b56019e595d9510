//! The app's sandbox orchestration, headless: provider choice from settings, on-demand creation,
//! project upload to a remote sandbox, and the SQLite records (sessions, executions).

mod contract_server;

use std::sync::Arc;

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::service::{SandboxAction, SandboxService};
use aura_core::sandbox::{ExecRequest, ExecSink, ProviderKind, SandboxError, SandboxState};
use aura_core::secrets::{SecretName, Secrets};
use aura_core::store::{ProjectSettings, Store};
use contract_server::ContractServer;

#[derive(Default)]
struct Out(String);
impl ExecSink for Out {
    fn stdout(&mut self, d: &[u8]) {
        self.0.push_str(&String::from_utf8_lossy(d));
    }
    fn stderr(&mut self, d: &[u8]) {
        self.0.push_str(&String::from_utf8_lossy(d));
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

#[test]
fn local_and_e2b_projects_run_and_are_recorded() {
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(proj.path().join("src")).unwrap();
    std::fs::write(proj.path().join("src/hello.txt"), "hello from the project\n").unwrap();
    std::fs::write(proj.path().join(".gitignore"), "node_modules/\n").unwrap();
    std::fs::create_dir_all(proj.path().join("node_modules/big")).unwrap();
    std::fs::write(proj.path().join("node_modules/big/x.js"), "ignored").unwrap();
    let root = ProjectRoot::open(proj.path()).unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let project = store.touch_project(&root.path().display().to_string(), "p").unwrap();
    let secrets = Secrets::in_memory();
    let svc = SandboxService::new(store.clone(), secrets.clone());
    let rt = rt();

    // Local (the default).
    let mut out = Out::default();
    let o = rt
        .block_on(svc.exec(
            &root,
            &project,
            &ExecRequest { command: "cat src/hello.txt".into(), ..Default::default() },
            &mut out,
        ))
        .unwrap();
    assert_eq!((o.exit_code, out.0.as_str()), (Some(0), "hello from the project\n"));
    assert_eq!(rt.block_on(svc.info(&project)).unwrap().unwrap().provider, ProviderKind::Local);

    // E2B without a key: a clear error.
    let srv = ContractServer::start("e2b_server.py", "e2b", "e2b_service_key");
    std::env::set_var("E2B_DOMAIN", "e2b.test");
    std::env::set_var("AURA_E2B_SCHEME", "http");
    std::env::set_var("AURA_E2B_RESOLVE", format!("127.0.0.1:{}", srv.port));
    store
        .save_project_settings(project.id, &ProjectSettings { provider: ProviderKind::E2b, ..Default::default() })
        .unwrap();
    let e = rt
        .block_on(svc.exec(
            &root,
            &project,
            &ExecRequest { command: "true".into(), ..Default::default() },
            &mut Out::default(),
        ))
        .unwrap_err();
    assert!(matches!(e, SandboxError::MissingKey("E2B")), "{e:?}");
    assert!(e.to_string().contains("Settings"));

    // With the key: the project is uploaded (ignored files are not) and commands run there.
    secrets.set(SecretName::E2bApiKey, "e2b_service_key").unwrap();
    let mut out = Out::default();
    let o = rt
        .block_on(svc.exec(
            &root,
            &project,
            &ExecRequest {
                command: "cat src/hello.txt; ls -a; test -e node_modules && echo HAS_NODE_MODULES; true".into(),
                ..Default::default()
            },
            &mut out,
        ))
        .unwrap();
    assert_eq!(o.exit_code, Some(0));
    assert!(out.0.starts_with("hello from the project\n"), "{}", out.0);
    assert!(!out.0.contains("HAS_NODE_MODULES"), "ignored folders are not uploaded: {}", out.0);
    let info = rt.block_on(svc.info(&project)).unwrap().unwrap();
    assert_eq!(info.provider, ProviderKind::E2b);
    rt.block_on(svc.action(&root, &project, SandboxAction::Pause)).unwrap();
    assert_eq!(rt.block_on(svc.info(&project)).unwrap().unwrap().state, SandboxState::Paused);
    rt.block_on(svc.action(&root, &project, SandboxAction::Resume)).unwrap();
    rt.block_on(svc.action(&root, &project, SandboxAction::Delete)).unwrap();
    assert!(rt.block_on(svc.info(&project)).unwrap().is_none());

    // Both runs are in the history, and usage counts both providers.
    let hist = store.recent_executions(project.id, 10).unwrap();
    assert_eq!(hist.len(), 2, "runs that never started (no key) are not history");
    let providers: Vec<_> = store.usage().unwrap().into_iter().map(|u| u.provider).collect();
    assert_eq!(providers, ["e2b", "local"]);
    assert_eq!(srv.violations(), Vec::<String>::new());
    svc.shutdown();
}

#[test]
fn a_running_command_can_be_stopped() {
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    let root = ProjectRoot::open(proj.path()).unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let project = store.touch_project(&root.path().display().to_string(), "p").unwrap();
    let svc = Arc::new(SandboxService::new(store.clone(), Secrets::in_memory()));
    let rt = rt();
    let (s2, r2, p2) = (svc.clone(), root.clone(), project.clone());
    /// Says when the command's first output arrives (it is running, inside `exec`).
    struct Started(Option<std::sync::mpsc::Sender<()>>);
    impl ExecSink for Started {
        fn stdout(&mut self, _d: &[u8]) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
        fn stderr(&mut self, _d: &[u8]) {}
    }
    let (tx, started) = std::sync::mpsc::channel();
    let run = rt.spawn(async move {
        let mut out = Started(Some(tx));
        s2.exec(&r2, &p2, &ExecRequest { command: "echo started; sleep 300".into(), ..Default::default() }, &mut out)
            .await
    });
    started.recv().expect("the command started and printed its first line");
    svc.cancel_exec();
    let res = rt.block_on(run).unwrap();
    assert!(matches!(res, Err(SandboxError::Cancelled)), "{res:?}");
    // Nothing of it keeps running (the sandbox's processes go with its killed init; waited for,
    // with a bound only so that a leak fails instead of hanging).
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left = rt.block_on(svc.processes(&project)).unwrap();
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < end, "still running: {left:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    svc.shutdown();
}

/// A command on a sandbox that was stopped (by hand or by the idle stop) or paused starts or
/// resumes it instead of failing, and the state says so.
#[test]
fn a_command_on_a_stopped_or_paused_sandbox_wakes_it() {
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    let root = ProjectRoot::open(proj.path()).unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let project = store.touch_project(&root.path().display().to_string(), "p").unwrap();
    let svc = SandboxService::new(store.clone(), Secrets::in_memory());
    let rt = rt();
    let run = |cmd: &str| {
        let mut out = Out::default();
        let req = ExecRequest { command: cmd.into(), ..Default::default() };
        let o = rt.block_on(svc.exec(&root, &project, &req, &mut out)).unwrap();
        (o.exit_code, out.0)
    };
    assert_eq!(run("echo first").0, Some(0));
    for (action, woken) in [(SandboxAction::Stop, SandboxState::Stopped), (SandboxAction::Pause, SandboxState::Paused)]
    {
        rt.block_on(svc.action(&root, &project, action)).unwrap();
        assert_eq!(rt.block_on(svc.info(&project)).unwrap().unwrap().state, woken);
        assert_eq!(run("echo again"), (Some(0), "again\n".to_string()));
        assert_eq!(rt.block_on(svc.info(&project)).unwrap().unwrap().state, SandboxState::Started);
    }
    svc.shutdown();
}
