//! What Git tracks in the project's repository, so sync carries every tracked file whatever
//! the ignore rules say (a file added with `git add -f`, a committed fixture inside a
//! `node_modules`). Read from `.git/index` by parsing it (gitoxide's `gix-index`), never by
//! running `git`: sandboxed code can write the repository, and `git` would run its hooks and
//! the commands its config names. The index is opened through the root capability without
//! following links, and read with a size and allocation limit, as untrusted input.
//!
//! Only a repository whose `.git` is a folder at the project root counts (a `.git` file points
//! elsewhere: a worktree or a submodule, whose index lives outside the project).

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

/// An index larger than this is not read (no tracked set: the ignore rules alone decide).
const MAX_INDEX: u64 = 256 * 1024 * 1024;

/// The tracked paths of one repository (project-relative, `/`-separated, sorted).
#[derive(Debug, Default)]
pub struct Tracked {
    paths: BTreeSet<Vec<u8>>,
}

impl Tracked {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Whether Git tracks the file or link at `rel`.
    pub fn contains(&self, rel: &[u8]) -> bool {
        self.paths.contains(rel)
    }

    /// Tracked paths inside folder `dir` (everything for the project root, `dir` empty).
    pub fn under<'a>(&'a self, dir: &[u8]) -> impl Iterator<Item = &'a Vec<u8>> + 'a {
        let mut lo = dir.to_vec();
        if !lo.is_empty() {
            lo.push(b'/');
        }
        let prefix = lo.clone();
        self.paths.range(lo..).take_while(move |p| p.starts_with(&prefix))
    }
}

/// The tracked set of the repository at `root`, read again only when the index changed.
pub fn tracked(root: &Path) -> Arc<Tracked> {
    /// The index file's inode, mtime (s, ns) and size: a new index is a new key.
    type Key = (u64, i64, i64, u64);
    type Cache = Option<HashMap<PathBuf, (Key, Arc<Tracked>)>>;
    static CACHE: Mutex<Cache> = Mutex::new(None);
    let Some((file, meta)) = open_index(root) else { return Arc::default() };
    let key: Key = (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len());
    if let Some((k, t)) = CACHE.lock().get_or_insert_with(HashMap::new).get(root) {
        if *k == key {
            return t.clone();
        }
    }
    let t = Arc::new(read(file, &meta).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the Git index could not be read; sync follows the ignore rules alone");
        Tracked::default()
    }));
    CACHE.lock().get_or_insert_with(HashMap::new).insert(root.to_path_buf(), (key, t.clone()));
    t
}

/// `.git/index` under `root`, opened through the root capability (no link followed).
fn open_index(root: &Path) -> Option<(std::fs::File, std::fs::Metadata)> {
    let dir = cap_std::fs::Dir::open_ambient_dir(root, cap_std::ambient_authority()).ok()?;
    if !dir.symlink_metadata(".git").ok()?.is_dir() {
        return None;
    }
    let f = crate::paths::open_read(&dir, Path::new(".git/index")).ok()?;
    let meta = f.metadata().ok()?;
    (meta.is_file() && meta.len() <= MAX_INDEX).then_some((f, meta))
}

fn read(mut file: std::fs::File, meta: &std::fs::Metadata) -> Result<Tracked, String> {
    let mut data = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut file, &mut data).map_err(|e| e.to_string())?;
    let opts = gix_index::decode::Options { alloc_limit_bytes: Some(4 * MAX_INDEX as usize), ..Default::default() };
    let (state, _) = gix_index::State::from_bytes(&data, filetime::FileTime::zero(), gix_hash::Kind::Sha1, opts)
        .map_err(|e| e.to_string())?;
    let mut paths = BTreeSet::new();
    for e in state.entries() {
        // A submodule (gitlink) is another repository: not a file of this one.
        if e.mode.contains(gix_index::entry::Mode::COMMIT) {
            continue;
        }
        let p: &[u8] = e.path(&state).as_ref();
        // Git never writes such paths; an index that has them was not written by Git.
        let odd = |c: &[u8]| c.is_empty() || c == b"." || c == b".." || c == b".git";
        if !p.split(|b| *b == b'/').any(odd) {
            paths.insert(p.to_vec());
        }
    }
    Ok(Tracked { paths })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_index_git_writes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git").arg("-C").arg(p).args(args).output().unwrap().status.success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir_all(p.join("dist")).unwrap();
        std::fs::write(p.join(".gitignore"), "dist/\n*.log\n").unwrap();
        std::fs::write(p.join("dist/keep.js"), "x").unwrap();
        std::fs::write(p.join("debug.log"), "x").unwrap();
        std::fs::write(p.join("main.rs"), "x").unwrap();
        git(&["add", "-f", ".gitignore", "dist/keep.js", "debug.log", "main.rs"]);
        let t = tracked(p);
        assert!(t.contains(b"dist/keep.js") && t.contains(b"debug.log") && t.contains(b"main.rs"));
        assert_eq!(t.under(b"dist").collect::<Vec<_>>(), vec![&b"dist/keep.js".to_vec()]);
        assert_eq!(t.under(b"").count(), 4);
        assert!(t.under(b"dis").next().is_none(), "a folder, not a name prefix");
        // A garbled index is no tracked set, not a failure.
        std::fs::write(p.join(".git/index"), b"DIRC garbage").unwrap();
        assert!(tracked(p).is_empty());
    }
}
