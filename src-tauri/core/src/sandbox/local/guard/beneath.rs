//! Opening and making entries beneath the project root without following any link: the
//! guard's only ways to touch the project, so what it mounts is what it looked at.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

pub(super) fn cstr(p: &str) -> std::io::Result<CString> {
    CString::new(p).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// An `O_PATH` descriptor of an absolute path (Aura's own folders and the project root).
pub(super) fn open_path(p: &Path) -> std::io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(p.as_os_str().as_bytes()).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a valid C string; the descriptor is owned from here on.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `rel` beneath `root` without following any link: `openat2` with `RESOLVE_BENEATH`
/// and `RESOLVE_NO_SYMLINKS`.
pub(super) fn open_beneath_with(root: &OwnedFd, rel: &str, flags: i32) -> std::io::Result<OwnedFd> {
    let c = cstr(rel)?;
    // SAFETY: open_how is plain data; all zero is its valid empty value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: valid descriptor, C string and open_how of the right size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

pub(super) fn open_beneath(root: &OwnedFd, rel: &str) -> std::io::Result<OwnedFd> {
    open_beneath_with(root, rel, libc::O_PATH)
}

/// The first 64 KiB of a regular file beneath the root (a `.git` pointer, a config).
pub(super) fn read_beneath(root: &OwnedFd, rel: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let fd = open_beneath_with(root, rel, libc::O_RDONLY | libc::O_NONBLOCK)?;
    if file_type(&fd) != Some(libc::S_IFREG) {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut out = Vec::new();
    std::fs::File::from(fd).take(64 * 1024).read_to_end(&mut out)?;
    Ok(out)
}

pub(super) fn fstat(fd: &OwnedFd) -> Option<libc::stat> {
    // SAFETY: a zeroed stat is a valid out-parameter; fd is open.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    (unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0).then_some(st)
}

pub(super) fn file_type(fd: &OwnedFd) -> Option<libc::mode_t> {
    fstat(fd).map(|st| st.st_mode & libc::S_IFMT)
}

pub(super) fn dir_is_empty(fd: &OwnedFd) -> bool {
    std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd())).is_ok_and(|mut d| d.next().is_none())
}

pub(super) fn mkdir_at(dir: &OwnedFd, name: &str) -> std::io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid descriptor and C string.
    if unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Creates `name` in `dir` with `data`; never follows or replaces anything already there.
pub(super) fn create_at(dir: &OwnedFd, name: &str, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let c = cstr(name)?;
    // SAFETY: valid descriptor and C string; the new descriptor is owned below.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is ours.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.write_all(data)
}
