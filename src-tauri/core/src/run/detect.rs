//! Guessing how a folder runs from the files it has, as a developer would read them: a Node
//! project's scripts, lockfile and framework; a Python app's dependencies and app module; Cargo;
//! a plain `index.html`. Ports are each tool's current default.

use serde_json::Value;

use super::RunConfig;
use crate::paths::ProjectRoot;

/// Only small manifests are read.
const MAX_MANIFEST: u64 = 1 << 20;

pub(super) fn read(root: &ProjectRoot, rel: &str) -> Option<String> {
    let dir = root.dir().ok()?;
    let f = crate::paths::open_read(&dir, std::path::Path::new(rel)).ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_MANIFEST {
        return None;
    }
    std::io::read_to_string(f).ok()
}

fn exists(root: &ProjectRoot, rel: &str) -> bool {
    root.dir().is_ok_and(|d| d.symlink_metadata(rel).is_ok())
}

/// The run configuration this folder suggests, with a short note of what it was read from.
pub fn detect(root: &ProjectRoot) -> Option<(RunConfig, String)> {
    if let Some(pkg) = read(root, "package.json") {
        return Some(node(root, &pkg));
    }
    if let Some(found) = python(root) {
        return Some(found);
    }
    if exists(root, "Cargo.toml") {
        let config = RunConfig { install: None, dev: "cargo run".into(), port: None, manifests: vec![] };
        return Some((config, "Cargo.toml".into()));
    }
    if exists(root, "index.html") {
        let config =
            RunConfig { install: None, dev: "python3 -m http.server 8000".into(), port: Some(8000), manifests: vec![] };
        return Some((config, "index.html (a static site)".into()));
    }
    None
}

fn node(root: &ProjectRoot, text: &str) -> (RunConfig, String) {
    let pkg: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let (pm, lock) = package_manager(root, &pkg);
    let mut manifests = vec!["package.json".to_string()];
    manifests.extend(lock.map(str::to_string));
    // A workspace root with nothing to run itself: its first app, installed at the root.
    if script_of(&pkg).is_none() {
        if let Some(app) = super::workspaces::apps(root, &pkg, pm, &manifests).into_iter().next() {
            let source = format!("package.json workspaces: {} ({}, {pm})", app.folder, app.framework);
            return (app.config, source);
        }
    }
    let (dev, text) = match script_of(&pkg) {
        Some((name, text)) => (run_script(pm, name), text),
        None => {
            let main = pkg["main"].as_str().unwrap_or("index.js").to_string();
            (format!("node {main}"), String::new())
        }
    };
    let (framework, port) = framework(&pkg, &text);
    let config = RunConfig { install: Some(format!("{pm} install")), dev, port: Some(port), manifests };
    (config, format!("package.json ({framework}, {pm})"))
}

/// The apps of the folder when it is a JavaScript workspace (see `workspaces.rs`).
pub fn workspace_apps(root: &ProjectRoot) -> Vec<super::RunApp> {
    let Some(pkg) = read(root, "package.json").and_then(|t| serde_json::from_str::<Value>(&t).ok()) else {
        return Vec::new();
    };
    let (pm, lock) = package_manager(root, &pkg);
    let mut manifests = vec!["package.json".to_string()];
    manifests.extend(lock.map(str::to_string));
    super::workspaces::apps(root, &pkg, pm, &manifests)
}

/// The script that starts the app (`dev`, else `start`) and its text.
pub(super) fn script_of(pkg: &Value) -> Option<(&'static str, String)> {
    ["dev", "start"].into_iter().find_map(|name| pkg["scripts"][name].as_str().map(|t| (name, t.to_string())))
}

/// `npm run dev`, `pnpm run dev`…
pub(super) fn run_script(pm: &str, name: &str) -> String {
    format!("{pm} run {name}")
}

/// The framework a package uses, and the port it usually serves on (a `--port` in the script wins).
pub(super) fn framework(pkg: &Value, text: &str) -> (&'static str, u16) {
    let has = |dep: &str| pkg["dependencies"].get(dep).is_some() || pkg["devDependencies"].get(dep).is_some();
    let (framework, default_port) = if has("next") || text.contains("next ") {
        ("Next.js", 3000)
    } else if has("@angular/core") || text.contains("ng serve") {
        ("Angular", 4200)
    } else if has("astro") {
        ("Astro", 4321)
    } else if has("nuxt") {
        ("Nuxt", 3000)
    } else if has("@sveltejs/kit") {
        ("SvelteKit", 5173)
    } else if has("vite") || text.contains("vite") {
        ("Vite", 5173)
    } else if has("react-scripts") {
        ("Create React App", 3000)
    } else if has("express") {
        ("Express", 3000)
    } else {
        ("Node.js", 3000)
    };
    (framework, port_flag(text).unwrap_or(default_port))
}

