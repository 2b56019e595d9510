//! Source control status read in-process from real repositories made with git here: every kind
//! of change, staged and not, a rename, untracked files in new folders; HEAD's text of a file;
//! and a repository that plants a filter driver, `core.fsmonitor`, hooks and `core.worktree`
//! runs none of them and is not redirected.

use std::path::Path;
use std::process::Command;

use aura_core::git::{head_text, status, ChangeKind, GitError};
use aura_core::paths::ProjectRoot;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn write(dir: &Path, p: &str, c: &str) {
    let p = dir.join(p);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, c).unwrap();
}

/// A repository with one commit and then every kind of change.
fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    git(p, &["init", "-q"]);
    for (f, c) in [
        ("a.txt", "a\n"),
        ("b.txt", "b\n"),
        ("c.txt", "c is long enough to be found renamed\n"),
        ("src/m.rs", "fn m() {}\n"),
    ] {
        write(p, f, c);
    }
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "first"]);
    write(p, "a.txt", "a changed\n"); // modified, not staged
    std::fs::remove_file(p.join("b.txt")).unwrap(); // deleted, not staged
    write(p, "d.txt", "d\n");
    git(p, &["add", "d.txt"]); // added, staged
    git(p, &["mv", "c.txt", "e.txt"]); // renamed, staged
    write(p, "src/m.rs", "fn m() { staged }\n");
    git(p, &["add", "src/m.rs"]);
    write(p, "src/m.rs", "fn m() { staged and then changed }\n"); // both
    write(p, "u.txt", "untracked\n");
    write(p, "new/deep/f.txt", "untracked in a new folder\n");
    d
}

#[test]
fn every_kind_of_change_staged_and_not() {
    let d = repo();
    let root = ProjectRoot::open(d.path()).unwrap();
    let s = status(&root).unwrap();
    assert_eq!(s.branch.as_deref(), Some("main"));
    assert_eq!(s.head.as_ref().map(|h| h.len()), Some(7));
    let find =
        |p: &str| s.files.iter().find(|f| f.path == p).unwrap_or_else(|| panic!("{p} not listed: {:?}", s.files));
    assert_eq!((find("a.txt").staged, find("a.txt").unstaged), (None, Some(ChangeKind::Modified)));
    assert_eq!((find("b.txt").staged, find("b.txt").unstaged), (None, Some(ChangeKind::Deleted)));
    assert_eq!((find("d.txt").staged, find("d.txt").unstaged), (Some(ChangeKind::Added), None));
    assert_eq!(find("e.txt").staged, Some(ChangeKind::Renamed));
    assert_eq!(find("e.txt").from.as_deref(), Some("c.txt"));
    assert_eq!(
        (find("src/m.rs").staged, find("src/m.rs").unstaged),
        (Some(ChangeKind::Modified), Some(ChangeKind::Modified))
    );
    assert_eq!(find("u.txt").unstaged, Some(ChangeKind::Untracked));
    assert_eq!(find("new/deep/f.txt").unstaged, Some(ChangeKind::Untracked));
    assert!(!s.files.iter().any(|f| f.path == "c.txt"), "a rename is one entry: {:?}", s.files);
    assert!(!s.truncated);

    assert_eq!(head_text(&root, "a.txt").unwrap().as_deref(), Some("a\n"));
    assert_eq!(head_text(&root, "d.txt").unwrap(), None, "not in HEAD");
    assert!(head_text(&root, "../outside").is_err());
}

#[test]
fn a_planted_repository_runs_nothing_and_is_not_redirected() {
    let d = repo();
    let p = d.path();
    let marker = p.join("ran");
    let elsewhere = tempfile::tempdir().unwrap();
    write(elsewhere.path(), "host-secret.txt", "not the project's\n");
    // What sandboxed code could write into the project's .git and attributes.
    let cmd = format!("touch {}", marker.display());
    let mut config = std::fs::read_to_string(p.join(".git/config")).unwrap();
    config.push_str(&format!(
        "[core]\n\tfsmonitor = {cmd}\n\tworktree = {}\n[filter \"evil\"]\n\tclean = {cmd}\n\tsmudge = {cmd}\n\tprocess = {cmd}\n\trequired = true\n",
        elsewhere.path().display()
    ));
    std::fs::write(p.join(".git/config"), config).unwrap();
    write(p, ".gitattributes", "* filter=evil\n");
    for hook in ["post-checkout", "pre-commit", "post-index-change", "fsmonitor-watchman"] {
        write(p, &format!(".git/hooks/{hook}"), &format!("#!/bin/sh\n{cmd}\n"));
        std::fs::set_permissions(
            p.join(format!(".git/hooks/{hook}")),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    let root = ProjectRoot::open(p).unwrap();
    let s = status(&root).unwrap();
    assert!(s.files.iter().any(|f| f.path == "a.txt"), "the project's own changes: {:?}", s.files);
    assert!(!s.files.iter().any(|f| f.path.contains("host-secret")), "not redirected by core.worktree: {:?}", s.files);
    assert_eq!(head_text(&root, "a.txt").unwrap().as_deref(), Some("a\n"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!marker.exists(), "nothing of the repository ran");

    // A .git that is a link to a repository elsewhere is not followed.
    let linked = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(p.join(".git"), linked.path().join(".git")).unwrap();
    let e = status(&ProjectRoot::open(linked.path()).unwrap()).unwrap_err();
    assert!(matches!(e, GitError::Refused(_)), "{e:?}");
    // No repository: said as such.
    let plain = tempfile::tempdir().unwrap();
    assert!(matches!(status(&ProjectRoot::open(plain.path()).unwrap()), Err(GitError::NotARepository)));
}
