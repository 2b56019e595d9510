//! Source control status on a large real tree, side by side in one run: Aura's status (gix,
//! in-process, the repository's configuration unread) vs `git status --porcelain=v2` on the
//! same repository — clean, and with 10 files changed and 5 new; and opening a diff (HEAD's
//! text of a file) vs `git show HEAD:<file>`. The tree: this checkout's installed npm packages
//! (`npm ci` in `ui/` and `tests/e2e/`) copied six times into one repository (about 60,000
//! files), committed.
//!
//!     cargo bench -p aura-core --bench git

#[path = "common.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use aura_core::git;
use aura_core::paths::ProjectRoot;
use common::{median, ms, sample};

const RUNS: usize = 9;

fn sh(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=B", "-c", "user.email=b@example.com", "-c", "core.fsmonitor=false", "-c", "gc.auto=0"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_tree(from: &Path, to: &Path) {
    let st = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(st.success());
}

/// `RUNS` timings of each, taken in turn (so both see the same machine), each sorted.
fn alternating(mut aura: impl FnMut(), mut peer: impl FnMut()) -> (Vec<std::time::Duration>, Vec<std::time::Duration>) {
    let (mut a, mut g) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        a.extend(sample(1, &mut aura));
        g.extend(sample(1, &mut peer));
    }
    a.sort();
    g.sort();
    (a, g)
}

fn main() {
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sources = [repo_root.join("ui/node_modules"), repo_root.join("tests/e2e/node_modules")];
    for s in &sources {
        assert!(s.is_dir(), "{} is missing: run npm ci in ui/ and tests/e2e/ first", s.display());
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for i in 0..6 {
        std::fs::create_dir_all(p.join(format!("copy{i}"))).unwrap();
        for (j, s) in sources.iter().enumerate() {
            copy_tree(s, &p.join(format!("copy{i}/vendor{j}")));
        }
    }
    sh(p, &["init", "-q"]);
    sh(p, &["add", "-A"]);
    sh(p, &["commit", "-q", "-m", "tree"]);
    // Objects packed, as in a clone.
    sh(p, &["gc", "-q"]);
    let files: Vec<String> = sh(p, &["ls-files"]).lines().map(str::to_string).collect();
    let root = ProjectRoot::open(p).unwrap();

    let git_status = || {
        sh(p, &["status", "--porcelain=v2", "-uall"]);
    };
    let aura_status = || {
        git::status(&root).unwrap();
    };
    // Warm both (page cache, git's index refresh).
    for _ in 0..2 {
        git_status();
        aura_status();
    }
    println!("| {} files in the repository | Aura | git | ratio git / Aura |", files.len());
    println!("|---|---|---|---|");
    let row = |name: &str, a: &[std::time::Duration], g: &[std::time::Duration]| {
        let (a, g) = (median(a), median(g));
        println!("| {name} (median of {RUNS}) | {:.1} ms | {:.1} ms | **{:.2}×** |", ms(a), ms(g), ms(g) / ms(a));
    };
    let (a, g) = alternating(aura_status, git_status);
    row("status, clean", &a, &g);

    for (i, f) in files.iter().step_by(files.len() / 10).take(10).enumerate() {
        std::fs::write(p.join(f), format!("changed {i}\n")).unwrap();
    }
    for i in 0..5 {
        std::fs::write(p.join(format!("copy{i}/new-{i}.txt")), "new\n").unwrap();
    }
    // The same files as git lists (some packages hold hard links: writing one changes two).
    let s = git::status(&root).unwrap();
    let listed = sh(p, &["status", "--porcelain=v2", "-uall"]).lines().count();
    assert_eq!(
        s.files.len(),
        listed,
        "{:?}",
        s.files.iter().map(|f| (&f.path, f.staged, f.unstaged)).collect::<Vec<_>>()
    );
    let (a, g) = alternating(aura_status, git_status);
    row(&format!("status, {} files changed or new", s.files.len()), &a, &g);

    let file = &files[files.len() / 2];
    let (a, g) = alternating(
        || {
            git::head_text(&root, file).unwrap();
        },
        || {
            sh(p, &["show", &format!("HEAD:{file}")]);
        },
    );
    row("a diff's HEAD text", &a, &g);
}
