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

/// Whether `rel` (a project-relative path) or any folder above it is ignored by the ignore files
/// between the project root and it. Used where a walk does not start at the root, e.g. listing
/// the inside of an ignored folder (whose children are then ignored too).
pub fn is_ignored(root: &Path, rel: &str, is_dir: bool) -> bool {
    verdict(root, rel, is_dir) == Verdict::Ignored
}

/// What the project's own ignore files say about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// It, or a folder above it, is ignored.
    Ignored,
    /// A rule names it and keeps it (a `!` negation).
    Kept,
    /// No rule names it.
    Unsaid,
}

fn verdict(root: &Path, rel: &str, is_dir: bool) -> Verdict {
    use ignore::gitignore::{Gitignore, GitignoreBuilder};
    use ignore::Match;

    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let mut matchers: Vec<Gitignore> = Vec::new();
    let mut dir = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        // The ignore files of `dir` apply to everything below it.
        let mut b = GitignoreBuilder::new(&dir);
        let mut any = false;
        for name in [".gitignore", ".ignore", AURA_IGNORE] {
            let f = dir.join(name);
            if f.is_file() {
                any |= b.add(f).is_none();
            }
        }
        if i == 0 {
            let exclude = dir.join(".git/info/exclude");
            if exclude.is_file() {
                any |= b.add(exclude).is_none();
            }
        }
        if any {
            if let Ok(m) = b.build() {
                matchers.push(m);
            }
        }
        dir.push(part);
        let last = i + 1 == parts.len();
        let dir_like = !last || is_dir;
        // Deeper ignore files take precedence; the first definite answer wins.
        let mut kept = false;
        for m in matchers.iter().rev() {
            match m.matched(&dir, dir_like) {
                Match::Ignore(_) => return Verdict::Ignored,
                Match::Whitelist(_) => {
                    kept = true;
                    break;
                }
                Match::None => {}
            }
        }
        if last && kept {
            return Verdict::Kept;
        }
    }
    Verdict::Unsaid
}

/// Folders sync leaves out by default, whatever the ignore files say: dependencies and build
/// outputs are installed or produced inside the sandbox, not uploaded.
pub const SYNC_SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "dist",
    "build",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".turbo",
    ".parcel-cache",
    ".cache",
    "__pycache__",
    ".venv",
    ".pytest_cache",
    ".mypy_cache",
    ".gradle",
];

/// Whether the folder at project-relative `rel` is left out as a build output: it has a name
/// from [`SYNC_SKIPPED_DIRS`] and the project's own rules do not keep it. The project decides
/// first: `!**/fixtures/node_modules` in its `.gitignore` brings that folder back.
fn skipped_build_dir(root: &Path, rel: &[u8]) -> bool {
    let name = rel.rsplit(|b| *b == b'/').next().unwrap_or(rel);
    SYNC_SKIPPED_DIRS.iter().any(|d| d.as_bytes() == name)
        && std::str::from_utf8(rel).map_or(true, |r| verdict(root, r, true) != Verdict::Kept)
}

/// The walker sync uses, over `dir` inside the project at `root`: the project's ignore rules,
/// then [`SYNC_SKIPPED_DIRS`] where those rules say nothing.
pub fn sync_walker(root: &Path, dir: &Path) -> WalkBuilder {
    let mut b = walker(dir);
    let root = root.to_path_buf();
    b.filter_entry(move |e| {
        use std::os::unix::ffi::OsStrExt;
        if e.file_name() == ".git" {
            return false;
        }
        if !e.file_type().is_some_and(|t| t.is_dir()) {
            return true;
        }
        let rel = e.path().strip_prefix(&root).map(|r| r.as_os_str().as_bytes()).unwrap_or_default();
        !skipped_build_dir(&root, rel)
    });
    b
}

/// Whether sync leaves `rel` out (ignore files, a skipped folder above it, `.git`). A file Git
/// tracks is never left out (see [`super::tracked`]).
pub fn sync_ignored(root: &Path, rel: &[u8], is_dir: bool) -> bool {
    if !is_dir && super::tracked::tracked(root).contains(rel) {
        return false;
    }
    let parts: Vec<&[u8]> = rel.split(|b| *b == b'/').filter(|p| !p.is_empty()).collect();
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        let dir_like = i + 1 < n || is_dir;
        if *p == b".git" || (dir_like && skipped_build_dir(root, &parts[..=i].join(&b'/'))) {
            return true;
        }
    }
    match std::str::from_utf8(rel) {
        Ok(s) => is_ignored(root, s, is_dir),
        // Ignore files are UTF-8; a name that is not cannot be matched by them.
        Err(_) => false,
    }
}
