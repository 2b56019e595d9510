//! Which files Aura treats as part of the project: `.gitignore` (in or out of a git repository),
//! `.ignore`, `.auraignore`, and never `.git` internals. Built on the `ignore` crate (ripgrep's).

use std::path::Path;

use ignore::WalkBuilder;

/// Aura's own ignore file, same syntax as `.gitignore`.
pub const AURA_IGNORE: &str = ".auraignore";

/// A walker over `dir` honouring Aura's ignore rules. Hidden files are included (`.env`,
/// `.github/` are part of projects); the `.git` folder is not, nor a sandbox's placeholder (see
/// [`crate::host_run`]).
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
        .filter_entry(|e| e.file_name() != ".git" && !crate::host_run::is_placeholder(e.path()));
    b
}

/// Whether `rel` (a project-relative path) or any folder above it is ignored by the ignore files
/// between the project root and it. Used where a walk does not start at the root, e.g. listing
/// the inside of an ignored folder (whose children are then ignored too).
pub fn is_ignored(root: &Path, rel: &str, is_dir: bool) -> bool {
    matches!(verdict(root, rel, is_dir), Verdict::Ignored(_))
}

/// What the project's own ignore files say about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// It, or a folder above it, is ignored: by which rule.
    Ignored(Rule),
    /// A rule names it and keeps it (a `!` negation).
    Kept,
    /// No rule names it.
    Unsaid,
}

/// The ignore rule that decided, for "why is this not synced?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The ignored path: the file itself, or the folder above it the rule names.
    pub path: String,
    /// The ignore file the rule is in, project-relative (`.gitignore`, `src/.auraignore`).
    pub file: Option<String>,
    /// The rule as written.
    pub pattern: String,
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
                Match::Ignore(g) => {
                    return Verdict::Ignored(Rule {
                        path: parts[..=i].join("/"),
                        file: g.from().map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string()),
                        pattern: g.original().to_string(),
                    })
                }
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

/// Folders sync leaves out by default wherever they are, whatever the ignore files say: only
/// tools make folders with these names (dependencies and caches installed or produced inside
/// the sandbox, not uploaded).
pub const SYNC_SKIPPED_DIRS: &[&str] = &[
    "node_modules",
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

/// Build outputs with common names — a source folder may be called so (SvelteKit's
/// `src/exports/vite/build/`) — left out only beside a manifest of a tool that writes them.
pub const BUILT_BESIDE: &[(&str, &[&str])] = &[
    ("dist", &["package.json", "pyproject.toml", "setup.py"]),
    (
        "build",
        &[
            "package.json",
            "pyproject.toml",
            "setup.py",
            "build.gradle",
            "build.gradle.kts",
            "CMakeLists.txt",
            "meson.build",
        ],
    ),
    ("target", &["Cargo.toml", "pom.xml", "build.sbt"]),
];

/// Why the folder at project-relative `rel` is a build output by its name and place: the
/// manifest beside it that builds it, or "" for a name only tools use; none when it is not one.
fn build_output(root: &Path, rel: &[u8]) -> Option<&'static str> {
    let (parent, name) = match rel.iter().rposition(|b| *b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&rel[..0], rel),
    };
    if SYNC_SKIPPED_DIRS.iter().any(|d| d.as_bytes() == name) {
        return Some("");
    }
    let (_, manifests) = BUILT_BESIDE.iter().find(|(d, _)| d.as_bytes() == name)?;
    let folder = root.join(crate::paths::rel_bytes(parent));
    // Not followed: a link planted as a manifest only decides this, and reads nothing.
    manifests.iter().copied().find(|m| folder.join(m).symlink_metadata().is_ok())
}

/// Whether the folder at project-relative `rel` is left out as a build output (see
/// [`build_output`]) the project's own rules do not keep. The project decides first:
/// `!**/fixtures/node_modules` in its `.gitignore` brings that folder back.
fn skipped_build_dir(root: &Path, rel: &[u8]) -> bool {
    build_output(root, rel).is_some()
        && std::str::from_utf8(rel).map_or(true, |r| verdict(root, r, true) != Verdict::Kept)
}

/// The walker sync uses, over `dir` inside the project at `root`: the project's ignore rules,
/// then the build outputs ([`SYNC_SKIPPED_DIRS`], [`BUILT_BESIDE`]) where those rules say
/// nothing.
pub fn sync_walker(root: &Path, dir: &Path) -> WalkBuilder {
    sync_walker_noting(root, dir).0
}

