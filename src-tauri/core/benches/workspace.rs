//! Workspace benchmarks: first file-tree listing of a 100k-file project, and project
//! search against ripgrep (`rg`) on the same tree, side by side in one run.
//!
//!     cargo bench -p aura-core --bench workspace
//!
//! Set AURA_BENCH_TREE to reuse a generated tree between runs.

mod common;

use std::process::Command;

use aura_core::paths::ProjectRoot;
use aura_core::workspace::search::{search, SearchQuery};
use aura_core::workspace::tree::list_dir;
use common::*;

fn main() {
    let tmp;
    let path = match std::env::var("AURA_BENCH_TREE") {
        Ok(p) => std::path::PathBuf::from(p),
        Err(_) => {
            tmp = tempfile::tempdir().unwrap();
            tmp.path().to_path_buf()
        }
    };
    if !path.join("pkg_099").exists() {
        let t = std::time::Instant::now();
        generate_tree(&path, 100, 1000);
        println!("generated 100,000 files in {:.1} s", t.elapsed().as_secs_f64());
    }
    let root = ProjectRoot::open(&path).unwrap();

    // --- file tree: the first listing is one folder, whatever the project size ---
    let first = sample(21, || {
        let top = list_dir(&root, "").unwrap();
        assert_eq!(top.len(), 121);
    });
    let big_dir = sample(21, || {
        assert_eq!(list_dir(&root, "pkg_050").unwrap().len(), 1000);
    });
    // What an eager tree would pay: walking everything once.
    let eager = sample(3, || {
        let n = aura_core::workspace::ignore_rules::walker(root.path()).build().count();
        assert!(n > 100_000);
    });
    println!("tree: first listing of a 100k-file project: median {:.2} ms (121 entries)", ms(median(&first)));
    println!("tree: listing a 1,000-file folder: median {:.2} ms", ms(median(&big_dir)));
    println!(
        "tree: a full walk (what an eager tree pays up front): median {:.0} ms = {:.0}x the lazy first listing",
        ms(median(&eager)),
        median(&eager).as_secs_f64() / median(&first).as_secs_f64()
    );

    // --- search vs ripgrep ---
    let q = SearchQuery {
        pattern: NEEDLE.into(),
        regex: false,
        case_sensitive: true,
        whole_word: false,
        max_results: Some(100_000),
    };
    let expected = search(&root, &q).unwrap().matches.len();
    let aura = sample(7, || {
        assert_eq!(search(&root, &q).unwrap().matches.len(), expected);
    });
    let rg_ok = Command::new("rg").arg("--version").output().is_ok();
    if rg_ok {
        let rg = sample(7, || {
            let out = Command::new("rg")
                .args(["--no-config", "-n", "-F", "-c", NEEDLE, "."])
                .current_dir(root.path())
                .output()
                .unwrap();
            let total: usize = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.rsplit(':').next()?.parse::<usize>().ok())
                .sum();
            assert_eq!(total, expected);
        });
        let rx = median(&aura).as_secs_f64() / median(&rg).as_secs_f64();
        println!(
            "search: literal over 100k files ({expected} matches): aura median {:.0} ms, rg median {:.0} ms, ratio aura/rg = {:.2}",
            ms(median(&aura)),
            ms(median(&rg)),
            rx
        );
    } else {
        println!("search: aura median {:.0} ms ({expected} matches); rg not installed, no ratio", ms(median(&aura)));
    }

    let rq = SearchQuery { pattern: r"let x = \d+7;".into(), regex: true, ..q };
    let aura_re = sample(7, || {
        search(&root, &rq).unwrap();
    });
    if rg_ok {
        let rg_re = sample(7, || {
            Command::new("rg")
                .args(["--no-config", "-n", "-c", r"let x = \d+7;", "."])
                .current_dir(root.path())
                .output()
                .unwrap();
        });
        println!(
            "search: regex over 100k files (max 100k results): aura median {:.0} ms, rg median {:.0} ms, ratio aura/rg = {:.2}",
            ms(median(&aura_re)),
            ms(median(&rg_re)),
            median(&aura_re).as_secs_f64() / median(&rg_re).as_secs_f64()
        );
    }
}
