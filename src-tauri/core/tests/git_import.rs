//! Importing from a Git server on 127.0.0.1 (`git daemon`, one per connection on a listener this
//! test owns, so no port can be taken in between): the whole repository, a branch, one subfolder
//! by sparse checkout, and each failure leaving nothing behind.

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aura_core::create::git::{import, GitImport};
use aura_core::create::CreateError;

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.email=t@example.org", "-c", "user.name=t", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

/// A bare repository `starters.git` under a fresh base folder: main has two starters, dev one more file.
fn repository() -> tempfile::TempDir {
    let base = tempfile::tempdir().unwrap();
    let work = base.path().join("work");
    std::fs::create_dir_all(work.join("starters/react/src")).unwrap();
    std::fs::create_dir_all(work.join("starters/vue")).unwrap();
    std::fs::write(work.join("README.md"), "starters\n").unwrap();
    std::fs::write(work.join("starters/react/package.json"), "{\"name\":\"react\"}\n").unwrap();
    std::fs::write(work.join("starters/react/src/App.tsx"), "export default 1\n").unwrap();
    std::fs::write(work.join("starters/vue/package.json"), "{\"name\":\"vue\"}\n").unwrap();
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "starters"]);
    git(&work, &["checkout", "-qb", "dev"]);
    std::fs::write(work.join("DEV.md"), "only on dev\n").unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "dev"]);
    git(&work, &["checkout", "-q", "main"]);
    git(base.path(), &["clone", "-q", "--bare", "work", "starters.git"]);
    base
}

/// `git daemon --inetd` for each connection to a listener bound here; returns the base URL.
fn serve(base: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("git://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let base = base.to_path_buf();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let fd: OwnedFd = conn.into();
            let out = fd.try_clone().unwrap();
            let _ = Command::new("git")
                .args(["daemon", "--inetd", "--export-all"])
                .arg(format!("--base-path={}", base.display()))
                .arg(&base)
                .stdin(Stdio::from(fd))
                .stdout(Stdio::from(out))
                .stderr(Stdio::null())
                .spawn();
        }
    });
    url
}

fn req(url: &str, branch: Option<&str>, sub: Option<&str>, dest: PathBuf) -> GitImport {
    GitImport { url: url.into(), branch: branch.map(Into::into), subfolder: sub.map(Into::into), dest }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn whole_repository_branch_and_one_subfolder() {
    let repo = repository();
    let url = format!("{}/starters.git", serve(repo.path()));
    let out = tempfile::tempdir().unwrap();

    let mut steps = vec![];
    let whole = import(&req(&url, None, None, out.path().join("whole")), |s| steps.push(s.to_string())).unwrap();
    assert_eq!(names(&whole), [".git", "README.md", "starters"]);
    assert!(steps[0].starts_with("cloning git://127.0.0.1:"), "{steps:?}");

    let dev = import(&req(&url, Some("dev"), None, out.path().join("dev")), |_| {}).unwrap();
    assert!(dev.join("DEV.md").exists());

    // One starter: its files only, as the project's root, without the rest or the history.
    let react = import(&req(&url, None, Some("starters/react"), out.path().join("react")), |_| {}).unwrap();
    assert_eq!(names(&react), ["package.json", "src"]);
    assert_eq!(std::fs::read_to_string(react.join("src/App.tsx")).unwrap(), "export default 1\n");

    // An existing empty folder is filled; a local path works as a URL.
    std::fs::create_dir(out.path().join("empty")).unwrap();
    let local = repo.path().join("starters.git").display().to_string();
    let filled = import(&req(&local, Some("dev"), Some("starters/vue"), out.path().join("empty")), |_| {}).unwrap();
    assert_eq!(names(&filled), ["package.json"]);
}

#[test]
fn failures_say_why_and_leave_nothing_behind() {
    let repo = repository();
    let server = serve(repo.path());
    let url = format!("{server}/starters.git");
    let out = tempfile::tempdir().unwrap();

    let e = import(&req(&url, Some("no-such-branch"), None, out.path().join("a")), |_| {}).unwrap_err();
    assert!(matches!(e, CreateError::NoBranch { .. }), "{e}");
    assert!(e.to_string().contains("no branch or tag \"no-such-branch\""), "{e}");

    let e = import(&req(&url, None, Some("starters/angular"), out.path().join("b")), |_| {}).unwrap_err();
    assert!(e.to_string().contains("no folder \"starters/angular\""), "{e}");

    let e = import(&req(&format!("{server}/missing.git"), None, None, out.path().join("c")), |_| {}).unwrap_err();
    assert!(matches!(e, CreateError::Unreachable { .. }), "{e}");

    // Port 1: nothing listens there (privileged, unused), so the connection is refused.
    let e = import(&req("git://127.0.0.1:1/x.git", None, None, out.path().join("d")), |_| {}).unwrap_err();
    assert!(e.to_string().contains("Could not clone"), "{e}");
    assert_eq!(names(out.path()), Vec::<String>::new(), "no folder left by a failed import");

    // An existing empty folder that a failed import used is empty again, not removed.
    std::fs::create_dir(out.path().join("mine")).unwrap();
    assert!(import(&req(&url, None, Some("nope"), out.path().join("mine")), |_| {}).is_err());
    assert_eq!(names(&out.path().join("mine")), Vec::<String>::new());

    // A folder with files is refused before anything runs, and kept as it was.
    std::fs::write(out.path().join("mine/keep.txt"), "mine").unwrap();
    let e = import(&req(&url, None, None, out.path().join("mine")), |_| {}).unwrap_err();
    assert!(e.to_string().contains("already holds files"), "{e}");
    assert_eq!(names(&out.path().join("mine")), ["keep.txt"]);

    let e = import(&req("ext::sh -c touch% /tmp/aura-pwned", None, None, out.path().join("e")), |_| {}).unwrap_err();
    assert!(e.to_string().contains("remote helpers"), "{e}");
    assert!(!out.path().join("e").exists());
}
