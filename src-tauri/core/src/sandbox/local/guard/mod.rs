//! What sandboxed code may not change in the project it can otherwise write: the files the host
//! runs by itself (see [`crate::host_run`]). Each sandboxed command gets, over its read-write
//! `/workspace`, mounts made from a scan of the project just before it starts:
//!
//! - every `.git` folder is bound onto itself (a mount point cannot be renamed or removed, so
//!   `mv .git .git-old && git init` fails with `EBUSY`), with its `config`, `config.worktree`,
//!   `commondir`, `hooks/`, `info/` and `worktrees/` read-only, and the same for each submodule's
//!   folder under `modules/`; Git's own writes (objects, refs, index, `COMMIT_EDITMSG`) stay
//!   possible. A missing `hooks/`, `info/` or `config` is created empty first; a missing
//!   `commondir` gets a placeholder that says what its absence means (`.`).
//! - a `.git` file (a `gitdir:` pointer) is read-only, and so is the folder it names when that is
//!   in the project;
//! - `.vscode/`, `.idea/`, `.claude/`, `.mcp.json`, `.envrc`, `.gitmodules` are read-only
//!   wherever they are;
//! - where the project root has no `.git`, `.vscode/`, `.idea/` or `.claude/`, an empty read-only
//!   folder is mounted there as a placeholder, so nothing inside can create one (`git init` fails
//!   with `EROFS`). The placeholder exists on disk while the sandbox runs (the host can still
//!   write into it; Git shows no empty folder); Aura's walkers leave it out and it is removed when
//!   the sandbox stops, if still empty. The file names get no placeholder: an empty `.envrc` would
//!   be offered for commit by the host's `git status`, and the tools that read them ask before
//!   running anything new (`direnv allow`, an agent's approval of project servers; Git runs no
//!   command from `.gitmodules`). One that appears while the sandbox runs is named in the panel.
//!
//! Every mount's source is an `O_PATH` descriptor opened beneath the project without following
//! any symbolic link (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`), handed to bubblewrap
//! as `--bind-fd`/`--ro-bind-fd`: a protected path swapped for a link between the scan and the
//! mount can never bring a file from outside the project into the sandbox. A host-side `bash`
//! re-opens the descriptors through `/proc/<aura>/fd/N` (the terminal's PTY layer closes inherited
//! descriptors), and bubblewrap closes each after mounting it.
//!
//! What cannot be protected this way is said, never skipped silently: see [`Guard::notes`].

mod beneath;
mod state;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use self::beneath::*;
pub use self::state::SandboxGuard;
use super::bwrap::WORKSPACE;
use crate::host_run::{self, Kind};

/// Entries the scan looks at before it stops (and says what it did not see).
const MAX_SCAN_ENTRIES: usize = 400_000;
/// Mounts one command gets at most (bubblewrap's command line has a bound).
const MAX_BINDS: usize = 2_000;
/// What stands in for a missing `commondir`: what Git concludes with the file absent.
const COMMONDIR_PLACEHOLDER: &[u8] = b".\n";
// Files and folders inside a git folder that make Git run something or read settings elsewhere.
use crate::host_run::GIT_DIR_GUARDED;

/// The sources of the placeholders: an empty folder and an empty file nobody else writes.
pub struct Blanks {
    dir: tempfile::TempDir,
}

impl Blanks {
    pub fn new() -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("aura-guard-").tempdir()?;
        std::fs::create_dir(dir.path().join("empty"))?;
        std::fs::write(dir.path().join("empty-file"), b"")?;
        Ok(Self { dir })
    }

    fn open(&self, kind: Kind) -> std::io::Result<OwnedFd> {
        open_path(&self.dir.path().join(match kind {
            Kind::Dir => "empty",
            Kind::File => "empty-file",
        }))
    }
}

/// One mount over the workspace.
#[derive(Debug)]
struct Bind {
    /// Index into [`Guard::fds`].
    fd: usize,
    /// Project-relative destination.
    dest: String,
    writable: bool,
}

/// The protections for one command, and what they need to stay open until it has started.
#[derive(Debug, Default)]
pub struct Guard {
    binds: Vec<Bind>,
    fds: Vec<OwnedFd>,
    /// Placeholders this plan relies on (absolute paths; registered in [`host_run`]).
    pub placeholders: Vec<PathBuf>,
    /// What could not be protected as planned, in words for the Sandbox panel.
    pub notes: Vec<String>,
    /// How many of the notes are gaps (something left writable), not a stricter stand-in (a
    /// whole `.git` read-only): commands wait for the user's choice while there are any.
    pub gaps: usize,
    /// How many paths are protected (for the panel).
    pub protected: usize,
    /// The `.git` entries and guarded names found below the root (not the root's own, not
    /// placeholders): one that appears between two commands may have been made inside.
    pub found: Vec<String>,
}

