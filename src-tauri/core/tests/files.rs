//! Reading and saving files on a real filesystem.

use std::os::unix::fs::PermissionsExt;

use aura_core::paths::ProjectRoot;
use aura_core::workspace::files::{self, MAX_EDITABLE_BYTES};
use aura_core::workspace::WorkspaceError;
use aura_core::UserFacing;

fn project() -> (tempfile::TempDir, ProjectRoot) {
    let dir = tempfile::tempdir().unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    (dir, root)
}

#[test]
fn save_is_atomic_and_keeps_permissions() {
    let (dir, root) = project();
    let path = dir.path().join("run.sh");
    std::fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o751)).unwrap();
    let read = files::read_file(&root, "run.sh").unwrap();
    let v = files::write_file(&root, "run.sh", "#!/bin/sh\necho bye\n", Some(&read.version.hash)).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "#!/bin/sh\necho bye\n");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o751);
    assert_eq!(v.hash, blake3::hash(b"#!/bin/sh\necho bye\n").to_hex().to_string());
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no temp files left behind: {names:?}");
}

#[test]
fn save_over_a_file_changed_on_disk_is_a_conflict_and_writes_nothing() {
    let (dir, root) = project();
    std::fs::write(dir.path().join("a.txt"), "one").unwrap();
    let read = files::read_file(&root, "a.txt").unwrap();
    std::fs::write(dir.path().join("a.txt"), "changed elsewhere").unwrap();
    let err = files::write_file(&root, "a.txt", "mine", Some(&read.version.hash)).unwrap_err();
    assert!(matches!(err, WorkspaceError::Conflict(_)));
    assert_eq!(err.kind(), aura_core::error::ErrorKind::Conflict);
    assert_eq!(std::fs::read_to_string(dir.path().join("a.txt")).unwrap(), "changed elsewhere");
    // Forcing (the user chose "overwrite") writes.
    files::write_file(&root, "a.txt", "mine", None).unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("a.txt")).unwrap(), "mine");
}

#[test]
fn save_through_an_inner_symlink_keeps_the_link() {
    let (dir, root) = project();
    std::fs::write(dir.path().join("real.txt"), "a").unwrap();
    std::os::unix::fs::symlink("real.txt", dir.path().join("alias.txt")).unwrap();
    files::write_file(&root, "alias.txt", "b", None).unwrap();
    assert!(std::fs::symlink_metadata(dir.path().join("alias.txt")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(dir.path().join("real.txt")).unwrap(), "b");
}

#[test]
fn binary_and_oversized_files_are_refused_with_clear_messages() {
    let (dir, root) = project();
    std::fs::write(dir.path().join("img.png"), [0x89, b'P', b'N', b'G', 0, 0, 1, 2]).unwrap();
    std::fs::write(dir.path().join("latin1.txt"), [b'c', b'a', b'f', 0xe9]).unwrap();
    let big = std::fs::File::create(dir.path().join("big.log")).unwrap();
    big.set_len(MAX_EDITABLE_BYTES + 1).unwrap(); // sparse: no disk used
    let e = files::read_file(&root, "img.png").unwrap_err();
    assert_eq!(e.kind(), aura_core::error::ErrorKind::Binary);
    assert!(e.to_string().contains("binary"), "{e}");
    assert_eq!(files::read_file(&root, "latin1.txt").unwrap_err().kind(), aura_core::error::ErrorKind::Binary);
    let e = files::read_file(&root, "big.log").unwrap_err();
    assert_eq!(e.kind(), aura_core::error::ErrorKind::TooLarge);
    assert!(e.to_string().contains("bytes"), "{e}");
    assert_eq!(files::read_file(&root, "missing.txt").unwrap_err().kind(), aura_core::error::ErrorKind::NotFound);
    assert_eq!(files::read_file(&root, "").unwrap_err().kind(), aura_core::error::ErrorKind::WrongType);
}

/// A FIFO (which sandboxed code can make anywhere in the project) is refused at once with a
/// clear message; opening it for reading would otherwise wait for a writer forever.
#[test]
fn a_fifo_is_refused_instead_of_waited_on() {
    let (dir, root) = project();
    let fifo = std::ffi::CString::new(dir.path().join("pipe").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let e = files::read_file(&root, "pipe").unwrap_err();
    assert!(matches!(e, WorkspaceError::NotAFile(_)), "{e:?}");
    assert_eq!(e.kind(), aura_core::error::ErrorKind::WrongType);
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

#[test]
fn absurd_save_sizes_are_refused() {
    let (_dir, root) = project();
    let huge = "x".repeat(files::MAX_SAVE_BYTES + 1);
    assert_eq!(
        files::write_file(&root, "huge.txt", &huge, None).unwrap_err().kind(),
        aura_core::error::ErrorKind::TooLarge
    );
}

#[test]
fn readonly_files_are_flagged() {
    let (dir, root) = project();
    std::fs::write(dir.path().join("ro.txt"), "x").unwrap();
    std::fs::set_permissions(dir.path().join("ro.txt"), std::fs::Permissions::from_mode(0o444)).unwrap();
    // root may write anything; the flag must still reflect the mode bits.
    assert!(files::read_file(&root, "ro.txt").unwrap().readonly);
}

#[test]
fn create_rename_delete() {
    let (dir, root) = project();
    files::create_dir(&root, "pkg").unwrap();
    files::create_file(&root, "pkg/mod.rs").unwrap();
    assert_eq!(files::create_file(&root, "pkg/mod.rs").unwrap_err().kind(), aura_core::error::ErrorKind::AlreadyExists);
    assert_eq!(files::create_file(&root, "nope/x.rs").unwrap_err().kind(), aura_core::error::ErrorKind::NotFound);
    files::write_file(&root, "pkg/mod.rs", "content", None).unwrap();
    files::create_file(&root, "other.rs").unwrap();
    // Rename never overwrites.
    assert_eq!(
        files::rename_path(&root, "other.rs", "pkg/mod.rs").unwrap_err().kind(),
        aura_core::error::ErrorKind::AlreadyExists
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("pkg/mod.rs")).unwrap(), "content");
    files::rename_path(&root, "pkg", "lib").unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("lib/mod.rs")).unwrap(), "content");
    assert!(files::rename_path(&root, "lib", "lib/inner").is_err(), "a folder cannot move into itself");
    files::delete_path(&root, "lib").unwrap();
    files::delete_path(&root, "other.rs").unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
