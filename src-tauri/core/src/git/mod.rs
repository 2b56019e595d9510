//! Source control of the open project, read in-process with `gix`: what changed against the
//! index and HEAD, and HEAD's version of a file for a diff; staged and committed with `git` on
//! a shadow git directory (see `write`). Nothing of the repository runs on
//! the host: a repository the sandbox can write may carry `core.fsmonitor`, hooks, filter
//! drivers or a `core.worktree` pointing elsewhere, so the repository's own configuration is
//! not read at all (see [`repo::open`]), and only a `.git` folder inside the project is used.

mod error;
mod history;
mod repo;
mod status;
mod write;

pub use error::GitError;
pub use history::{branches, log, switch, Branches, CommitInfo};
pub use status::{head_text, status, ChangeKind, FileChange, GitStatus};
pub use write::{commit, stage, unstage};
