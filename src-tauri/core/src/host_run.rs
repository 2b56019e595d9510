//! Files in a project that programs on the user's machine run by themselves: Git's settings and
//! hooks (`git status` in a shell prompt runs `core.fsmonitor`), editors' task and settings
//! folders, agents' server lists, direnv's `.envrc`. Code in a sandbox can write the project, so
//! these are what it must not write (see `sandbox::local::guard`), what an agent's file tools ask
//! about, and what never comes back from a remote sandbox unchecked.
//!
//! Also the registry of placeholders: empty entries a local sandbox mounts over such a name where
//! the project has none, so that nothing inside can create it. They exist on disk while the
//! sandbox runs; the tree, search, sync and the remote mirror leave them out.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, RwLock};

/// Whether a guarded name is a folder or a file (what its placeholder is where it is missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// Names guarded wherever they are in the project, besides `.git`: what the host reads as
/// configuration or runs, with why.
pub const GUARDED_NAMES: &[(&str, Kind, &str)] = &[
    (".vscode", Kind::Dir, "VS Code runs its tasks and reads its settings from this folder on your machine"),
    (".idea", Kind::Dir, "JetBrains IDEs run the configurations in this folder on your machine"),
    (".claude", Kind::Dir, "Claude Code runs the hooks and settings in this folder on your machine"),
    (".mcp.json", Kind::File, "agents start the servers this file lists on your machine"),
    (".envrc", Kind::File, "direnv runs this file in your shell on your machine"),
    (".gitmodules", Kind::File, "Git reads this file when it updates submodules on your machine"),
];

const GIT_WHY: &str = "Git runs the settings and hooks in this folder on your machine";

/// Why writing `rel` (a project-relative path) could make the host run something, or `None`
/// for an ordinary file. Anything inside or named `.git` counts, at any depth.
pub fn why(rel: &str) -> Option<&'static str> {
    rel.split('/').filter(|p| !p.is_empty() && *p != ".").find_map(|part| {
        if part == ".git" {
            return Some(GIT_WHY);
        }
        GUARDED_NAMES.iter().find(|(n, _, _)| *n == part).map(|(_, _, w)| *w)
    })
}

/// The parts of a git folder that are settings or programs (the rest — objects, refs, the index,
/// logs — is Git's data, which Git in a sandbox keeps writing).
pub const GIT_DIR_GUARDED: &[&str] = &["config", "config.worktree", "commondir", "hooks", "info", "worktrees"];
const GIT_DIR_FOLDERS: &[&str] = &["hooks", "info", "worktrees"];
const GIT_DIR_FILES: &[&str] = &["config", "config.worktree", "commondir"];

/// Why writing `rel` (project-relative; making it, writing it, renaming onto or away from it)
/// from a sandbox must be refused, if it must: a guarded name or anything inside one, a `.git`
/// itself, or a git folder's settings and hooks (its own and its submodules') — narrower than
/// [`why`], which counts all of a `.git`: Git's data stays writable. Nothing inside
/// `node_modules` (packages ship editor folders; nothing there runs on the host by itself).
pub fn protected(rel: &str) -> Option<&'static str> {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    for (i, part) in parts.iter().enumerate() {
        match *part {
            "node_modules" => return None,
            ".git" => return git_part(&parts[i + 1..]).then_some(GIT_WHY),
            _ => {}
        }
        if let Some((_, _, w)) = GUARDED_NAMES.iter().find(|(n, _, _)| n == part) {
            return Some(w);
        }
    }
    None
}

/// Whether `rest` (what follows `.git/`) is the folder itself or one of its guarded parts.
fn git_part(rest: &[&str]) -> bool {
    match rest {
        [] => true,
        [one] if GIT_DIR_FILES.contains(one) => true,
        [first, ..] if GIT_DIR_FOLDERS.contains(first) => true,
        // A submodule's git folder: modules/<name, maybe with slashes>/<part>.
        ["modules", tail @ ..] => {
            tail.iter().skip(1).any(|p| GIT_DIR_FOLDERS.contains(p))
                || (tail.len() >= 2 && GIT_DIR_FILES.contains(&tail[tail.len() - 1]))
        }
        _ => false,
    }
}

