//! Branches and the log, read in-process; switching and making branches with `git` on the
//! shadow git directory (see `write`).

use serde::Serialize;

use super::error::{read, GitError};
use super::repo;
use crate::paths::ProjectRoot;

/// One commit of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct CommitInfo {
    /// Abbreviated id.
    pub id: String,
    pub summary: String,
    pub author: String,
    /// Seconds since the epoch.
    #[ts(type = "number")]
    pub time: i64,
}

/// The local branches (short names, sorted) and the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Branches {
    pub current: Option<String>,
    pub local: Vec<String>,
}

pub fn branches(root: &ProjectRoot) -> Result<Branches, GitError> {
    let repo = repo::open(root)?;
    let current = repo.head_name().ok().flatten().map(|n| n.shorten().to_string());
    let refs = repo.references().map_err(read)?;
    let mut local: Vec<String> =
        refs.local_branches().map_err(read)?.filter_map(Result::ok).map(|r| r.name().shorten().to_string()).collect();
    local.sort();
    Ok(Branches { current, local })
}

/// The current branch's last `limit` commits, newest first (empty before the first commit).
pub fn log(root: &ProjectRoot, limit: usize) -> Result<Vec<CommitInfo>, GitError> {
    let repo = repo::open(root)?;
    let Ok(head) = repo.head_id() else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for info in repo.rev_walk([head.detach()]).all().map_err(read)?.take(limit) {
        let info = info.map_err(read)?;
        let commit = info.object().map_err(read)?;
        let author = commit.author().map_err(read)?;
        out.push(CommitInfo {
            id: info.id.to_hex_with_len(7).to_string(),
            summary: commit.message().map_err(read)?.summary().to_string(),
            author: author.name.to_string(),
            time: author.time().map(|t| t.seconds).unwrap_or(0),
        });
    }
    Ok(out)
}

/// A branch name git accepts and that cannot be read as an option.
fn check_branch(name: &str) -> Result<(), GitError> {
    let ok = !name.is_empty() && !name.starts_with('-') && gix::validate::reference::name_partial(name.into()).is_ok();
    ok.then_some(()).ok_or_else(|| GitError::Refused(format!("'{name}' is not a valid branch name")))
}

/// Switches to branch `name` (made from HEAD when `create`). Git refuses when changes here
/// would be lost; its words are passed on.
pub fn switch(root: &ProjectRoot, name: &str, create: bool) -> Result<(), GitError> {
    check_branch(name)?;
    let args: Vec<&str> = if create { vec!["switch", "-q", "-c", name] } else { vec!["switch", "-q", name] };
    super::write::run(root, &args).map(|_| ())
}
