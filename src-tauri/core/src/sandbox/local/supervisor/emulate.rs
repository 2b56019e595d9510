//! Carrying out a handed-over call for its caller: the supervisor resolves the names in the
//! caller's root, decides on its own copy of the last name ([`super::policy`]), and makes the
//! call itself on the directory it resolved; the caller gets the result (an opened file arrives
//! as a new descriptor in its table). A call is never let through to be re-read by the kernel.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::LazyLock;

use libseccomp::{ScmpArch, ScmpSyscall};

use super::caller::{check, cstr, readlink_at, Caller, Errno, Place};
use super::policy;

/// What the caller gets.
pub enum Reply {
    Value(i64),
    Errno(Errno),
    /// Already answered (a descriptor sent with the answer).
    Sent,
    /// Carried out by the kernel as the caller made it (see [`open`]).
    Proceed,
}

#[derive(Clone, Copy, Debug)]
enum Call {
    Open,
    OpenAt,
    Creat,
    Mkdir,
    MkdirAt,
    Mknod,
    MknodAt,
    Rename,
    RenameAt,
    RenameAt2,
    Link,
    LinkAt,
    Symlink,
    SymlinkAt,
}

const CALLS: &[(&str, Call)] = &[
    ("open", Call::Open),
    ("openat", Call::OpenAt),
    ("creat", Call::Creat),
    ("mkdir", Call::Mkdir),
    ("mkdirat", Call::MkdirAt),
    ("mknod", Call::Mknod),
    ("mknodat", Call::MknodAt),
    ("rename", Call::Rename),
    ("renameat", Call::RenameAt),
    ("renameat2", Call::RenameAt2),
    ("link", Call::Link),
    ("linkat", Call::LinkAt),
    ("symlink", Call::Symlink),
    ("symlinkat", Call::SymlinkAt),
];

// The kernel's audit values of the ABIs (linux/audit.h).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

/// The ABIs calls arrive in, with the audit value the kernel reports for each.
fn arches() -> &'static [(ScmpArch, u32)] {
    #[cfg(target_arch = "x86_64")]
    return &[
        (ScmpArch::X8664, AUDIT_ARCH_X86_64),
        (ScmpArch::X32, AUDIT_ARCH_X86_64),
        (ScmpArch::X86, AUDIT_ARCH_I386),
    ];
    #[cfg(target_arch = "aarch64")]
    return &[(ScmpArch::Aarch64, AUDIT_ARCH_AARCH64), (ScmpArch::Arm, AUDIT_ARCH_ARM)];
    #[allow(unreachable_code)]
    &[]
}

/// (audit arch, number) → call, for every ABI.
static TABLE: LazyLock<HashMap<(u32, i32), Call>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for (arch, audit) in arches() {
        for (name, call) in CALLS {
            if let Ok(sys) = ScmpSyscall::from_name_by_arch(name, *arch) {
                let nr: i32 = sys.into();
                if nr >= 0 {
                    m.insert((*audit, nr), *call);
                }
            }
        }
    }
    m
});

/// Makes the table before the first call needs it.
pub fn prepare() {
    LazyLock::force(&TABLE);
}

/// Carries out notification `req`.
pub fn handle(listener: i32, req: &libc::seccomp_notif) -> Reply {
    let Some(call) = TABLE.get(&(req.data.arch, req.data.nr)).copied() else {
        return Reply::Errno(libc::ENOSYS);
    };
    let result = Caller::new(listener, req.pid, req.id).and_then(|c| carry_out(&c, call, &req.data.args));
    match result {
        Ok(r) => r,
        Err(e) => Reply::Errno(e),
    }
}

