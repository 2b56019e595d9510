//! The agent server through a real MCP client (rmcp's streamable HTTP client) against a real
//! project, the real local sandbox (bubblewrap) and a real SQLite store: every tool, the token,
//! the policy (deny and ask), bad input, and "Undo agent changes".

use std::path::Path;
use std::sync::Arc;

use aura_core::agent::http::AgentServer;
use aura_core::agent::{AgentEvent, AgentService, Permission};
use aura_core::project::ProjectHost;
use aura_core::secrets::{Secret, Secrets};
use aura_core::store::Store;
use parking_lot::Mutex;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};

const TOKEN: &str = "aura_test_token_0123456789abcdef";

struct World {
    _data: tempfile::TempDir,
    proj: tempfile::TempDir,
    host: Arc<ProjectHost>,
    agent: Arc<AgentService>,
    server: AgentServer,
    events: Arc<Mutex<Vec<AgentEvent>>>,
}

async fn world() -> World {
    aura_core::install_tls_provider();
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(proj.path().join("src")).unwrap();
    std::fs::write(proj.path().join("src/main.py"), "print('hello')\nprint('again')\n").unwrap();
    std::fs::write(proj.path().join("README.md"), "# demo\nneedle here\n").unwrap();
    std::fs::write(proj.path().join(".gitignore"), "build/\n").unwrap();
    std::fs::create_dir_all(proj.path().join("build")).unwrap();
    std::fs::write(proj.path().join("build/out.txt"), "generated").unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let host = Arc::new(ProjectHost::new(store, Secrets::in_memory(), tokio::runtime::Handle::current(), |_| {}));
    host.open(proj.path(), |_| {}).unwrap();
    let events: Arc<Mutex<Vec<AgentEvent>>> = Arc::default();
    let ev = events.clone();
    let agent =
        Arc::new(AgentService::new(host.clone(), data.path().to_path_buf(), move |e| ev.lock().push(e)).unwrap());
    let server = AgentServer::start(agent.clone(), 0, Some(Secret::new(TOKEN))).await.unwrap();
    World { _data: data, proj, host, agent, server, events }
}

async fn client(url: &str, token: &str) -> Result<RunningService<RoleClient, ClientConfig>, String> {
    let t = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(token),
    );
    ClientConfig::default().serve(t).await.map_err(|e| e.to_string())
}

async fn call(c: &RunningService<RoleClient, ClientConfig>, tool: &str, args: serde_json::Value) -> CallToolResult {
    let args = args.as_object().cloned().unwrap_or_default();
    c.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args)).await.unwrap()
}

fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

fn ok(r: &CallToolResult) -> String {
    assert_ne!(r.is_error, Some(true), "the call failed: {}", text(r));
    text(r)
}

