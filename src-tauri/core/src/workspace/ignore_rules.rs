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
        for m in matchers.iter().rev() {
            match m.matched(&dir, dir_like) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => break,
                Match::None => {}
            }
        }
    }
    false
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

/// The walker sync uses: the project's ignore rules plus [`SYNC_SKIPPED_DIRS`].
pub fn sync_walker(dir: &Path) -> WalkBuilder {
    let mut b = walker(dir);
    b.filter_entry(|e| {
        let name = e.file_name();
        name != ".git" && !(e.file_type().is_some_and(|t| t.is_dir()) && SYNC_SKIPPED_DIRS.iter().any(|d| name == *d))
    });
    b
}

/// Whether sync leaves `rel` out (ignore files, a skipped folder above it, `.git`).
pub fn sync_ignored(root: &Path, rel: &[u8], is_dir: bool) -> bool {
    let parts: Vec<&[u8]> = rel.split(|b| *b == b'/').filter(|p| !p.is_empty()).collect();
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        let dir_like = i + 1 < n || is_dir;
        if *p == b".git" || (dir_like && SYNC_SKIPPED_DIRS.iter().any(|d| d.as_bytes() == *p)) {
            return true;
        }
    }
    match std::str::from_utf8(rel) {
        Ok(s) => is_ignored(root, s, is_dir),
        // Ignore files are UTF-8; a name that is not cannot be matched by them.
        Err(_) => false,
    }
}
