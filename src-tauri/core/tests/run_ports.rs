//! ▶ Run follows the port the app serves its page on: an app whose API opens a port before
//! its web server (nothing printed) is previewed on the web server, found by asking each new
//! port for a page — in a real local sandbox with real servers.

use std::sync::Arc;

use aura_core::project::{ProjectHost, RunStatus, RunStep};
use aura_core::secrets::Secrets;
use aura_core::store::Store;

struct Quiet;
impl aura_core::terminal::TerminalSink for Quiet {
    fn output(&mut self, _: Vec<u8>) {}
    fn exit(&mut self, _: Option<u32>) {}
}

/// The project's Run settings, as the Run settings dialog saves them.
fn run_settings(proj: &std::path::Path, install: Option<&str>, dev: &str, port: Option<u16>, manifests: &[&str]) {
    std::fs::create_dir_all(proj.join(".aura")).unwrap();
    let config = serde_json::json!({ "install": install, "dev": dev, "port": port, "manifests": manifests });
    std::fs::write(proj.join(".aura/run.json"), config.to_string()).unwrap();
}

const TWO_SERVERS: &str = r#"
import http.server, threading, time
class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
threading.Thread(target=http.server.HTTPServer(("127.0.0.1", 8782), Api).serve_forever, daemon=True).start()
time.sleep(1)
http.server.HTTPServer(("127.0.0.1", 8783), http.server.SimpleHTTPRequestHandler).serve_forever()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_port_serving_a_page_is_the_app_not_the_api_that_opened_first() {
    aura_core::install_tls_provider();
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::write(proj.path().join("two.py"), TWO_SERVERS).unwrap();
    std::fs::write(proj.path().join("index.html"), "<h1>the web app</h1>\n").unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let host = Arc::new(ProjectHost::new(store, Secrets::in_memory(), tokio::runtime::Handle::current(), |_| {}));
    host.open(proj.path(), |_| {}).unwrap();
    // No port in the settings: the run follows the ports the app opens.
    run_settings(proj.path(), None, "python3 two.py", None, &[]);
    let id = host.open_run_terminal(100, 30, Quiet).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..150 {
        let port = host.run_port(id).await.unwrap();
        if seen.last() != Some(&port) {
            seen.push(port);
        }
        if port.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen.last(), Some(&Some(8783)), "the web server, not the API on 8782 that opened first: {seen:?}");
    assert_eq!(host.run_port(id).await.unwrap(), Some(8783), "and it stays");
    assert_eq!(host.run_status(id).await.unwrap(), Some(RunStatus::Running { port: Some(8783) }));
    host.terminals.close(id);
}

/// ▶ Run is the core's: it types the install (when due) and the dev server into the Run
/// terminal, and where the run is comes from it, for the window and agents alike: installing,
/// then running on its port, the install recorded; an install that fails says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_run_status_follows_the_install_and_says_why_it_failed() {
    aura_core::install_tls_provider();
    let data = tempfile::tempdir().unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::write(proj.path().join("index.html"), "<h1>app</h1>\n").unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let host = Arc::new(ProjectHost::new(store, Secrets::in_memory(), tokio::runtime::Handle::current(), |_| {}));
    host.open(proj.path(), |_| {}).unwrap();
    let status = |id| {
        let host = host.clone();
        async move { host.run_status(id).await.unwrap() }
    };
    let until = |id: u32, want: fn(&RunStatus) -> bool| async move {
        let mut seen = Vec::new();
        for _ in 0..200 {
            let s = status(id).await.unwrap();
            if want(&s) {
                return s;
            }
            if seen.last() != Some(&s) {
                seen.push(s);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("not reached; seen {seen:?}");
    };

    // An install (a slow one), the mark, then the server on the saved port.
    let dev = "python3 -m http.server 8784 --bind 127.0.0.1";
    run_settings(proj.path(), Some("sleep 1"), dev, Some(8784), &["install.sh"]);
    let id = host.open_run_terminal(100, 30, Quiet).await.unwrap();
    assert_eq!(status(id).await, Some(RunStatus::Installing));
    let s = until(id, |s| matches!(s, RunStatus::Running { .. })).await;
    assert_eq!(s, RunStatus::Running { port: Some(8784) });
    host.terminals.close(id);
    assert_eq!(host.run_plan().unwrap().install, None, "the install was recorded: the next run skips it");

    // A manifest changed: the install is due again, and it fails — exited during the
    // install, with the package manager's reason.
    std::fs::write(
        proj.path().join("install.sh"),
        "echo 'npm error code ETARGET'\necho 'npm error notarget No matching version found for ms@99.0.0.'\nexit 1\n",
    )
    .unwrap();
    run_settings(proj.path(), Some("sh install.sh"), dev, None, &["install.sh"]);
    let id = host.open_run_terminal(100, 30, Quiet).await.unwrap();
    let s = until(id, |s| matches!(s, RunStatus::Exited { .. })).await;
    assert_eq!(
        s,
        RunStatus::Exited {
            code: Some(1),
            during: RunStep::Install,
            why: Some("the registry has no version ms@99.0.0".into())
        }
    );
}