/// [`sync_walker`], noting the build-output folders it leaves out (project-relative), so
/// they can be said.
pub fn sync_walker_noting(root: &Path, dir: &Path) -> (WalkBuilder, std::sync::Arc<parking_lot::Mutex<Vec<Vec<u8>>>>) {
    let noted: std::sync::Arc<parking_lot::Mutex<Vec<Vec<u8>>>> = Default::default();
    let mut b = walker(dir);
    let root = root.to_path_buf();
    let note = noted.clone();
    b.filter_entry(move |e| {
        use std::os::unix::ffi::OsStrExt;
        if e.file_name() == ".git" || crate::host_run::is_placeholder(e.path()) {
            return false;
        }
        if !e.file_type().is_some_and(|t| t.is_dir()) {
            return true;
        }
        let rel = e.path().strip_prefix(&root).map(|r| r.as_os_str().as_bytes()).unwrap_or_default();
        let skipped = skipped_build_dir(&root, rel);
        if skipped {
            note.lock().push(rel.to_vec());
        }
        !skipped
    });
    (b, noted)
}

/// Whether sync leaves `rel` out (ignore files, a skipped folder above it, `.git`). A file Git
/// tracks is never left out (see [`super::tracked`]).
pub fn sync_ignored(root: &Path, rel: &[u8], is_dir: bool) -> bool {
    if crate::host_run::is_placeholder(&root.join(crate::paths::rel_bytes(rel))) {
        return true;
    }
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

/// Why sync carries a path or leaves it out, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncReason {
    /// Carried: nothing leaves it out.
    Synced,
    /// Carried although an ignore rule matches it: Git tracks it.
    Tracked(Rule),
    /// Inside `.git`: the repository's own data is not project content.
    GitInternals,
    /// In a dependency or build-output folder (`node_modules` anywhere; `dist` beside a
    /// `package.json`, …) the project's rules say nothing about; `beside`: that manifest.
    BuildOutput { folder: String, beside: Option<String> },
    /// Left out by an ignore rule.
    Ignored(Rule),
}

impl SyncReason {
    pub fn synced(&self) -> bool {
        matches!(self, Self::Synced | Self::Tracked(_))
    }
}

impl std::fmt::Display for SyncReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rule = |r: &Rule| {
            let file = r.file.as_deref().unwrap_or("an ignore file");
            let what = if r.path.is_empty() { String::new() } else { format!("'{}' ", r.path) };
            format!("{what}matches '{}' in {file}", r.pattern)
        };
        match self {
            Self::Synced => write!(f, "Synced: no ignore rule leaves it out."),
            Self::Tracked(r) => write!(f, "Synced because Git tracks it, although {}.", rule(r)),
            Self::GitInternals => write!(f, "Not synced: it is inside .git, the repository's own data."),
            Self::BuildOutput { folder, beside } => write!(
                f,
                "Not synced: '{folder}' is a dependency or build-output folder{}, made again inside the sandbox. \
                 To sync it, add '!{folder}/' to .auraignore.",
                beside.as_ref().map(|m| format!(" (beside {m}, which builds it)")).unwrap_or_default()
            ),
            Self::Ignored(r) => write!(
                f,
                "Not synced: {}. To sync it, remove that rule or add a '!' rule for it to .auraignore.",
                rule(r)
            ),
        }
    }
}

