//! Opening the project's repository without trusting it.

use gix::config::file::Metadata;

use super::error::{read, GitError};
use crate::paths::ProjectRoot;

/// Configuration sections Aura reads: none from the repository itself (`.git/config` is
/// writable from the sandbox: filter drivers, `core.worktree`, `core.fsmonitor`…).
fn not_the_repository(meta: &Metadata) -> bool {
    meta.source.kind() != gix::config::source::Kind::Repository
}

/// The repository at the top of `root`: a real `.git` folder (a link or a `gitdir:` file is
/// refused, it could lead anywhere), opened with no system, user or repository configuration.
pub fn open(root: &ProjectRoot) -> Result<gix::Repository, GitError> {
    let dot_git = root.path().join(".git");
    let meta = match std::fs::symlink_metadata(&dot_git) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(GitError::NotARepository),
        Err(e) => return Err(read(e)),
    };
    if !meta.is_dir() {
        return Err(GitError::Refused(
            ".git is a link or a file here, not a folder: Aura reads only a repository inside the project".into(),
        ));
    }
    let opts = gix::open::Options::isolated().filter_config_section(not_the_repository).open_path_as_is(true);
    let repo = gix::open_opts(&dot_git, opts).map_err(read)?;
    match repo.workdir() {
        Some(w) if same_dir(w, root.path()) => Ok(repo),
        _ => Err(GitError::Refused("the repository's work tree is not this project".into())),
    }
}

fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