fn carry_out(c: &Caller, call: Call, a: &[u64; 6]) -> Result<Reply, Errno> {
    // 32-bit callers' descriptors and flags arrive zero-extended.
    let fd = |v: u64| v as u32 as i32;
    let int = |v: u64| v as u32 as i32;
    let cwd = libc::AT_FDCWD;
    match call {
        Call::Open => open(c, cwd, a[0], int(a[1]), a[2] as u32),
        Call::OpenAt => open(c, fd(a[0]), a[1], int(a[2]), a[3] as u32),
        Call::Creat => open(c, cwd, a[0], libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC, a[1] as u32),
        Call::Mkdir => mkdir(c, cwd, a[0], a[1] as u32),
        Call::MkdirAt => mkdir(c, fd(a[0]), a[1], a[2] as u32),
        Call::Mknod => mknod(c, cwd, a[0], a[1] as u32, a[2]),
        Call::MknodAt => mknod(c, fd(a[0]), a[1], a[2] as u32, a[3]),
        Call::Rename => rename(c, (cwd, a[0]), (cwd, a[1]), 0),
        Call::RenameAt => rename(c, (fd(a[0]), a[1]), (fd(a[2]), a[3]), 0),
        Call::RenameAt2 => rename(c, (fd(a[0]), a[1]), (fd(a[2]), a[3]), a[4] as u32),
        Call::Link => link(c, (cwd, a[0]), (cwd, a[1]), 0),
        Call::LinkAt => link(c, (fd(a[0]), a[1]), (fd(a[2]), a[3]), int(a[4])),
        Call::Symlink => symlink(c, a[0], (cwd, a[1])),
        Call::SymlinkAt => symlink(c, a[0], (fd(a[1]), a[2])),
    }
}

/// The place a call names: (dirfd, address of the path).
fn place(c: &Caller, (dirfd, addr): (i32, u64)) -> Result<Place, Errno> {
    let path = c.string(addr)?;
    c.place(&c.absolute(dirfd, &path)?)
}

/// Whether `place` names something already there (a link counts as itself).
fn exists(place: &Place) -> bool {
    let Ok(name) = place.name_c() else { return false };
    // SAFETY: fstatat into a zeroed struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    unsafe { libc::fstatat(place.dir.as_raw_fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) == 0 }
}

/// Refuses making `place`'s name when the policy says so, and notes it. A guarded name that is
/// already there is not made anew: `Ok(true)`, and the caller acts only on what exists (the
/// read-only mounts decide about writing it), so `mkdir -p` on an existing `.git` still says
/// "exists".
fn allowed(c: &Caller, place: &Place, verb: &str) -> Result<bool, Errno> {
    match policy::refused(place)? {
        None => Ok(false),
        Some(_) if exists(place) => Ok(true),
        Some((_, rel)) => {
            policy::record(c, format!("{verb} {rel}"));
            Err(libc::EACCES)
        }
    }
}

/// For calls that only make a name: one that is guarded and there already stays as it is.
fn only_new(c: &Caller, place: &Place, verb: &str) -> Result<(), Errno> {
    if allowed(c, place, verb)? {
        return Err(libc::EEXIST);
    }
    Ok(())
}

/// A call's result, noting a write the read-only mounts refused on a guarded path.
fn done(c: &Caller, place: &Place, r: Result<libc::c_long, Errno>) -> Result<Reply, Errno> {
    match r {
        Ok(v) => Ok(Reply::Value(v)),
        Err(e) => {
            if let Some(rel) = policy::refused_write(place, e) {
                policy::record(c, format!("wrote {rel}"));
            }
            Err(e)
        }
    }
}

/// Symbolic links followed at the end of an open before `ELOOP`, as the kernel does.
const MAX_LINKS: usize = 40;

