//! Nothing written inside a local sandbox runs on the host: real bubblewrap, real git. Each
//! attack runs inside the sandbox and must fail; the host's own `git status`, `git commit` and
//! `git fetch` afterwards must run nothing the sandbox planted (no marker file appears, written
//! by the planted command to a host folder the sandbox cannot see).

use std::path::{Path, PathBuf};
use std::process::Command;

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, Lifecycle, SandboxSpec};

#[path = "support/exec.rs"]
mod exec;
use exec::{rt, Collect};

/// Host git with nothing of the user's own configuration.
fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(["-c", "user.name=Host", "-c", "user.email=host@example.invalid", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
}

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Fx {
    dirs: Vec<tempfile::TempDir>,
    project: PathBuf,
    /// Where a planted command would leave its mark (outside the project: host only).
    marker: PathBuf,
    p: LocalProvider,
    id: String,
}

/// A project that is a Git repository with one commit and a remote (a bare repository beside it).
fn repo() -> Fx {
    let (proj, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let project = proj.path().canonicalize().unwrap();
    let bare = outside.path().join("origin.git");
    ok(git(outside.path(), &["init", "-q", "--bare", bare.to_str().unwrap()]));
    std::fs::write(project.join("README.md"), "hello\n").unwrap();
    ok(git(&project, &["init", "-q"]));
    ok(git(&project, &["add", "."]));
    ok(git(&project, &["commit", "-q", "-m", "first"]));
    ok(git(&project, &["remote", "add", "origin", bare.to_str().unwrap()]));
    ok(git(&project, &["push", "-q", "origin", "main"]));
    fx_over(project, vec![proj, outside])
}

fn fx_over(project: PathBuf, mut dirs: Vec<tempfile::TempDir>) -> Fx {
    let marks = tempfile::tempdir().unwrap();
    let marker = marks.path().join("RAN-ON-HOST");
    dirs.push(marks);
    let p = LocalProvider::new(false).expect("bubblewrap must work on the test machine");
    let id = p.create_for(&ProjectRoot::open(&project).unwrap(), &SandboxSpec::default()).unwrap().id;
    Fx { dirs, project, marker, p, id }
}

impl Fx {
    /// Runs `cmd` in the sandbox; returns (exit code, output).
    fn sandbox(&self, cmd: &str) -> (i32, String) {
        let mut c = Collect::default();
        let req = ExecRequest { command: cmd.into(), timeout_s: Some(60), ..Default::default() };
        let r = rt().block_on(self.p.exec(&self.id, &req, &mut c)).unwrap();
        (r.exit_code.unwrap_or(-1), String::from_utf8_lossy(&c.0).into_owned())
    }

    /// The command that would leave the marker, for planting.
    fn payload(&self) -> String {
        format!("touch {}", self.marker.display())
    }

    /// `cmd` must fail inside the sandbox (which itself starts: a marker line comes first).
    fn refused(&self, what: &str, cmd: &str) -> String {
        let (code, out) = self.sandbox(&format!("echo SANDBOX-UP; {cmd}"));
        assert!(out.contains("SANDBOX-UP"), "{what}: the sandbox did not start:\n{out}");
        assert_ne!(code, 0, "{what}: the sandbox was allowed to do it:\n{out}");
        out
    }

    /// The host uses Git in the project as a user would; nothing planted may run.
    fn host_git_runs_nothing_planted(&self, what: &str) {
        let _ = git(&self.project, &["status"]);
        let _ = git(&self.project, &["commit", "-q", "--allow-empty", "-m", "host commit"]);
        let _ = git(&self.project, &["fetch", "-q", "origin"]);
        assert!(!self.marker.exists(), "{what}: a command planted by the sandbox ran on the host");
    }
}

#[test]
fn the_marker_shows_when_git_runs_a_planted_command() {
    // The control: the same payload, planted on the host itself, does run (so a missing marker
    // in the other tests means the planting failed, not the check).
    let f = repo();
    ok(git(&f.project, &["config", "core.fsmonitor", &f.payload()]));
    let _ = git(&f.project, &["status"]);
    assert!(f.marker.exists(), "the control payload did not run");
}

#[test]
fn git_settings_and_hooks_cannot_be_planted() {
    let f = repo();
    let payload = f.payload();
    let out = f.refused("git config core.fsmonitor", &format!("git config core.fsmonitor '{payload}'"));
    assert!(out.contains("Read-only") || out.contains("busy") || out.contains("Permission denied"), "{out}");
    f.refused("git config --worktree", &format!("git config --worktree core.fsmonitor '{payload}'"));
    f.refused(
        "a hook",
        &format!("printf '#!/bin/sh\\n{payload}\\n' > .git/hooks/post-commit && chmod +x .git/hooks/post-commit"),
    );
    f.refused("hooks folder replaced", "rm -rf .git/hooks");
    f.refused("attributes for a filter", "echo '* filter=x' > .git/info/attributes");
    f.refused("a commondir leading elsewhere", "mkdir -p evil && echo ../evil > .git/commondir");
    f.refused("a repository moved away and made anew", "mv .git .git-old && git init -q .");
    f.refused("writing through a symbolic link", "ln -s .git/config cfg && echo '[core]' >> cfg");
    f.refused("a hard link", "ln .git/config hard");
    f.refused("editor tasks", "mkdir -p .vscode && echo '{}' > .vscode/tasks.json");
    f.refused("agent hooks", "mkdir -p .claude && echo '{}' > .claude/settings.json");
    // Present, the file names are read-only too.
    std::fs::write(f.project.join(".envrc"), "export A=1\n").unwrap();
    std::fs::write(f.project.join(".gitmodules"), "").unwrap();
    f.refused("direnv", &format!("echo '{payload}' > .envrc"));
    f.refused("a submodule list", "echo '[submodule \"x\"]' > .gitmodules");
    // Missing at the root, a file name has no placeholder: making it is refused by the supervisor.
    f.refused("an agent's server list", "echo '{}' > .mcp.json");
    assert!(!f.project.join(".mcp.json").exists());
    let _ = f.sandbox("true");
    let g = rt().block_on(f.p.get(&f.id)).unwrap().guard.unwrap();
    // (The two this test wrote on the host meanwhile are named: who made one cannot be told.)
    assert_eq!(g.appeared, [".envrc", ".gitmodules"], "{g:?}");
    for line in ["created .mcp.json", "wrote .git/config", "created .git/hooks/post-commit", "wrote .envrc"] {
        assert!(g.blocked.iter().any(|b| b == line), "{line} not in {:?}", g.blocked);
    }
    f.host_git_runs_nothing_planted("settings and hooks");
    // The placeholders (empty folders) are nothing the host's git offers for commit.
    let status = ok(git(&f.project, &["status", "--porcelain", "--untracked-files=all"]));
    for name in [".vscode", ".claude", ".idea"] {
        assert!(!status.contains(name), "{status}");
    }
    let config = std::fs::read_to_string(f.project.join(".git/config")).unwrap();
    assert!(!config.contains("fsmonitor"), "{config}");
    assert!(!f.project.join(".git/hooks/post-commit").exists());
    assert!(f.project.join(".git/HEAD").exists() && !f.project.join(".git-old").exists());
}

#[test]
fn git_still_works_inside_the_sandbox_and_the_host_sees_its_commit() {
    let f = repo();
    let id = "-c user.name=Sandbox -c user.email=sandbox@example.invalid";
    let (code, out) = f.sandbox(&format!(
        "echo change >> README.md && echo new > new.txt && git add -A && git {id} commit -q -m 'from the sandbox' \
         && git checkout -q -b feature && git {id} commit -q --allow-empty -m 'on feature' && git log --oneline | head -3"
    ));
    assert_eq!(code, 0, "{out}");
    let log = ok(git(&f.project, &["log", "--format=%s", "feature"]));
    assert_eq!(log.lines().take(2).collect::<Vec<_>>(), ["on feature", "from the sandbox"], "{log}");
    assert_eq!(ok(git(&f.project, &["status", "--porcelain"])), "");
    f.host_git_runs_nothing_planted("ordinary git use");
}

#[test]
fn a_project_without_git_cannot_become_a_repository_from_inside() {
    let d = tempfile::tempdir().unwrap();
    let project = d.path().canonicalize().unwrap();
    std::fs::write(project.join("index.js"), "console.log(1)\n").unwrap();
    let f = fx_over(project, vec![d]);
    let payload = f.payload();
    f.refused("git init", "git init -q .");
    f.refused("a .git file pointing elsewhere", "mkdir -p store && echo 'gitdir: store' > .git");
    f.refused("a .git folder by hand", &format!("mkdir -p .git/hooks && echo '{payload}' > .git/hooks/post-checkout"));
    f.refused("editor folder", "mkdir .vscode");
    f.refused("agent folder", "mkdir -p .claude && echo '{}' > .claude/settings.json");
    // While the sandbox runs, its placeholders are empty; the host's git finds no repository,
    // and the file tree does not show them.
    assert!(!git(&f.project, &["status"]).status.success());
    let root = ProjectRoot::open(&f.project).unwrap();
    let listed: Vec<String> =
        aura_core::workspace::tree::list_dir(&root, "").unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(listed, ["store", "index.js"], "placeholders are not part of the project");
    assert!(std::fs::read_dir(f.project.join(".git")).unwrap().next().is_none());
    // Stopped, the sandbox leaves nothing behind.
    rt().block_on(f.p.stop(&f.id)).unwrap();
    let left: Vec<String> = std::fs::read_dir(&f.project)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "index.js" && n != "store")
        .collect();
    assert!(left.is_empty(), "placeholders left in the project: {left:?}");
    assert!(!f.marker.exists());
}

#[test]
fn nested_repositories_and_existing_tool_folders_are_protected_too() {
    let f = repo();
    let nested = f.project.join("packages/lib");
    std::fs::create_dir_all(&nested).unwrap();
    ok(git(&nested, &["init", "-q"]));
    std::fs::create_dir_all(f.project.join("web/.vscode")).unwrap();
    std::fs::write(f.project.join("web/.vscode/settings.json"), "{}\n").unwrap();
    let payload = f.payload();
    f.refused("a nested repository's config", &format!("git -C packages/lib config core.fsmonitor '{payload}'"));
    f.refused("a nested repository moved away", "mv packages/lib/.git packages/lib/old");
    f.refused("a nested editor folder", "echo '{\"x\":1}' > web/.vscode/settings.json");
    let _ = git(&nested, &["status"]);
    assert!(!f.marker.exists(), "the nested repository ran a planted command");
    // A new repository in a subfolder is refused, and listed.
    f.refused("a new repository in a subfolder", "mkdir -p web/app && git init -q web/app");
    let _ = f.sandbox("true");
    let g = rt().block_on(f.p.get(&f.id)).unwrap().guard.unwrap();
    assert!(g.appeared.is_empty(), "packages/lib was there from the start: {g:?}");
    assert!(g.blocked.iter().any(|b| b == "created web/app/.git"), "{g:?}");
    assert!(!f.project.join("web/app/.git").exists());
    assert_eq!(std::fs::read_to_string(f.project.join("web/.vscode/settings.json")).unwrap(), "{}\n");
    f.host_git_runs_nothing_planted("nested");
}

#[test]
fn a_submodule_keeps_its_settings_and_hooks_and_can_still_commit() {
    let f = repo();
    let lib = f.dirs[1].path().join("lib");
    ok(git(f.dirs[1].path(), &["init", "-q", lib.to_str().unwrap()]));
    ok(git(&lib, &["commit", "-q", "--allow-empty", "-m", "lib"]));
    ok(git(
        &f.project,
        &["-c", "protocol.file.allow=always", "submodule", "add", "-q", lib.to_str().unwrap(), "vendor/lib"],
    ));
    ok(git(&f.project, &["commit", "-q", "-m", "with a submodule"]));
    assert!(f.project.join(".git/modules/vendor/lib/hooks").is_dir());
    let payload = f.payload();
    f.refused("the submodule's config", &format!("git -C vendor/lib config core.fsmonitor '{payload}'"));
    f.refused("the submodule's hooks", "echo x > .git/modules/vendor/lib/hooks/post-commit");
    f.refused("the submodule's pointer", "echo 'gitdir: /tmp' > vendor/lib/.git");
    let (code, out) =
        f.sandbox("git -C vendor/lib -c user.name=s -c user.email=s@example.invalid commit -q --allow-empty -m inside");
    assert_eq!(code, 0, "{out}");
    assert!(ok(git(&f.project.join("vendor/lib"), &["log", "--format=%s"])).starts_with("inside"));
    let _ = git(&f.project.join("vendor/lib"), &["status"]);
    f.host_git_runs_nothing_planted("submodule");
}

#[test]
fn only_the_standard_descriptors_reach_a_command() {
    let f = repo();
    let (code, out) = f.sandbox("ls /proc/self/fd");
    assert_eq!(code, 0, "{out}");
    // 0-2, and the descriptor `ls` opened to list the folder.
    assert!(out.split_whitespace().count() <= 4, "descriptors leaked into the sandbox: {out}");
}

#[test]
fn the_panel_says_what_is_protected() {
    let f = repo();
    let _ = f.sandbox("true");
    let info = rt().block_on(f.p.get(&f.id)).unwrap();
    let g = info.guard.expect("a report once a command ran");
    // .git pinned; config, commondir, hooks, info; three folder placeholders at the root.
    assert!(g.protected >= 8, "{g:?}");
    assert!(g.unprotected.is_empty() && g.appeared.is_empty(), "{g:?}");
    // A link where Git reads its hooks is named, and its .git made read-only as a whole.
    std::fs::remove_dir_all(f.project.join(".git/hooks")).unwrap();
    std::os::unix::fs::symlink("/tmp", f.project.join(".git/hooks")).unwrap();
    let (code, out) = f.sandbox("git -c user.name=a -c user.email=b commit -q --allow-empty -m x");
    assert_ne!(code, 0, "{out}");
    let g = rt().block_on(f.p.get(&f.id)).unwrap().guard.unwrap();
    assert!(g.unprotected.iter().any(|n| n.contains(".git/hooks") && n.contains("symbolic link")), "{g:?}");
}

#[test]
fn a_new_repository_or_tool_file_cannot_come_to_be_in_any_way() {
    let d = tempfile::tempdir().unwrap();
    let project = d.path().canonicalize().unwrap();
    std::fs::create_dir_all(project.join("sub")).unwrap();
    std::fs::create_dir_all(project.join("store/objects")).unwrap();
    let f = fx_over(project, vec![d]);
    f.refused("a folder", "mkdir sub/.git");
    f.refused("a pointer file", "echo 'gitdir: ../store' > sub/.git");
    f.refused("a folder renamed into place", "mkdir x && mv x sub/.git");
    f.refused("a file renamed into place", "echo 'gitdir: ../store' > y && mv y sub/.git");
    f.refused("a symbolic link", "ln -s ../store sub/.git");
    f.refused("a hard link", "echo 'gitdir: ../store' > z && ln z sub/.git");
    f.refused("made through a dangling link", "ln -s .git sub/door && echo 'gitdir: ../store' > sub/door");
    f.refused("a special file", "mkfifo sub/.git");
    f.refused("an exchange", "python3 -c \"import ctypes,os; os.mkdir('e'); l=ctypes.CDLL(None,use_errno=True); r=l.renameat2(-100,b'e',-100,b'sub/.envrc',2); raise SystemExit(r)\"");
    f.refused("direnv at the root", "echo 'touch /tmp/x' > .envrc");
    f.refused(
        "by Node (a postinstall script)",
        "node -e \"require('fs').promises.mkdir('sub/.git').catch(e => { console.log(e.code); process.exit(1) })\"",
    );
    f.refused("an editor folder deeper down", "mkdir -p sub/deeper/.vscode");
    // Packages ship editor folders: inside node_modules they are made; what carries one out of
    // node_modules is refused as a whole.
    let (code, out) = f.sandbox("mkdir -p node_modules/pkg/.vscode node_modules/pkg/lib && echo ok");
    assert_eq!(code, 0, "{out}");
    f.refused("carried out of node_modules", "mv node_modules/pkg pkg");
    f.refused("node_modules renamed", "mv node_modules modules");
    let (code, out) = f.sandbox("mv node_modules/pkg/lib lib && echo moved");
    assert_eq!(code, 0, "an ordinary folder leaves node_modules: {out}");
    // Outside the project (here /tmp), repositories are made as usual.
    let (code, out) = f.sandbox("git init -q /tmp/elsewhere && ls -d /tmp/elsewhere/.git");
    assert_eq!(code, 0, "{out}");
    let g = rt().block_on(f.p.get(&f.id)).unwrap().guard.unwrap();
    assert!(g.blocked.iter().any(|b| b == "created sub/.git"), "{g:?}");
    assert!(g.blocked.iter().any(|b| b.starts_with("moved out of node_modules to pkg: ")), "{g:?}");
    // Stopped (its placeholders gone), the project holds none but the package's own folder.
    rt().block_on(f.p.stop(&f.id)).unwrap();
    let left: Vec<String> = walk(&f.project).into_iter().filter(|p| aura_core::host_run::why(p).is_some()).collect();
    assert_eq!(left, ["node_modules/pkg/.vscode"], "only the package's own folder may exist");
}

#[test]
fn a_name_rewritten_while_the_call_is_checked_cannot_slip_through() {
    // Deciding on a name read from the caller's memory and letting the kernel read it again is
    // a race a second thread wins by rewriting the name in between. The supervisor makes the
    // call on its own copy: thousands of tries with a thread flipping the name never make one.
    let d = tempfile::tempdir().unwrap();
    let project = d.path().canonicalize().unwrap();
    std::fs::create_dir_all(project.join("sub")).unwrap();
    let f = fx_over(project, vec![d]);
    let race = r#"
import ctypes, threading, os
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(b"sub/aaaa", 16)
stop = []
def flip():
    while not stop:
        ctypes.memmove(buf, b"sub/.git", 8)
        ctypes.memmove(buf, b"sub/aaaa", 8)
t = threading.Thread(target=flip)
t.start()
made = refused = 0
for i in range(5000):
    if libc.mkdir(buf, 0o755) == 0:
        made += 1
    else:
        refused += 1
    libc.rmdir(b"sub/aaaa")
stop.append(1)
t.join()
print("made", made, "refused", refused, "git", os.path.exists("sub/.git"))
"#;
    let (code, out) = f.sandbox(&format!("python3 -c '{}'", race.replace('\'', "'\\''")));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("git False"), "{out}");
    assert!(!f.project.join("sub/.git").exists());
    // Both names were tried (the race was on).
    let nums: Vec<u64> = out.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert!(nums.len() == 2 && nums[0] > 0 && nums[1] > 0, "{out}");
}

