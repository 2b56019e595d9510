//! The starter corpus: ▶ Run's whole path on real starters, in real local sandboxes — the run
//! configuration detected from the folder, the install from the registry, the dev server, the
//! port it opens (found, not guessed), and the page through the preview proxy. Every template of
//! the `create-vite` package, fetched from the npm registry now, SvelteKit as `sv create` makes
//! it, Astro's minimal starter, and minimal Express, Flask, FastAPI and Django apps (packages
//! from npm and PyPI), and create-next-app's App Router template (its layout's Google Fonts
//! import left out: it fetches them at dev time, and the test talks only to the registries).
//! The report lists each starter's result and time; a failure on the registry's side is
//! reported as such, not as a pass.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aura_core::project::ProjectHost;
use aura_core::secrets::Secrets;
use aura_core::store::Store;
use futures::stream::StreamExt;

/// How long one starter may take from ▶ Run to its port (a cold install included).
const START_LIMIT: Duration = Duration::from_secs(300);

/// Starters run at once (each in a sandbox of its own).
const AT_ONCE: usize = 3;

enum Outcome {
    /// The page answered through the preview, on this port.
    Page(u16),
    /// The registry (or package index) failed, not the starter: why.
    Registry(String),
    /// ▶ Run did not reach the page: why, with the end of the output.
    Failed(String),
}

