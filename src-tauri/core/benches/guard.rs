//! What the sandbox guard (issue 28: what the host runs is read-only inside) costs, with and
//! without it side by side in one run, alternating:
//! - sandbox create + first exec (`true`), and an exec round trip, on a small Git project and on
//!   a real tree (`AURA_BENCH_TREE`, else a clone of this repository with an installed
//!   `node_modules` beside its sources), median of 30;
//! - the scan alone on that tree;
//! - one creating `open` (on the sandbox's tmpfs, so the disk is out of it) and one
//!   `mkdir`+`rmdir`, per call over 20,000 and 5,000, in one process;
//! - making 10,000 files in 1,000 folders (every one a call the file-creation supervisor
//!   carries out), median of 5;
//! - `npm install` of a real project (express 4.21.2, warm cache, real registry), median of 3.
//!
//! Run: `cargo bench -p aura-core --bench guard` (`AURA_BENCH_TREE=/path/to/a/checkout` for
//! another real tree).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::guard::{Blanks, Guard};
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, Lifecycle, SandboxSpec};
use common::*;

/// 1,000 folders of 10 files each, written and then removed (one `mkdir` and ten creating
/// opens per folder go through the supervisor).
const MAKE_FILES: &str = "python3 -c \"
import os, shutil
for i in range(1000):
    os.makedirs(f'gen/d{i}')
    for j in range(10):
        with open(f'gen/d{i}/f{j}', 'w') as f:
            f.write('x')
shutil.rmtree('gen')
\"";

/// The cost of one call, measured by the sandboxed process itself.
const PER_CALL: &str = "python3 -c \"
import os, time
t = time.perf_counter()
for i in range(20000):
    os.close(os.open('/tmp/f', os.O_CREAT | os.O_WRONLY))
a = (time.perf_counter() - t) / 20000
t = time.perf_counter()
for i in range(5000):
    os.mkdir('/tmp/d')
    os.rmdir('/tmp/d')
b = (time.perf_counter() - t) / 5000
print(f'creating open {a * 1e6:.1f} us, mkdir+rmdir {b * 1e6:.1f} us')
\"";

fn req(c: &str) -> ExecRequest {
    ExecRequest { command: c.into(), timeout_s: Some(300), ..Default::default() }
}

async fn create_exec(p: &LocalProvider, root: &ProjectRoot) -> Duration {
    let t = Instant::now();
    let sb = p.create_for(root, &SandboxSpec::default()).unwrap();
    let o = p.exec(&sb.id, &req("true"), &mut Out(Vec::new())).await.unwrap();
    assert_eq!(o.exit_code, Some(0));
    let d = t.elapsed();
    p.delete(&sb.id).await.unwrap();
    d
}

fn ratio(a: &[Duration], b: &[Duration]) -> f64 {
    median(a).as_secs_f64() / median(b).as_secs_f64()
}

