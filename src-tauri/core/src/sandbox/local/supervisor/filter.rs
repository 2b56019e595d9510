//! The seccomp filter of sandboxed processes: every system call that puts a new name into a
//! directory, and every open that creates or writes, is handed to the supervisor (user
//! notification); everything else runs as usual.
//! Built with libseccomp (all of this machine's ABIs: a 32-bit program gets the same treatment)
//! and loaded by hand, for the flags libseccomp 2.5 does not know.

use std::io::{Read, Seek};
use std::os::fd::{FromRawFd, OwnedFd};

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};

/// Calls that always make (or may make) a new name: handed over whatever their arguments.
pub const NAMING: &[&str] = &[
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "creat",
];

/// Opens that create or write: handed over with any of `OPEN_FLAGS` in the flags at this
/// argument (opens for reading only — most opens — run as usual).
const OPENS: &[(&str, u32)] = &[("open", 1), ("openat", 2)];
const OPEN_FLAGS: &[i32] = &[libc::O_CREAT, libc::O_WRONLY, libc::O_RDWR, libc::O_TRUNC];

/// Refused with `ENOSYS`, which programs take as "use the older call": `openat2` keeps its flags
/// in memory the filter cannot see, and io_uring does file operations no filter sees at all.
const UNSEEN: &[&str] = &["openat2", "io_uring_setup"];

/// This machine's ABIs besides the native one.
fn other_arches() -> &'static [ScmpArch] {
    #[cfg(target_arch = "x86_64")]
    return &[ScmpArch::X86, ScmpArch::X32];
    #[cfg(target_arch = "aarch64")]
    return &[ScmpArch::Arm];
    #[allow(unreachable_code)]
    &[]
}

/// The filter as raw BPF.
pub fn program() -> Result<Vec<libc::sock_filter>, String> {
    let err = |e: libseccomp::error::SeccompError| format!("cannot build the sandbox's seccomp filter: {e}");
    let mut f = ScmpFilterContext::new(ScmpAction::Allow).map_err(err)?;
    for arch in other_arches() {
        f.add_arch(*arch).map_err(err)?;
    }
    // A name this architecture does not have (aarch64 has no `mkdir`) is simply not there.
    let sys = |name: &str| ScmpSyscall::from_name(name).ok();
    for name in NAMING {
        if let Some(s) = sys(name) {
            f.add_rule(ScmpAction::Notify, s).map_err(err)?;
        }
    }
    for (name, arg) in OPENS {
        if let Some(s) = sys(name) {
            for flag in OPEN_FLAGS {
                let bit = *flag as u64;
                let cond = ScmpArgCompare::new(*arg, ScmpCompareOp::MaskedEqual(bit), bit);
                f.add_rule_conditional(ScmpAction::Notify, s, &[cond]).map_err(err)?;
            }
        }
    }
    for name in UNSEEN {
        if let Some(s) = sys(name) {
            f.add_rule(ScmpAction::Errno(libc::ENOSYS), s).map_err(err)?;
        }
    }
    let io = |e: std::io::Error| format!("cannot export the sandbox's seccomp filter: {e}");
    // SAFETY: memfd_create with a valid C string; the result is checked.
    let raw = unsafe { libc::memfd_create(c"aura-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a new descriptor we own.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(raw) });
    f.export_bpf(&file).map_err(err)?;
    let mut bytes = Vec::new();
    file.rewind().and_then(|_| file.read_to_end(&mut bytes)).map_err(io)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// Loads `prog` on the calling thread (and so on everything it starts from now on) and returns
/// the listener its notifications arrive on. Sets no-new-privileges on this thread, as seccomp
/// requires without privileges (the sandbox has it anyway).
pub fn load(prog: &[libc::sock_filter]) -> Result<OwnedFd, String> {
    let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut libc::sock_filter };
    // SAFETY: plain prctl; affects only this thread.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!("cannot set no-new-privileges: {}", std::io::Error::last_os_error()));
    }
    // Waiting killably once the supervisor has the call (5.19+): a signal must not restart a call
    // the supervisor has already carried out (a restarted O_EXCL create would fail).
    let listener = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as libc::c_ulong;
    let mut last = std::io::Error::from_raw_os_error(libc::EINVAL);
    for flags in [listener | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, listener] {
        // SAFETY: `fprog` points into `prog`, alive for the call.
        let fd = unsafe {
            libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, &fprog as *const libc::sock_fprog)
        };
        if fd >= 0 {
            // SAFETY: the kernel returned a new descriptor.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        last = std::io::Error::last_os_error();
        if last.raw_os_error() != Some(libc::EINVAL) {
            break;
        }
    }
    Err(format!("this kernel cannot hand file creation to Aura (seccomp user notification): {last}"))
}
