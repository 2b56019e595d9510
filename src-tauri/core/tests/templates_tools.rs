//! The starters pass their own tools: every TypeScript starter its type checker — `tsc --noEmit`
//! (React, Next.js, Express, Angular's app config), `vue-tsc`, `svelte-check` — with Tailwind on
//! and off, and every starter with ESLint on (TypeScript and JavaScript) `eslint .` with its own
//! config. The packages they name are installed once from the npm registry (scripts off) into a
//! folder above them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aura_core::create::template::{self, Framework, NewProject, PackageManager};

fn run(dir: &Path, program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// What a starter is checked with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    Types { tailwind: bool },
    Lint { ts: bool },
}

fn variants() -> Vec<(Framework, Check)> {
    let mut out = vec![];
    for info in template::frameworks().into_iter().filter(|f| f.node) {
        if info.typescript_optional || info.typescript_always {
            for tailwind in [false, true].into_iter().filter(|t| !t || info.tailwind) {
                out.push((info.framework, Check::Types { tailwind }));
            }
        }
        if info.eslint {
            for ts in [false, true].into_iter().filter(|t| !t || info.typescript_optional) {
                out.push((info.framework, Check::Lint { ts }));
            }
        }
    }
    out
}

#[test]
fn starters_pass_their_own_tools() {
    let base = tempfile::tempdir().unwrap();
    let mut projects: Vec<(Framework, Check, PathBuf)> = vec![];
    let mut union: BTreeMap<String, String> = BTreeMap::new();
    for (framework, check) in variants() {
        let (name, ts, eslint, tailwind) = match check {
            Check::Types { tailwind } => (if tailwind { "tw" } else { "plain" }, true, false, tailwind),
            Check::Lint { ts } => (if ts { "lint-ts" } else { "lint-js" }, ts, true, false),
        };
        let p = NewProject {
            name: format!("{framework:?}-{name}").to_lowercase(),
            parent: base.path().to_path_buf(),
            framework,
            typescript: ts,
            eslint,
            prettier: false,
            tailwind,
            package_manager: PackageManager::Npm,
            extra: vec![],
        };
        let root = template::create(&p).unwrap();
        let pkg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("package.json")).unwrap()).unwrap();
        for key in ["dependencies", "devDependencies"] {
            for (name, v) in pkg[key].as_object().into_iter().flatten() {
                let v = v.as_str().unwrap().to_string();
                if let Some(old) = union.insert(name.clone(), v.clone()) {
                    assert_eq!(old, v, "{name}: every starter pins the same version");
                }
            }
        }
        projects.push((framework, check, root));
    }
    let manifest = serde_json::json!({ "name": "starters-tools", "private": true, "devDependencies": union });
    std::fs::write(base.path().join("package.json"), manifest.to_string()).unwrap();
    let (ok, out) = run(
        base.path(),
        "npm",
        &["install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", "--legacy-peer-deps"],
    );
    assert!(ok, "npm install failed:\n{out}");

    let bin = |tool: &str| base.path().join("node_modules/.bin").join(tool).display().to_string();
    let mut failures = vec![];
    for (framework, check, root) in &projects {
        let (ok, out) = match (check, framework) {
            (Check::Lint { .. }, _) => run(root, &bin("eslint"), &["--max-warnings", "0", "."]),
            (_, Framework::Vue) => run(root, &bin("vue-tsc"), &["--noEmit", "-p", "tsconfig.json"]),
            (_, Framework::Svelte) => {
                run(root, &bin("svelte-check"), &["--tsconfig", "./tsconfig.json", "--fail-on-warnings"])
            }
            (_, Framework::Angular) => run(root, &bin("tsc"), &["--noEmit", "-p", "tsconfig.app.json"]),
            _ => run(root, &bin("tsc"), &["--noEmit", "-p", "tsconfig.json"]),
        };
        if !ok {
            failures.push(format!("{framework:?} {check:?} in {}:\n{out}", root.display()));
        }
    }
    let lints = projects.iter().filter(|(_, c, _)| matches!(c, Check::Lint { .. })).count();
    assert!(lints >= 4, "{lints} lint checks");
    assert!(
        failures.is_empty(),
        "{} of {} starters fail their own tools:\n{}",
        failures.len(),
        projects.len(),
        failures.join("\n")
    );
}
