//! Run-configuration detection on the layouts real starters produce (their package.json,
//! lockfiles, app modules), and the saved configuration winning over detection.

use aura_core::paths::ProjectRoot;
use aura_core::run::{self, RunConfig};

fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, ProjectRoot) {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let root = ProjectRoot::open(dir.path()).unwrap();
    (dir, root)
}

fn detected(files: &[(&str, &str)]) -> (RunConfig, String) {
    let (_d, root) = project(files);
    let setup = run::load(&root).unwrap();
    assert!(!setup.saved);
    (setup.config.expect("something detected"), setup.source)
}

#[track_caller]
fn check(files: &[(&str, &str)], install: Option<&str>, dev: &str, port: Option<u16>, source: &str) {
    let (c, s) = detected(files);
    assert_eq!((c.install.as_deref(), c.dev.as_str(), c.port), (install, dev, port), "{s}");
    assert!(s.contains(source), "{s} should name {source}");
}

const VITE_REACT_TS: &str = r#"{"name":"vite-project","private":true,"version":"0.0.0","type":"module",
 "scripts":{"dev":"vite","build":"tsc -b && vite build","lint":"eslint .","preview":"vite preview"},
 "dependencies":{"react":"^19.1.0","react-dom":"^19.1.0"},
 "devDependencies":{"@vitejs/plugin-react":"^4.4.1","typescript":"~5.8.3","vite":"^6.3.5"}}"#;

#[test]
fn node_starters() {
    check(
        &[("package.json", VITE_REACT_TS), ("package-lock.json", "{}")],
        Some("npm install"),
        "npm run dev",
        Some(5173),
        "Vite, npm",
    );
    check(
        &[("package.json", VITE_REACT_TS), ("pnpm-lock.yaml", "")],
        Some("pnpm install"),
        "pnpm run dev",
        Some(5173),
        "Vite, pnpm",
    );
    check(&[("package.json", VITE_REACT_TS), ("bun.lock", "")], Some("bun install"), "bun run dev", Some(5173), "bun");
    let next = r#"{"name":"my-app","scripts":{"dev":"next dev --turbopack","build":"next build","start":"next start"},
        "dependencies":{"next":"15.3.3","react":"^19.0.0"}}"#;
    check(
        &[("package.json", next), ("yarn.lock", "")],
        Some("yarn install"),
        "yarn run dev",
        Some(3000),
        "Next.js, yarn",
    );
    let angular = r#"{"name":"ng-app","scripts":{"ng":"ng","start":"ng serve","build":"ng build"},
        "dependencies":{"@angular/core":"^20.0.0"},"devDependencies":{"@angular/cli":"^20.0.0"}}"#;
    check(&[("package.json", angular)], Some("npm install"), "npm run start", Some(4200), "Angular");
    let sveltekit = r#"{"name":"sv","scripts":{"dev":"vite dev","build":"vite build"},
        "devDependencies":{"@sveltejs/kit":"^2.16.0","svelte":"^5.0.0","vite":"^6.2.6"}}"#;
    check(&[("package.json", sveltekit)], Some("npm install"), "npm run dev", Some(5173), "SvelteKit");
    let vue = r#"{"name":"vue-project","scripts":{"dev":"vite --port 8080"},"dependencies":{"vue":"^3.5.13"},"devDependencies":{"vite":"^6.2.4"}}"#;
    check(&[("package.json", vue)], Some("npm install"), "npm run dev", Some(8080), "Vite");
    let express =
        r#"{"name":"api","main":"server.js","dependencies":{"express":"^4.21.2"},"packageManager":"pnpm@9.15.0"}"#;
    check(
        &[("package.json", express), ("server.js", "")],
        Some("pnpm install"),
        "node server.js",
        Some(3000),
        "Express, pnpm",
    );
}

