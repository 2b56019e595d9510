//! The TypeScript starters pass their own type checkers: `tsc --noEmit` (React, Next.js, Express,
//! Angular's app config), `vue-tsc` and `svelte-check`, with Tailwind on and off. The packages
//! they name are installed once from the npm registry (scripts off) into a folder above them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use aura_core::create::template::{self, Framework, NewProject, PackageManager};

fn run(dir: &Path, program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn typescript_starters_type_check() {
    let base = tempfile::tempdir().unwrap();
    let mut projects = vec![];
    let mut union: BTreeMap<String, String> = BTreeMap::new();
    for info in template::frameworks().into_iter().filter(|f| f.node && (f.typescript_optional || f.typescript_always))
    {
        for tailwind in [false, true].into_iter().filter(|t| !t || info.tailwind) {
            let p = NewProject {
                name: format!("{:?}-{}", info.framework, if tailwind { "tw" } else { "plain" }).to_lowercase(),
                parent: base.path().to_path_buf(),
                framework: info.framework,
                typescript: true,
                eslint: false,
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
            projects.push((info.framework, root));
        }
    }
    let manifest = serde_json::json!({ "name": "typecheck", "private": true, "devDependencies": union });
    std::fs::write(base.path().join("package.json"), manifest.to_string()).unwrap();
    let (ok, out) = run(
        base.path(),
        "npm",
        &["install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", "--legacy-peer-deps"],
    );
    assert!(ok, "npm install failed:\n{out}");

    let bin = |tool: &str| base.path().join("node_modules/.bin").join(tool).display().to_string();
    let mut failures = vec![];
    for (framework, root) in &projects {
        let (ok, out) = match framework {
            Framework::Vue => run(root, &bin("vue-tsc"), &["--noEmit", "-p", "tsconfig.json"]),
            Framework::Svelte => {
                run(root, &bin("svelte-check"), &["--tsconfig", "./tsconfig.json", "--fail-on-warnings"])
            }
            Framework::Angular => run(root, &bin("tsc"), &["--noEmit", "-p", "tsconfig.app.json"]),
            Framework::Express => run(root, &bin("tsc"), &["--noEmit", "-p", "tsconfig.json"]),
            _ => run(root, &bin("tsc"), &["--noEmit", "-p", "tsconfig.json"]),
        };
        if !ok {
            failures.push(format!("{}:\n{out}", root.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} starters fail their type check:\n{}",
        failures.len(),
        projects.len(),
        failures.join("\n")
    );
}