/// Like [`why`] for a path given as bytes (the mirror's paths need not be UTF-8).
pub fn why_bytes(rel: &[u8]) -> Option<&'static str> {
    rel.split(|b| *b == b'/').find_map(|part| std::str::from_utf8(part).ok().and_then(why))
}

/// Whether `name` is one of the names a placeholder can stand for (cheap first check).
pub fn is_guarded_name(name: &std::ffi::OsStr) -> bool {
    name == ".git" || GUARDED_NAMES.iter().any(|(n, _, _)| name == *n)
}

static PLACEHOLDERS: LazyLock<RwLock<HashSet<PathBuf>>> = LazyLock::new(Default::default);

/// Records `path` (absolute) as a sandbox's placeholder.
pub fn add_placeholder(path: &Path) {
    PLACEHOLDERS.write().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf());
}

/// Forgets `path` as a placeholder.
pub fn remove_placeholder(path: &Path) {
    PLACEHOLDERS.write().unwrap_or_else(|e| e.into_inner()).remove(path);
}

/// Whether `path` (absolute) is a sandbox's placeholder, not part of the project.
pub fn is_placeholder(path: &Path) -> bool {
    match path.file_name() {
        Some(name) if is_guarded_name(name) => PLACEHOLDERS.read().unwrap_or_else(|e| e.into_inner()).contains(path),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_internals_and_tool_folders_at_any_depth_are_guarded() {
        for p in [
            ".git",
            ".git/config",
            ".git/hooks/pre-commit",
            "sub/.git/config",
            "./.git/info/attributes",
            ".vscode/tasks.json",
            "a/b/.idea/workspace.xml",
            ".claude/settings.json",
            ".mcp.json",
            "pkg/.envrc",
            ".gitmodules",
        ] {
            assert!(why(p).is_some(), "{p}");
        }
        for p in ["src/main.rs", ".gitignore", ".github/workflows/ci.yml", "git/config", ".git-old/x", "my.envrc"] {
            assert!(why(p).is_none(), "{p}");
        }
        assert!(why_bytes(b"x/.git/hooks/post-commit").is_some());
    }

    #[test]
    fn what_a_sandbox_may_not_write_leaves_gits_own_data_writable() {
        for p in [
            ".git",
            "sub/.git",
            ".git/config",
            ".git/config.worktree",
            ".git/commondir",
            ".git/hooks",
            ".git/hooks/pre-commit",
            ".git/info/attributes",
            ".git/worktrees/w/gitdir",
            ".git/modules/lib/config",
            ".git/modules/lib/hooks/post-checkout",
            ".git/modules/a/b/info/exclude",
            ".vscode",
            ".vscode/tasks.json",
            "web/.idea/x.xml",
            ".envrc",
            "pkg/.mcp.json",
        ] {
            assert!(protected(p).is_some(), "{p}");
        }
        for p in [
            ".git/objects/ab/cdef",
            ".git/index",
            ".git/index.lock",
            ".git/config.lock",
            ".git/HEAD",
            ".git/refs/heads/main",
            ".git/COMMIT_EDITMSG",
            ".git/modules/lib/objects/x",
            ".git/modules/hooks/objects/x",
            "node_modules/pkg/.vscode/settings.json",
            "node_modules/pkg/.git",
            "src/config",
            "hooks/x",
        ] {
            assert!(protected(p).is_none(), "{p}");
        }
        assert!(why_bytes(b"x/\xff/y").is_none());
    }

    #[test]
    fn placeholders_are_known_by_their_full_path() {
        let p = Path::new("/tmp/aura-host-run-test/proj/.vscode");
        assert!(!is_placeholder(p));
        add_placeholder(p);
        assert!(is_placeholder(p));
        assert!(!is_placeholder(Path::new("/tmp/aura-host-run-test/other/.vscode")));
        remove_placeholder(p);
        assert!(!is_placeholder(p));
    }
}