impl Guard {
    /// Scans `root` (the project folder) and plans the mounts.
    pub fn plan(root: &Path, blanks: &Blanks) -> Guard {
        let mut g = Guard::default();
        let rootfd = match open_path(root) {
            Ok(fd) => fd,
            Err(e) => {
                g.notes.push(format!("the project folder cannot be opened ({e}); nothing in it is protected"));
                g.gaps += 1;
                return g;
            }
        };
        let mut p = Planner { root, rootfd: &rootfd, blanks, g };
        p.root_level();
        p.walk();
        let mut g = p.g;
        if g.binds.len() > MAX_BINDS {
            g.notes.push(format!(
                "{} protections are needed, more than the {MAX_BINDS} a sandbox can have; those past it are missing",
                g.binds.len()
            ));
            g.gaps += 1;
            g.binds.truncate(MAX_BINDS);
        }
        // Parents before what is inside them: the `.git` pin before its read-only parts.
        g.binds.sort_by(|a, b| a.dest.cmp(&b.dest));
        g.protected = g.binds.len();
        g
    }

    /// The program to run first: it opens this plan's descriptors as 3, 4, … and then runs the
    /// rest of the command line (`None` when there is nothing to mount).
    pub fn opener(&self) -> Option<Vec<String>> {
        if self.binds.is_empty() {
            return None;
        }
        let pid = std::process::id();
        let mut script = String::from("exec");
        for (i, b) in self.binds.iter().enumerate() {
            script.push_str(&format!(" {}</proc/{pid}/fd/{}", 3 + i, self.fds[b.fd].as_raw_fd()));
        }
        script.push_str(" || exit 126; exec \"$@\"");
        Some(vec![bash().display().to_string(), "-c".into(), script, "aura-guard".into()])
    }

    /// bubblewrap's arguments for the mounts (after the workspace's own bind).
    pub fn bwrap_args(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.binds.len() * 3);
        for (i, b) in self.binds.iter().enumerate() {
            out.push(if b.writable { "--bind-fd" } else { "--ro-bind-fd" }.to_string());
            out.push((3 + i).to_string());
            out.push(format!("{WORKSPACE}/{}", b.dest));
        }
        out
    }
}

/// Whether the opener started as `pid` may still be reading its descriptors (it is `bash` until
/// it hands over to the sandbox; a pid that is gone needs nothing).
pub fn opener_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == "bash")
}

/// `bash`, which opens the descriptors (its redirections take numbers past 9).
fn bash() -> PathBuf {
    ["/usr/bin/bash", "/bin/bash"].iter().map(PathBuf::from).find(|p| p.exists()).unwrap_or("/bin/bash".into())
}

struct Planner<'a> {
    root: &'a Path,
    rootfd: &'a OwnedFd,
    blanks: &'a Blanks,
    g: Guard,
}

