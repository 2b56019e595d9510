//! Agent tool round trips, side by side in one run: `read_file` and `write_file` through the whole
//! path (a real MCP client over streamable HTTP, token check, activity log, the save path with its
//! fsync and sync journal) against a direct read / write of the same file; `execute_command` of
//! `true` against the Run box's exec (the same sandbox call without MCP). p50 / p99.
//!
//!     cargo bench -p aura-core --bench agent

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::agent::http::AgentServer;
use aura_core::agent::{AgentService, Permission};
use aura_core::project::ProjectHost;
use aura_core::sandbox::{ExecRequest, ExecSink};
use aura_core::secrets::{Secret, Secrets};
use aura_core::store::Store;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;

const N: usize = 300;
const N_EXEC: usize = 60;

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    common::ms(v[((v.len() as f64 - 1.0) * p).round() as usize])
}

fn row(name: &str, ours: &mut [Duration], peer_name: &str, peer: &mut [Duration]) {
    let (o50, o99, p50, p99) = (pct(ours, 0.5), pct(ours, 0.99), pct(peer, 0.5), pct(peer, 0.99));
    println!(
        "{name:<28} p50 {o50:>8.3} ms  p99 {o99:>8.3} ms | {peer_name:<26} p50 {p50:>8.3} ms  p99 {p99:>8.3} ms | p50 ratio {:.1}×",
        o50 / p50
    );
}

struct Null;
impl ExecSink for Null {
    fn stdout(&mut self, _: &[u8]) {}
    fn stderr(&mut self, _: &[u8]) {}
}

fn main() {
    aura_core::install_tls_provider();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let data = tempfile::tempdir().unwrap();
        let proj = tempfile::tempdir().unwrap();
        let text: String = (0..200).map(|i| format!("line {i}: some source text of a typical file\n")).collect();
        std::fs::write(proj.path().join("file.txt"), &text).unwrap();
        std::fs::write(proj.path().join("direct.txt"), &text).unwrap();
        let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
        let host = Arc::new(ProjectHost::new(store, Secrets::in_memory(), tokio::runtime::Handle::current(), |_| {}));
        host.open(proj.path(), |_| {}).unwrap();
        let agent = Arc::new(AgentService::new(host.clone(), data.path().to_path_buf(), |_| {}).unwrap());
        agent.set_permission("execute_command", Permission::Allow).unwrap();
        let server = AgentServer::start(agent.clone(), 0, Some(Secret::new("bench"))).await.unwrap();
        let t = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(server.url()).auth_header("bench"),
        );
        let client = ClientConfig::default().serve(t).await.unwrap();
        let args = |v: serde_json::Value| v.as_object().cloned().unwrap();
        println!("file: {} bytes; {N} calls each ({N_EXEC} for commands)", text.len());

        let mut tool = Vec::new();
        let mut direct = Vec::new();
        for _ in 0..N {
            let t = Instant::now();
            client
                .call_tool(
                    CallToolRequestParams::new("read_file")
                        .with_arguments(args(serde_json::json!({"path": "file.txt"}))),
                )
                .await
                .unwrap();
            tool.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(std::fs::read_to_string(proj.path().join("direct.txt")).unwrap());
            direct.push(t.elapsed());
        }
        row("read_file (MCP)", &mut tool, "std::fs::read_to_string", &mut direct);

        let (mut tool, mut direct, mut synced) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..N {
            let content = format!("{text}{i}\n");
            let t = Instant::now();
            client
                .call_tool(
                    CallToolRequestParams::new("write_file")
                        .with_arguments(args(serde_json::json!({"path": "file.txt", "content": content}))),
                )
                .await
                .unwrap();
            tool.push(t.elapsed());
            let t = Instant::now();
            std::fs::write(proj.path().join("direct.txt"), &content).unwrap();
            direct.push(t.elapsed());
            let t = Instant::now();
            let mut f = std::fs::File::create(proj.path().join("direct.txt")).unwrap();
            std::io::Write::write_all(&mut f, content.as_bytes()).unwrap();
            f.sync_all().unwrap();
            synced.push(t.elapsed());
        }
        let mut tool2 = tool.clone();
        row("write_file (MCP, fsync)", &mut tool, "std::fs::write", &mut direct);
        row("write_file (MCP, fsync)", &mut tool2, "write + fsync", &mut synced);

        let (mut tool, mut run_box) = (Vec::new(), Vec::new());
        let req = ExecRequest { command: "true".into(), ..Default::default() };
        host.exec(&req, &mut Null).await.unwrap(); // the sandbox starts once, outside the figures
        for _ in 0..N_EXEC {
            let t = Instant::now();
            client
                .call_tool(
                    CallToolRequestParams::new("execute_command")
                        .with_arguments(args(serde_json::json!({"command": "true"}))),
                )
                .await
                .unwrap();
            tool.push(t.elapsed());
            let t = Instant::now();
            host.exec(&req, &mut Null).await.unwrap();
            run_box.push(t.elapsed());
        }
        row("execute_command true (MCP)", &mut tool, "Run box exec (same sandbox)", &mut run_box);
        let _ = client.cancel().await;
        host.shutdown();
    });
}
