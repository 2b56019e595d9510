//! The supervisor carries out every call that makes a name for sandboxed processes: what those
//! calls do must not change. One script of file operations (shell, Python's os module, Node's
//! fs, relative and absolute paths, links, descriptors, umask, error cases) runs in a supervised
//! and in an unsupervised sandbox, each over its own copy of a project; the two outputs and
//! the two resulting trees must be the same.

use std::path::Path;

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{Exec, ExecRequest, Lifecycle, SandboxSpec};

#[path = "support/exec.rs"]
mod exec;
use exec::{rt, Collect};

const SCRIPT: &str = r#"
umask 022
mkdir -p a/b/c; echo mkdir-p:$?
mkdir a 2>/dev/null; echo mkdir-exists:$?
touch a/b/c/f; echo touch:$?
ln -s f a/b/c/l; echo symlink:$?
ln -s /nowhere/target a/dangling; echo dangling:$?
echo x 2>/dev/null > a/dangling; echo write-dangling:$?
ln a/b/c/f a/h; echo hardlink:$?
mv a/h a/h2; echo mv:$?
mkfifo a/fifo; echo mkfifo:$?
(sleep 0.2; cat a/fifo) & echo through-fifo > a/fifo; wait
# Writers waiting in a FIFO's open do not hold up anyone else's files.
for i in 1 2 3 4 5 6; do (echo x > a/fifo) & done
sleep 0.2; touch a/after && echo after-ok
exec 5<>a/fifo; wait; exec 5>&-; echo drained
echo to-stdout > /dev/stdout; echo stdout:$?
echo x > /dev/null; echo devnull:$?
echo x 2>/dev/null > /dev/tty; echo no-terminal:$?
python3 -c 'import os; os.close(os.open("/dev/null", os.O_RDWR)); print("rdwr-null ok")'
echo keep > a/rw; python3 -c 'import os; fd = os.open("a/rw", os.O_RDWR); os.write(fd, b"K"); print("rdwr", open("a/rw").read().strip())'
python3 -c 'import os; os.close(os.open("a/rw", os.O_RDONLY | os.O_TRUNC)); print("trunc", os.path.getsize("a/rw"))'
echo x > /proc/self/fd/1; echo proc-self:$?
(cd a/b && echo rel > ../../rel.txt && cat ../../rel.txt)
umask 077; touch u; stat -c '%a' u; umask 022
mkdir -m 0750 m; stat -c '%a' m
exec 3>a/x3; echo y >&3; exec 3>&-; cat a/x3
echo in-tmp > /tmp/t1 && cat /tmp/t1
ln -s /tmp/t2 esc; echo through-link > esc; cat /tmp/t2
python3 - <<'PY'
import errno, fcntl, os
def err(label, f):
    try:
        f()
        print(label, "ok")
    except OSError as e:
        print(label, errno.errorcode[e.errno])