async fn pair(label: &str, root: &ProjectRoot, guarded: &LocalProvider, bare: &LocalProvider, n: usize) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..n {
        a.push(create_exec(guarded, root).await);
        b.push(create_exec(bare, root).await);
    }
    a.sort();
    b.sort();
    println!(
        "guard: create + first exec (true), {label}, median of {n}: guarded {:.1} ms, unguarded {:.1} ms, ratio {:.2}x",
        ms(median(&a)),
        ms(median(&b)),
        ratio(&a, &b)
    );
    let (sa, sb) = (
        guarded.create_for(root, &SandboxSpec::default()).unwrap(),
        bare.create_for(root, &SandboxSpec::default()).unwrap(),
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        guarded.exec(&sa.id, &req("echo hi"), &mut Out(Vec::new())).await.unwrap();
        a.push(t.elapsed());
        let t = Instant::now();
        bare.exec(&sb.id, &req("echo hi"), &mut Out(Vec::new())).await.unwrap();
        b.push(t.elapsed());
    }
    guarded.delete(&sa.id).await.unwrap();
    bare.delete(&sb.id).await.unwrap();
    a.sort();
    b.sort();
    println!(
        "guard: exec round trip (echo), {label}, median of {n}: guarded {:.1} ms, unguarded {:.1} ms, ratio {:.2}x",
        ms(median(&a)),
        ms(median(&b)),
        ratio(&a, &b)
    );
}

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A real tree: `AURA_BENCH_TREE`, else this repository cloned (its history and sources) with
/// express and its dependencies installed in it.
fn real_tree(scratch: &Path) -> std::path::PathBuf {
    if let Ok(t) = std::env::var("AURA_BENCH_TREE") {
        return t.into();
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dest = scratch.join("aura-clone");
    run(Command::new("git").args(["clone", "-q", "--no-hardlinks"]).arg(&repo).arg(&dest));
    std::fs::write(
        dest.join("package.json"),
        r#"{ "name": "bench-tree", "version": "1.0.0", "private": true, "dependencies": { "express": "4.21.2" } }"#,
    )
    .unwrap();
    run(Command::new("npm").args(["install", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&dest));
    dest
}

fn count(root: &Path) -> usize {
    walk_count(root)
}

fn walk_count(p: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    rd.flatten().map(|e| 1 + if e.file_type().is_ok_and(|t| t.is_dir()) { walk_count(&e.path()) } else { 0 }).sum()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let guarded = LocalProvider::new(false).expect("bubblewrap");
    let bare = LocalProvider::new(false).expect("bubblewrap").unguarded();
    let scratch = tempfile::tempdir().unwrap();

    // A small Git project.
    let small = scratch.path().join("small");
    std::fs::create_dir_all(small.join("src")).unwrap();
    std::fs::write(small.join("src/index.js"), "console.log('hi')\n").unwrap();
    run(Command::new("git").args(["init", "-q"]).current_dir(&small));
    let small = ProjectRoot::open(&small).unwrap();

    let tree = real_tree(scratch.path());
    let entries = count(&tree);
    let tree_root = ProjectRoot::open(&tree).unwrap();

    rt.block_on(async {
        pair("small Git project", &small, &guarded, &bare, 30).await;
        pair(&format!("real tree ({entries} entries)"), &tree_root, &guarded, &bare, 30).await;
    });

    let blanks = Blanks::new().unwrap();
    let mut t = Vec::new();
    let mut protected = 0;
    for _ in 0..30 {
        let s = Instant::now();
        let g = Guard::plan(tree_root.path(), &blanks);
        t.push(s.elapsed());
        protected = g.protected;
        aura_core::sandbox::local::guard::remove_placeholders(&g.placeholders);
    }
    t.sort();
    println!(
        "guard: the scan alone, real tree ({entries} entries, {protected} protections), median of 30: {:.1} ms",
        ms(median(&t))
    );

    rt.block_on(async {
        let (sa, sb) = (
            guarded.create_for(&small, &SandboxSpec::default()).unwrap(),
            bare.create_for(&small, &SandboxSpec::default()).unwrap(),
        );
        for (p, id, label) in [(&guarded, &sa.id, "guarded"), (&bare, &sb.id, "unguarded")] {
            let mut out = Out(Vec::new());
            let o = p.exec(id, &req(PER_CALL), &mut out).await.unwrap();
            assert_eq!(o.exit_code, Some(0));
            println!("guard: per call, {label}: {}", String::from_utf8_lossy(&out.0).trim());
        }
        let make = req(MAKE_FILES);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            for (p, id, out) in [(&guarded, &sa.id, &mut a), (&bare, &sb.id, &mut b)] {
                let t = Instant::now();
                let o = p.exec(id, &make, &mut Out(Vec::new())).await.unwrap();
                out.push(t.elapsed());
                assert_eq!(o.exit_code, Some(0));
            }
        }
        a.sort();
        b.sort();
        println!(
            "guard: make 10,000 files in 1,000 folders (python), median of 5: guarded {:.0} ms, unguarded {:.0} ms, ratio {:.2}x",
            ms(median(&a)),
            ms(median(&b)),
            ratio(&a, &b)
        );
        guarded.delete(&sa.id).await.unwrap();
        bare.delete(&sb.id).await.unwrap();
    });

    let npm = scratch.path().join("npm");
    std::fs::create_dir_all(&npm).unwrap();
    std::fs::write(npm.join("package.json"), EXPRESS_APP).unwrap();
    run(Command::new("git").args(["init", "-q"]).current_dir(&npm));
    let npm = ProjectRoot::open(&npm).unwrap();
    rt.block_on(async {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            a.push(npm_warm(&guarded, &npm).await);
            b.push(npm_warm(&bare, &npm).await);
        }
        a.sort();
        b.sort();
        println!(
            "guard: npm install (express 4.21.2, warm cache, isolated network), median of 3: guarded {:.0} ms, unguarded {:.0} ms, ratio {:.2}x",
            ms(median(&a)),
            ms(median(&b)),
            ratio(&a, &b)
        );
    });
}
