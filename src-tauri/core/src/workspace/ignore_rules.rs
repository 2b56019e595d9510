//! Which files Aura treats as part of the project: `.gitignore` (in or out of a git repository),
//! `.ignore`, `.auraignore`, and never `.git` internals. Built on the `ignore` crate (ripgrep's).

use std::path::Path;

use ignore::WalkBuilder;

/// Aura's own ignore file, same syntax as `.gitignore`.
pub const AURA_IGNORE: &str = ".auraignore";

/// A walker over `dir` honouring Aura's ignore rules. Hidden files are included (`.env`,
/// `.github/` are part of projects); the `.git` folder is not.
pub fn walker(dir: &Path) -> WalkBuilder {
    let mut b = WalkBuilder::new(dir);
    b.hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .ignore(true)
        .parents(true)
        .add_custom_ignore_filename(AURA_IGNORE)
        .filter_entry(|e| e.file_name() != ".git");
    b
}