fd = os.open("a", os.O_TMPFILE | os.O_WRONLY, 0o600)
os.write(fd, b"from-tmpfile")
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
# linkat(..., AT_SYMLINK_FOLLOW): what O_TMPFILE users do (plain link() would link /proc's entry).
print("tmpfile-link", libc.linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, b"a/fromtmp", 0x400))
err("link-proc-entry", lambda: os.link(f"/proc/self/fd/{fd}", "a/nolink"))
print(open("a/fromtmp").read())
err("excl", lambda: os.open("a/fromtmp", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
fd = os.open("a/cloexec", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644)
print("cloexec", bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
fd = libc.open(b"a/inherit", os.O_CREAT | os.O_WRONLY, 0o644)  # (Python's own adds O_CLOEXEC)
print("inherit", bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
for part in (b"1", b"2"):
    fd = os.open("a/append", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    os.write(fd, part)
    os.close(fd)
print(open("a/append").read())
d = os.open("a/b", os.O_RDONLY | os.O_DIRECTORY)
os.mkdir("viafd", dir_fd=d)
os.close(os.open("viafd/f", os.O_CREAT | os.O_WRONLY, dir_fd=d))
print(sorted(os.listdir("a/b/viafd")))
err("under-a-file", lambda: os.open("a/b/c/f/x", os.O_CREAT | os.O_WRONLY))
err("missing-parent", lambda: os.open("missing/x", os.O_CREAT | os.O_WRONLY))
err("empty", lambda: os.open("", os.O_CREAT | os.O_WRONLY))
err("trailing-slash", lambda: os.open("a/newfile/", os.O_CREAT | os.O_WRONLY))
err("mkdir-under-file", lambda: os.mkdir("a/b/c/f/sub"))
err("rename-into-itself", lambda: os.rename("a/b", "a/b/c/inside"))
err("link-to-existing", lambda: os.link("a/fromtmp", "a/append"))
err("symlink-existing", lambda: os.symlink("t", "a/append"))
err("outside-ro", lambda: os.mkdir("/usr/aura-test"))
os.rename("a/h2", "a/h3")
os.replace("a/h3", "a/x3")
os.symlink("target-text", "a/sym")
print(os.readlink("a/sym"))
os.mkdir("trail/")
err("follow-link-create", lambda: os.close(os.open("a/b/c/l", os.O_CREAT | os.O_WRONLY)))
err("nofollow-link", lambda: os.open("a/b/c/l", os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW))
err("exchange", lambda: os.rename("a/fromtmp", "a/fromtmp2"))
PY
node -e '
const fs = require("fs");
fs.mkdirSync("n/deep/er", { recursive: true });
fs.writeFileSync("n/deep/file.txt", "node");
fs.renameSync("n/deep/file.txt", "n/moved.txt");
fs.symlinkSync("moved.txt", "n/link");
fs.promises.writeFile("n/async.txt", "async").then(() => fs.promises.mkdir("n/amk")).then(() => console.log("node", fs.readFileSync("n/link", "utf8"), fs.readdirSync("n").sort().join(",")));
'
find . -mindepth 1 | LC_ALL=C sort | while read -r p; do stat -c '%A %s %n' "$p"; done
"#;

/// Runs the script in a fresh project under `p`; returns its output.
fn run(p: &LocalProvider) -> String {
    let d = tempfile::tempdir().unwrap();
    let project = d.path().canonicalize().unwrap();
    std::fs::write(project.join("seed.txt"), "seed\n").unwrap();
    let id = p.create_for(&ProjectRoot::open(&project).unwrap(), &SandboxSpec::default()).unwrap().id;
    let mut c = Collect::default();
    let req = ExecRequest { command: SCRIPT.into(), timeout_s: Some(120), ..Default::default() };
    let r = rt().block_on(p.exec(&id, &req, &mut c)).unwrap();
    let out = String::from_utf8_lossy(&c.0).into_owned();
    assert_eq!(r.exit_code, Some(0), "{out}");
    rt().block_on(p.stop(&id)).unwrap();
    assert!(!Path::new("/tmp/t2").exists(), "a link in the sandbox led out of it");
    out
}

#[test]
fn file_operations_behave_the_same_under_the_supervisor() {
    let supervised = LocalProvider::new(false).expect("bubblewrap must work on the test machine");
    aura_core::sandbox::local::supervisor::available().expect("the supervisor must work on the test machine");
    let plain = LocalProvider::new(false).unwrap().unguarded();
    let (a, b) = (run(&supervised), run(&plain));
    // The guard's root placeholders (empty folders, read-only) are only in the supervised one.
    let strip = |s: &str| {
        s.lines()
            .filter(|l| ![".git", ".vscode", ".idea", ".claude"].iter().any(|n| l.ends_with(&format!(" ./{n}"))))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&a), strip(&b));
    for expected in
        ["mkdir-p:0", "symlink:0", "from-tmpfile", "excl EEXIST", "cloexec True", "inherit False", "12", "node node"]
    {
        assert!(a.contains(expected), "{expected} missing:\n{a}");
    }
}
