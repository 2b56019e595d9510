//! Every starter × option combination: the files each option brings and nothing when it is off,
//! a valid package.json, and a run configuration detected from the tree that matches the
//! framework's dev server. Bad names and package names are refused before anything is written.

use aura_core::create::template::{self, Framework, NewProject, PackageManager};
use aura_core::paths::ProjectRoot;

fn spec(
    framework: Framework,
    ts: bool,
    eslint: bool,
    prettier: bool,
    tailwind: bool,
    parent: &std::path::Path,
) -> NewProject {
    NewProject {
        name: "My-App_1".into(),
        parent: parent.to_path_buf(),
        framework,
        typescript: ts,
        eslint,
        prettier,
        tailwind,
        package_manager: PackageManager::Npm,
        extra: vec![],
    }
}

#[test]
fn every_combination_brings_its_files_and_only_those() {
    let out = tempfile::tempdir().unwrap();
    let mut n = 0;
    for info in template::frameworks() {
        let tss: &[bool] = if info.typescript_optional { &[false, true] } else { &[info.typescript_always] };
        for &ts in tss {
            for eslint in [false, true].into_iter().filter(|e| !e || info.eslint) {
                for prettier in [false, true].into_iter().filter(|e| !e || info.prettier) {
                    for tailwind in [false, true].into_iter().filter(|e| !e || info.tailwind) {
                        n += 1;
                        let parent = out.path().join(n.to_string());
                        std::fs::create_dir(&parent).unwrap();
                        let p = spec(info.framework, ts, eslint, prettier, tailwind, &parent);
                        let what = format!(
                            "{:?} ts={ts} eslint={eslint} prettier={prettier} tailwind={tailwind}",
                            info.framework
                        );
                        let root = template::create(&p).unwrap_or_else(|e| panic!("{what}: {e}"));
                        let has = |f: &str| root.join(f).exists();
                        let text = |f: &str| std::fs::read_to_string(root.join(f)).unwrap_or_default();
                        if info.node {
                            let pkg: serde_json::Value = serde_json::from_str(&text("package.json"))
                                .unwrap_or_else(|e| panic!("{what}: package.json: {e}"));
                            assert_eq!(pkg["name"], "my-app_1", "{what}");
                            let all = format!("{}{}", pkg["dependencies"], pkg["devDependencies"]);
                            assert_eq!(has("tsconfig.json"), ts, "{what}: tsconfig");
                            assert_eq!(all.contains("\"typescript\""), ts, "{what}: typescript dependency");
                            assert_eq!(has("eslint.config.js"), eslint, "{what}: eslint config");
                            assert_eq!(all.contains("\"eslint\""), eslint, "{what}: eslint dependency");
                            assert_eq!(has(".prettierrc.json"), prettier, "{what}: prettier config");
                            assert_eq!(all.contains("\"tailwindcss\""), tailwind, "{what}: tailwind dependency");
                            assert!(!all.contains("latest"), "{what}: versions are pinned");
                        } else {
                            assert!(text("requirements.txt").contains("=="), "{what}: pinned requirements");
                        }
                        let tw_css = walk(&root).iter().any(|f| {
                            std::fs::read_to_string(f).unwrap_or_default().contains("@import \"tailwindcss\"")
                        });
                        assert_eq!(tw_css, tailwind, "{what}: tailwind css");
                        // ▶ Run knows how to start it.
                        let (run, from) = aura_core::run::detect(&ProjectRoot::open(&root).unwrap()).expect("detected");
                        assert_eq!(run.port, Some(info.port), "{what}: {from}");
                    }
                }
            }
        }
    }
    assert!(n >= 40, "{n} combinations");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn names_and_packages_are_checked_before_anything_is_written() {
    let out = tempfile::tempdir().unwrap();
    let mut p = spec(Framework::React, true, false, false, false, out.path());
    for bad in ["a", "-app", "my app", "../x", "app/x", "ünï"] {
        p.name = bad.into();
        assert!(template::create(&p).unwrap_err().to_string().contains("not a project name"), "{bad}");
    }
    p.name = "ok-name".into();
    p.extra = vec!["zod".into(), "@tanstack/react-query@5.74.4".into(), "Not_Valid".into()];
    assert!(template::create(&p).unwrap_err().to_string().contains("\"Not_Valid\" is not a package name"));
    p.extra.pop();
    let root = template::create(&p).unwrap();
    let pkg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("package.json")).unwrap()).unwrap();
    assert_eq!(pkg["dependencies"]["zod"], "latest");
    assert_eq!(pkg["dependencies"]["@tanstack/react-query"], "5.74.4");

    // Taken: the folder exists with files.
    assert!(template::create(&p).unwrap_err().to_string().contains("already holds files"));
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1, "nothing else was created");

    let mut py = spec(Framework::Fastapi, false, false, false, false, out.path());
    py.name = "api".into();
    py.extra = vec!["requests==2.32.3".into(), "bad name".into()];
    assert!(template::create(&py).is_err());
    py.extra.pop();
    let root = template::create(&py).unwrap();
    assert!(std::fs::read_to_string(root.join("requirements.txt")).unwrap().ends_with("requests==2.32.3\n"));
}
