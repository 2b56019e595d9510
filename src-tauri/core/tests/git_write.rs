//! Staging, unstaging and committing through Aura on a real repository: the index and HEAD
//! become what git itself shows, and a repository that plants a filter driver, hooks, a signing
//! program and an fsmonitor in its own configuration runs none of them.

use std::path::Path;
use std::process::Command;

use aura_core::git::{commit, stage, status, unstage, ChangeKind, GitError};
use aura_core::paths::ProjectRoot;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, p: &str, c: &str) {
    let p = dir.join(p);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, c).unwrap();
}

#[test]
fn stage_unstage_and_commit_run_nothing_of_the_repository() {
    // The user's own identity, as in their ~/.gitconfig (this test's process only).
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".gitconfig"),
        "[user]\n\tname = Ada\n\temail = ada@example.com\n[init]\n\tdefaultBranch = main\n",
    )
    .unwrap();
    // SAFETY: set once, before any thread of this test binary reads the environment.
    unsafe { std::env::set_var("HOME", home.path()) };
    unsafe { std::env::set_var("GIT_CONFIG_NOSYSTEM", "1") };

    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    git(p, &["init", "-q"]);
    write(p, "a.txt", "a\n");
    write(p, "b.txt", "b\n");
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "first"]);

    // Planted by code in the sandbox.
    let marker = p.join("ran");
    let cmd = format!("touch {}", marker.display());
    let mut config = std::fs::read_to_string(p.join(".git/config")).unwrap();
    config.push_str(&format!(
        "[core]\n\tfsmonitor = {cmd}\n\thooksPath = .githooks\n[filter \"evil\"]\n\tclean = {cmd}\n\tprocess = {cmd}\n\trequired = true\n[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = {cmd}\n[user]\n\tname = Mallory\n"
    ));
    std::fs::write(p.join(".git/config"), config).unwrap();
    write(p, ".gitattributes", "*.txt filter=evil\n");
    for dir in [".git/hooks", ".githooks"] {
        for hook in
            ["pre-commit", "commit-msg", "post-commit", "post-index-change", "prepare-commit-msg", "post-checkout"]
        {
            write(p, &format!("{dir}/{hook}"), &format!("#!/bin/sh\n{cmd}\n"));
            std::fs::set_permissions(
                p.join(format!("{dir}/{hook}")),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
        }
    }
    let root = ProjectRoot::open(p).unwrap();

    write(p, "a.txt", "a changed\n");
    write(p, "new.txt", "new\n");
    std::fs::remove_file(p.join("b.txt")).unwrap();
    let files = vec!["a.txt".to_string(), "new.txt".to_string(), "b.txt".to_string()];
    stage(&root, &files).unwrap();
    let s = status(&root).unwrap();
    let kind = |p: &str| s.files.iter().find(|f| f.path == p).map(|f| (f.staged, f.unstaged));
    assert_eq!(kind("a.txt"), Some((Some(ChangeKind::Modified), None)));
    assert_eq!(kind("new.txt"), Some((Some(ChangeKind::Added), None)));
    assert_eq!(kind("b.txt"), Some((Some(ChangeKind::Deleted), None)));
    // The index holds the file's bytes, not a filter's output.
    assert_eq!(git(p, &["-c", "core.fsmonitor=false", "show", ":a.txt"]), "a changed\n");

    unstage(&root, &["new.txt".to_string()]).unwrap();
    let s = status(&root).unwrap();
    assert_eq!(
        s.files.iter().find(|f| f.path == "new.txt").map(|f| (f.staged, f.unstaged)),
        Some((None, Some(ChangeKind::Untracked)))
    );

    let id = commit(&root, "Change a, drop b\n\nwith a body", false).unwrap();
    assert_eq!(id.len(), 7);
    let log = git(p, &["-c", "core.fsmonitor=false", "log", "-1", "--format=%h|%an|%s|%b"]);
    assert_eq!(
        log.trim(),
        format!("{id}|Ada|Change a, drop b|with a body"),
        "the user's identity, not the repository's"
    );
    assert_eq!(git(p, &["-c", "core.fsmonitor=false", "show", "HEAD:a.txt"]), "a changed\n");
    let amended = commit(&root, "Change a and drop b", true).unwrap();
    assert_ne!(amended, id);
    assert_eq!(
        git(p, &["-c", "core.fsmonitor=false", "rev-list", "--count", "HEAD"]).trim(),
        "2",
        "amended, not added"
    );

    assert!(matches!(commit(&root, "  ", false), Err(GitError::Refused(_))), "an empty message is refused");
    assert!(matches!(stage(&root, &["../outside".to_string()]), Err(GitError::Refused(_))));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!marker.exists(), "no filter, hook, signing program or fsmonitor of the repository ran");

    // The log and branches; switching, and a switch that would lose changes refused.
    let log = aura_core::git::log(&root, 10).unwrap();
    assert_eq!(log.iter().map(|c| c.summary.as_str()).collect::<Vec<_>>(), ["Change a and drop b", "first"]);
    assert_eq!(log[0].author, "Ada");
    assert!(log[0].time > 1_700_000_000);
    aura_core::git::switch(&root, "feature", true).unwrap();
    assert_eq!(aura_core::git::branches(&root).unwrap().current.as_deref(), Some("feature"));
    write(p, "a.txt", "on feature\n");
    stage(&root, &["a.txt".to_string()]).unwrap();
    commit(&root, "Feature work", false).unwrap();
    write(p, "a.txt", "not committed\n");
    let e = aura_core::git::switch(&root, "main", false).unwrap_err();
    assert!(matches!(&e, GitError::Failed(m) if m.contains("would be overwritten")), "{e:?}");
    assert_eq!(std::fs::read_to_string(p.join("a.txt")).unwrap(), "not committed\n", "nothing lost");
    write(p, "a.txt", "on feature\n");
    aura_core::git::switch(&root, "main", false).unwrap();
    let b = aura_core::git::branches(&root).unwrap();
    assert_eq!((b.current.as_deref(), b.local), (Some("main"), vec!["feature".to_string(), "main".to_string()]));
    assert_eq!(std::fs::read_to_string(p.join("a.txt")).unwrap(), "a changed\n");
    assert!(matches!(aura_core::git::switch(&root, "-f", true), Err(GitError::Refused(_))));
    assert!(!marker.exists(), "no post-checkout hook ran");

    // A branch folder swapped for a link to a folder elsewhere: git's write would land there.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::rename(p.join(".git/refs/heads"), p.join(".git/heads-moved")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), p.join(".git/refs/heads")).unwrap();
    write(p, "a.txt", "again\n");
    let e = stage(&root, &["a.txt".to_string()]).unwrap_err();
    assert!(matches!(&e, GitError::Refused(m) if m.contains("is a link")), "{e:?}");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0, "nothing written elsewhere");
}
