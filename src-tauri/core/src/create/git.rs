//! Importing a project from a Git repository: a URL (https, ssh, git) or a local path, a branch,
//! and optionally one subfolder (sparse checkout, as starter collections are laid out).
//!
//! Every write happens inside the chosen folder: the clone goes to a hidden folder in it and, for
//! a subfolder, that subfolder's entries are moved up. Git runs with no prompts, no `ext::`
//! transport, and no hooks; a repository cannot add configuration to our clone, so nothing in
//! it runs on this machine. On failure, what was made is removed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use ts_rs::TS;

use super::{prepare_dest, CreateError, Dest};

const WORK: &str = ".aura-import";

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct GitImport {
    pub url: String,
    /// A branch or tag; the remote's default branch when empty.
    pub branch: Option<String>,
    /// One folder of the repository to import as the project (sparse checkout).
    pub subfolder: Option<String>,
    /// The new project folder: it must not exist, or be empty.
    pub dest: PathBuf,
}

/// Checks the URL's form: https/http/ssh/git/file URLs, `user@host:path`, or an absolute path.
pub fn check_url(url: &str) -> Result<(), CreateError> {
    let bad = |why: &str| Err(CreateError::BadUrl { url: url.to_string(), why: why.to_string() });
    let url = url.trim();
    if url.is_empty() {
        return bad("it is empty");
    }
    if url.starts_with('-') || url.chars().any(char::is_control) {
        return bad("it starts with '-' or holds control characters");
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return match scheme {
            "https" | "http" | "ssh" | "git" | "file" => Ok(()),
            other => bad(&format!("'{other}://' is not a transport Aura uses (https, ssh, git or a local path)")),
        };
    }
    if url.contains("::") {
        return bad("remote helpers ('transport::address') are not allowed");
    }
    if Path::new(url).is_absolute() {
        return Ok(());
    }
    // scp-like `user@host:path`
    match url.split_once(':') {
        Some((host, path)) if !host.is_empty() && !path.is_empty() && !host.contains('/') => Ok(()),
        _ => bad("use https://…, ssh://…, git@host:path or an absolute path"),
    }
}

fn check_subfolder(sub: &str) -> Result<String, CreateError> {
    let sub = sub.trim().trim_matches('/');
    let ok = !sub.is_empty()
        && !sub.starts_with('-')
        && sub.split('/').all(|part| !part.is_empty() && part != "." && part != "..");
    if ok {
        Ok(sub.to_string())
    } else {
        Err(CreateError::BadSubfolder(sub.to_string()))
    }
}

/// Clones `req` into `req.dest`; returns the project folder.
pub fn import(req: &GitImport, mut progress: impl FnMut(&str)) -> Result<PathBuf, CreateError> {
    check_url(&req.url)?;
    let branch = req.branch.as_deref().map(str::trim).filter(|b| !b.is_empty());
    if branch.is_some_and(|b| b.starts_with('-')) {
        return Err(CreateError::BadUrl { url: req.url.clone(), why: "the branch starts with '-'".into() });
    }
    let sub = req.subfolder.as_deref().filter(|s| !s.trim().is_empty()).map(check_subfolder).transpose()?;
    let dest = prepare_dest(&req.dest)?;
    let result = clone_into(&dest, req.url.trim(), branch, sub.as_deref(), &mut progress);
    if result.is_err() {
        dest.undo();
    }
    result.map(|()| dest.path().to_path_buf())
}

fn clone_into(
    dest: &Dest,
    url: &str,
    branch: Option<&str>,
    sub: Option<&str>,
    progress: &mut impl FnMut(&str),
) -> Result<(), CreateError> {
    let work = dest.path().join(WORK);
    progress(&format!("cloning {url}"));
    let mut args: Vec<&str> = vec!["clone", "--quiet"];
    if sub.is_some() {
        args.extend(["--no-checkout", "--filter=blob:none"]);
    }
    if let Some(b) = branch {
        args.extend(["--branch", b]);
    }
    let work_str = work.to_string_lossy().into_owned();
    args.extend(["--", url, &work_str]);
    git(None, &args).map_err(|e| classify(e, url, branch))?;
    let Some(sub) = sub else {
        // The whole repository, with its history: the clone becomes the project folder.
        return move_children(&work, dest.path());
    };
    progress(&format!("checking out {sub}"));
    git(Some(&work), &["sparse-checkout", "set", "--", sub]).map_err(CreateError::Git)?;
    git(Some(&work), &["checkout", "--quiet"]).map_err(CreateError::Git)?;
    let from = work.join(sub);
    if !std::fs::symlink_metadata(&from).is_ok_and(|m| m.is_dir()) {
        return Err(CreateError::NoSubfolder {
            sub: sub.to_string(),
            branch: branch.unwrap_or("the default branch").into(),
        });
    }
    // One folder of the repository is not a repository: it comes without the history.
    move_children(&from, dest.path())?;
    std::fs::remove_dir_all(&work).map_err(|e| CreateError::Io(format!("cannot remove {}: {e}", work.display())))
}

/// Moves every entry of `from` into `to` (same file system), then removes `from`.
fn move_children(from: &Path, to: &Path) -> Result<(), CreateError> {
    let io = |e: std::io::Error| CreateError::Io(e.to_string());
    for entry in std::fs::read_dir(from).map_err(io)? {
        let entry = entry.map_err(io)?;
        std::fs::rename(entry.path(), to.join(entry.file_name())).map_err(io)?;
    }
    std::fs::remove_dir(from).map_err(io)
}

/// Runs git without prompts, hooks, remote helpers or an fsmonitor command; the error is git's
/// own last lines. (It only ever runs on a folder it is making: no repository's own settings
/// are read. Reading a project's repository is done without `git`, see `workspace::tracked`.)
fn git(cwd: Option<&Path>, args: &[&str]) -> Result<(), String> {
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "protocol.ext.allow=never",
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "advice.detachedHead=false",
    ]);
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env("GCM_INTERACTIVE", "never");
    cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=15");
    cmd.stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "git is not installed (apt install git)".to_string()
        } else {
            format!("cannot run git: {e}")
        }
    })?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("warning:")).collect();
    Err(lines.iter().rev().take(3).rev().copied().collect::<Vec<_>>().join(" / "))
}

fn classify(stderr: String, url: &str, branch: Option<&str>) -> CreateError {
    if let Some(b) = branch.filter(|_| stderr.contains("not found in upstream") || stderr.contains("Remote branch")) {
        return CreateError::NoBranch { branch: b.to_string(), url: url.to_string() };
    }
    CreateError::Unreachable { url: url.to_string(), detail: stderr }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_git_would_run_something_for_are_refused() {
        for ok in [
            "https://github.com/stackblitz/starters.git",
            "ssh://git@host/x.git",
            "git@github.com:o/r.git",
            "git://127.0.0.1:9418/r",
            "/srv/repo",
            "file:///srv/repo",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("ext::sh -c touch% /tmp/pwned", "remote helpers"),
            ("fd::17", "remote helpers"),
            ("--upload-pack=touch /tmp/x", "starts with '-'"),
            ("ftp://h/r", "not a transport"),
            ("relative/path", "use https"),
            ("", "empty"),
        ] {
            let e = check_url(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn subfolders_stay_inside_the_repository() {
        assert_eq!(check_subfolder("/starters/react/").unwrap(), "starters/react");
        for bad in ["..", "a/../b", "./x", "-x", "a//b"] {
            assert!(check_subfolder(bad).is_err(), "{bad}");
        }
    }
}
