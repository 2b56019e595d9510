//! The sandbox's network modes side by side in one run: *Internet* (own namespace, pasta, the
//! nftables filter), *Registries only* (no route out, Aura's proxy) and the host network.
//! - `npm install` of a small Express app with a warm npm cache (real registry traffic)
//! - a 100 MB download from a server on the test network, median of 5
//! - connection set-up to the first response byte, p50/p99 of 200 sequential connections
//!
//! The last two run on the test network of `tests/support/testnet.rs` (root only: it makes
//! network namespaces; this program runs itself again inside it).
//!
//!     cargo bench -p aura-core --bench network

mod common;

#[path = "../tests/support/testnet.rs"]
mod testnet;

use std::sync::Arc;
use std::time::Duration;

use aura_core::netpolicy::{Gate, Gatekeeper};
use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::bwrap::{self, Isolation, NetPlan};
use aura_core::sandbox::local::network::NetworkMode;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, Lifecycle, SandboxSpec};
use common::*;

const INNER: &str = "AURA_NETBENCH_INNER";

/// The three providers; Registries only allows `list`.
fn providers(list: &[&str]) -> Vec<LocalProvider> {
    let gate = Arc::new(Gatekeeper::new(Duration::from_secs(5)));
    gate.set_list(list).unwrap();
    let registries =
        Isolation::Bubblewrap { bwrap: bwrap::detect().unwrap(), network: NetPlan::Registries(Gate(gate)) };
    vec![
        LocalProvider::with_network(NetworkMode::Isolated, false).expect("an isolated network"),
        LocalProvider::with_isolation(registries),
        LocalProvider::with_network(NetworkMode::Host, false).expect("bubblewrap"),
    ]
}

/// Runs `cmd` in a new sandbox of `p` and returns what it printed.
async fn output(p: &LocalProvider, root: &ProjectRoot, cmd: &str) -> String {
    let sb = p.create_for(root, &SandboxSpec::default()).unwrap();
    let mut out = Out(Vec::new());
    let req = ExecRequest { command: cmd.into(), timeout_s: Some(300), ..Default::default() };
    let o = p.exec(&sb.id, &req, &mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out.0).trim().to_string();
    assert_eq!(o.exit_code, Some(0), "{cmd}: {text}");
    p.delete(&sb.id).await.unwrap();
    text
}

fn report(what: &str, unit: &str, values: &[f64; 3]) {
    let digits = if unit == "ms" && values[2] < 10.0 { 3 } else { 1 };
    println!(
        "network: {what}: internet {:.digits$} {unit} ({:.2}x host), registries only {:.digits$} {unit} ({:.2}x host), host network {:.digits$} {unit}",
        values[0],
        values[0] / values[2],
        values[1],
        values[1] / values[2],
        values[2]
    );
}

fn med(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn npm_install() {
    let (_dir, root) = express_project();
    let ps = providers(aura_core::netpolicy::REGISTRIES);
    let mut t: [Vec<f64>; 3] = Default::default();
    for _ in 0..3 {
        for (i, p) in ps.iter().enumerate() {
            t[i].push(ms(npm_warm(p, &root).await));
        }
    }
    report("npm install (express 4.21.2, 72 packages), warm cache, median of 3", "ms", &t.map(med));
}

async fn on_the_test_network() {
    let dir = tempfile::tempdir().unwrap();
    let lat = r#"const net=require("net");const px=process.env.http_proxy;const N=200;const t=[];
function one(){return new Promise((res,rej)=>{const s0=process.hrtime.bigint();let s;
if(px){const u=new URL(px);s=net.connect(+u.port,u.hostname,()=>s.write("GET http://198.51.100.7:8081/ HTTP/1.1\r\nHost: 198.51.100.7:8081\r\n\r\n"))}
else{s=net.connect(8081,"198.51.100.7",()=>s.write("GET / HTTP/1.1\r\nHost: 198.51.100.7:8081\r\n\r\n"))}
s.once("data",()=>{t.push(Number(process.hrtime.bigint()-s0)/1e6);s.destroy();res()});s.on("error",rej)})}
(async()=>{for(let i=0;i<N;i++)await one();t.sort((a,b)=>a-b);console.log(t[N/2].toFixed(3),t[Math.floor(N*0.99)].toFixed(3))})()"#;
    std::fs::write(dir.path().join("lat.js"), lat).unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let ps = providers(&["198.51.100.7:8080", "198.51.100.7:8081"]);

    let mut t: [Vec<f64>; 3] = Default::default();
    let get = "curl -sS -o /dev/null -w '%{time_total}' http://198.51.100.7:8080/";
    for _ in 0..5 {
        for (i, p) in ps.iter().enumerate() {
            let secs: f64 = output(p, &root, get).await.parse().unwrap();
            t[i].push(100.0 / secs);
        }
    }
    report("100 MB download over HTTP (curl), median of 5", "MB/s", &t.map(med));

    let (mut p50, mut p99) = ([0.0; 3], [0.0; 3]);
    for (i, p) in ps.iter().enumerate() {
        let out = output(p, &root, "node lat.js").await;
        let v: Vec<f64> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
        (p50[i], p99[i]) = (v[0], v[1]);
    }
    report("connect to first response byte, p50 of 200 sequential connections", "ms", &p50);
    report("connect to first response byte, p99 of 200", "ms", &p99);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if std::env::var_os(INNER).is_some() {
        rt.block_on(on_the_test_network());
        return;
    }
    rt.block_on(npm_install());
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        println!("network: the download and connection figures need root (a test network of namespaces): skipped");
        return;
    }
    let mut net = testnet::TestNet::build("nb");
    net.start_servers_with(&["198.51.100.7:8081=small"], &["198.51.100.7:8080=100000000"]);
    let status = net.inside(&[], INNER).status().unwrap();
    assert!(status.success(), "the measurements on the test network failed");
}