#[test]
fn python_rust_and_static() {
    let main = "from fastapi import FastAPI\napp = FastAPI()\n";
    check(
        &[("requirements.txt", "fastapi==0.115.12\nuvicorn[standard]==0.34.2\n"), ("main.py", main)],
        Some("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"),
        ".venv/bin/uvicorn main:app --reload --port 8000",
        Some(8000),
        "FastAPI",
    );
    check(
        &[
            ("pyproject.toml", "[project]\nname = \"svc\"\ndependencies = [\n  \"fastapi>=0.115\",\n]\n"),
            ("app/main.py", main),
        ],
        Some("python3 -m venv .venv && .venv/bin/pip install -e ."),
        ".venv/bin/uvicorn app.main:app --reload --port 8000",
        Some(8000),
        "pyproject.toml (FastAPI)",
    );
    check(
        &[("requirements.txt", "Flask==3.1.1\n"), ("app.py", "from flask import Flask\napp = Flask(__name__)\n")],
        Some("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"),
        ".venv/bin/flask --app app run --debug --port 5000",
        Some(5000),
        "Flask",
    );
    check(
        &[("requirements.txt", "Django==5.2\n"), ("manage.py", "")],
        Some("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"),
        ".venv/bin/python manage.py runserver 8000",
        Some(8000),
        "Django",
    );
    // "flask-cors" alone is not Flask; a plain script runs as itself.
    check(
        &[("requirements.txt", "flask-cors==5.0\nrequests\n"), ("main.py", "")],
        Some("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"),
        ".venv/bin/python main.py",
        None,
        "Python",
    );
    check(&[("Cargo.toml", "[package]\nname = \"x\"\n")], None, "cargo run", None, "Cargo.toml");
    check(&[("index.html", "<h1>hi</h1>")], None, "python3 -m http.server 8000", Some(8000), "static site");
}

#[test]
fn nothing_to_detect_says_so_and_a_saved_configuration_wins() {
    let (_d, root) = project(&[("notes.txt", "")]);
    let setup = run::load(&root).unwrap();
    assert!(setup.config.is_none() && setup.source.contains("enter the commands"), "{setup:?}");

    let (_d, root) = project(&[("package.json", VITE_REACT_TS)]);
    let mine = RunConfig {
        install: None,
        dev: "npm run dev -- --host".into(),
        port: Some(5174),
        manifests: vec!["package.json".into()],
    };
    run::save(&root, &mine).unwrap();
    let setup = run::load(&root).unwrap();
    assert!(setup.saved && setup.source.contains(".aura/run.json"));
    assert_eq!(setup.config.unwrap(), mine);

    assert!(run::save(&root, &RunConfig { dev: " ".into(), ..mine.clone() })
        .unwrap_err()
        .to_string()
        .contains("empty"));
    assert!(run::save(&root, &RunConfig { port: Some(80), ..mine.clone() }).unwrap_err().to_string().contains("1024"));
    std::fs::write(root.path().join(".aura/run.json"), "{ not json").unwrap();
    assert!(run::load(&root).unwrap_err().to_string().contains("Fix or delete it"));
}

#[test]
fn the_fingerprint_follows_the_manifests() {
    let (_d, root) = project(&[("package.json", VITE_REACT_TS), ("package-lock.json", "{}"), ("src/App.tsx", "")]);
    let (c, _) = run::detect(&root).unwrap();
    let before = run::fingerprint(&root, &c);
    std::fs::write(root.path().join("src/App.tsx"), "changed").unwrap();
    assert_eq!(run::fingerprint(&root, &c), before, "a source change needs no install");
    std::fs::write(root.path().join("package-lock.json"), "{\"changed\":1}").unwrap();
    assert_ne!(run::fingerprint(&root, &c), before, "a lockfile change does");
}

#[test]
fn an_install_is_due_when_the_manifests_changed_or_what_it_fills_is_gone() {
    let (_d, root) = project(&[("package.json", VITE_REACT_TS), ("package-lock.json", "{}")]);
    let (c, _) = run::detect(&root).unwrap();
    let first = run::plan(&root, c.clone(), None);
    assert_eq!(first.install.as_deref(), Some("npm install"), "never installed");
    std::fs::create_dir(root.path().join("node_modules")).unwrap();
    assert_eq!(run::plan(&root, c.clone(), Some(&first.fingerprint)).install, None, "installed, nothing changed");
    std::fs::remove_dir(root.path().join("node_modules")).unwrap();
    assert!(run::plan(&root, c.clone(), Some(&first.fingerprint)).install.is_some(), "node_modules deleted");
    std::fs::create_dir(root.path().join("node_modules")).unwrap();
    std::fs::write(root.path().join("package.json"), VITE_REACT_TS.replace("6.3.5", "6.3.6")).unwrap();
    assert!(run::plan(&root, c, Some(&first.fingerprint)).install.is_some(), "a dependency changed");
}

