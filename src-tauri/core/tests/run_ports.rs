//! ▶ Run follows the port the app serves its page on: an app whose API opens a port before
//! its web server (nothing printed) is previewed on the web server, found by asking each new
//! port for a page — in a real local sandbox with real servers.

use std::sync::Arc;

use aura_core::project::{ProjectHost, WindowRun};
use aura_core::secrets::Secrets;
use aura_core::store::Store;

struct Quiet;
impl aura_core::terminal::TerminalSink for Quiet {
    fn output(&mut self, _: Vec<u8>) {}
    fn exit(&mut self, _: Option<u32>) {}
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
    let what = WindowRun { install: None, dev: "python3 two.py".into(), port: Some(3000), port_saved: false };
    let id = host.open_run_terminal(100, 30, what, Quiet).await.unwrap();
    host.terminals.write(id, b"exec python3 two.py\n").unwrap();
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
    host.terminals.close(id);
}
