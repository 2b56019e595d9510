//! ▶ Run to the page, side by side in one run: a starter's folder → install → dev server → its
//! page answering, through Aura (the core's run with the port it finds, in a local sandbox on
//! the isolated network, the page fetched through the preview proxy) vs the same steps by hand
//! on the host (`npm install && npm run dev` / venv + pip + uvicorn, polling the port). Cold:
//! empty package caches; warm: the same project again with `node_modules` / `.venv` removed
//! (its lockfile kept) and the caches the first run filled — for Aura the project's kept cache
//! and a new sandbox. Starters: create-vite's
//! `react-ts` (from the registry now) and a minimal FastAPI app.
//!
//!     cargo bench -p aura-core --bench run --profile dev

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::project::ProjectHost;
use aura_core::secrets::Secrets;
use aura_core::store::Store;

/// Each figure is the median of this many rounds (each round: Aura cold, warm; by hand cold, warm).
const ROUNDS: usize = 3;

fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("sh").args(["-c", script]).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh copy of `template` (create-vite's `_gitignore` as `.gitignore`).
fn copy(template: &Path, to: &Path) {
    sh(template, &format!("mkdir -p '{0}' && cp -r . '{0}' && if [ -f '{0}/_gitignore' ]; then mv '{0}/_gitignore' '{0}/.gitignore'; fi", to.display()));
}

/// A page answers 200 on `url` (through the preview: a first request sets its cookie).
async fn page(url: &str) -> bool {
    let Ok(http) = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build() else {
        return false;
    };
    let Ok(first) = http.get(url).send().await else { return false };
    if first.status() == 200 {
        return true;
    }
    let Some(cookie) = first.headers().get("set-cookie").and_then(|c| c.to_str().ok()) else { return false };
    let cookie = cookie.split(';').next().unwrap_or("").to_string();
    let base = url.split('?').next().unwrap_or(url);
    http.get(base).header("cookie", cookie).send().await.is_ok_and(|r| r.status() == 200)
}

/// Through Aura: ▶ Run's path in the core, until the page answers through the preview.
async fn aura(store: &Arc<Store>, caches: &Path, dir: &Path) -> Duration {
    let host =
        Arc::new(ProjectHost::new(store.clone(), Secrets::in_memory(), tokio::runtime::Handle::current(), |_| {}));
    host.sandboxes.set_package_cache(caches.to_path_buf());
    host.open(dir, |_| {}).unwrap();
    let t = Instant::now();
    host.run_app().await.unwrap();
    let port = loop {
        let (s, log) = host.app_logs(4096);
        let s = s.unwrap();
        assert_ne!(s.phase, "exited", "{log}");
        if let (true, Some(p)) = (s.phase == "running", s.port) {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let entry = host.preview_open(port).await.unwrap().entry_url;
    while !page(&entry).await {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = t.elapsed();
    host.stop_app();
    host.shutdown();
    took
}

/// By hand on the host: the same commands in a shell, until the port answers.
async fn by_hand(dir: &Path, script: &str, port: u16, cache: &Path) -> Duration {
    let t = Instant::now();
    let mut child = Command::new("setsid")
        .args(["sh", "-c", script])
        .current_dir(dir)
        .env("npm_config_cache", cache.join("npm"))
        .env("npm_config_userconfig", "/dev/null")
        .env("npm_config_update_notifier", "false")
        .env("PIP_CACHE_DIR", cache.join("pip"))
        .env_remove("PIP_FIND_LINKS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    loop {
        if page(&url).await || page(&format!("http://localhost:{port}/")).await {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the starter stopped by hand: {script}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = t.elapsed();
    // SAFETY: kill has no memory preconditions; the negative pid is the session's group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
    took
}

struct Starter {
    name: &'static str,
    template: PathBuf,
    by_hand: &'static str,
    port: u16,
}

fn starters(base: &Path) -> Vec<Starter> {
    let pack = base.join("create-vite");
    std::fs::create_dir_all(&pack).unwrap();
    let tgz = sh(&pack, "npm pack create-vite --silent --no-update-notifier");
    sh(&pack, &format!("tar xzf '{}'", tgz.trim()));
    let fastapi = base.join("fastapi");
    std::fs::create_dir_all(&fastapi).unwrap();
    std::fs::write(fastapi.join("requirements.txt"), "fastapi\nuvicorn\n").unwrap();
    std::fs::write(
        fastapi.join("main.py"),
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\ndef index():\n    return {'hello': 'world'}\n",
    )
    .unwrap();
    vec![
        Starter {
            name: "React + TypeScript (create-vite)",
            template: pack.join("package/template-react-ts"),
            by_hand: "npm install --no-audit --no-fund && exec npm run dev -- --port 5173 --strictPort",
            port: 5173,
        },
        Starter {
            name: "FastAPI",
            template: fastapi,
            by_hand: "python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt && exec .venv/bin/uvicorn main:app --port 8000",
            port: 8000,
        },
    ]
}

fn main() {
    aura_core::install_tls_provider();
    let base = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut n = 0;
    let mut fresh = |template: &Path| {
        n += 1;
        let dir = base.path().join(format!("p{n}"));
        copy(template, &dir);
        dir
    };
    for s in starters(base.path()) {
        let (mut a_cold, mut a_warm, mut h_cold, mut h_warm) = (vec![], vec![], vec![], vec![]);
        for round in 0..ROUNDS {
            let caches = data.path().join(format!("caches-{}-{round}", s.port));
            rt.block_on(async {
                // Aura's project cache is per project folder: the warm run reopens the same
                // folder, emptied of what the install made.
                let aura_dir = fresh(&s.template);
                a_cold.push(aura(&store, &caches.join("aura"), &aura_dir).await);
                sh(&aura_dir, "rm -rf node_modules .venv");
                a_warm.push(aura(&store, &caches.join("aura"), &aura_dir).await);
                let hand_dir = fresh(&s.template);
                h_cold.push(by_hand(&hand_dir, s.by_hand, s.port, &caches.join("hand")).await);
                sh(&hand_dir, "rm -rf node_modules .venv");
                h_warm.push(by_hand(&hand_dir, s.by_hand, s.port, &caches.join("hand")).await);
            });
        }
        let med = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2].as_secs_f64()
        };
        let (ac, aw, hc, hw) = (med(&mut a_cold), med(&mut a_warm), med(&mut h_cold), med(&mut h_warm));
        println!(
            "run: ▶ Run → page, {}, median of {ROUNDS}: cold {ac:.1} s vs by hand {hc:.1} s (ratio {:.2}x); warm {aw:.1} s vs by hand {hw:.1} s (ratio {:.2}x)",
            s.name,
            ac / hc,
            aw / hw
        );
    }
}
