//! A project's own additions to its list of hosts, kept with its code in `.aura/network.json`:
//!
//! ```json
//! { "allow": ["api.example.com", "*.cdn.example.com", "example.org:8443"] }
//! ```
//!
//! Code in the sandbox can write that file as well as any other of the project, so its entries
//! are never applied by themselves (a dependency would widen its own policy): the Sandbox panel
//! offers the ones not on the project's list yet, and the user adds them.

use serde::Deserialize;

use super::Allowlist;
use crate::paths::ProjectRoot;
use crate::workspace::{files, WorkspaceError};

/// Where the file is, relative to the project root.
pub const FILE: &str = ".aura/network.json";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    #[serde(default)]
    allow: Vec<String>,
}

/// The file's entries that `list` does not have yet; nothing when there is no file. The error
/// says what is wrong with the file.
pub fn suggested(root: &ProjectRoot, list: &[String]) -> Result<Vec<String>, String> {
    let content = match files::read_file(root, FILE) {
        Ok(c) => c,
        Err(WorkspaceError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(format!("{FILE}: {e}")),
    };
    let file: NetworkFile =
        serde_json::from_str(&content.text).map_err(|e| format!("{FILE} is not {{\"allow\": [hosts]}}: {e}"))?;
    Allowlist::parse(&file.allow).map_err(|e| format!("{FILE}: {e}"))?;
    let mut out: Vec<String> = Vec::new();
    for e in file.allow.iter().map(|e| e.trim().to_string()) {
        if !list.iter().any(|l| l.trim().eq_ignore_ascii_case(&e)) && !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(file: Option<&str>) -> (tempfile::TempDir, ProjectRoot) {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = file {
            std::fs::create_dir_all(dir.path().join(".aura")).unwrap();
            std::fs::write(dir.path().join(FILE), text).unwrap();
        }
        let root = ProjectRoot::open(dir.path()).unwrap();
        (dir, root)
    }

    #[test]
    fn entries_not_on_the_list_are_offered_once() {
        let (_d, root) =
            project(Some(r#"{"allow": ["api.example.com", "PyPI.org", "api.example.com", "*.cdn.example.com:8443"]}"#));
        let list = vec!["pypi.org".to_string()];
        assert_eq!(suggested(&root, &list).unwrap(), vec!["api.example.com", "*.cdn.example.com:8443"]);
    }

    #[test]
    fn no_file_is_nothing_and_a_bad_one_is_named() {
        assert!(suggested(&project(None).1, &[]).unwrap().is_empty());
        let e = suggested(&project(Some("{\"allow\": \"x\"}")).1, &[]).unwrap_err();
        assert!(e.starts_with(".aura/network.json is not"), "{e}");
        let e = suggested(&project(Some(r#"{"allow": ["exa mple.com"]}"#)).1, &[]).unwrap_err();
        assert!(e.contains("'exa mple.com'"), "{e}");
        let e = suggested(&project(Some(r#"{"alow": []}"#)).1, &[]).unwrap_err();
        assert!(e.contains("alow"), "{e}");
    }
}
