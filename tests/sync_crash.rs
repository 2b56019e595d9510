//! The sync process killed with SIGKILL at random points of a 2,000-file sync, ten times over,
//! with edits between the runs: after a final uninterrupted pass nothing is lost and the bucket's
//! HEAD is byte-for-byte the project on disk, links and empty folders included; then the same
//! project's conversion to an encrypted one, killed at random points, loses nothing either. Also: files the sync process cannot read are
//! per-file errors while the rest syncs. Drives the real `aura-sync` binary (the app's engine)
//! against a real SeaweedFS on 127.0.0.1.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../src-tauri/core/tests/support/weed.rs"]
mod support;
use support::{weed, Weed, ACCESS_KEY, SECRET_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_aura-sync");

/// A small deterministic generator (the seed is printed, so a failure can be replayed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn cmd(bin: &str, w: &Weed) -> Command {
    let mut c = Command::new(bin);
    c.env("AURA_S3_ENDPOINT", w.endpoint())
        .env("AURA_S3_BUCKET", "aura-crash")
        .env("AURA_S3_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AURA_S3_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AURA_SYNC_CONCURRENCY", "8");
    c
}

fn run_json(mut c: Command) -> serde_json::Value {
    let out = c.output().unwrap();
    assert!(out.status.success(), "aura-sync failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file, link and folder under `dir` (relative path → content; a link as `-> target`, a
/// folder as `path/` with no content), skipping the ignored `target/`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            if t.is_dir() && e.file_name() != "target" {
                stack.push(e.path());
                out.insert(format!("{rel}/"), Vec::new());
            } else if t.is_file() {
                out.insert(rel, std::fs::read(e.path()).unwrap());
            } else if t.is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            }
        }
    }
    out
}

/// Links inside the project and empty folders come and go between runs too.
fn relink_and_fold(proj: &Path, rng: &mut Rng) {
    for _ in 0..10 {
        let j = rng.below(30);
        let link = proj.join(format!("links/l{j:02}"));
        let _ = std::fs::remove_file(&link);
        if rng.below(4) != 0 {
            let i = rng.below(2000);
            std::os::unix::fs::symlink(format!("../d{:02}/f{i:04}.txt", i % 40), link).unwrap();
        }
        let folder = proj.join(format!("empty/e{:02}", rng.below(30)));
        if folder.exists() {
            std::fs::remove_dir(folder).unwrap();
        } else {
            std::fs::create_dir_all(folder).unwrap();
        }
    }
}

fn write_file(proj: &Path, rng: &mut Rng, i: u64) {
    let rel = format!("d{:02}/f{i:04}.txt", i % 40);
    let len = 50 + rng.below(6000) as usize;
    let fill = (b'a' + rng.below(26) as u8) as char;
    let body = format!("{rel} {}\n{}", rng.next(), fill.to_string().repeat(len));
    std::fs::create_dir_all(proj.join(format!("d{:02}", i % 40))).unwrap();
    std::fs::write(proj.join(rel), body).unwrap();
}

