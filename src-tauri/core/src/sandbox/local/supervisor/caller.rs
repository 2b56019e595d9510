//! The process whose call the supervisor carries out, seen as it sees the world: its root (the
//! sandbox's, with its mounts), its working directory and descriptors, its umask, its memory.
//!
//! Names are resolved with `openat2(RESOLVE_IN_ROOT)` from the caller's root, so `..` and
//! absolute symbolic links stay inside the sandbox exactly as the kernel keeps them for the
//! caller; the name the call acts on is the supervisor's own copy, read once from the caller's
//! memory — a second thread rewriting it meanwhile changes nothing.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// An errno.
pub type Errno = i32;

pub fn errno() -> Errno {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// Turns a C return value into its result or the errno.
pub fn check(r: libc::c_long) -> Result<libc::c_long, Errno> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

pub fn cstr(b: &[u8]) -> Result<CString, Errno> {
    CString::new(b).map_err(|_| libc::EINVAL)
}

/// One pending call's process.
pub struct Caller {
    pub tid: i32,
    listener: RawFd,
    pub id: u64,
    root: OwnedFd,
    umask: u32,
}

/// Where a call puts a name: the directory (resolved in the caller's root), its path as the
/// caller sees it, and the last component as given (trailing slashes kept: the kernel treats
/// them).
pub struct Place {
    pub dir: OwnedFd,
    /// The directory's path, read when a decision needs it (most calls need only the name).
    dir_path: std::cell::OnceCell<Vec<u8>>,
    pub name: Vec<u8>,
}

impl Place {
    /// The last component without trailing slashes.
    pub fn bare_name(&self) -> &[u8] {
        let mut n = &self.name[..];
        while n.len() > 1 && n.ends_with(b"/") {
            n = &n[..n.len() - 1];
        }
        n
    }

    pub fn name_c(&self) -> Result<CString, Errno> {
        cstr(&self.name)
    }

    /// The directory's path as the caller sees it; an unreadable one is an error (a decision
    /// is never made on a guess).
    pub fn dir_path(&self) -> Result<&[u8], Errno> {
        if let Some(p) = self.dir_path.get() {
            return Ok(p);
        }
        let p = fd_path(self.dir.as_raw_fd())?;
        Ok(self.dir_path.get_or_init(|| p))
    }

    /// The full path as the caller sees it.
    pub fn path(&self) -> Result<Vec<u8>, Errno> {
        let mut p = self.dir_path()?.to_vec();
        if !p.ends_with(b"/") {
            p.push(b'/');
        }
        p.extend_from_slice(self.bare_name());
        Ok(p)
    }

    /// Whether the last component is a mount point in the caller's namespace. The kernel
    /// refuses to rename over or away a mount point only in the namespace of whoever renames,
    /// and the supervisor is not in the sandbox's: it checks for the sandbox.
    pub fn is_mount_point(&self) -> Result<bool, Errno> {
        let mnt = |dir: RawFd, name: &[u8], flags: i32| -> Result<Option<u64>, Errno> {
            let c = cstr(name)?;
            // SAFETY: statx into a zeroed struct with a valid C string.
            let mut st: libc::statx = unsafe { std::mem::zeroed() };
            let r = unsafe { libc::statx(dir, c.as_ptr(), flags, libc::STATX_MNT_ID, &mut st) };
            match check(r as libc::c_long) {
                Ok(_) => Ok(Some(st.stx_mnt_id)),
                Err(libc::ENOENT) => Ok(None),
                Err(e) => Err(e),
            }
        };
        let dir = self.dir.as_raw_fd();
        let here = mnt(dir, b"", libc::AT_EMPTY_PATH)?;
        let child = mnt(dir, self.bare_name(), libc::AT_SYMLINK_NOFOLLOW)?;
        Ok(child.is_some() && child != here)
    }

    /// Whether the directory is a `/proc` (whose entries are links into processes).
    pub fn in_procfs(&self) -> bool {
        // SAFETY: fstatfs on a descriptor we own into a zeroed struct.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        unsafe { libc::fstatfs(self.dir.as_raw_fd(), &mut st) == 0 && st.f_type == libc::PROC_SUPER_MAGIC }
    }
}

fn open_path(path: &str, flags: i32) -> Result<OwnedFd, Errno> {
    let c = cstr(path.as_bytes())?;
    // SAFETY: valid C string; the result is checked.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    check(fd as libc::c_long).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

pub fn readlink_at(dir: RawFd, name: &[u8]) -> Result<Vec<u8>, Errno> {
    let c = cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: the buffer is as long as we say.
    let n = unsafe { libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = check(n as libc::c_long)? as usize;
    if n >= buf.len() {
        return Err(libc::ENAMETOOLONG);
    }
    buf.truncate(n);
    Ok(buf)
}

/// The path a descriptor of ours stands for (as its own mount namespace names it).
pub fn fd_path(fd: RawFd) -> Result<Vec<u8>, Errno> {
    readlink_at(libc::AT_FDCWD, format!("/proc/self/fd/{fd}").as_bytes())
}

/// `openat2` with `how`.
pub fn openat2(dir: RawFd, path: &[u8], flags: i32, mode: u32, resolve: u64) -> Result<OwnedFd, Errno> {
    let c = cstr(path)?;
    // SAFETY: a plain struct of integers.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = mode as u64;
    how.resolve = resolve;
    // SAFETY: valid C string and struct, sizes given; the result is checked.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    check(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

impl Caller {
    /// The caller of notification `id`, still waiting (else `ENOENT`: it is gone).
    pub fn new(listener: RawFd, tid: u32, id: u64) -> Result<Self, Errno> {
        let tid = tid as i32;
        let root = open_path(&format!("/proc/{tid}/root"), libc::O_PATH | libc::O_DIRECTORY)?;
        let status = std::fs::read_to_string(format!("/proc/{tid}/status")).map_err(|_| libc::ESRCH)?;
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .unwrap_or(0o022);
        let c = Caller { tid, listener, id, root, umask };
        c.still_waiting()?;
        Ok(c)
    }

    /// Whether the call is still pending: the pid we read through may otherwise belong to
    /// another process by now.
    pub fn still_waiting(&self) -> Result<(), Errno> {
        // SAFETY: the ioctl reads the id we pass.
        let r = unsafe { libc::ioctl(self.listener, libc::SECCOMP_IOCTL_NOTIF_ID_VALID as _, &self.id as *const u64) };
        if r == 0 {
            Ok(())
        } else {
            Err(libc::ENOENT)
        }
    }

    pub fn root_fd(&self) -> RawFd {
        self.root.as_raw_fd()
    }

    /// `mode` with the caller's umask applied to its permission bits.
    pub fn masked(&self, mode: u32) -> u32 {
        mode & !(self.umask & 0o777)
    }

    /// A NUL-terminated string from the caller's memory (at most `PATH_MAX`).
    pub fn string(&self, addr: u64) -> Result<Vec<u8>, Errno> {
        if addr == 0 {
            return Err(libc::EFAULT);
        }
        const PAGE: u64 = 4096;
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < libc::PATH_MAX as usize {
            // Up to the page's end (the next page may not be mapped), a short piece first:
            // most paths are short.
            let n = ((PAGE - at % PAGE) as usize).min(if out.is_empty() { 256 } else { PAGE as usize });
            let mut buf = vec![0u8; n];
            let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: n };
            let remote = libc::iovec { iov_base: at as *mut libc::c_void, iov_len: n };
            // SAFETY: the local buffer is `n` bytes; the kernel checks the remote range.
            let got = unsafe { libc::process_vm_readv(self.tid, &local, 1, &remote, 1, 0) };
            if got <= 0 {
                return Err(libc::EFAULT);
            }
            let got = &buf[..got as usize];
            if let Some(end) = got.iter().position(|b| *b == 0) {
                out.extend_from_slice(&got[..end]);
                self.still_waiting()?;
                return Ok(out);
            }
            out.extend_from_slice(got);
            at += got.len() as u64;
        }
        Err(libc::ENAMETOOLONG)
    }

    /// The process's own pid and thread id as its `/proc` names them.
    fn ns_ids(&self) -> Result<(String, String), Errno> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.tid)).map_err(|_| libc::ESRCH)?;
        let last = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().last())
                .map(str::to_string)
        };
        let (tgid, pid) = (last("NStgid:").ok_or(libc::ESRCH)?, last("NSpid:").ok_or(libc::ESRCH)?);
        self.still_waiting()?;
        Ok((tgid, pid))
    }

    /// `path` made absolute against `dirfd` (or the working directory), with the names that
    /// mean "this process" (`/proc/self`, `/dev/fd`, `/dev/stdout`...) spelled with its pid: the
    /// supervisor is not in the sandbox's process namespace, so they would not resolve for it.
    pub fn absolute(&self, dirfd: i32, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let abs = self.joined(dirfd, path)?;
        self.own_names(abs)
    }

    /// `path` made absolute against `dirfd` (or the working directory), as written.
    pub fn joined(&self, dirfd: i32, path: &[u8]) -> Result<Vec<u8>, Errno> {
        if path.is_empty() {
            return Err(libc::ENOENT);
        }
        let abs = if path.starts_with(b"/") {
            path.to_vec()
        } else {
            let link = if dirfd == libc::AT_FDCWD {
                format!("/proc/{}/cwd", self.tid)
            } else {
                format!("/proc/{}/fd/{dirfd}", self.tid)
            };
            let mut base = readlink_at(libc::AT_FDCWD, link.as_bytes()).map_err(|e| {
                if e == libc::ENOENT {
                    libc::EBADF
                } else {
                    e
                }
            })?;
            self.still_waiting()?;
            if !base.starts_with(b"/") || base.ends_with(b" (deleted)") {
                // Not a directory (a pipe, a socket) or one that is gone.
                return Err(if base.starts_with(b"/") { libc::ENOENT } else { libc::ENOTDIR });
            }
            if !base.ends_with(b"/") {
                base.push(b'/');
            }
            base.extend_from_slice(path);
            base
        };
        Ok(abs)
    }

    /// Rewrites the names of "this process" in an absolute path (see [`Caller::absolute`]).
    pub fn own_names(&self, abs: Vec<u8>) -> Result<Vec<u8>, Errno> {
        const SELF: &[(&[u8], &str)] = &[
            (b"/proc/self", ""),
            (b"/proc/thread-self", "task"),
            (b"/dev/fd", "fd"),
            (b"/dev/stdin", "fd/0"),
            (b"/dev/stdout", "fd/1"),
            (b"/dev/stderr", "fd/2"),
        ];
        for (prefix, to) in SELF {
            let rest = match abs.strip_prefix(*prefix) {
                Some(r) if r.is_empty() || r.starts_with(b"/") => r,
                _ => continue,
            };
            let (tgid, pid) = self.ns_ids()?;
            let mut out = format!("/proc/{tgid}").into_bytes();
            match *to {
                "" => {}
                "task" => out.extend_from_slice(format!("/task/{pid}").as_bytes()),
                t => out.extend_from_slice(format!("/{t}").as_bytes()),
            }
            out.extend_from_slice(rest);
            return Ok(out);
        }
        Ok(abs)
    }

    /// The directory an absolute path's last component is in, resolved as the caller would.
    pub fn place(&self, abs: &[u8]) -> Result<Place, Errno> {
        let mut end = abs.len();
        while end > 1 && abs[end - 1] == b'/' {
            end -= 1;
        }
        let cut = abs[..end].iter().rposition(|b| *b == b'/').unwrap_or(0);
        let (dir, name) = (if cut == 0 { &b"/"[..] } else { &abs[..cut] }, &abs[cut + 1..]);
        let name = if name.is_empty() { b".".to_vec() } else { name.to_vec() };
        let fd = self.resolve(dir, libc::O_PATH | libc::O_DIRECTORY, true)?;
        Ok(Place { dir: fd, dir_path: Default::default(), name })
    }

    /// Opens an absolute path in the caller's root (`follow`: a symbolic link at the end is
    /// followed, inside the root).
    pub fn resolve(&self, abs: &[u8], flags: i32, follow: bool) -> Result<OwnedFd, Errno> {
        let rel: &[u8] = match abs.iter().position(|b| *b != b'/') {
            Some(i) => &abs[i..],
            None => b".",
        };
        let flags = if follow { flags } else { flags | libc::O_NOFOLLOW };
        openat2(self.root.as_raw_fd(), rel, flags, 0, libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS)
    }

    /// What answers this call (from another thread too).
    pub fn answer(&self) -> Answer {
        Answer { listener: self.listener, id: self.id }
    }

    /// A descriptor of the caller, followed through its `/proc` link from here.
    pub fn fd_link(&self, fd: i32) -> String {
        format!("/proc/{}/fd/{fd}", self.tid)
    }
}