fn failed(r: &CallToolResult) -> String {
    assert_eq!(r.is_error, Some(true), "the call should have failed: {}", text(r));
    text(r)
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_tool_works_through_a_real_client() {
    let w = world().await;
    let c = client(&w.server.url(), TOKEN).await.unwrap();
    let names: Vec<String> = c.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    for t in
        ["list_files", "read_file", "write_file", "edit_file", "search", "execute_command", "processes", "preview_url"]
    {
        assert!(names.contains(&t.to_string()), "{t} missing from {names:?}");
    }
    // Commands ask by default; this test allows them.
    w.agent.set_permission("execute_command", Permission::Allow).unwrap();

    let list = ok(&call(&c, "list_files", serde_json::json!({})).await);
    assert!(list.lines().any(|l| l == "src/") && list.lines().any(|l| l == "src/main.py"), "{list}");
    assert!(!list.contains("build/out.txt"), "ignored files are left out by default: {list}");
    let all = ok(&call(&c, "list_files", serde_json::json!({"include_ignored": true})).await);
    assert!(all.contains("build/out.txt"), "{all}");

    assert_eq!(
        ok(&call(&c, "read_file", serde_json::json!({"path": "src/main.py"})).await),
        "print('hello')\nprint('again')\n"
    );

    ok(&call(&c, "write_file", serde_json::json!({"path": "src/new/util.py", "content": "X = 1\n"})).await);
    assert_eq!(read(w.proj.path(), "src/new/util.py"), "X = 1\n", "missing folders are made");

    ok(&call(&c, "edit_file", serde_json::json!({"path": "src/main.py", "old_text": "hello", "new_text": "bye"}))
        .await);
    assert_eq!(read(w.proj.path(), "src/main.py"), "print('bye')\nprint('again')\n");
    let twice = failed(
        &call(&c, "edit_file", serde_json::json!({"path": "src/main.py", "old_text": "print", "new_text": "p"})).await,
    );
    assert!(twice.contains("2 times"), "{twice}");
    let missing = failed(
        &call(&c, "edit_file", serde_json::json!({"path": "src/main.py", "old_text": "nope", "new_text": "p"})).await,
    );
    assert!(missing.contains("not found"), "{missing}");

    let found = ok(&call(&c, "search", serde_json::json!({"query": "needle"})).await);
    assert!(found.contains("README.md:2: needle here"), "{found}");

    // The command runs in the sandbox: it sees the project (and the agent's write), not the host.
    let out =
        ok(&call(&c, "execute_command", serde_json::json!({"command": "cat src/new/util.py; ls /home; exit 3"})).await);
    assert!(out.starts_with("exit code 3"), "{out}");
    assert!(out.contains("X = 1"), "{out}");
    let out = ok(&call(&c, "execute_command", serde_json::json!({"command": "pwd", "cwd": "src"})).await);
    assert!(out.trim_end().ends_with("/src"), "{out}");

    // The app: its run configuration (install first), in the sandbox; logs, processes, a preview
    // URL that serves it, and stop.
    let c2 = c;
    assert!(ok(&call(&c2, "app_logs", serde_json::json!({})).await).contains("not been started"));
    std::fs::create_dir_all(w.proj.path().join(".aura")).unwrap();
    std::fs::write(
        w.proj.path().join(".aura/run.json"),
        r#"{"install": "echo installing; echo done > installed.txt", "dev": "python3 -m http.server 8765 --bind 127.0.0.1", "port": 8765, "manifests": ["README.md"]}"#,
    )
    .unwrap();
    w.agent.set_permission("run_app", Permission::Allow).unwrap();
    let started = ok(&call(&c2, "run_app", serde_json::json!({})).await);
    assert!(started.starts_with("installing"), "{started}");
    let (mut url, mut served) = (String::new(), false);
    for _ in 0..100 {
        let r = call(&c2, "preview_url", serde_json::json!({})).await;
        if r.is_error != Some(true) {
            url = ok(&r);
            if reqwest_get(&url).await.is_some_and(|b| b.contains("README.md")) {
                served = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(served, "the preview URL did not serve the sandbox's app: {url}");
    assert!(url.starts_with("port 8765:"), "{url}");
    assert_eq!(read(w.proj.path(), "installed.txt"), "done\n", "the install ran first");
    let logs = ok(&call(&c2, "app_logs", serde_json::json!({})).await);
    assert!(
        logs.starts_with("running") && logs.contains("installing") && logs.contains("$ python3 -m http.server"),
        "{logs}"
    );
    let procs = ok(&call(&c2, "processes", serde_json::json!({})).await);
    assert!(procs.contains("python3"), "{procs}");
    // Running it again while it runs leaves it as it is; no install is due the next time.
    assert!(ok(&call(&c2, "run_app", serde_json::json!({})).await).starts_with("running"));
    assert!(ok(&call(&c2, "stop_app", serde_json::json!({})).await).starts_with("stopped"));
    for _ in 0..50 {
        if !ok(&call(&c2, "processes", serde_json::json!({})).await).contains("python3") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!ok(&call(&c2, "processes", serde_json::json!({})).await).contains("python3"), "stop ends the app");
    assert!(
        ok(&call(&c2, "run_app", serde_json::json!({})).await).starts_with("running"),
        "the install is not due again"
    );
    ok(&call(&c2, "stop_app", serde_json::json!({})).await);

    // No port given: the app's port is the one it opens (python's http.server prints none).
    std::fs::write(
        w.proj.path().join(".aura/run.json"),
        r#"{"install": null, "dev": "python3 -m http.server 8766 --bind 127.0.0.1", "port": null, "manifests": []}"#,
    )
    .unwrap();
    ok(&call(&c2, "run_app", serde_json::json!({})).await);
    let mut logs = String::new();
    for _ in 0..100 {
        logs = ok(&call(&c2, "app_logs", serde_json::json!({})).await);
        if logs.starts_with("running (serves port 8766)") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(logs.starts_with("running (serves port 8766)"), "{logs}");
    let url = ok(&call(&c2, "preview_url", serde_json::json!({})).await);
    assert!(url.starts_with("port 8766:"), "{url}");
    ok(&call(&c2, "stop_app", serde_json::json!({})).await);

    // Resources: the project's files.
    let res = c2.list_all_resources().await.unwrap();
    assert!(res.iter().any(|r| r.uri == "aura://project/README.md"), "{res:?}");
    let body = c2.read_resource(ReadResourceRequestParams::new("aura://project/README.md")).await.unwrap();
    assert!(format!("{body:?}").contains("needle here"));

    // Every call is in the activity log, newest first, with its outcome.
    let log = w.agent.activity();
    assert!(
        log.iter().any(|c| c.tool == "write_file" && c.outcome == "ok" && c.arguments.contains("<6 bytes>")),
        "{log:?}"
    );
    assert!(log.iter().any(|c| c.tool == "edit_file" && c.outcome == "error"));
    w.host.shutdown();
}

/// Opens the preview as a browser would: the entry URL sets the preview's cookie, the page is
/// then fetched with it.
async fn reqwest_get(url_text: &str) -> Option<String> {
    let entry = url_text.split_whitespace().find(|s| s.starts_with("http://"))?;
    let http = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().ok()?;
    let first = http.get(entry).send().await.ok()?;
    let cookie = first.headers().get("set-cookie")?.to_str().ok()?.split(';').next()?.to_string();
    let base = entry.split('?').next()?;
    http.get(base).header("cookie", cookie).send().await.ok()?.text().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_token_nothing_is_served() {
    let w = world().await;
    for token in ["", "wrong", "aura_test_token_0123456789abcdeX"] {
        assert!(client(&w.server.url(), token).await.is_err(), "token {token:?} was accepted");
    }
    let raw = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = raw.post(w.server.url()).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    // A web page (it sends Origin) is turned away even with the token.
    let r = raw
        .post(w.server.url())
        .bearer_auth(TOKEN)
        .header("origin", "http://evil.example")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Malformed JSON-RPC with the token: a protocol error, and the server keeps serving.
    let r = raw
        .post(w.server.url())
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(client(&w.server.url(), TOKEN).await.is_ok());
    // A new token replaces the old one at once.
    w.server.set_token(Some(Secret::new("aura_other")));
    assert!(client(&w.server.url(), TOKEN).await.is_err());
    assert!(client(&w.server.url(), "aura_other").await.is_ok());
    assert!(w.server.url().starts_with("http://127.0.0.1:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paths_limits_and_unknown_tools_are_refused_clearly() {
    let w = world().await;
    let c = client(&w.server.url(), TOKEN).await.unwrap();
    for bad in ["../outside.txt", "/etc/passwd", "src/../../x", "a\0b"] {
        let r = call(&c, "write_file", serde_json::json!({"path": bad, "content": "x"})).await;
        failed(&r);
        let r = call(&c, "read_file", serde_json::json!({"path": bad})).await;
        failed(&r);
    }
    // A link inside the project that points out of it is not followed.
    std::os::unix::fs::symlink("/etc", w.proj.path().join("etc-link")).unwrap();
    failed(&call(&c, "read_file", serde_json::json!({"path": "etc-link/passwd"})).await);
    failed(&call(&c, "write_file", serde_json::json!({"path": "etc-link/x", "content": "x"})).await);
    assert!(!Path::new("/etc/x").exists());

    let huge = "a".repeat(9 * 1024 * 1024);
    let msg = failed(&call(&c, "write_file", serde_json::json!({"path": "big.txt", "content": huge})).await);
    assert!(msg.contains("limit"), "{msg}");
    assert!(!w.proj.path().join("big.txt").exists());

    let unknown = c.call_tool(CallToolRequestParams::new("rm_rf")).await;
    assert!(unknown.is_err(), "an unknown tool is a protocol error");
    let no_args = c.call_tool(CallToolRequestParams::new("read_file")).await;
    assert!(no_args.is_err() || no_args.unwrap().is_error == Some(true));
    let wrong_type = c
        .call_tool(
            CallToolRequestParams::new("write_file")
                .with_arguments(serde_json::json!({"path": 5}).as_object().cloned().unwrap()),
        )
        .await;
    assert!(wrong_type.is_err() || wrong_type.unwrap().is_error == Some(true));
    // The server is still there.
    ok(&call(&c, "read_file", serde_json::json!({"path": "README.md"})).await);
    w.host.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ask_waits_for_the_user_and_deny_refuses() {
    let w = world().await;
    let c = Arc::new(client(&w.server.url(), TOKEN).await.unwrap());
    // Default: commands ask. The user denies: the agent gets an error, nothing ran.
    let pending = {
        let c = c.clone();
        tokio::spawn(async move { call(&c, "execute_command", serde_json::json!({"command": "touch ran.txt"})).await })
    };
    let asked = wait_for(|| w.agent.pending().into_iter().next()).await;
    assert_eq!(asked.title, "touch ran.txt");
    assert!(w.events.lock().iter().any(|e| matches!(e, AgentEvent::Ask(r) if r.id == asked.id)));
    assert!(w.agent.decide(asked.id, false));
    let r = pending.await.unwrap();
    assert!(failed(&r).contains("denied"));
    assert!(!w.proj.path().join("ran.txt").exists());
    assert!(w.agent.activity().iter().any(|c| c.tool == "execute_command" && c.outcome == "denied"));

    // Approved: it runs and the agent gets its output.
    let pending = {
        let c = c.clone();
        tokio::spawn(
            async move { call(&c, "execute_command", serde_json::json!({"command": "echo approved-run"})).await },
        )
    };
    let asked = wait_for(|| w.agent.pending().into_iter().next()).await;
    w.agent.decide(asked.id, true);
    assert!(ok(&pending.await.unwrap()).contains("approved-run"));

    // The agent gives up while the question waits: the card goes, and a late answer runs nothing.
    w.agent.set_permission("write_file", Permission::Ask).unwrap();
    let handle = c
        .send_cancellable_request(
            rmcp::model::ClientRequest::CallToolRequest(rmcp::model::Request::new(
                CallToolRequestParams::new("write_file").with_arguments(
                    serde_json::json!({"path": "late.txt", "content": "x"}).as_object().cloned().unwrap(),
                ),
            )),
            rmcp::service::PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    let asked = wait_for(|| w.agent.pending().into_iter().find(|r| r.title == "Create late.txt")).await;
    handle.cancel(Some("user gave up".into())).await.unwrap();
    wait_for(|| w.agent.pending().is_empty().then_some(())).await;
    assert!(!w.agent.decide(asked.id, true), "the question is gone");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!w.proj.path().join("late.txt").exists(), "a cancelled call never runs");

    // Writes ask too when set so; the card shows the diff.
    w.agent.set_permission("write_file", Permission::Ask).unwrap();
    let pending = {
        let c = c.clone();
        tokio::spawn(async move {
            call(&c, "write_file", serde_json::json!({"path": "README.md", "content": "# new\n"})).await
        })
    };
    let asked = wait_for(|| w.agent.pending().into_iter().next()).await;
    assert!(asked.detail.contains("-# demo") && asked.detail.contains("+# new"), "{}", asked.detail);
    w.agent.decide(asked.id, true);
    ok(&pending.await.unwrap());

    // Deny: refused at once.
    w.agent.set_permission("write_file", Permission::Deny).unwrap();
    let r = call(&c, "write_file", serde_json::json!({"path": "README.md", "content": "no"})).await;
    assert!(failed(&r).contains("turned off"));
    assert_eq!(read(w.proj.path(), "README.md"), "# new\n");
    w.host.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_the_host_runs_are_asked_about_whatever_the_policy() {
    let w = world().await;
    let c = Arc::new(client(&w.server.url(), TOKEN).await.unwrap());
    std::fs::create_dir_all(w.proj.path().join(".git/hooks")).unwrap();
    assert_eq!(w.agent.policy().tools["write_file"], Permission::Allow);
    for (tool, args) in [
        ("write_file", serde_json::json!({"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\ntouch /tmp/x\n"})),
        ("write_file", serde_json::json!({"path": ".vscode/tasks.json", "content": "{}"})),
        ("write_file", serde_json::json!({"path": "sub/.envrc", "content": "echo hi"})),
    ] {
        let pending = {
            let c = c.clone();
            tokio::spawn(async move { call(&c, tool, args).await })
        };
        let asked = wait_for(|| w.agent.pending().into_iter().next()).await;
        let why = asked.reason.clone().unwrap_or_default();
        assert!(why.contains("on your machine"), "{why}");
        w.agent.decide(asked.id, false);
        assert!(failed(&pending.await.unwrap()).contains("denied"));
    }
    assert!(!w.proj.path().join(".git/hooks/pre-commit").exists());
    std::fs::create_dir_all(w.proj.path().join(".vscode")).unwrap();
    std::fs::write(w.proj.path().join(".vscode/settings.json"), "{}").unwrap();
    // An edit asks the same way; approved, it is written.
    let pending = {
        let c = c.clone();
        tokio::spawn(async move {
            call(
                &c,
                "edit_file",
                serde_json::json!({"path": ".vscode/settings.json", "old_text": "{}", "new_text": "{\"a\":1}"}),
            )
            .await
        })
    };
    let asked = wait_for(|| w.agent.pending().into_iter().next()).await;
    assert!(asked.reason.is_some_and(|r| r.contains("VS Code")));
    w.agent.decide(asked.id, true);
    ok(&pending.await.unwrap());
    assert_eq!(read(w.proj.path(), ".vscode/settings.json"), "{\"a\":1}");
    // Ordinary files are not asked about.
    ok(&call(&c, "write_file", serde_json::json!({"path": "notes.txt", "content": "x"})).await);
    assert!(w.agent.pending().is_empty());
    w.host.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn undo_brings_back_the_project_as_it_was() {
    let w = world().await;
    std::os::unix::fs::symlink("src/main.py", w.proj.path().join("main-link")).unwrap();
    std::fs::create_dir_all(w.proj.path().join("empty")).unwrap();
    let before = tree(w.proj.path());
    let c = client(&w.server.url(), TOKEN).await.unwrap();
    w.agent.set_permission("execute_command", Permission::Allow).unwrap();
    ok(&call(&c, "write_file", serde_json::json!({"path": "README.md", "content": "changed\n"})).await);
    ok(&call(&c, "write_file", serde_json::json!({"path": "added/deep/new.txt", "content": "new\n"})).await);
    // Commands change files too: in the sandbox, through the project folder.
    ok(&call(&c, "execute_command", serde_json::json!({"command": "rm src/main.py main-link && rmdir empty && chmod 600 README.md && echo x > made-by-cmd"})).await);
    assert_ne!(tree(w.proj.path()), before);
    assert!(w.agent.changes().is_some());

    let report = w.agent.undo().await.unwrap();
    assert_eq!(tree(w.proj.path()), before, "{report:?}");
    assert!(report.removed.iter().any(|p| p == "made-by-cmd"), "{report:?}");
    assert!(w.agent.changes().is_none());
    // Nothing more to undo.
    assert!(w.agent.undo().await.is_err());
    w.host.shutdown();
}

/// Every path with its type, mode and content (links: target), ignoring what sync ignores.
fn tree(root: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    for e in walk(root) {
        let rel = e.strip_prefix(root).unwrap().display().to_string();
        // A running sandbox's placeholders (see host_run) are not part of the project.
        if rel.starts_with("build") || aura_core::host_run::is_placeholder(&e) {
            continue;
        }
        let m = std::fs::symlink_metadata(&e).unwrap();
        let what = if m.file_type().is_symlink() {
            format!("link {}", std::fs::read_link(&e).unwrap().display())
        } else if m.is_dir() {
            "dir".into()
        } else {
            format!("file {:o} {}", m.permissions().mode() & 0o777, std::fs::read_to_string(&e).unwrap())
        };
        out.push(format!("{rel}: {what}"));
    }
    out.sort();
    out
}

fn walk(p: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap().path();
        v.push(e.clone());
        if std::fs::symlink_metadata(&e).unwrap().is_dir() {
            v.extend(walk(&e));
        }
    }
    v
}

async fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting");
}

/// Records whether a terminal ended.
#[derive(Clone, Default)]
struct Screen(Arc<parking_lot::Mutex<Option<Option<u32>>>>);

impl Screen {
    /// Whether the terminal ends within ten seconds.
    async fn ended(&self) -> bool {
        for _ in 0..100 {
            if self.0.lock().is_some() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }
}

/// The port Run terminal `id`'s app serves on, within ten seconds.
async fn run_port(host: &ProjectHost, id: u32) -> Option<u16> {
    for _ in 0..100 {
        if let Some(p) = host.run_port(id).await.unwrap() {
            return Some(p);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}
impl aura_core::terminal::TerminalSink for Screen {
    fn output(&mut self, _: Vec<u8>) {}
    fn exit(&mut self, code: Option<u32>) {
        *self.0.lock() = Some(code);
    }
}

/// One Run: the app the user started with ▶ Run is the one an agent sees, finds the port of,
/// and stops — run_app does not start a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_agent_sees_and_stops_the_run_the_user_started() {
    let w = world().await;
    let c = client(&w.server.url(), TOKEN).await.unwrap();
    w.agent.set_permission("run_app", Permission::Allow).unwrap();
    w.agent.set_permission("stop_app", Permission::Allow).unwrap();
    let dev = "python3 -m http.server 8781 --bind 127.0.0.1";
    let screen = Screen::default();
    run_settings(w.proj.path(), dev);
    let id = w.host.open_run_terminal(100, 30, screen.clone()).await.unwrap();
    let port = run_port(&w.host, id).await;
    assert_eq!(port, Some(8781), "the port it opened");

    let logs = ok(&call(&c, "app_logs", serde_json::json!({})).await);
    assert!(logs.starts_with("running (started in the window) (serves port 8781)"), "{logs}");
    let started = ok(&call(&c, "run_app", serde_json::json!({})).await);
    assert!(started.starts_with("running (started in the window)"), "no second run: {started}");
    let url = ok(&call(&c, "preview_url", serde_json::json!({})).await);
    assert!(url.starts_with("port 8781:"), "{url}");

    let stopped = ok(&call(&c, "stop_app", serde_json::json!({})).await);
    assert!(stopped.starts_with("stopped"), "{stopped}");
    assert!(screen.ended().await, "the window's Run terminal ended");
    let logs = ok(&call(&c, "app_logs", serde_json::json!({})).await);
    assert!(logs.starts_with("exited (started in the window)"), "{logs}");
}

/// The project's Run settings, as the Run settings dialog saves them.
fn run_settings(proj: &Path, dev: &str) {
    std::fs::create_dir_all(proj.join(".aura")).unwrap();
    let settings = serde_json::json!({ "install": null, "dev": dev, "port": null });
    std::fs::write(proj.join(".aura/run.json"), settings.to_string()).unwrap();
}

/// One Run, the other way round: with a window open, an agent's run_app presses the window's
/// ▶ Run — its Run terminal, which the user sees and stops — instead of a hidden second run;
/// with no window, the app runs in the background.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agents_run_app_is_the_windows_run_when_a_window_is_open() {
    let w = world().await;
    let c = client(&w.server.url(), TOKEN).await.unwrap();
    w.agent.set_permission("run_app", Permission::Allow).unwrap();
    w.agent.set_permission("stop_app", Permission::Allow).unwrap();
    run_settings(w.proj.path(), "python3 -m http.server 8785 --bind 127.0.0.1");
    // The window: pressing ▶ Run opens the Run terminal (as the window's RunController does).
    let screen = Screen::default();
    let opened: Arc<Mutex<Option<u32>>> = Arc::default();
    let (host, seen, run_terminal) = (Arc::downgrade(&w.host), screen.clone(), opened.clone());
    let runtime = tokio::runtime::Handle::current();
    w.host.set_run_button(Some(Box::new(move || {
        let Some(host) = host.upgrade() else { return false };
        let (seen, run_terminal) = (seen.clone(), run_terminal.clone());
        runtime.spawn(async move { *run_terminal.lock() = host.open_run_terminal(100, 30, seen).await.ok() });
        true
    })));

    let started = ok(&call(&c, "run_app", serde_json::json!({})).await);
    assert!(started.contains("(started in the window)"), "the window's run: {started}");
    let id = opened.lock().expect("the window opened its Run terminal");
    assert_eq!(w.host.agent_app(), None, "no second run in the background");
    let port = run_port(&w.host, id).await;
    assert_eq!(port, Some(8785), "the window's run serves the app");
    let again = ok(&call(&c, "run_app", serde_json::json!({})).await);
    assert!(again.starts_with("running (started in the window)"), "still one run: {again}");
    let stopped = ok(&call(&c, "stop_app", serde_json::json!({})).await);
    assert!(stopped.starts_with("stopped"), "{stopped}");
    assert!(screen.ended().await, "the window's Run terminal ended");

    // The window is gone: run_app runs the app in the background.
    w.host.set_run_button(Some(Box::new(|| false)));
    let started = ok(&call(&c, "run_app", serde_json::json!({})).await);
    assert!(!started.contains("window"), "{started}");
    assert!(w.host.agent_app().is_some(), "the background run");
    ok(&call(&c, "stop_app", serde_json::json!({})).await);
}