#[test]
fn kill_9_at_random_points_loses_nothing() {
    let Some(w) = weed() else { return };
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let proj = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let db = state.path().join("state.sqlite3");
    std::fs::write(proj.path().join(".gitignore"), "target/\n").unwrap();
    std::fs::create_dir_all(proj.path().join("target")).unwrap();
    std::fs::write(proj.path().join("target/out.o"), "build output").unwrap();
    for i in 0..2000 {
        write_file(proj.path(), &mut rng, i);
    }
    std::fs::create_dir_all(proj.path().join("links")).unwrap();
    std::fs::create_dir_all(proj.path().join("empty")).unwrap();
    relink_and_fold(proj.path(), &mut rng);
    let push = || {
        let mut c = cmd(BIN, &w);
        c.args(["push", proj.path().to_str().unwrap(), "--db", db.to_str().unwrap(), "--key", "crash"]);
        c
    };
    // The server may need a moment after opening its port.
    let empty = tempfile::tempdir().unwrap();
    let ready = || {
        let mut c = cmd(BIN, &w);
        c.args(["push", empty.path().to_str().unwrap(), "--db", db.to_str().unwrap(), "--key", "ready"]);
        c.output().unwrap().status.success()
    };
    let end = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < end, "SeaweedFS is not answering");
        std::thread::sleep(Duration::from_millis(300));
    }

    // Kill points are drawn over the whole length of a pass, commit included: the estimate is
    // the length of the last pass that finished on its own, stretched after each kill.
    let (mut killed, mut runs, mut finished) = (0, 0, 0);
    let mut estimate_ms = 3000u64;
    while killed < 10 {
        runs += 1;
        assert!(runs < 60, "the sync kept finishing before it could be killed");
        // Between runs the user edits, adds and deletes.
        if runs > 1 {
            for _ in 0..300 {
                let i = rng.below(2200);
                let path = proj.path().join(format!("d{:02}/f{i:04}.txt", i % 40));
                if rng.below(10) == 0 {
                    let _ = std::fs::remove_file(path);
                } else {
                    write_file(proj.path(), &mut rng, i);
                }
            }
            relink_and_fold(proj.path(), &mut rng);
        }
        let started = Instant::now();
        let mut child = push().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let at = Duration::from_millis(rng.below(estimate_ms * 11 / 10 + 1));
        while started.elapsed() < at && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            killed += 1;
            // Killed ones leave more to do: reach further next time.
            estimate_ms = estimate_ms * 5 / 4;
        } else {
            finished += 1;
            estimate_ms = started.elapsed().as_millis() as u64;
        }
        let _ = child.wait();
    }
    eprintln!("{killed} kills, {finished} passes finished on their own, in {runs} runs");

    // Restart: one uninterrupted pass finishes the work.
    let r = run_json(push());
    assert_eq!(r["pending"], 0, "{r}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 0, "{r}");
    // A second pass finds nothing to do.
    let again = run_json(push());
    assert_eq!((again["hashed"].as_u64(), again["uploaded"].as_u64()), (Some(0), Some(0)), "{again}");

    // The bucket's HEAD is exactly the disk.
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("restored");
    let mut c = cmd(BIN, &w);
    c.args(["restore", "crash", dest.to_str().unwrap()]);
    run_json(c);
    let (want, got) = (tree(proj.path()), tree(&dest));
    assert!(!got.contains_key("target/out.o"));
    assert!(want.keys().any(|k| k.starts_with("links/")) && want.keys().any(|k| k.starts_with("empty/e")));
    assert_eq!(
        want.len(),
        got.len(),
        "entry count: {:?}",
        want.keys().filter(|k| !got.contains_key(*k)).collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert_eq!(got.get(k), Some(v), "{k} differs after {killed} kills");
    }

    // Then the project, with all that history, is converted to an encrypted one — killed at
    // random points too. Until a run finishes, the plaintext project is untouched; then the
    // sealed one has every snapshot and restores byte for byte.
    let history = run_json({
        let mut c = cmd(BIN, &w);
        c.args(["snapshots", "crash"]);
        c
    });
    let project_key = aura_core::sync::crypto::ProjectKey::generate().to_text();
    let encrypt = || {
        let mut c = cmd(BIN, &w);
        c.env("AURA_SYNC_PROJECT_KEY", &project_key).args(["encrypt", "crash", "e-crash"]);
        c
    };
    let (mut kills, mut estimate_ms) = (0, 400u64);
    for _ in 0..20 {
        let started = Instant::now();
        let mut child = encrypt().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let at = Duration::from_millis(rng.below(estimate_ms + 1));
        while started.elapsed() < at && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        kills += 1;
        estimate_ms = estimate_ms * 5 / 4;
        // Killed before it finished: the plaintext project still answers, at the same HEAD —
        // unless the kill came after the pointer was written.
        let mut c = cmd(BIN, &w);
        let out = c.args(["snapshots", "crash"]).output().unwrap();
        if out.status.success() {
            let now: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(now["head"], history["head"], "the plaintext HEAD is untouched until the swap");
        } else {
            assert!(String::from_utf8_lossy(&out.stderr).contains("end-to-end encrypted"));
        }
    }
    let r = run_json(encrypt());
    eprintln!("conversion killed {kills} times, then {r}");
    assert_eq!(r["snapshots"].as_u64(), Some(history["snapshots"].as_array().unwrap().len() as u64), "{r}");
    let sealed = run_json({
        let mut c = cmd(BIN, &w);
        c.env("AURA_SYNC_PROJECT_KEY", &project_key).args(["snapshots", "e-crash"]);
        c
    });
    assert_eq!(sealed["snapshots"], history["snapshots"], "every snapshot, under its id");
    assert_eq!(sealed["head"], history["head"]);
    let dest = out.path().join("restored-sealed");
    let mut c = cmd(BIN, &w);
    c.env("AURA_SYNC_PROJECT_KEY", &project_key).args(["restore", "e-crash", dest.to_str().unwrap()]);
    run_json(c);
    assert_eq!(tree(&dest), got, "the sealed HEAD restores as the plaintext one did");
    let mut c = cmd(BIN, &w);
    let out = c.args(["restore", "crash", out.path().join("from-old").to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("end-to-end encrypted"));
}

#[test]
fn unreadable_files_are_per_file_errors_and_the_rest_syncs() {
    use std::os::unix::fs::PermissionsExt;
    let Some(w) = weed() else { return };
    let dir = tempfile::tempdir().unwrap();
    let open = |p: &Path| std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    open(dir.path());
    let proj = dir.path().join("proj");
    std::fs::create_dir_all(proj.join("locked")).unwrap();
    std::fs::write(proj.join("ok.txt"), "readable").unwrap();
    std::fs::write(proj.join("secret.txt"), "unreadable").unwrap();
    std::fs::write(proj.join("locked/inside.txt"), "unreachable").unwrap();
    for p in [&proj, &proj.join("ok.txt")] {
        open(p);
    }
    std::fs::set_permissions(proj.join("secret.txt"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(proj.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads everything: run the sync as an unprivileged user then.
    let root_user = unsafe { libc::geteuid() } == 0;
    let bin = dir.path().join("aura-sync");
    std::fs::copy(BIN, &bin).unwrap();
    let mut c = if root_user {
        let mut c = cmd("setpriv", &w);
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(&bin);
        c
    } else {
        cmd(bin.to_str().unwrap(), &w)
    };
    c.env("HOME", dir.path()).args([
        "push",
        proj.to_str().unwrap(),
        "--db",
        dir.path().join("state.sqlite3").to_str().unwrap(),
        "--key",
        "unreadable",
    ]);
    let end = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let out = c.output().unwrap();
        if out.status.success() {
            break serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        }
        assert!(Instant::now() < end, "{}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(r["uploaded"], 1, "ok.txt went: {r}");
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["path"] == "secret.txt" && e["error"].as_str().unwrap().contains("ermission")),
        "a clear error for the unreadable file: {r}"
    );
    assert!(r["snapshot"].is_string(), "the snapshot was made despite the error: {r}");
}