/// The package manager: the lockfile first, then `packageManager`, else npm.
pub(super) fn package_manager(root: &ProjectRoot, pkg: &Value) -> (&'static str, Option<&'static str>) {
    for (lock, pm) in [
        ("pnpm-lock.yaml", "pnpm"),
        ("yarn.lock", "yarn"),
        ("bun.lock", "bun"),
        ("bun.lockb", "bun"),
        ("package-lock.json", "npm"),
    ] {
        if exists(root, lock) {
            return (pm, Some(lock));
        }
    }
    let declared = pkg["packageManager"].as_str().unwrap_or("");
    for pm in ["pnpm", "yarn", "bun"] {
        if declared.starts_with(&format!("{pm}@")) {
            return (pm, None);
        }
    }
    ("npm", None)
}

/// `--port 8080`, `--port=8080` or `-p 8080` in a script.
fn port_flag(script: &str) -> Option<u16> {
    let words: Vec<&str> = script.split_whitespace().collect();
    words.iter().enumerate().find_map(|(i, w)| {
        let value = match *w {
            "--port" | "-p" => words.get(i + 1).copied(),
            w => w.strip_prefix("--port="),
        };
        value.and_then(|v| v.parse().ok()).filter(|p| *p >= 1024)
    })
}

fn python(root: &ProjectRoot) -> Option<(RunConfig, String)> {
    let requirements = read(root, "requirements.txt");
    let pyproject = read(root, "pyproject.toml");
    let manage = exists(root, "manage.py");
    if requirements.is_none() && pyproject.is_none() && !manage {
        return None;
    }
    let deps =
        format!("{}\n{}", requirements.as_deref().unwrap_or(""), pyproject.as_deref().unwrap_or("")).to_lowercase();
    let uses = |name: &str| {
        deps.lines().any(|l| {
            let l = l.trim().trim_start_matches(['"', '\'']);
            l.starts_with(name) && !l[name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_')
        })
    };
    let (install, manifests) = match (&requirements, &pyproject) {
        (Some(_), _) => (".venv/bin/pip install -r requirements.txt", vec!["requirements.txt".to_string()]),
        (None, Some(_)) => (".venv/bin/pip install -e .", vec!["pyproject.toml".to_string()]),
        (None, None) => ("", vec![]),
    };
    let install = (!install.is_empty()).then(|| format!("python3 -m venv .venv && {install}"));
    let (dev, port, what) = if manage {
        (".venv/bin/python manage.py runserver 8000".to_string(), 8000, "Django")
    } else if uses("fastapi") {
        let module = app_module(root, "FastAPI(").unwrap_or_else(|| "main".into());
        (format!(".venv/bin/uvicorn {module}:app --reload --port 8000"), 8000, "FastAPI")
    } else if uses("flask") {
        let module = app_module(root, "Flask(").unwrap_or_else(|| "app".into());
        (format!(".venv/bin/flask --app {module} run --debug --port 5000"), 5000, "Flask")
    } else {
        let main = ["main.py", "app.py"].into_iter().find(|f| exists(root, f)).unwrap_or("main.py");
        (format!(".venv/bin/python {main}"), 0, "Python")
    };
    let port = (port != 0).then_some(port);
    let source = manifests.first().cloned().unwrap_or_else(|| "manage.py".into());
    Some((RunConfig { install, dev, port, manifests }, format!("{source} ({what})")))
}

/// The module that creates the app (`main`, `app`, `app.main`, `src.app`), by looking for `needle`.
fn app_module(root: &ProjectRoot, needle: &str) -> Option<String> {
    ["main.py", "app.py", "app/main.py", "src/main.py", "src/app.py", "app/__init__.py"]
        .into_iter()
        .find(|f| read(root, f).is_some_and(|t| t.contains(needle)))
        .map(|f| f.trim_end_matches(".py").trim_end_matches("/__init__").replace('/', "."))
}