fn sh(dir: &Path, script: &str) -> String {
    let out = std::process::Command::new("sh").args(["-c", script]).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        // create-vite ships `.gitignore` as `_gitignore` (npm would drop it).
        let name = match e.file_name().to_str() {
            Some("_gitignore") => ".gitignore".into(),
            _ => e.file_name(),
        };
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(name));
        } else {
            std::fs::copy(e.path(), to.join(name)).unwrap();
        }
    }
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// Every template of `create-vite` as the registry has it now, and the hand-written minimal apps.
fn starters(base: &Path) -> Vec<(String, PathBuf)> {
    let pack = base.join("create-vite");
    std::fs::create_dir_all(&pack).unwrap();
    let tgz = sh(&pack, "npm pack create-vite --silent --no-update-notifier");
    sh(&pack, &format!("tar xzf '{}'", tgz.trim()));
    let version = sh(&pack, "node -p \"require('./package/package.json').version\"");
    eprintln!("create-vite {}", version.trim());
    let mut templates: Vec<String> = std::fs::read_dir(pack.join("package"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("template-").map(str::to_string))
        .collect();
    templates.sort();
    assert!(templates.len() >= 10, "create-vite has templates: {templates:?}");
    let mut out = Vec::new();
    for t in templates {
        let dir = base.join(format!("vite-{t}"));
        copy_tree(&pack.join("package").join(format!("template-{t}")), &dir);
        out.push((format!("create-vite {t}"), dir));
    }
    // create-next-app's App Router template in JavaScript, as `create-next-app --js --app
    // --no-tailwind --no-linter` lays it out (package.json as it writes one, for the Next.js of
    // the same version). Its layout's `next/font/google` import is left out: it fetches the
    // fonts from Google at dev time, and the test talks only to the registries.
    let cna = base.join("create-next-app");
    std::fs::create_dir_all(&cna).unwrap();
    let tgz = sh(&cna, "npm pack create-next-app --silent --no-update-notifier");
    sh(&cna, &format!("tar xzf '{}'", tgz.trim()));
    let next_version = sh(&cna, "node -p \"require('./package/package.json').version\"").trim().to_string();
    eprintln!("create-next-app {next_version}");
    let next = base.join("nextjs");
    copy_tree(&cna.join("package/dist/templates/app/js"), &next);
    std::fs::rename(next.join("gitignore"), next.join(".gitignore")).unwrap();
    std::fs::rename(next.join("README-template.md"), next.join("README.md")).unwrap();
    for linter in ["eslint.config.mjs", "biome.json"] {
        let _ = std::fs::remove_file(next.join(linter));
    }
    write(
        &next,
        &[
            (
                "package.json",
                &format!(
                    r#"{{ "name": "nextjs", "version": "0.1.0", "private": true, "scripts": {{ "dev": "next dev", "build": "next build", "start": "next start" }}, "dependencies": {{ "next": "{next_version}", "react": "^19", "react-dom": "^19" }} }}"#
                ),
            ),
            (
                "app/layout.js",
                "import \"./globals.css\";\n\nexport const metadata = {\n  title: \"Create Next App\",\n  description: \"Generated by create next app\",\n};\n\nexport default function RootLayout({ children }) {\n  return (\n    <html lang=\"en\">\n      <body>{children}</body>\n    </html>\n  );\n}\n",
            ),
        ],
    );
    out.push((format!("Next.js (create-next-app {next_version}, app)"), next));
    // SvelteKit as `sv create` makes it (the minimal template, TypeScript, no add-ons).
    sh(base, "npx --yes sv create --template minimal --types ts --no-add-ons --no-install --no-dir-check sveltekit >/dev/null");
    out.push(("SvelteKit (sv create minimal)".into(), base.join("sveltekit")));
    // Astro's minimal starter: one page, the newest astro this machine's Node.js runs (astro 6
    // wants Node.js 22).
    let astro = base.join("astro");
    write(
        &astro,
        &[
            (
                "package.json",
                r#"{ "name": "astro-minimal", "type": "module", "version": "0.0.1", "scripts": { "dev": "astro dev", "build": "astro build" }, "dependencies": { "astro": "^5" } }"#,
            ),
            ("astro.config.mjs", "import { defineConfig } from 'astro/config';\n\nexport default defineConfig({});\n"),
            (
                "src/pages/index.astro",
                "---\n---\n<html lang=\"en\"><head><title>Astro</title></head><body><h1>Astro</h1></body></html>\n",
            ),
        ],
    );
    out.push(("Astro (minimal)".into(), astro));
    let page = |who: &str| format!("<!doctype html><title>{who}</title><h1>Hello from {who}</h1>");
    let express = base.join("express");
    write(
        &express,
        &[
            ("package.json", r#"{ "name": "express-app", "private": true, "scripts": { "start": "node index.js" }, "dependencies": { "express": "^5" } }"#),
            (
                "index.js",
                &format!(
                    "const express = require('express');\nconst app = express();\nconst port = process.env.PORT || 3000;\napp.get('/', (req, res) => res.send('{}'));\napp.listen(port, () => console.log(`Example app listening on port ${{port}}`));\n",
                    page("Express")
                ),
            ),
        ],
    );
    out.push(("Express".into(), express));
    let flask = base.join("flask");
    write(
        &flask,
        &[
            ("requirements.txt", "flask\n"),
            ("app.py", &format!("from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route('/')\ndef index():\n    return '{}'\n", page("Flask"))),
        ],
    );
    out.push(("Flask".into(), flask));
    let fastapi = base.join("fastapi");
    write(
        &fastapi,
        &[
            ("requirements.txt", "fastapi\nuvicorn\n"),
            (
                "main.py",
                &format!(
                    "from fastapi import FastAPI\nfrom fastapi.responses import HTMLResponse\n\napp = FastAPI()\n\n\n@app.get('/', response_class=HTMLResponse)\ndef index():\n    return '{}'\n",
                    page("FastAPI")
                ),
            ),
        ],
    );
    out.push(("FastAPI".into(), fastapi));
    // What `django-admin startproject mysite .` writes, cut to what runserver needs.
    let django = base.join("django");
    write(
        &django,
        &[
            ("requirements.txt", "django\n"),
            (
                "manage.py",
                "#!/usr/bin/env python\nimport os, sys\n\nif __name__ == '__main__':\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n    from django.core.management import execute_from_command_line\n    execute_from_command_line(sys.argv)\n",
            ),
            ("mysite/__init__.py", ""),
            (
                "mysite/settings.py",
                "SECRET_KEY = 'django-insecure-starter'\nDEBUG = True\nALLOWED_HOSTS = []\nINSTALLED_APPS = []\nMIDDLEWARE = []\nROOT_URLCONF = 'mysite.urls'\nUSE_TZ = True\n",
            ),
            (
                "mysite/urls.py",
                &format!(
                    "from django.http import HttpResponse\nfrom django.urls import path\n\nurlpatterns = [path('', lambda request: HttpResponse('{}'))]\n",
                    page("Django")
                ),
            ),
        ],
    );
    out.push(("Django".into(), django));
    out
}

/// GET through the preview's entry address (it sets the preview's cookie), then the page.
async fn fetch(entry: &str) -> Result<(u16, String), String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let first = http.get(entry).send().await.map_err(|e| e.to_string())?;
    let cookie = first
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .ok_or("no preview cookie")?
        .to_string();
    let base = entry.split('?').next().unwrap_or(entry);
    let r = http.get(base).header("cookie", cookie).send().await.map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    Ok((status, r.text().await.map_err(|e| e.to_string())?))
}

/// ▶ Run's path on one starter, in a project host of its own.
async fn run_one(store: Arc<Store>, caches: PathBuf, dir: PathBuf) -> Outcome {
    let host = Arc::new(ProjectHost::new(store, Secrets::in_memory(), tokio::runtime::Handle::current(), |_| {}));
    host.sandboxes.set_package_cache(caches);
    let outcome = drive(&host, &dir).await;
    host.stop_app();
    host.shutdown();
    outcome
}

async fn drive(host: &Arc<ProjectHost>, dir: &Path) -> Outcome {
    if let Err(e) = host.open(dir, |_| {}) {
        return Outcome::Failed(format!("the project did not open: {e}"));
    }
    // Frameworks that report usage would reach their own servers: the test talks only to the
    // registries.
    if let Ok(p) = host.project() {
        let env = [("ASTRO_TELEMETRY_DISABLED", "1"), ("NEXT_TELEMETRY_DISABLED", "1")];
        let settings = aura_core::sandbox::settings::ProjectSettings {
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        host.store.save_project_settings(p.record.id, &settings).unwrap();
    }
    if let Err(e) = host.run_app().await {
        return Outcome::Failed(format!("▶ Run did not start: {e}"));
    }
    let began = Instant::now();
    let port = loop {
        let (status, log) = host.app_logs(4096);
        let Some(s) = status else { return Outcome::Failed("no run".into()) };
        if s.phase == "running" {
            if let Some(p) = s.port {
                break p;
            }
        }
        if s.phase == "exited" {
            let ended = s.ended.unwrap_or_default();
            let registry = aura_core::run::failure::explain(&log)
                .filter(|why| why.contains("registry") || why.contains("package index") || why.contains("network"));
            return match registry {
                Some(why) if ended.contains("during install") => Outcome::Registry(why),
                _ => Outcome::Failed(format!("{ended}\n{log}")),
            };
        }
        if began.elapsed() > START_LIMIT {
            return Outcome::Failed(format!("no port after {} s ({})\n{log}", START_LIMIT.as_secs(), s.phase));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let info = match host.preview_open(port).await {
        Ok(i) => i,
        Err(e) => return Outcome::Failed(format!("the preview of :{port} did not open: {e}")),
    };
    // A dev server may answer before its first page is ready (a compile): a few tries.
    let mut last = String::new();
    for _ in 0..60 {
        match fetch(&info.entry_url).await {
            Ok((200, body)) if body.to_ascii_lowercase().contains("<") => return Outcome::Page(port),
            Ok((status, body)) => last = format!("HTTP {status}: {}", body.chars().take(900).collect::<String>()),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, log) = host.app_logs(2000);
    Outcome::Failed(format!("port {port} found, but no page through the preview: {last}\n{log}"))
}

#[test]
fn every_starter_reaches_its_page_with_one_run() {
    aura_core::install_tls_provider();
    let base = tempfile::tempdir().unwrap();
    let mut list = starters(base.path());
    // AURA_STARTERS=svelte runs only the starters whose name has that text (for a closer look).
    if let Ok(only) = std::env::var("AURA_STARTERS") {
        list.retain(|(name, _)| name.to_lowercase().contains(&only.to_lowercase()));
    }
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&data.path().join("aura.sqlite3")).unwrap());
    let caches = data.path().join("package-cache");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let results: Vec<(String, Outcome, Duration)> = rt.block_on(async {
        futures::stream::iter(list.into_iter().map(|(name, dir)| {
            let (store, caches) = (store.clone(), caches.clone());
            async move {
                let t = Instant::now();
                let o = run_one(store, caches, dir).await;
                (name, o, t.elapsed())
            }
        }))
        .buffer_unordered(AT_ONCE)
        .collect()
        .await
    });
    let mut report = String::from("starter corpus (▶ Run → page through the preview, local sandbox):\n");
    let (mut pages, mut registry, mut failed) = (0, 0, Vec::new());
    let mut sorted = results;
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, o, t) in &sorted {
        let line = match o {
            Outcome::Page(p) => {
                pages += 1;
                format!("page on :{p}")
            }
            Outcome::Registry(why) => {
                registry += 1;
                format!("REGISTRY: {why}")
            }
            Outcome::Failed(why) => {
                failed.push(format!("{name}: {why}"));
                format!("FAILED: {}", why.lines().next().unwrap_or(""))
            }
        };
        report.push_str(&format!("  {name:<28} {:>6.1} s  {line}\n", t.as_secs_f64()));
    }
    eprintln!("{report}");
    assert!(failed.is_empty(), "{report}\n{}", failed.join("\n\n"));
    assert!(pages > 0 && pages + registry == sorted.len(), "{report}");
}