fn open(c: &Caller, dirfd: i32, addr: u64, flags: i32, mode: u32) -> Result<Reply, Errno> {
    let path = c.string(addr)?;
    let joined = c.joined(dirfd, &path)?;
    // Writing an existing file under /proc or /dev (a process's own maps and settings, a
    // terminal, /dev/null) is left to the kernel: it checks the opener's credentials there
    // (bubblewrap writing its uid_map, `/dev/tty` meaning the caller's terminal), which the
    // supervisor does not have. Nothing is made by such an open; a name swapped in meanwhile
    // could reach a file of the project only where its read-only mount holds it.
    if flags & libc::O_CREAT == 0 && (joined.starts_with(b"/proc/") || joined.starts_with(b"/dev/")) {
        return Ok(Reply::Proceed);
    }
    let mut abs = c.own_names(joined)?;
    let cloexec = flags & libc::O_CLOEXEC != 0;
    if flags & libc::O_PATH != 0 {
        // O_PATH ignores O_CREAT: nothing is made.
        // (openat2 takes only O_PATH's own flags with it.)
        let own = flags & (libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW);
        let fd = c.resolve(&abs, own, flags & libc::O_NOFOLLOW == 0)?;
        return c.answer().send_fd(fd, cloexec).map(|_| Reply::Sent);
    }
    for _ in 0..MAX_LINKS {
        let place = c.place(&abs)?;
        // What the host runs is never written; one that exists may be read (opened without
        // O_CREAT: if it goes meanwhile, ENOENT, never made).
        let flags = match policy::refused(&place)? {
            None => flags,
            Some((_, rel)) => {
                let there = exists(&place);
                let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
                if writes || !there {
                    policy::record(c, format!("{} {rel}", if there { "wrote" } else { "created" }));
                    return Err(libc::EACCES);
                }
                if flags & libc::O_EXCL != 0 {
                    return Err(libc::EEXIST);
                }
                flags & !libc::O_CREAT
            }
        };
        let dir = place.dir.as_raw_fd();
        if place.in_procfs() {
            // `/proc/<pid>/fd/N` and the like: links into the process's own files, followed as
            // the kernel follows them; nothing can be made in /proc. Written only below a
            // process's folder: the supervisor's rights are not the sandbox's (system-wide
            // files there are read-only mounts as well).
            let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
            let in_process =
                place.dir_path()?.strip_prefix(b"/proc/").is_some_and(|r| r.first().is_some_and(u8::is_ascii_digit));
            if writes && !in_process {
                return Err(libc::EACCES);
            }
            return opened(c, &place, (flags & !libc::O_CREAT) | libc::O_CLOEXEC, 0, cloexec);
        }
        // A link at the end is never followed here, out of the caller's root: it is read and
        // resolved in the root like any path.
        let own = flags | libc::O_CLOEXEC | if flags & libc::O_EXCL == 0 { libc::O_NOFOLLOW } else { 0 };
        match opened(c, &place, own, c.masked(mode), cloexec) {
            Ok(r) => return Ok(r),
            Err(libc::ELOOP) if flags & (libc::O_NOFOLLOW | libc::O_EXCL) == 0 => {
                let target = readlink_at(dir, &place.name).map_err(|_| libc::ELOOP)?;
                abs = if target.starts_with(b"/") {
                    target
                } else {
                    let mut p = place.dir_path()?.to_vec();
                    p.push(b'/');
                    p.extend_from_slice(&target);
                    p
                };
                abs = c.own_names(abs)?;
            }
            Err(e) => return done(c, &place, Err(e)),
        }
    }
    Err(libc::ELOOP)
}

/// Threads waiting in a FIFO's open for its other end, at most.
const MAX_WAITING: usize = 64;
static WAITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Opens `place` with `flags` and hands the file to the caller. Never blocks a worker: the open
/// is tried without waiting, and a FIFO that must wait for its other end (as a blocking open
/// does) is opened again on a thread of its own, which answers when the other end comes.
fn opened(c: &Caller, place: &Place, flags: i32, mode: u32, cloexec: bool) -> Result<Reply, Errno> {
    let name = place.name_c()?;
    let dir = place.dir.as_raw_fd();
    let wants_block = flags & libc::O_NONBLOCK == 0;
    // SAFETY: openat on our descriptor with a valid C string.
    let fd = check(unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_NONBLOCK, mode) } as libc::c_long);
    let fd = match fd {
        // SAFETY: a new descriptor we own.
        Ok(fd) => Some(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        // `/dev/tty` where Aura has no terminal of its own.
        Err(libc::ENXIO) if is_dev_tty(&stat_at(dir, &name)) => return callers_tty(c, flags, cloexec),
        // A FIFO opened for writing with no reader yet.
        Err(libc::ENXIO) if wants_block => None,
        Err(e) => return Err(e),
    };
    let st = fd.as_ref().map(|fd| stat_fd(fd.as_raw_fd()));
    if st.as_ref().is_some_and(is_dev_tty) {
        // `/dev/tty` means the opener's terminal: Aura's own, were it opened here.
        drop(fd);
        return callers_tty(c, flags, cloexec);
    }
    let fifo = st.is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFIFO);
    if let Some(fd) = fd.filter(|_| !(wants_block && fifo)) {
        if wants_block {
            // SAFETY: F_GETFL/F_SETFL on our descriptor.
            unsafe {
                let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
            }
        }
        return c.answer().send_fd(fd, cloexec).map(|_| Reply::Sent);
    }
    if WAITING.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= MAX_WAITING {
        WAITING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        return Err(libc::ENFILE);
    }
    let (dir, answer) = (place.dir.try_clone().map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?, c.answer());
    std::thread::Builder::new()
        .name("sandbox-fifo-open".into())
        .spawn(move || {
            // SAFETY: as above; this thread may wait as long as the caller would have.
            let fd = check(unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode) } as libc::c_long);
            match fd {
                // SAFETY: a new descriptor we own.
                Ok(fd) => {
                    if let Err(e) = answer.send_fd(unsafe { OwnedFd::from_raw_fd(fd as i32) }, cloexec) {
                        answer.error(e);
                    }
                }
                Err(e) => answer.error(e),
            }
            WAITING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        })
        .map_err(|_| libc::EAGAIN)?;
    Ok(Reply::Sent)
}

