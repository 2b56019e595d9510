//! Every file command resolves its path inside the project root. These are the inputs that must
//! be refused (and a few that must not), against a real folder with real symlinks.

use std::os::unix::fs::symlink;

use aura_core::paths::{PathError, ProjectRoot};
use aura_core::workspace::{files, tree, WorkspaceError};

struct Fixture {
    _outside: tempfile::TempDir,
    _dir: tempfile::TempDir,
    root: ProjectRoot,
}

fn fixture() -> Fixture {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("src/inner")).unwrap();
    std::fs::write(p.join("src/main.rs"), "fn main() {}").unwrap();
    symlink(outside.path(), p.join("link-out-dir")).unwrap();
    symlink(outside.path().join("secret.txt"), p.join("link-out-file")).unwrap();
    symlink("/etc", p.join("src/etc")).unwrap();
    symlink("../../..", p.join("src/inner/up")).unwrap();
    symlink(p.join("does-not-exist"), p.join("dangling")).unwrap();
    symlink("src", p.join("link-in")).unwrap();
    symlink("main.rs", p.join("src/link-main")).unwrap();
    let root = ProjectRoot::open(p).unwrap();
    Fixture { _outside: outside, _dir: dir, root }
}

const REFUSED: &[&str] = &[
    "..",
    "../",
    "../secret.txt",
    "../../etc/passwd",
    "src/../../x",
    "src/inner/../../../x",
    "./../x",
    "/etc/passwd",
    "/",
    "/tmp",
    "//etc/passwd",
    "link-out-dir",
    "link-out-dir/secret.txt",
    "link-out-dir/new-file.txt",
    "link-out-file",
    "src/etc/passwd",
    "src/etc",
    "src/inner/up",
    "src/inner/up/etc/passwd",
    "dangling",
    "dangling/child",
    "src\\..\\..\\x",
    "nul\0byte",
    "a/\0/b",
];

#[test]
fn escaping_paths_are_refused() {
    let f = fixture();
    assert!(REFUSED.len() >= 20);
    for input in REFUSED {
        let err = f.root.resolve(input).expect_err(&format!("{input:?} must be refused"));
        assert!(!err.to_string().is_empty());
        // And every file operation refuses it the same way, touching nothing.
        assert!(files::read_file(&f.root, input).is_err(), "read {input:?}");
        assert!(files::write_file(&f.root, input, "x", None).is_err(), "write {input:?}");
        assert!(files::create_file(&f.root, input).is_err(), "create {input:?}");
        assert!(files::delete_path(&f.root, input).is_err(), "delete {input:?}");
        assert!(files::rename_path(&f.root, "src/main.rs", input).is_err(), "rename to {input:?}");
        assert!(tree::list_dir(&f.root, input).is_err(), "list {input:?}");
    }
    // Nothing outside was created or changed, nothing inside was moved.
    assert!(!f._outside.path().join("new-file.txt").exists());
    assert_eq!(std::fs::read_to_string(f._outside.path().join("secret.txt")).unwrap(), "secret");
    assert!(f.root.path().join("src/main.rs").exists());
}

#[test]
fn error_kinds_say_what_is_wrong() {
    let f = fixture();
    assert!(matches!(f.root.resolve("../x"), Err(PathError::ParentTraversal(_))));
    assert!(matches!(f.root.resolve("/etc"), Err(PathError::Absolute(_))));
    assert!(matches!(f.root.resolve("link-out-dir"), Err(PathError::SymlinkOutside(_))));
    assert!(matches!(f.root.resolve("dangling"), Err(PathError::DanglingSymlink(_))));
    assert!(matches!(f.root.resolve(&"a/".repeat(3000)), Err(PathError::TooLong(_))));
    assert!(matches!(f.root.resolve(&"n".repeat(300)), Err(PathError::InvalidName { .. })));
    let msg = f.root.resolve("../secret.txt").unwrap_err().to_string();
    assert!(msg.contains("leaves the project"), "{msg}");
}

#[test]
fn paths_inside_are_accepted() {
    let f = fixture();
    for ok in [
        "",
        ".",
        "src",
        "src/",
        "./src/main.rs",
        "src//main.rs",
        "link-in/main.rs",
        "src/link-main",
        "new.txt",
        "src/new/deeper.txt",
    ] {
        let p = f.root.resolve(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        assert!(p.starts_with(f.root.path()), "{ok:?} -> {p:?}");
    }
    // Reading through an in-project symlink works and reports the link's path.
    assert_eq!(files::read_file(&f.root, "link-in/main.rs").unwrap().text, "fn main() {}");
}

#[test]
fn root_itself_cannot_be_deleted_or_renamed() {
    let f = fixture();
    assert!(files::delete_path(&f.root, "").is_err());
    assert!(files::delete_path(&f.root, ".").is_err());
    assert!(files::rename_path(&f.root, "", "x").is_err());
    assert!(f.root.path().exists());
}

#[test]
fn invalid_new_names_are_refused() {
    let f = fixture();
    for bad in ["src/", "src/.", "src/..", "bad\nname", "tab\tname", "   "] {
        let r = files::create_file(&f.root, bad);
        assert!(r.is_err(), "{bad:?}");
    }
    assert!(matches!(
        files::create_file(&f.root, "new\nline.txt"),
        Err(WorkspaceError::Path(PathError::InvalidName { .. }))
    ));
}

#[test]
fn opening_a_file_as_project_is_refused() {
    let f = fixture();
    let file = f.root.path().join("src/main.rs");
    assert!(matches!(ProjectRoot::open(&file), Err(PathError::NotAProjectFolder(_))));
    assert!(ProjectRoot::open("/definitely/not/here").is_err());
}
