//! Changing the repository — stage, unstage, discard, commit — with the `git` program, but
//! never with the repository's own configuration: git runs on a *shadow* git directory Aura
//! makes for the call, holding a configuration with only the repository's format (version and
//! object format), and pointing at the real objects, refs, logs and index (`GIT_OBJECT_DIRECTORY`,
//! `GIT_INDEX_FILE`, links). So a filter driver, `core.fsmonitor`, `core.worktree`, a signing
//! program or an alias that code in the sandbox wrote into `.git/config` is not even read; hooks
//! are off (`core.hooksPath=/dev/null`), and the user's own configuration (name, e-mail, their
//! own filters such as Git LFS) applies as it does in a terminal.

use std::path::Path;
use std::process::Command;

use super::error::{read, GitError};
use crate::paths::ProjectRoot;

/// A git directory made for one call.
struct Shadow {
    dir: tempfile::TempDir,
    real: std::path::PathBuf,
}

/// The repository's format, the only configuration carried over.
fn format_config(real: &Path) -> Result<String, GitError> {
    let text = std::fs::read(real.join("config")).map_err(read)?;
    let file = gix::config::File::from_bytes_no_includes(&text, gix::config::file::Metadata::api(), Default::default())
        .map_err(read)?;
    let version = file.integer("core.repositoryformatversion").ok().flatten().unwrap_or(0);
    let mut out = format!("[core]\n\trepositoryformatversion = {version}\n\tbare = false\n\tlogallrefupdates = true\n");
    let format = file.string("extensions.objectformat").map(|v| v.to_string());
    if let Some(f) = format.filter(|f| f == "sha1" || f == "sha256") {
        out.push_str(&format!("[extensions]\n\tobjectformat = {f}\n"));
    }
    if file.string("extensions.refstorage").is_some() {
        return Err(GitError::Refused(
            "this repository keeps its refs in a reftable, which Aura does not write yet".into(),
        ));
    }
    Ok(out)
}

/// Refuses a repository where git's writes could be led out of it: a link anywhere among the
/// refs, logs and `info`, the object folders (one level, where loose objects go), the index or
/// HEAD. (Code in the sandbox can write `.git`; git follows links.)
fn check_no_links(real: &Path) -> Result<(), GitError> {
    let link = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.file_type().is_symlink()).unwrap_or(false);
    let refuse = |p: &Path| {
        Err(GitError::Refused(format!(
            "{} is a link: Aura does not write to a repository whose files lead elsewhere",
            p.strip_prefix(real.parent().unwrap_or(real)).unwrap_or(p).display()
        )))
    };
    for name in ["HEAD", "index", "packed-refs", "objects", "refs", "logs", "info"] {
        if link(&real.join(name)) {
            return refuse(&real.join(name));
        }
    }
    for dir in ["refs", "logs", "info"] {
        for e in walkdir::WalkDir::new(real.join(dir)).follow_links(false).into_iter().flatten() {
            if e.path_is_symlink() {
                return refuse(e.path());
            }
        }
    }
    for e in walkdir::WalkDir::new(real.join("objects")).max_depth(1).follow_links(false).into_iter().flatten() {
        if e.path_is_symlink() {
            return refuse(e.path());
        }
    }
    Ok(())
}

impl Shadow {
    fn new(root: &ProjectRoot) -> Result<Self, GitError> {
        super::repo::open(root)?; // a real .git folder at the top of the project
        let real = root.path().join(".git");
        check_no_links(&real)?;
        let dir = tempfile::Builder::new().prefix("aura-git-").tempdir().map_err(read)?;
        std::fs::write(dir.path().join("config"), format_config(&real)?).map_err(read)?;
        // HEAD must be a file of the git directory (git refuses a link to one): a copy, written
        // back when a call moves it (a commit on a detached HEAD).
        std::fs::copy(real.join("HEAD"), dir.path().join("HEAD")).map_err(read)?;
        for name in ["objects", "refs", "logs", "packed-refs", "info", "ORIG_HEAD", "MERGE_HEAD", "MERGE_MSG"] {
            let target = real.join(name);
            if target.exists() {
                std::os::unix::fs::symlink(&target, dir.path().join(name)).map_err(read)?;
            }
        }
        Ok(Self { dir, real })
    }

