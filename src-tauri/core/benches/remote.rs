//! Remote client overhead: per-call time of the Daytona and E2B clients against the
//! local contract servers, vs a bare HTTP GET of the same URL with the same headers, side by
//! side in one run (so the figure is what the client adds: retries bookkeeping, JSON decoding).
//!
//!     cargo bench -p aura-core --bench remote

mod common;

use std::time::{Duration, Instant};

use aura_core::sandbox::remote::daytona::{DaytonaConfig, DaytonaProvider};
use aura_core::sandbox::remote::e2b::{E2bConfig, E2bProvider};
use aura_core::sandbox::remote::RetryPolicy;
use aura_core::sandbox::{Lifecycle, SandboxSpec};
use aura_core::secrets::Secret;
use common::*;

const N: usize = 300;

async fn raw(url: &str, headers: &[(&str, &str)], resolve: Option<std::net::SocketAddr>) -> Vec<Duration> {
    let mut b = reqwest::Client::builder();
    if let Some(a) = resolve {
        b = b.resolve("api.e2b.test", a);
    }
    let c = b.build().unwrap();
    let mut v = Vec::new();
    for _ in 0..N {
        let t = Instant::now();
        let mut r = c.get(url);
        for (k, val) in headers {
            r = r.header(*k, *val);
        }
        let body = r.send().await.unwrap().bytes().await.unwrap();
        assert!(!body.is_empty());
        v.push(t.elapsed());
    }
    v.sort();
    v
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let retry = RetryPolicy::default();
    rt.block_on(async {
        let srv = contract_server("daytona_server.py", "daytona", "k");
        let cfg = DaytonaConfig { api_url: format!("http://127.0.0.1:{}/api", srv.1), target: None, organization_id: None };
        let dt = DaytonaProvider::new(cfg, Secret::new("k"), retry).unwrap();
        let sb = dt.create(&SandboxSpec::default()).await.unwrap();
        let mut client = Vec::new();
        for _ in 0..N {
            let t = Instant::now();
            dt.get(&sb.id).await.unwrap();
            client.push(t.elapsed());
        }
        client.sort();
        let bare = raw(&format!("http://127.0.0.1:{}/api/sandbox/{}", srv.1, sb.id), &[("Authorization", "Bearer k")], None).await;
        println!(
            "remote: Daytona get sandbox, median of {N}: client {:.2} ms, bare GET {:.2} ms, overhead {:.3} ms per call",
            ms(median(&client)),
            ms(median(&bare)),
            ms(median(&client)) - ms(median(&bare))
        );

        let srv = contract_server("e2b_server.py", "e2b", "k");
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", srv.1).parse().unwrap();
        let cfg = E2bConfig { domain: "e2b.test".into(), scheme: "http".into(), resolve_all_to: Some(addr), template: "base".into() };
        let e2b = E2bProvider::new(cfg, Secret::new("k"), retry).unwrap();
        let sb = e2b.create(&SandboxSpec::default()).await.unwrap();
        let mut client = Vec::new();
        for _ in 0..N {
            let t = Instant::now();
            e2b.get(&sb.id).await.unwrap();
            client.push(t.elapsed());
        }
        client.sort();
        let bare = raw(&format!("http://api.e2b.test:{}/sandboxes/{}", srv.1, sb.id), &[("X-API-Key", "k")], Some(addr)).await;
        println!(
            "remote: E2B get sandbox, median of {N}: client {:.2} ms, bare GET {:.2} ms, overhead {:.3} ms per call",
            ms(median(&client)),
            ms(median(&bare)),
            ms(median(&client)) - ms(median(&bare))
        );
    });
}
