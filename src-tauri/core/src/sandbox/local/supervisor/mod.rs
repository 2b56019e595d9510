//! The supervisor of file creation in local sandboxes.
//!
//! Read-only mounts keep what exists (see [`super::guard`]), but nothing can stand where a
//! name does not exist yet: a new `.git` in any subfolder, a new `.envrc` — made, renamed or
//! linked there — would be run by Git, direnv or an editor on this machine. So every sandboxed
//! process starts under a seccomp filter ([`filter`]) that hands each call making a new name to
//! this supervisor, a few threads of Aura's, which carries the call out for it ([`emulate`]) in
//! its root ([`caller`]) and refuses the names [`policy`] lists, noting each refusal for the
//! Sandbox panel. Deciding on a name and then letting the kernel re-read it would be a race
//! (another thread rewrites the name in between); carrying out the call on the copy is not.
//!
//! Processes get the filter by being started from one thread that has it: [`run`] starts them
//! there (commands and terminals), and everything they start inherits it, bubblewrap's own
//! set-up included.

mod caller;
mod emulate;
mod filter;
pub mod policy;

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{mpsc, Arc, OnceLock};

use parking_lot::Mutex;

pub use policy::{blocked, forget};

type Job = Box<dyn FnOnce() + Send>;

struct Supervisor {
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// Threads answering calls: a few, so one slow file system call does not hold up the rest.
const WORKERS: usize = 4;

static SUPERVISOR: OnceLock<Result<Supervisor, String>> = OnceLock::new();

fn get() -> Result<&'static Supervisor, String> {
    SUPERVISOR.get_or_init(start).as_ref().map_err(Clone::clone)
}

/// Whether sandboxed processes can be supervised here (else why not).
pub fn available() -> Result<(), String> {
    get().map(|_| ())
}

fn start() -> Result<Supervisor, String> {
    let prog = filter::program()?;
    emulate::prepare();
    let (jobs, queue) = mpsc::channel::<Job>();
    let (ready, listener) = mpsc::sync_channel::<Result<OwnedFd, String>>(1);
    std::thread::Builder::new()
        .name("sandbox-starter".into())
        .spawn(move || {
            let loaded = filter::load(&prog);
            let ok = loaded.is_ok();
            let _ = ready.send(loaded);
            if ok {
                for job in queue {
                    // A job that panics must not end the thread every sandbox starts from.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            }
        })
        .map_err(|e| format!("cannot start the sandbox's starter thread: {e}"))?;
    let listener = Arc::new(listener.recv().map_err(|_| "the sandbox's starter thread ended".to_string())??);
    // The caller waits while a worker runs: wake the worker on the caller's CPU at once (6.6+;
    // without it each call costs two ordinary scheduler round trips).
    const SYNC_WAKE_UP: u64 = 1;
    // SAFETY: the ioctl takes the flags by value; failing (an older kernel) changes nothing.
    unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS as _, SYNC_WAKE_UP) };
    for i in 0..WORKERS {
        let l = listener.clone();
        std::thread::Builder::new()
            .name(format!("sandbox-supervisor-{i}"))
            .spawn(move || serve(&l))
            .map_err(|e| format!("cannot start the sandbox's supervisor: {e}"))?;
    }
    tracing::info!("sandboxed processes make new files through Aura's supervisor");
    Ok(Supervisor { jobs: Mutex::new(jobs) })
}

/// Runs `f` (which starts a process) on the thread whose children are supervised.
pub fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let sup = get()?;
    let (tx, rx) = mpsc::sync_channel(1);
    sup.jobs
        .lock()
        .send(Box::new(move || {
            let _ = tx.send(f());
        }))
        .map_err(|_| "the sandbox's starter thread has ended".to_string())?;
    rx.recv().map_err(|_| "the sandbox's starter thread has ended".to_string())
}

/// One worker: answers calls until the listener closes.
fn serve(listener: &OwnedFd) {
    // Files are made with the caller's umask, applied here: this thread's own is 0.
    // SAFETY: unsharing the file-system attributes affects this thread only.
    unsafe {
        if libc::unshare(libc::CLONE_FS) == 0 {
            libc::umask(0);
        }
    }
    let fd = listener.as_raw_fd();
    loop {
        // SAFETY: RECV fills the zeroed struct.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV as _, &mut req as *mut _) } != 0 {
            match caller::errno() {
                // Interrupted, or the caller went away before we took it.
                libc::EINTR | libc::ENOENT => continue,
                e => {
                    tracing::error!("the sandbox's supervisor stopped: errno {e}");
                    return;
                }
            }
        }
        let reply = std::panic::catch_unwind(|| emulate::handle(fd, &req)).unwrap_or(emulate::Reply::Errno(libc::EIO));
        let answer = caller::Answer::new(fd, req.id);
        match reply {
            emulate::Reply::Sent => {}
            emulate::Reply::Proceed => answer.proceed(),
            emulate::Reply::Value(v) => answer.reply(v, 0),
            emulate::Reply::Errno(e) => answer.error(e),
        }
    }
}