    fn git(&self, root: &ProjectRoot, args: &[&str]) -> Result<String, GitError> {
        let mut cmd = Command::new("git");
        cmd.args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "gc.auto=0",
            "-c",
            "maintenance.auto=false",
        ])
        .args(args)
        .current_dir(root.path())
        .env("GIT_DIR", self.dir.path())
        .env("GIT_WORK_TREE", root.path())
        .env("GIT_OBJECT_DIRECTORY", self.real.join("objects"))
        .env("GIT_INDEX_FILE", self.real.join("index"))
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        .stdin(std::process::Stdio::null());
        let out = cmd.output().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GitError::Refused("git is not installed (apt install git)".into()),
            _ => read(e),
        })?;
        self.head_back()?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("Please tell me who you are") || err.contains("Author identity unknown") {
            return Err(GitError::Refused(
                "Git does not know who you are: run `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com` in a terminal, then commit again".into(),
            ));
        }
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("hint:")).collect();
        Err(GitError::Failed(lines.iter().rev().take(4).rev().copied().collect::<Vec<_>>().join(" / ")))
    }
}

impl Shadow {
    /// Writes the shadow HEAD back to the repository when the call changed it.
    fn head_back(&self) -> Result<(), GitError> {
        let now = std::fs::read(self.dir.path().join("HEAD")).map_err(read)?;
        if std::fs::read(self.real.join("HEAD")).map_err(read)? == now {
            return Ok(());
        }
        let tmp = self.real.join("HEAD.aura-tmp");
        std::fs::write(&tmp, &now).map_err(read)?;
        std::fs::rename(&tmp, self.real.join("HEAD")).map_err(read)
    }
}

/// Project-relative paths, checked to stay inside the project, as git pathspecs taken
/// literally.
fn specs(root: &ProjectRoot, paths: &[String]) -> Result<Vec<String>, GitError> {
    if paths.is_empty() {
        return Err(GitError::Refused("no file named".into()));
    }
    paths
        .iter()
        .map(|p| {
            root.resolve(p).map_err(|e| GitError::Refused(e.to_string()))?;
            Ok(format!(":(literal){p}"))
        })
        .collect()
}

fn with_specs<'a>(args: &[&'a str], specs: &'a [String]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.push("--");
    all.extend(specs.iter().map(String::as_str));
    all
}

/// Runs git with `args` on a shadow git directory of the project's repository.
pub(super) fn run(root: &ProjectRoot, args: &[&str]) -> Result<String, GitError> {
    Shadow::new(root)?.git(root, args)
}

/// Stages the files as they are on disk (new, changed and deleted ones).
pub fn stage(root: &ProjectRoot, paths: &[String]) -> Result<(), GitError> {
    let specs = specs(root, paths)?;
    Shadow::new(root)?.git(root, &with_specs(&["add", "-A"], &specs)).map(|_| ())
}

/// Takes the files out of the index back to HEAD's version (or out of it, before the first
/// commit); the files on disk are left as they are.
pub fn unstage(root: &ProjectRoot, paths: &[String]) -> Result<(), GitError> {
    let specs = specs(root, paths)?;
    let shadow = Shadow::new(root)?;
    if shadow.git(root, &["rev-parse", "--verify", "-q", "HEAD"]).is_ok() {
        shadow.git(root, &with_specs(&["reset", "-q", "HEAD"], &specs)).map(|_| ())
    } else {
        shadow.git(root, &with_specs(&["rm", "-q", "--cached", "-r"], &specs)).map(|_| ())
    }
}

/// Commits what is staged with `message`; `amend` replaces the last commit. Returns the new
/// commit's id, abbreviated.
pub fn commit(root: &ProjectRoot, message: &str, amend: bool) -> Result<String, GitError> {
    if message.trim().is_empty() {
        return Err(GitError::Refused("write a commit message first".into()));
    }
    let shadow = Shadow::new(root)?;
    let mut args = vec!["commit", "-q", "--no-verify", "--cleanup=strip", "-m", message];
    if amend {
        args.push("--amend");
    }
    shadow.git(root, &args)?;
    Ok(shadow.git(root, &["rev-parse", "--short=7", "HEAD"])?.trim().to_string())
}
