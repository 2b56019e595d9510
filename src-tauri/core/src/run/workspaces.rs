//! The runnable apps of a JavaScript monorepo: npm / yarn / bun `workspaces` in the root's
//! `package.json`, or pnpm's `pnpm-workspace.yaml` (Turborepo and Nx lay their apps out the same
//! way). Each package folder with a `dev` (or `start`) script is an app: it is installed at the
//! workspace root, where the lockfile is, and started in its own folder.

use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use super::detect::{framework, read, run_script, script_of};
use super::RunConfig;
use crate::paths::ProjectRoot;

/// Folders a pattern is never expanded into.
const SKIP: &[&str] = &["node_modules", ".git", "dist", "build", ".next", ".turbo"];

/// How deep a `**` pattern looks.
const MAX_DEPTH: usize = 4;

/// At most this many apps are listed.
const MAX_APPS: usize = 64;

/// One app of a monorepo, as Run settings offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RunApp {
    /// Its folder, relative to the project (`apps/web`).
    pub folder: String,
    /// Its package name (`web`, `@acme/docs`).
    pub name: String,
    /// "Next.js", "Vite", … as detected from its dependencies.
    pub framework: String,
    /// Installed at the root, started in its folder.
    pub config: RunConfig,
}

/// The workspace's apps, web frameworks first, then by folder. `root_manifests` are the root's
/// `package.json` and lockfile; each app adds its own `package.json`.
pub fn apps(root: &ProjectRoot, root_pkg: &Value, pm: &str, root_manifests: &[String]) -> Vec<RunApp> {
    let mut apps: Vec<RunApp> = folders(root, &patterns(root, root_pkg))
        .into_iter()
        .filter_map(|folder| {
            let text = read(root, &format!("{folder}/package.json"))?;
            let pkg: Value = serde_json::from_str(&text).ok()?;
            let (script, script_text) = script_of(&pkg)?;
            let (framework, port) = framework(&pkg, &script_text);
            let mut manifests = root_manifests.to_vec();
            manifests.push(format!("{folder}/package.json"));
            let config = RunConfig {
                install: Some(format!("{pm} install")),
                dev: format!("cd {} && {}", shell_word(&folder), run_script(pm, script)),
                port: Some(port),
                manifests,
            };
            let name = pkg["name"].as_str().unwrap_or(&folder).to_string();
            Some(RunApp { folder, name, framework: framework.to_string(), config })
        })
        .take(MAX_APPS)
        .collect();
    // Servers and tools (Express, plain Node.js) after the apps that serve pages; `apps/` first.
    apps.sort_by_key(|a| {
        (matches!(a.framework.as_str(), "Node.js" | "Express"), !a.folder.starts_with("apps/"), a.folder.clone())
    });
    apps
}

/// The workspace patterns: `workspaces` (a list, or yarn's `{ packages: [...] }`), else the
/// `packages:` list of `pnpm-workspace.yaml`. Exclusions (`!…`) are left out.
fn patterns(root: &ProjectRoot, pkg: &Value) -> Vec<String> {
    let listed = match &pkg["workspaces"] {
        Value::Array(a) => a.clone(),
        Value::Object(o) => o.get("packages").and_then(Value::as_array).cloned().unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = listed.iter().filter_map(Value::as_str).map(str::to_string).collect();
    if out.is_empty() {
        if let Some(yaml) = read(root, "pnpm-workspace.yaml") {
            out = pnpm_packages(&yaml);
        }
    }
    out.retain(|p| !p.starts_with('!'));
    out
}

/// The `packages:` list of a `pnpm-workspace.yaml` (block style, quoted or not).
fn pnpm_packages(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in yaml.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t', '-']) {
            inside = t == "packages:";
            continue;
        }
        if let Some(item) = t.strip_prefix('-').filter(|_| inside) {
            let item = item.split(" #").next().unwrap_or("").trim().trim_matches(['"', '\'']);
            if !item.is_empty() {
                out.push(item.to_string());
            }
        }
    }
    out
}

/// The folders the patterns name (`apps/*`, `packages/**`, `tools/cli`), sorted, each once.
fn folders(root: &ProjectRoot, patterns: &[String]) -> Vec<String> {
    let Ok(dir) = root.dir() else { return Vec::new() };
    let mut out = std::collections::BTreeSet::new();
    for pattern in patterns {
        let parts: Vec<&str> = pattern.trim_start_matches("./").trim_end_matches('/').split('/').collect();
        expand(&dir, String::new(), &parts, 0, &mut out);
    }
    out.into_iter().collect()
}

fn expand(
    dir: &cap_std::fs::Dir,
    at: String,
    parts: &[&str],
    depth: usize,
    out: &mut std::collections::BTreeSet<String>,
) {
    let Some((first, rest)) = parts.split_first() else {
        if !at.is_empty() {
            out.insert(at);
        }
        return;
    };
    let join = |name: &str| if at.is_empty() { name.to_string() } else { format!("{at}/{name}") };
    let children = || -> Vec<String> {
        let Ok(d) = (if at.is_empty() { dir.try_clone() } else { dir.open_dir(&at) }) else { return Vec::new() };
        let Ok(entries) = d.entries() else { return Vec::new() };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !SKIP.contains(&n.as_str()) && !n.starts_with('.'))
            .collect()
    };
    match *first {
        "**" => {
            // Zero or more folders.
            expand(dir, at.clone(), rest, depth, out);
            if depth < MAX_DEPTH {
                for name in children() {
                    expand(dir, join(&name), parts, depth + 1, out);
                }
            }
        }
        p if p.contains('*') => {
            for name in children().into_iter().filter(|n| matches(p, n)) {
                expand(dir, join(&name), rest, depth + 1, out);
            }
        }
        "" | "." => expand(dir, at, rest, depth, out),
        ".." => {}
        name => {
            let next = join(name);
            if dir.metadata(&next).is_ok_and(|m| m.is_dir()) {
                expand(dir, next, rest, depth + 1, out);
            }
        }
    }
}

/// A one-segment glob with `*` (`*`, `app-*`, `*-web`).
fn matches(pattern: &str, name: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    true
}

/// `folder` as one word for `sh`, quoted only when it must be.
fn shell_word(folder: &str) -> String {
    if folder.chars().all(|c| c.is_ascii_alphanumeric() || "/._-@+".contains(c)) {
        folder.to_string()
    } else {
        format!("'{}'", folder.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_pnpm_lists() {
        assert!(matches("*", "web"));
        assert!(matches("app-*", "app-web"));
        assert!(!matches("app-*", "web"));
        assert!(matches("*-web", "acme-web"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxc"));
        let yaml = "# the workspace\npackages:\n  - 'apps/*'\n  - \"packages/*\" # shared\n  - '!**/test/**'\ncatalog:\n  react: ^19\n";
        assert_eq!(pnpm_packages(yaml), ["apps/*", "packages/*", "!**/test/**"]);
        assert_eq!(shell_word("apps/web"), "apps/web");
        assert_eq!(shell_word("apps/my web"), "'apps/my web'");
    }
}