fn stat_fd(fd: i32) -> libc::stat {
    // SAFETY: fstat into a zeroed struct (left zeroed on failure).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    unsafe { libc::fstat(fd, &mut st) };
    st
}

fn stat_at(dir: i32, name: &std::ffi::CStr) -> libc::stat {
    // SAFETY: as above.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    st
}

/// Whether `st` is `/dev/tty` (character device 5:0), which stands for the opener's terminal.
fn is_dev_tty(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && libc::major(st.st_rdev) == 5 && libc::minor(st.st_rdev) == 0
}

/// Opens the caller's controlling terminal (what its `/dev/tty` is), through the descriptor it
/// has on it; `ENXIO` when it has none, as the kernel says.
fn callers_tty(c: &Caller, flags: i32, cloexec: bool) -> Result<Reply, Errno> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", c.tid)).map_err(|_| libc::ESRCH)?;
    let nr: u64 = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(4))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (major, minor) = ((nr >> 8) & 0xfff, (nr & 0xff) | ((nr >> 12) & 0xfff00));
    if nr == 0 {
        return Err(libc::ENXIO);
    }
    let fds = std::fs::read_dir(format!("/proc/{}/fd", c.tid)).map_err(|_| libc::ESRCH)?;
    for e in fds.flatten() {
        let Ok(meta) = std::fs::metadata(e.path()) else { continue };
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let rdev = meta.rdev();
        if !meta.file_type().is_char_device() || (libc::major(rdev) as u64, libc::minor(rdev) as u64) != (major, minor)
        {
            continue;
        }
        let path = cstr(e.path().as_os_str().as_encoded_bytes())?;
        let own = (flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC | libc::O_NOFOLLOW)) | libc::O_CLOEXEC;
        // SAFETY: open with a valid C string; the result is checked.
        let fd = check(unsafe { libc::open(path.as_ptr(), own) } as libc::c_long)?;
        c.still_waiting()?;
        // SAFETY: a new descriptor we own.
        return c.answer().send_fd(unsafe { OwnedFd::from_raw_fd(fd as i32) }, cloexec).map(|_| Reply::Sent);
    }
    Err(libc::ENXIO)
}

fn mkdir(c: &Caller, dirfd: i32, addr: u64, mode: u32) -> Result<Reply, Errno> {
    let place = place(c, (dirfd, addr))?;
    only_new(c, &place, "created")?;
    let name = place.name_c()?;
    // SAFETY: mkdirat on our descriptor with a valid C string.
    let r = unsafe { libc::mkdirat(place.dir.as_raw_fd(), name.as_ptr(), c.masked(mode & 0o7777)) };
    done(c, &place, check(r as libc::c_long))
}

fn mknod(c: &Caller, dirfd: i32, addr: u64, mode: u32, dev: u64) -> Result<Reply, Errno> {
    let place = place(c, (dirfd, addr))?;
    only_new(c, &place, "created")?;
    let name = place.name_c()?;
    // Only what a process without privileges may make: were Aura run as root, its own right to
    // make device nodes must not become the sandbox's (a node in the project is a host file).
    let kind = mode & libc::S_IFMT;
    if !matches!(kind, 0 | libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK) {
        return Err(libc::EPERM);
    }
    let mode = kind | c.masked(mode & 0o7777);
    // SAFETY: as above.
    let r = unsafe { libc::mknodat(place.dir.as_raw_fd(), name.as_ptr(), mode, dev as libc::dev_t) };
    done(c, &place, check(r as libc::c_long))
}