/// What a path beneath the root is, found without following links.
enum Found {
    Dir(OwnedFd),
    File(OwnedFd),
    /// A link, or something that is neither file nor folder.
    Other(&'static str),
    Missing,
}

impl Planner<'_> {
    fn find(&self, rel: &str) -> Found {
        match open_beneath(self.rootfd, rel) {
            Ok(fd) => match file_type(&fd) {
                Some(libc::S_IFDIR) => Found::Dir(fd),
                Some(libc::S_IFREG) => Found::File(fd),
                Some(libc::S_IFLNK) => Found::Other("it is a symbolic link"),
                _ => Found::Other("it is neither a file nor a folder"),
            },
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Found::Missing,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::EXDEV) => {
                Found::Other("it is, or goes through, a symbolic link")
            }
            Err(_) => Found::Other("it cannot be opened"),
        }
    }

    fn bind(&mut self, fd: OwnedFd, rel: &str, writable: bool) {
        self.g.fds.push(fd);
        self.g.binds.push(Bind { fd: self.g.fds.len() - 1, dest: rel.to_string(), writable });
    }

    fn note(&mut self, rel: &str, why: &str) {
        self.g.notes.push(format!("{rel} ({why})"));
        self.g.gaps += 1;
    }

    /// A note about protection that is stricter than planned (not a gap).
    fn stricter(&mut self, rel: &str, why: &str) {
        self.g.notes.push(format!("{rel} ({why})"));
    }

    /// An empty read-only folder or file at `rel`, where nothing is.
    fn mask(&mut self, rel: &str, kind: Kind) {
        match self.blanks.open(kind) {
            Ok(fd) => {
                let abs = self.root.join(rel);
                host_run::add_placeholder(&abs);
                self.g.placeholders.push(abs);
                self.bind(fd, rel, false);
            }
            Err(e) => self.note(rel, &format!("its placeholder cannot be opened: {e}")),
        }
    }

    /// Whether `rel` is a placeholder of a sandbox that is still empty.
    fn is_live_placeholder(&self, rel: &str, fd: &OwnedFd, kind: Kind) -> bool {
        let abs = self.root.join(rel);
        if !host_run::is_placeholder(&abs) {
            return false;
        }
        let empty = match kind {
            Kind::Dir => dir_is_empty(fd),
            Kind::File => fstat(fd).is_some_and(|st| st.st_size == 0),
        };
        if !empty {
            // Something real is there now (the user ran `git init` on the host, say).
            host_run::remove_placeholder(&abs);
        }
        empty
    }

    /// The root's `.git` and guarded names, with placeholders where they are missing.
    fn root_level(&mut self) {
        match self.find(".git") {
            Found::Dir(fd) if self.is_live_placeholder(".git", &fd, Kind::Dir) => self.mask(".git", Kind::Dir),
            Found::Dir(fd) => self.git_dir(fd, ".git", true),
            Found::File(fd) => self.git_file(fd, ".git"),
            Found::Other(why) => self.note(".git", why),
            Found::Missing => self.mask(".git", Kind::Dir),
        }
        for (name, kind, _) in host_run::GUARDED_NAMES.iter().filter(|(_, k, _)| *k == Kind::Dir) {
            match self.find(name) {
                Found::Missing => self.mask(name, *kind),
                Found::Dir(fd) | Found::File(fd) if self.is_live_placeholder(name, &fd, *kind) => {
                    self.mask(name, *kind)
                }
                // Present: read-only, like anywhere else (found again by the walk).
                _ => {}
            }
        }
    }

    /// A git folder: pinned (when it is a `.git` folder in the tree) with its settings read-only.
    fn git_dir(&mut self, fd: OwnedFd, rel: &str, pin: bool) {
        let mut parts = Vec::new();
        for name in GIT_DIR_GUARDED {
            let sub = format!("{rel}/{name}");
            match self.find(&sub) {
                Found::Dir(f) | Found::File(f) => parts.push((f, sub)),
                Found::Other(why) => {
                    // Git would follow it; the only safe answer is the whole folder read-only.
                    self.stricter(
                        &sub,
                        &format!("{why}; the whole of {rel} is read-only instead, so Git cannot write there"),
                    );
                    self.bind(fd, rel, false);
                    return;
                }
                Found::Missing => {
                    if let Some(f) = self.create_missing(&fd, rel, name) {
                        parts.push((f, sub));
                    }
                }
            }
        }
        let modules = format!("{rel}/modules");
        let module_fd = match self.find(&modules) {
            Found::Dir(m) => Some(m),
            _ => None,
        };
        if pin {
            self.bind(fd, rel, true);
        }
        for (f, sub) in parts {
            self.bind(f, &sub, false);
        }
        if let Some(m) = module_fd {
            drop(m);
            self.modules(&modules, 0);
        }
    }

    /// What stands in for a missing part of a git folder, or `None` where nothing needs to.
    fn create_missing(&mut self, dir: &OwnedFd, rel: &str, name: &str) -> Option<OwnedFd> {
        let sub = format!("{rel}/{name}");
        let made = match name {
            "hooks" | "info" => mkdir_at(dir, name),
            "config" => create_at(dir, name, b""),
            "commondir" => create_at(dir, name, COMMONDIR_PLACEHOLDER).inspect(|_| {
                let abs = self.root.join(&sub);
                host_run::add_placeholder(&abs);
                self.g.placeholders.push(abs);
            }),
            // Read only where the config turns `extensions.worktreeConfig` on.
            "config.worktree" if self.worktree_config(rel) => create_at(dir, name, b"").inspect(|_| {
                let abs = self.root.join(&sub);
                host_run::add_placeholder(&abs);
                self.g.placeholders.push(abs);
            }),
            _ => return None,
        };
        // Made meanwhile by a command starting at the same time: it is there, so it is bound.
        let made = made.or_else(|e| if e.raw_os_error() == Some(libc::EEXIST) { Ok(()) } else { Err(e) });
        match made.and_then(|_| open_beneath(self.rootfd, &sub)) {
            Ok(fd) => Some(fd),
            Err(e) => {
                self.note(&sub, &format!("it is missing and cannot be made read-only: {e}"));
                None
            }
        }
    }

    fn worktree_config(&self, rel: &str) -> bool {
        read_beneath(self.rootfd, &format!("{rel}/config"))
            .map(|t| String::from_utf8_lossy(&t).to_ascii_lowercase().contains("worktreeconfig"))
            .unwrap_or(false)
    }

    /// Submodules' git folders under `modules/` (nested as Git nests them).
    fn modules(&mut self, rel: &str, depth: usize) {
        if depth > 8 {
            return self.note(rel, "submodules nested deeper than 8 levels are not looked at");
        }
        let Ok(list) = std::fs::read_dir(self.root.join(rel)) else { return };
        for e in list.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let sub = format!("{rel}/{}", e.file_name().to_string_lossy());
            let Found::Dir(fd) = self.find(&sub) else { continue };
            let is_git = ["HEAD", "config", "hooks"].iter().any(|n| e.path().join(n).exists());
            if is_git {
                self.git_dir(fd, &sub, false);
            } else {
                self.modules(&sub, depth + 1);
            }
        }
    }

    /// A `.git` file: read-only, and the git folder it points to when that is in the project.
    fn git_file(&mut self, fd: OwnedFd, rel: &str) {
        let text = read_beneath(self.rootfd, rel).unwrap_or_default();
        self.bind(fd, rel, false);
        let Some(target) = String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix("gitdir:"))
            .map(|t| t.trim().to_string())
        else {
            return;
        };
        let parent = Path::new(rel).parent().unwrap_or(Path::new(""));
        let joined = if Path::new(&target).is_absolute() {
            match Path::new(&target).strip_prefix(self.root) {
                Ok(r) => r.to_path_buf(),
                // Outside the project: the sandbox cannot reach it.
                Err(_) => return,
            }
        } else {
            parent.join(&target)
        };
        let Some(inside) = normalize(&joined) else { return };
        if let Found::Dir(d) = self.find(&inside) {
            self.git_dir(d, &inside, false);
        }
    }

    /// Every `.git` and guarded name below the root (the root's own `.git` is done already).
    fn walk(&mut self) {
        let mut it = walkdir::WalkDir::new(self.root).follow_links(false).min_depth(1).into_iter();
        let mut seen = 0usize;
        while let Some(entry) = it.next() {
            let Ok(entry) = entry else { continue };
            seen += 1;
            if seen > MAX_SCAN_ENTRIES {
                self.g.notes.push(format!(
                    "the project has more than {MAX_SCAN_ENTRIES} entries; what lies past them was not looked at"
                ));
                self.g.gaps += 1;
                break;
            }
            let name = entry.file_name();
            let is_dir = entry.file_type().is_dir();
            if is_dir && dependency_dir(entry.path(), name) {
                it.skip_current_dir();
                continue;
            }
            if !host_run::is_guarded_name(name) {
                continue;
            }
            if is_dir {
                it.skip_current_dir();
            }
            let Ok(rel) = entry.path().strip_prefix(self.root) else { continue };
            let rel = rel.to_string_lossy().into_owned();
            if rel == ".git" || host_run::is_placeholder(entry.path()) {
                continue;
            }
            self.g.found.push(rel.clone());
            match (name == ".git", self.find(&rel)) {
                (true, Found::Dir(fd)) => self.git_dir(fd, &rel, true),
                (true, Found::File(fd)) => self.git_file(fd, &rel),
                (false, Found::Dir(fd) | Found::File(fd)) => self.bind(fd, &rel, false),
                (_, Found::Other(why)) => self.note(&rel, why),
                (_, Found::Missing) => {}
            }
        }
    }
}

