//! "Why is this not synced?": the reason sync carries a project path or leaves it out — the
//! ignore rule and the file it is in, the build-output folder, a link leading outside the
//! project, a file over the size limit — with what to do about it.

use serde::Serialize;
use ts_rs::TS;

use crate::paths::ProjectRoot;
use crate::workspace::ignore_rules::sync_reason;

/// The answer for one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncExplanation {
    pub path: String,
    pub synced: bool,
    /// A sentence for the user.
    pub reason: String,
}

/// Why sync carries `rel` (project-relative) or not. `max_file_size` is the bucket settings'
/// largest file synced.
pub fn explain(root: &ProjectRoot, rel: &str, max_file_size: u64) -> Result<SyncExplanation, crate::paths::PathError> {
    // Checked by its words only (it may be a dangling link); read through the root capability.
    let checked = root.rel_path(rel)?;
    let rel = checked.to_string_lossy().into_owned();
    let rel = rel.as_str();
    let answer = |synced: bool, reason: String| Ok(SyncExplanation { path: rel.to_string(), synced, reason });
    if rel == "." {
        return answer(true, "The project folder is what sync carries.".into());
    }
    let dir = root.dir()?;
    let meta = dir.symlink_metadata(&checked);
    let is_dir = meta.as_ref().is_ok_and(|m| m.is_dir());
    let why = sync_reason(root.path(), rel, is_dir);
    if !why.synced() {
        return answer(false, why.to_string());
    }
    match meta {
        Err(_) => answer(false, "Not synced: there is no such file in the project now.".into()),
        Ok(m) if m.file_type().is_symlink() => {
            let target = super::links::read_target(&dir, rel.as_bytes()).unwrap_or_default();
            match super::links::skip_reason(rel.as_bytes(), &target) {
                Some(skip) => answer(false, format!("Not synced: {skip}.")),
                None => answer(true, "Synced as a symbolic link (its target text, never followed).".into()),
            }
        }
        Ok(m) if m.is_file() && m.len() > max_file_size => answer(
            false,
            format!(
                "Not synced: {} MiB is over the {} MiB limit for one file (Settings → Sync → Largest file synced).",
                m.len() >> 20,
                max_file_size >> 20
            ),
        ),
        Ok(m) if !m.is_file() && !m.is_dir() => {
            answer(false, "Not synced: a FIFO, socket or device has no content to sync.".into())
        }
        Ok(_) => answer(true, why.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::create_dir_all(p.join("node_modules/x")).unwrap();
        std::fs::write(p.join(".gitignore"), "*.log\n").unwrap();
        std::fs::write(p.join("a.log"), "x").unwrap();
        std::fs::write(p.join("big.bin"), vec![0u8; 2 << 20]).unwrap();
        std::fs::write(p.join("main.rs"), "x").unwrap();
        std::os::unix::fs::symlink("../outside", p.join("out")).unwrap();
        std::os::unix::fs::symlink("main.rs", p.join("alias")).unwrap();
        let root = ProjectRoot::open(p).unwrap();
        let why = |rel: &str| explain(&root, rel, 1 << 20).unwrap();
        assert!(why("main.rs").synced);
        assert!(why("alias").synced && why("alias").reason.contains("symbolic link"));
        assert!(!why("out").synced && why("out").reason.contains("outside the project"), "{}", why("out").reason);
        assert!(!why("a.log").synced && why("a.log").reason.contains("'*.log' in .gitignore"));
        assert!(!why("big.bin").synced && why("big.bin").reason.contains("limit"));
        assert!(!why("node_modules/x").synced && why("node_modules/x").reason.contains("build-output"));
        assert!(explain(&root, "../etc/passwd", 1).is_err());
    }
}