/// Why sync carries project-relative `rel` or leaves it out (the same decision as
/// [`sync_ignored`], with its cause).
pub fn sync_reason(root: &Path, rel: &str, is_dir: bool) -> SyncReason {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    if parts.contains(&".git") {
        return SyncReason::GitInternals;
    }
    let said = verdict(root, rel, is_dir);
    if !is_dir && super::tracked::tracked(root).contains(rel.as_bytes()) {
        return match said {
            Verdict::Ignored(r) => SyncReason::Tracked(r),
            _ => SyncReason::Synced,
        };
    }
    if let Verdict::Ignored(r) = said {
        return SyncReason::Ignored(r);
    }
    for i in 0..parts.len() {
        let folder = parts[..=i].join("/");
        if (i + 1 < parts.len() || is_dir) && skipped_build_dir(root, folder.as_bytes()) {
            let beside = build_output(root, folder.as_bytes()).filter(|m| !m.is_empty()).map(|m| {
                let at = &parts[..i];
                if at.is_empty() {
                    m.to_string()
                } else {
                    format!("{}/{m}", at.join("/"))
                }
            });
            return SyncReason::BuildOutput { folder, beside };
        }
    }
    SyncReason::Synced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_rule_the_folder_or_git() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir_all(p.join("src/gen")).unwrap();
        std::fs::write(p.join(".gitignore"), "*.log\n!keep.log\n").unwrap();
        std::fs::write(p.join("src/.auraignore"), "gen/\n").unwrap();
        let why = |rel: &str, dir: bool| sync_reason(p, rel, dir);
        assert_eq!(why("src/main.rs", false), SyncReason::Synced);
        assert_eq!(why("keep.log", false), SyncReason::Synced);
        let SyncReason::Ignored(r) = why("debug.log", false) else { panic!() };
        assert_eq!(
            (r.path.as_str(), r.file.as_deref(), r.pattern.as_str()),
            ("debug.log", Some(".gitignore"), "*.log")
        );
        let SyncReason::Ignored(r) = why("src/gen/a.rs", false) else { panic!() };
        assert_eq!(
            (r.path.as_str(), r.file.as_deref(), r.pattern.as_str()),
            ("src/gen", Some("src/.auraignore"), "gen/")
        );
        assert!(why("src/gen/a.rs", false).to_string().contains("'src/gen' matches 'gen/' in src/.auraignore"));
        assert_eq!(
            why("web/node_modules/x/i.js", false),
            SyncReason::BuildOutput { folder: "web/node_modules".into(), beside: None }
        );
        assert!(why("node_modules", true).to_string().contains("add '!node_modules/' to .auraignore"));
        assert_eq!(why(".git/config", false), SyncReason::GitInternals);
        for (rel, dir) in
            [("src/main.rs", false), ("debug.log", false), ("web/node_modules/x", false), ("node_modules", true)]
        {
            assert_eq!(why(rel, dir).synced(), !sync_ignored(p, rel.as_bytes(), dir), "{rel}: one decision");
        }
    }

    /// `dist`, `build` and `target` are build outputs only beside a manifest that builds them:
    /// a source folder with such a name (SvelteKit's `src/exports/vite/build/`) is synced.
    #[test]
    fn common_build_names_are_left_out_only_beside_their_manifest() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        for dir in ["dist", "packages/kit/dist", "packages/kit/src/exports/vite/build", "crate/target", "lib/target"] {
            std::fs::create_dir_all(p.join(dir)).unwrap();
        }
        for f in ["package.json", "packages/kit/package.json", "crate/Cargo.toml"] {
            std::fs::write(p.join(f), "{}").unwrap();
        }
        let why = |rel: &str| sync_reason(p, rel, false);
        assert_eq!(
            why("dist/a.js"),
            SyncReason::BuildOutput { folder: "dist".into(), beside: Some("package.json".into()) }
        );
        assert_eq!(
            why("packages/kit/dist/a.js"),
            SyncReason::BuildOutput {
                folder: "packages/kit/dist".into(),
                beside: Some("packages/kit/package.json".into())
            }
        );
        assert!(why("packages/kit/dist/a.js")
            .to_string()
            .contains("(beside packages/kit/package.json, which builds it)"));
        assert_eq!(why("packages/kit/src/exports/vite/build/index.js"), SyncReason::Synced);
        assert!(!sync_ignored(p, b"packages/kit/src/exports/vite/build/index.js", false));
        assert!(matches!(why("crate/target/debug/x"), SyncReason::BuildOutput { .. }));
        assert_eq!(why("lib/target/x.txt"), SyncReason::Synced, "no Cargo.toml, pom.xml or build.sbt beside it");
        let walked: Vec<String> = sync_walker(p, p)
            .build()
            .filter_map(Result::ok)
            .filter_map(|e| Some(e.path().strip_prefix(p).ok()?.to_str()?.to_string()))
            .collect();
        assert!(walked.iter().any(|w| w == "packages/kit/src/exports/vite/build"), "{walked:?}");
        assert!(
            !walked.iter().any(|w| w.starts_with("packages/kit/dist") || w.starts_with("crate/target")),
            "{walked:?}"
        );
    }
}