/// The answer to one pending call.
pub struct Answer {
    listener: RawFd,
    id: u64,
}

impl Answer {
    pub fn new(listener: RawFd, id: u64) -> Self {
        Answer { listener, id }
    }

    /// Hands our descriptor `fd` to the caller as the call's result.
    pub fn send_fd(&self, fd: OwnedFd, cloexec: bool) -> Result<(), Errno> {
        let add = libc::seccomp_notif_addfd {
            id: self.id,
            flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
            srcfd: fd.as_raw_fd() as u32,
            newfd: 0,
            newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
        };
        // SAFETY: the ioctl reads the struct we pass.
        let r = unsafe { libc::ioctl(self.listener, libc::SECCOMP_IOCTL_NOTIF_ADDFD as _, &add as *const _) };
        check(r as libc::c_long).map(|_| ())
    }

    /// Answers with a value (`error` 0) or an errno; a caller that is gone is no error here.
    pub fn reply(&self, val: i64, error: Errno) {
        let resp = libc::seccomp_notif_resp { id: self.id, val, error: -error, flags: 0 };
        // SAFETY: SEND reads the struct we pass.
        unsafe { libc::ioctl(self.listener, libc::SECCOMP_IOCTL_NOTIF_SEND as _, &resp as *const _) };
    }

    /// Lets the kernel carry out the call as the caller made it.
    pub fn proceed(&self) {
        let resp = libc::seccomp_notif_resp {
            id: self.id,
            val: 0,
            error: 0,
            flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        };
        // SAFETY: as above.
        unsafe { libc::ioctl(self.listener, libc::SECCOMP_IOCTL_NOTIF_SEND as _, &resp as *const _) };
    }

    pub fn error(&self, e: Errno) {
        self.reply(0, e)
    }
}