/// create-turbo's layout: pnpm workspace, `turbo run dev` at the root, two Next.js apps with
/// their own ports, shared packages without a dev script.
#[test]
fn monorepo_apps_are_listed_and_installed_at_the_root() {
    let (_d, root) = project(&[
        (
            "package.json",
            r#"{"name":"my-turborepo","private":true,"scripts":{"build":"turbo run build","dev":"turbo run dev","lint":"turbo run lint"},
              "devDependencies":{"prettier":"^3.6.0","turbo":"^2.5.4","typescript":"5.8.2"},"packageManager":"pnpm@9.0.0","engines":{"node":">=18"}}"#,
        ),
        ("pnpm-workspace.yaml", "packages:\n  - \"apps/*\"\n  - \"packages/*\"\n"),
        ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
        (
            "apps/web/package.json",
            r#"{"name":"web","private":true,"type":"module","scripts":{"dev":"next dev --turbopack --port 3000","build":"next build"},
              "dependencies":{"@repo/ui":"workspace:*","next":"^15.3.0","react":"^19.1.0"}}"#,
        ),
        (
            "apps/docs/package.json",
            r#"{"name":"docs","private":true,"type":"module","scripts":{"dev":"next dev --turbopack --port 3001","build":"next build"},
              "dependencies":{"@repo/ui":"workspace:*","next":"^15.3.0"}}"#,
        ),
        ("packages/ui/package.json", r#"{"name":"@repo/ui","scripts":{"lint":"eslint . --max-warnings 0"}}"#),
        ("packages/eslint-config/package.json", r#"{"name":"@repo/eslint-config","private":true}"#),
        ("apps/web/node_modules/x/package.json", r#"{"name":"x","scripts":{"dev":"x"}}"#),
    ]);
    let setup = run::load(&root).unwrap();
    let c = setup.config.unwrap();
    assert_eq!(c.dev, "pnpm run dev", "the root's own dev script (turbo) stays the default");
    let apps: Vec<_> = setup.apps.iter().map(|a| (a.folder.as_str(), a.name.as_str(), a.framework.as_str())).collect();
    assert_eq!(apps, [("apps/docs", "docs", "Next.js"), ("apps/web", "web", "Next.js")]);
    let web = &setup.apps[1].config;
    assert_eq!(web.install.as_deref(), Some("pnpm install"), "installed at the workspace root");
    assert_eq!(web.dev, "cd apps/web && pnpm run dev");
    assert_eq!(web.port, Some(3000));
    assert_eq!(setup.apps[0].config.port, Some(3001));
    assert_eq!(web.manifests, ["package.json", "pnpm-lock.yaml", "apps/web/package.json"]);
}

/// npm workspaces (yarn's object form too) with no dev script at the root: the app that serves
/// pages is what ▶ Run starts; the API server is listed after it.
#[test]
fn a_workspace_root_without_a_dev_script_runs_its_web_app() {
    let api = r#"{"name":"api","scripts":{"start":"node server.js"},"dependencies":{"express":"^5.1.0"}}"#;
    let client =
        r#"{"name":"client","scripts":{"dev":"vite","build":"vite build"},"devDependencies":{"vite":"^6.3.5"}}"#;
    for root_pkg in [
        r#"{"name":"shop","private":true,"workspaces":["packages/*"]}"#,
        r#"{"name":"shop","private":true,"workspaces":{"packages":["packages/**"],"nohoist":["**/react-native"]}}"#,
    ] {
        let (_d, root) = project(&[
            ("package.json", root_pkg),
            ("package-lock.json", "{}"),
            ("packages/api/package.json", api),
            ("packages/client/package.json", client),
        ]);
        let setup = run::load(&root).unwrap();
        let c = setup.config.unwrap();
        assert_eq!(
            (c.install.as_deref(), c.dev.as_str(), c.port),
            (Some("npm install"), "cd packages/client && npm run dev", Some(5173)),
            "{root_pkg}"
        );
        assert!(setup.source.contains("workspaces: packages/client (Vite, npm)"), "{}", setup.source);
        let folders: Vec<_> = setup.apps.iter().map(|a| a.folder.as_str()).collect();
        assert_eq!(folders, ["packages/client", "packages/api"]);
    }
    // Not a workspace: no apps listed.
    let (_d, root) = project(&[("package.json", VITE_REACT_TS)]);
    assert!(run::load(&root).unwrap().apps.is_empty());
}