/// Project-relative paths of everything under `root`.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                stack.push(r.clone());
            }
            out.push(r.to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

#[test]
fn where_a_protection_cannot_be_set_up_commands_wait_for_the_users_choice() {
    let f = repo();
    // An editor folder that is a link cannot be made read-only (the mount would follow it).
    std::fs::create_dir_all(f.project.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink("elsewhere", f.project.join(".vscode")).unwrap();
    let req = ExecRequest { command: "echo RAN".into(), timeout_s: Some(60), ..Default::default() };
    let err = rt().block_on(f.p.exec(&f.id, &req, &mut Collect::default())).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(".vscode") && msg.contains("Run without these protections"), "{msg}");
    let g = rt().block_on(f.p.get(&f.id)).unwrap().guard.unwrap();
    assert!(g.unprotected.iter().any(|n| n.starts_with(".vscode")), "the panel names it: {g:?}");
    // The user chose to run anyway: the next sandbox runs commands, still with the rest.
    let spec = SandboxSpec { allow_unprotected: true, ..Default::default() };
    let id = f.p.create_for(&ProjectRoot::open(&f.project).unwrap(), &spec).unwrap().id;
    let mut c = Collect::default();
    let req = ExecRequest { command: "echo RAN; git config core.fsmonitor x || echo REFUSED".into(), ..req };
    let r = rt().block_on(f.p.exec(&id, &req, &mut c)).unwrap();
    let out = String::from_utf8_lossy(&c.0);
    assert_eq!(r.exit_code, Some(0), "{out}");
    assert!(out.contains("RAN") && out.contains("REFUSED"), "{out}");
}

#[test]
fn a_protection_the_host_lifted_still_holds_for_commands_already_running() {
    // The kernel detaches a mount whose file is replaced from another mount namespace: `git
    // config` on the host renames a new .git/config over the protected one while a sandboxed
    // command runs. The supervisor still refuses writing it, by path.
    let f = repo();
    let payload = f.payload();
    let go = f.project.join("go");
    let script = format!(
        "echo SANDBOX-UP; while [ ! -e go ]; do sleep 0.05; done; \
         python3 -c 'open(\".git/config\", \"r+\").write(\"[core]\\n\\tfsmonitor = {payload}\\n\")' 2>/dev/null; echo WRITE=$?; \
         git config core.fsmonitor '{payload}' 2>/dev/null; echo CONFIG=$?; \
         rm -rf .git/hooks 2>/dev/null; mkdir .git/hooks 2>/dev/null; echo HOOKS=$?"
    );
    let out = std::thread::scope(|s| {
        let running = s.spawn(|| f.sandbox(&script));
        // The command is running (its mounts are up) before the host replaces the file.
        let rt = rt();
        while !rt.block_on(f.p.processes(&f.id)).unwrap_or_default().iter().any(|p| p.command == "sh") {
            assert!(!running.is_finished(), "the command ended before it waited: {:?}", running.join());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ok(git(&f.project, &["config", "user.name", "Someone"]));
        std::fs::write(&go, "").unwrap();
        running.join().unwrap().1
    });
    for line in ["WRITE=1", "CONFIG=", "HOOKS=1"] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert!(!out.contains("CONFIG=0"), "{out}");
    let config = std::fs::read_to_string(f.project.join(".git/config")).unwrap();
    assert!(!config.contains("fsmonitor") && config.contains("Someone"), "{config}");
    f.host_git_runs_nothing_planted("after the host lifted a mount");
}