/// Dependency and build folders the scan does not enter: nothing there is run by the host's
/// tools on its own, and they hold most of a project's files. Known by name and by the marker
/// their tool writes (Cargo's `CACHEDIR.TAG`, a virtual environment's `pyvenv.cfg`), so sandboxed
/// code cannot hide another folder from the scan by dropping a marker into it.
fn dependency_dir(path: &Path, name: &std::ffi::OsStr) -> bool {
    name == "node_modules"
        || name == "__pycache__"
        || (name == "target" && path.join("CACHEDIR.TAG").is_file())
        || ((name == ".venv" || name == "venv") && path.join("pyvenv.cfg").is_file())
}

/// Removes the placeholders once no sandboxed process uses them (a folder only while empty, a
/// file only while it holds what was put there), and forgets them.
pub fn remove_placeholders(paths: &[PathBuf]) {
    for p in paths {
        if let Ok(meta) = std::fs::symlink_metadata(p) {
            if meta.is_dir() {
                let _ = std::fs::remove_dir(p);
            } else if meta.is_file() {
                let keep = std::fs::read(p).map(|d| !d.is_empty() && d != COMMONDIR_PLACEHOLDER).unwrap_or(true);
                if !keep {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        host_run::remove_placeholder(p);
    }
}

/// `rel` with `.` and `..` folded, or `None` if it climbs above the root.
fn normalize(rel: &Path) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    for c in rel.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                out.pop()?;
            }
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then(|| out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dests(g: &Guard) -> Vec<(String, bool)> {
        g.binds.iter().map(|b| (b.dest.clone(), b.writable)).collect()
    }

    #[test]
    fn a_repository_is_pinned_with_its_settings_read_only() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".git/objects")).unwrap();
        std::fs::write(root.join(".git/config"), "[core]\n").unwrap();
        std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::create_dir_all(root.join("web/.vscode")).unwrap();
        std::fs::create_dir_all(root.join("node_modules/x/.vscode")).unwrap();
        std::fs::write(root.join(".envrc"), "export A=1\n").unwrap();
        let blanks = Blanks::new().unwrap();
        let g = Guard::plan(&root, &blanks);
        let d = dests(&g);
        assert!(d.contains(&(".git".into(), true)), "{d:?}");
        for ro in
            [".git/config", ".git/hooks", ".git/info", ".git/commondir", "web/.vscode", ".envrc", ".vscode", ".claude"]
        {
            assert!(d.contains(&(ro.into(), false)), "{ro}: {d:?}");
        }
        assert!(!d.iter().any(|(p, _)| p == ".mcp.json"), "no placeholder for a missing file name: {d:?}");
        let mut found = g.found.clone();
        found.sort();
        assert_eq!(found, [".envrc", "web/.vscode"]);
        assert!(!d.iter().any(|(p, _)| p.starts_with("node_modules")), "{d:?}");
        // Missing parts were made: empty hooks and info, the commondir placeholder.
        assert!(root.join(".git/hooks").is_dir() && root.join(".git/info").is_dir());
        assert_eq!(std::fs::read(root.join(".git/commondir")).unwrap(), b".\n");
        assert!(g.notes.is_empty(), "{:?}", g.notes);
        assert!(g.opener().unwrap()[2].contains("</proc/"));
        remove_placeholders(&g.placeholders);
        assert!(!root.join(".git/commondir").exists());
    }

    #[test]
    fn dependency_folders_are_skipped_only_with_their_tools_marker() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        for dir in ["target/debug/.vscode", ".venv/lib/.vscode", "src/target/.vscode", "lib/.venv/.vscode"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::write(root.join("target/CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55").unwrap();
        std::fs::write(root.join(".venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        let g = Guard::plan(&root, &Blanks::new().unwrap());
        let mut found = g.found.clone();
        found.sort();
        // A folder named like one but without the marker is scanned: a marker cannot hide it.
        assert_eq!(found, ["lib/.venv/.vscode", "src/target/.vscode"]);
        remove_placeholders(&g.placeholders);
    }

    #[test]
    fn links_at_protected_paths_are_said_and_fail_closed() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join(".git/config")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join(".claude")).unwrap();
        let g = Guard::plan(&root, &Blanks::new().unwrap());
        let d = dests(&g);
        assert!(d.contains(&(".git".into(), false)), "the whole .git read-only: {d:?}");
        assert!(!d.iter().any(|(p, _)| p == ".git/config" || p == ".claude"), "{d:?}");
        assert!(g.notes.iter().any(|n| n.contains(".git/config")), "{:?}", g.notes);
        assert!(g.notes.iter().any(|n| n.contains(".claude")), "{:?}", g.notes);
    }

    #[test]
    fn gitdir_pointers_inside_the_project_are_followed() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("store/real/hooks")).unwrap();
        std::fs::write(root.join("store/real/config"), "").unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/.git"), "gitdir: ../store/real\n").unwrap();
        let g = Guard::plan(&root, &Blanks::new().unwrap());
        let d = dests(&g);
        for ro in ["sub/.git", "store/real/config", "store/real/hooks"] {
            assert!(d.contains(&(ro.into(), false)), "{ro}: {d:?}");
        }
        assert_eq!(normalize(Path::new("a/../../x")), None);
        assert_eq!(normalize(Path::new("a/./b/../c")).as_deref(), Some("a/c"));
        remove_placeholders(&g.placeholders);
    }
}