fn symlink(c: &Caller, target: u64, at: (i32, u64)) -> Result<Reply, Errno> {
    // The link's text is not a name here: it is kept as given, and resolved when used.
    let target = cstr(&c.string(target)?)?;
    let place = place(c, at)?;
    only_new(c, &place, "linked")?;
    let name = place.name_c()?;
    // SAFETY: as above.
    let r = unsafe { libc::symlinkat(target.as_ptr(), place.dir.as_raw_fd(), name.as_ptr()) };
    done(c, &place, check(r as libc::c_long))
}

fn rename(c: &Caller, from: (i32, u64), to: (i32, u64), flags: u32) -> Result<Reply, Errno> {
    let (src, dst) = (place(c, from)?, place(c, to)?);
    // Renaming onto what the host runs replaces it: refused as making it would be...
    let refuse = |p: &Place| match policy::refused(p)? {
        Some((_, rel)) => {
            policy::record(c, format!("moved to {rel}"));
            Err(libc::EACCES)
        }
        None => Ok(()),
    };
    // ...and renaming one away is as good as removing its protection.
    refuse(&dst)?;
    refuse(&src)?;
    let exchange = flags & libc::RENAME_EXCHANGE != 0;
    for (a, b) in [(&src, &dst)].into_iter().chain(exchange.then_some((&dst, &src))) {
        if let Some(found) = policy::carried_out(a, b)? {
            let rel = policy::project_rel(&b.path()?).unwrap_or_default();
            policy::record(c, format!("moved out of node_modules to {rel}: {found}"));
            return Err(libc::EACCES);
        }
    }
    if src.is_mount_point()? || dst.is_mount_point()? {
        return done(c, &dst, Err(libc::EBUSY));
    }
    let (sn, dn) = (src.name_c()?, dst.name_c()?);
    // SAFETY: renameat2 on our descriptors with valid C strings.
    let r = unsafe {
        libc::syscall(libc::SYS_renameat2, src.dir.as_raw_fd(), sn.as_ptr(), dst.dir.as_raw_fd(), dn.as_ptr(), flags)
    };
    done(c, &dst, check(r))
}

fn link(c: &Caller, from: (i32, u64), to: (i32, u64), flags: i32) -> Result<Reply, Errno> {
    let path = c.string(from.1)?;
    // The source, opened as the caller would find it (never through a link out of its root).
    let src = if path.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
        None
    } else {
        let abs = c.absolute(from.0, &path)?;
        let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
        let place = c.place(&abs)?;
        if place.in_procfs() {
            // A process's own descriptor (`/proc/self/fd/N` of an O_TMPFILE): followed as the
            // kernel follows it.
            let name = place.name_c()?;
            let fl = libc::O_PATH | libc::O_CLOEXEC | if follow { 0 } else { libc::O_NOFOLLOW };
            // SAFETY: openat on our descriptor with a valid C string.
            let fd = check(unsafe { libc::openat(place.dir.as_raw_fd(), name.as_ptr(), fl) } as libc::c_long)?;
            // SAFETY: a new descriptor we own.
            Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
        } else {
            Some(c.resolve(&abs, libc::O_PATH, follow)?)
        }
    };
    let dst = place(c, to)?;
    only_new(c, &dst, "linked")?;
    let source = match &src {
        Some(fd) => format!("/proc/self/fd/{}", fd.as_raw_fd()),
        None => c.fd_link(from.0),
    };
    let (s, dn) = (cstr(source.as_bytes())?, dst.name_c()?);
    // SAFETY: linkat with valid C strings; following the /proc link gives the file itself.
    let r =
        unsafe { libc::linkat(libc::AT_FDCWD, s.as_ptr(), dst.dir.as_raw_fd(), dn.as_ptr(), libc::AT_SYMLINK_FOLLOW) };
    done(c, &dst, check(r as libc::c_long))
}
