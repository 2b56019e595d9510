//! What the supervisor refuses, and the list of what it refused per project.
//!
//! Refused: anything this machine runs by itself or reads as settings (`.git` as a folder, file
//! or link, a git folder's settings and hooks, `.vscode`, `.idea`, `.claude`, `.mcp.json`,
//! `.envrc`, `.gitmodules` and what is inside them — see [`crate::host_run::protected`])
//! anywhere in the project, however it would come to be: made, renamed or linked there, created
//! through a link, or opened for writing. Existing ones are read-only mounts as well
//! ([`super::super::guard`]); this holds where a mount cannot stand (a new name) and where the
//! host lifted one (the kernel detaches a mount whose file the host replaced). Not inside
//! `node_modules` (packages ship editor folders; nothing there runs on the host by itself), but
//! a folder leaving `node_modules` that holds such a name is refused as a whole. Outside the
//! project (`/tmp`, home, caches) nothing is refused.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::LazyLock;

use parking_lot::Mutex;

use super::caller::{cstr, Caller, Errno, Place};
use crate::host_run;
use crate::sandbox::local::bwrap::WORKSPACE;

const ZONE: &str = "node_modules";

/// The project-relative path of `path` (as the sandbox sees it), if it is in the project.
pub fn project_rel(path: &[u8]) -> Option<String> {
    let rest = path.strip_prefix(WORKSPACE.as_bytes())?;
    let rest = match rest {
        [] => "",
        [b'/', r @ ..] => std::str::from_utf8(r).ok()?,
        _ => return None,
    };
    Some(rest.trim_end_matches('/').to_string())
}

fn in_zone(rel: &str) -> bool {
    rel.split('/').any(|c| c == ZONE)
}

/// Why making, writing or renaming `place` must be refused, if it must (see
/// [`host_run::protected`]), with its project-relative path.
pub fn refused(place: &Place) -> Result<Option<(&'static str, String)>, Errno> {
    let Some(rel) = project_rel(&place.path()?) else { return Ok(None) };
    Ok(host_run::protected(&rel).map(|why| (why, rel)))
}

/// Whether `place` is in the project outside `node_modules`, or is a `node_modules` itself.
fn zone_of(place: &Place) -> Result<Option<bool>, Errno> {
    Ok(project_rel(&place.path()?).map(|rel| in_zone(&rel)))
}

/// A rename from `from` to `to` that carries a guarded name out of `node_modules` into the
/// rest of the project: refused with the name found (a walk of the moved folder).
pub fn carried_out(from: &Place, to: &Place) -> Result<Option<String>, Errno> {
    if !(zone_of(from)? == Some(true) && zone_of(to)? == Some(false)) {
        return Ok(None);
    }
    let name = from.name_c()?;
    // SAFETY: openat on our directory descriptor; the result is checked.
    let fd = unsafe {
        libc::openat(
            from.dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        // Not a folder: its own name was checked as the new name.
        return Ok(None);
    }
    // SAFETY: a new descriptor we own.
    let dir = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut budget = 200_000usize;
    match find_guarded(dir.as_raw_fd(), "", &mut budget) {
        Some(found) => Ok(Some(found)),
        None if budget == 0 => Ok(Some("(too many files to check)".into())),
        None => Ok(None),
    }
}

fn find_guarded(dir: RawFd, at: &str, budget: &mut usize) -> Option<String> {
    let entries = std::fs::read_dir(format!("/proc/self/fd/{dir}")).ok()?;
    for e in entries.flatten() {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        let name = e.file_name();
        let name = name.to_string_lossy();
        let rel = if at.is_empty() { name.to_string() } else { format!("{at}/{name}") };
        if name != ZONE && host_run::why(&name).is_some() {
            return Some(rel);
        }
        if name != ZONE && e.file_type().is_ok_and(|t| t.is_dir()) {
            let c = cstr(name.as_bytes()).ok()?;
            // SAFETY: openat on a descriptor alive for this call.
            let fd = unsafe {
                libc::openat(dir, c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            };
            if fd >= 0 {
                // SAFETY: a new descriptor we own.
                let sub = unsafe { OwnedFd::from_raw_fd(fd) };
                if let Some(found) = find_guarded(sub.as_raw_fd(), &rel, budget) {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// How many refusals a project keeps (the newest).
const KEPT: usize = 50;

/// Refusals by project folder (device, inode: the same through the sandbox's mount).
type Refusals = HashMap<(u64, u64), VecDeque<String>>;
static BLOCKED: LazyLock<Mutex<Refusals>> = LazyLock::new(Default::default);

/// Notes a refusal in the project the caller's `/workspace` is.
pub fn record(caller: &Caller, what: String) {
    let c = cstr(&WORKSPACE.as_bytes()[1..]).expect("no NUL");
    // SAFETY: fstatat into a zeroed struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatat(caller.root_fd(), c.as_ptr(), &mut st, 0) } != 0 {
        return;
    }
    tracing::info!("sandbox refused: {what}");
    let mut map = BLOCKED.lock();
    let list = map.entry((st.st_dev, st.st_ino)).or_default();
    if list.front() == Some(&what) {
        return;
    }
    list.push_front(what);
    list.truncate(KEPT);
}

fn key(project: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(project).ok().map(|m| (m.dev(), m.ino()))
}

/// What was refused in `project`, newest first.
pub fn blocked(project: &Path) -> Vec<String> {
    key(project).and_then(|k| BLOCKED.lock().get(&k).map(|l| l.iter().cloned().collect())).unwrap_or_default()
}

/// Forgets `project`'s refusals (its sandbox stopped).
pub fn forget(project: &Path) {
    if let Some(k) = key(project) {
        BLOCKED.lock().remove(&k);
    }
}

/// Whether a failed write at `place` was a guarded path refused by its read-only mount.
pub fn refused_write(place: &Place, err: Errno) -> Option<String> {
    if !matches!(err, libc::EROFS | libc::EBUSY | libc::EACCES | libc::EPERM) {
        return None;
    }
    let rel = project_rel(&place.path().ok()?)?;
    host_run::protected(&rel).map(|_| rel)
}
