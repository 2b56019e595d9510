//! The local provider on real bubblewrap sandboxes: isolation, limits, streaming, lifecycle.

use std::time::{Duration, Instant};

use aura_core::paths::ProjectRoot;
use aura_core::sandbox::local::LocalProvider;
use aura_core::sandbox::{
    Exec, ExecOutcome, ExecRequest, ExecSink, Files, Lifecycle, Limits, SandboxError, SandboxSpec, SandboxState,
};
use aura_core::terminal::{TerminalManager, TerminalSink};

#[derive(Default)]
struct Collect {
    out: Vec<u8>,
    err: Vec<u8>,
}
impl ExecSink for Collect {
    fn stdout(&mut self, d: &[u8]) {
        self.out.extend_from_slice(d);
    }
    fn stderr(&mut self, d: &[u8]) {
        self.err.extend_from_slice(d);
    }
}

struct Fx {
    _dir: tempfile::TempDir,
    outside: tempfile::TempDir,
    root: ProjectRoot,
    p: LocalProvider,
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "inside\n").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret\n").unwrap();
    let root = ProjectRoot::open(dir.path()).unwrap();
    let p = LocalProvider::new(false).expect("bubblewrap must work on the test machine");
    Fx { _dir: dir, outside, root, p }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

async fn run(p: &LocalProvider, id: &str, cmd: &str) -> (Result<ExecOutcome, SandboxError>, String, String) {
    let mut c = Collect::default();
    let r = p.exec(id, &ExecRequest { command: cmd.into(), timeout_s: Some(60), ..Default::default() }, &mut c).await;
    (r, String::from_utf8_lossy(&c.out).into_owned(), String::from_utf8_lossy(&c.err).into_owned())
}

#[test]
fn commands_see_only_the_workspace() {
    let f = fx();
    rt().block_on(async {
        let sb = f.p.create_for(&f.root, &SandboxSpec::default()).unwrap();
        assert!(sb.isolated);
        let (r, out, _) = run(&f.p, &sb.id, "pwd; cat hello.txt").await;
        assert_eq!(r.unwrap().exit_code, Some(0));
        assert_eq!(out, "/workspace\ninside\n");

        // A file outside the project cannot be read: its folder does not exist in there.
        let secret = f.outside.path().join("secret.txt");
        let (r, out, err) = run(&f.p, &sb.id, &format!("cat {}", secret.display())).await;
        assert_ne!(r.unwrap().exit_code, Some(0));
        assert!(!out.contains("top secret"));
        assert!(err.contains("No such file"), "{err}");
        let (_, out, _) = run(&f.p, &sb.id, "ls /").await;
        let top: Vec<&str> = out.lines().collect();
        assert!(
            !top.contains(&"root") && !top.contains(&"opt") && !top.contains(&"srv"),
            "host folders are absent: {top:?}"
        );

        // Nothing outside the workspace can be written (or what is written stays inside).
        for target in ["/usr/aura-x", "/etc/aura-x", "/workspace/../aura-x", "/aura-x", "/var/../aura-x"] {
            let (r, _, _) = run(&f.p, &sb.id, &format!("echo x > {target}")).await;
            assert_ne!(r.unwrap().exit_code, Some(0), "{target} must not be writable");
        }
        assert!(!std::path::Path::new("/usr/aura-x").exists() && !std::path::Path::new("/etc/aura-x").exists());
        let (r, _, _) = run(&f.p, &sb.id, "echo tmp > /tmp/aura-sandbox-probe && echo home > ~/probe").await;
        assert_eq!(r.unwrap().exit_code, Some(0), "private /tmp and home are writable");
        assert!(!std::path::Path::new("/tmp/aura-sandbox-probe").exists(), "the sandbox's /tmp is private");
        let (r, _, _) = run(&f.p, &sb.id, "echo made > made.txt").await;
        assert_eq!(r.unwrap().exit_code, Some(0));
        assert_eq!(std::fs::read_to_string(f.root.path().join("made.txt")).unwrap(), "made\n");
    });
}

#[test]
fn host_processes_and_environment_are_invisible() {
    let f = fx();
    std::env::set_var("AURA_HOST_ONLY_SECRET", "leak");
    rt().block_on(async {
        let spec = SandboxSpec { env: vec![("GREETING".into(), "hi there".into())], ..Default::default() };
        let sb = f.p.create_for(&f.root, &spec).unwrap();
        let me = std::process::id();
        let (r, out, _) = run(
            &f.p,
            &sb.id,
            &format!("cat /proc/1/comm; test -e /proc/{me} && echo SEES_HOST; ls /proc | grep -c '^[0-9]'; env"),
        )
        .await;
        assert_eq!(r.unwrap().exit_code, Some(0));
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("bwrap"), "pid 1 is the sandbox's own init");
        assert!(!out.contains("SEES_HOST"));
        let visible: u32 = lines.next().unwrap().trim().parse().unwrap();
        assert!(visible < 10, "only the sandbox's processes are visible, saw {visible}");
        assert!(out.contains("GREETING=hi there"));
        assert!(!out.contains("AURA_HOST_ONLY_SECRET"), "the host environment is cleared");
        assert!(out.contains("HOME=/home/aura"));
    });
}

#[test]
fn a_fork_bomb_is_stopped_and_the_app_survives() {
    let f = fx();
    rt().block_on(async {
        let spec = SandboxSpec { limits: Limits { max_pids: Some(64), ..Limits::default() }, ..Default::default() };
        let sb = f.p.create_for(&f.root, &spec).unwrap();
        // An exponential fork bomb, bounded at depth 12 (4,096 shells) so that a broken limit
        // cannot take the test machine down with it.
        let bomb = "bomb() { if [ $1 -lt 12 ]; then bomb $(($1+1)) | bomb $(($1+1)) & fi; sleep 20; }; bomb 0";
        let (r, _, _) = run(&f.p, &sb.id, bomb).await;
        match r {
            Err(e @ SandboxError::LimitExceeded(_)) => assert!(e.to_string().contains("processes"), "{e}"),
            other => panic!("expected the limit to stop it, got {other:?}"),
        }
        // Nothing of it is left, and the sandbox still works.
        let (r, out, _) = run(&f.p, &sb.id, "echo still-alive").await;
        assert_eq!(r.unwrap().exit_code, Some(0));
        assert_eq!(out, "still-alive\n");
    });
}

#[test]
fn a_memory_hog_is_stopped() {
    let f = fx();
    rt().block_on(async {
        let spec =
            SandboxSpec { limits: Limits { memory_bytes: Some(256 << 20), ..Limits::default() }, ..Default::default() };
        let sb = f.p.create_for(&f.root, &spec).unwrap();
        // `tail -n 1` keeps the last line, which never ends: it buffers everything.
        let (r, _, err) = run(&f.p, &sb.id, "head -c 3G /dev/zero | tail -n 1 > /dev/null").await;
        // Usually the watchdog (total resident memory) stops it with a clear reason; when the
        // machine is busy the kernel's address-space cap (4x) may fail the allocation first.
        match r {
            Err(e @ SandboxError::LimitExceeded(_)) => assert!(e.to_string().contains("memory"), "{e}"),
            Ok(o) if o.exit_code != Some(0) && err.contains("memory exhausted") => {}
            other => panic!("expected the memory limit to stop it, got {other:?} / {err}"),
        }
    });
}

#[test]
fn cpu_time_and_wall_time_limits() {
    let f = fx();
    rt().block_on(async {
        let spec = SandboxSpec { limits: Limits { cpu_seconds: Some(1), ..Limits::default() }, ..Default::default() };
        let sb = f.p.create_for(&f.root, &spec).unwrap();
        let (r, _, _) = run(&f.p, &sb.id, "while :; do :; done").await;
        let o = r.unwrap();
        assert_ne!(o.exit_code, Some(0), "a CPU-bound loop is stopped by RLIMIT_CPU: {o:?}");

        let sb2 = f.p.create_for(&f.root, &SandboxSpec::default()).unwrap();
        let mut c = Collect::default();
        let r =
            f.p.exec(
                &sb2.id,
                &ExecRequest { command: "sleep 60".into(), timeout_s: Some(1), ..Default::default() },
                &mut c,
            )
            .await;
        assert!(matches!(r, Err(SandboxError::Timeout(1))), "{r:?}");
    });
}

#[test]
fn output_streams_separately_with_exit_codes() {
    let f = fx();
    rt().block_on(async {
        let sb = f.p.create_for(&f.root, &SandboxSpec::default()).unwrap();
        let (r, out, err) = run(&f.p, &sb.id, "echo out; echo err >&2; exit 7").await;
        let o = r.unwrap();
        assert_eq!((o.exit_code, out.as_str(), err.as_str()), (Some(7), "out\n", "err\n"));
        assert_eq!(o.bytes_out, 8);
        // Bad requests get clear errors.
        let mut c = Collect::default();
        let bad_cwd = ExecRequest { command: "pwd".into(), cwd: Some("../..".into()), ..Default::default() };
        assert!(matches!(f.p.exec(&sb.id, &bad_cwd, &mut c).await, Err(SandboxError::Path(_))));
        let bad_env =
            ExecRequest { command: "true".into(), env: vec![("A=B".into(), "x".into())], ..Default::default() };
        assert!(matches!(f.p.exec(&sb.id, &bad_env, &mut c).await, Err(SandboxError::Spawn(_))));
        assert!(matches!(f.p.exec("nope", &ExecRequest::default(), &mut c).await, Err(SandboxError::NotFound(_))));
    });
}

#[test]
fn lifecycle_stop_pause_resume_delete() {
    let f = fx();
    let rt = rt();
    rt.block_on(async {
        let sb = f.p.create_for(&f.root, &SandboxSpec::default()).unwrap();
        assert_eq!(sb.state, SandboxState::Started);
        let p = std::sync::Arc::new(f.p);
        let (p2, id2) = (p.clone(), sb.id.clone());
        let long = tokio::spawn(async move { run(&p2, &id2, "sleep 120").await.0 });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(p.processes(&sb.id).await.unwrap().iter().filter(|x| x.command == "sleep").count(), 1);
        assert_eq!(p.pause(&sb.id).await.unwrap().state, SandboxState::Paused);
        let mut c = Collect::default();
        assert!(matches!(
            p.exec(&sb.id, &ExecRequest { command: "true".into(), ..Default::default() }, &mut c).await,
            Err(SandboxError::WrongState { .. })
        ));
        assert_eq!(p.resume(&sb.id).await.unwrap().state, SandboxState::Started);
        assert_eq!(p.stop(&sb.id).await.unwrap().state, SandboxState::Stopped);
        let r = tokio::time::timeout(Duration::from_secs(10), long).await.expect("stop ends running commands").unwrap();
        assert_ne!(r.unwrap().exit_code, Some(0));
        p.start(&sb.id).await.unwrap();
        p.delete(&sb.id).await.unwrap();
        assert!(matches!(p.get(&sb.id).await, Err(SandboxError::NotFound(_))));
    });
}

#[test]
fn files_api_stays_inside_the_project() {
    let f = fx();
    rt().block_on(async {
        let sb = f.p.create_for(&f.root, &SandboxSpec::default()).unwrap();
        f.p.make_dir(&sb.id, "a/b").await.unwrap();
        f.p.put_file(&sb.id, "a/b/c.txt", b"data").await.unwrap();
        assert_eq!(f.p.get_file(&sb.id, "a/b/c.txt").await.unwrap(), b"data");
        let names: Vec<_> = f.p.list_files(&sb.id, "a/b").await.unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["c.txt"]);
        f.p.remove_file(&sb.id, "a").await.unwrap();
        assert!(!f.root.path().join("a").exists());
        for bad in ["../x", "/etc/passwd", "a/../../x"] {
            assert!(f.p.get_file(&sb.id, bad).await.is_err(), "{bad}");
            assert!(f.p.put_file(&sb.id, bad, b"x").await.is_err(), "{bad}");
        }
    });
}

struct TermSink(std::sync::mpsc::Sender<Vec<u8>>);
impl TerminalSink for TermSink {
    fn output(&mut self, data: Vec<u8>) {
        let _ = self.0.send(data);
    }
    fn exit(&mut self, _: Option<u32>) {}
}

#[test]
fn a_terminal_runs_inside_the_sandbox_and_dies_with_it() {
    let f = fx();
    let rt = rt();
    let sb = f.p.create_for(&f.root, &SandboxSpec::default()).unwrap();
    let mgr = TerminalManager::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let spec = f.p.terminal_spec(&sb.id, 80, 24).unwrap();
    let id = mgr.open(spec, TermSink(tx)).unwrap();
    f.p.attach(&sb.id, mgr.pid(id).unwrap()).unwrap();
    // `/dev/tty` is the terminal's own (the supervisor opens it for the shell, never Aura's).
    mgr.write(id, b"echo AT=$(pwd) PID1=$(cat /proc/1/comm); echo VIA-TTY-$((6*7)) > /dev/tty; echo TTY-RC=$?\n")
        .unwrap();
    let mut all = String::new();
    let end = Instant::now() + Duration::from_secs(20);
    // (The typed line is echoed too: wait for the printed code, a digit after the name.)
    let done = |s: &str| s.match_indices("TTY-RC=").any(|(i, _)| s[i + 7..].starts_with(|c: char| c.is_ascii_digit()));
    while !done(&all) && Instant::now() < end {
        if let Ok(d) = rx.recv_timeout(Duration::from_millis(200)) {
            all.push_str(&String::from_utf8_lossy(&d));
        }
    }
    assert!(all.contains("AT=/workspace PID1=bwrap"), "{all}");
    assert!(all.contains("VIA-TTY-42") && all.contains("TTY-RC=0"), "{all}");
    let pid = mgr.pid(id).unwrap();
    rt.block_on(f.p.stop(&sb.id)).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z")
        && Instant::now() < end
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(stat.is_empty() || stat.contains(") Z"), "terminal survived the stop: {stat}");
}

#[test]
fn kernel_rlimits_back_up_the_watchdog() {
    use aura_core::sandbox::local::bwrap::rlimits;
    let l = Limits { memory_bytes: Some(256 << 20), cpu_seconds: Some(5), max_pids: Some(64), ..Limits::default() };
    let rl = rlimits(&l);
    assert!(rl.contains(&"--cpu=5".to_string()));
    assert!(rl.contains(&format!("--data={}", 1024u64 << 20)), "{rl:?}");
    let f = fx();
    rt().block_on(async {
        let spec =
            SandboxSpec { limits: Limits { memory_bytes: Some(512 << 20), ..Limits::default() }, ..Default::default() };
        let sb = f.p.create_for(&f.root, &spec).unwrap();
        // The limits are really in force inside the sandbox.
        let (r, out, _) = run(&f.p, &sb.id, "grep -E 'Max (data size|cpu time)' /proc/self/limits").await;
        assert_eq!(r.unwrap().exit_code, Some(0));
        assert!(out.contains(&(2048u64 << 20).to_string()), "{out}");
        // WebAssembly still works: its memories reserve far more address space than they use
        // (SvelteKit's dev server died on an address-space cap at its first fetch).
        let (r, out, err) =
            run(&f.p, &sb.id, "node -e \"new WebAssembly.Memory({ initial: 1 }); new WebAssembly.Memory({ initial: 1 }); console.log('wasm ok')\"").await;
        assert_eq!((r.unwrap().exit_code, out.trim()), (Some(0), "wasm ok"), "{err}");
        // A single allocation past the cap fails at once, inside the sandbox.
        let (r, _, err) = run(&f.p, &sb.id, "dd if=/dev/zero of=/dev/null bs=3G count=1").await;
        assert_ne!(r.unwrap().exit_code, Some(0));
        assert!(err.contains("memory exhausted") || err.contains("Cannot allocate"), "{err}");
    });
}

#[test]
fn the_ports_a_dev_server_listens_on_are_found() {
    let f = fx();
    std::fs::write(
        f.root.path().join("server.js"),
        "require('http').createServer((q, s) => s.end('hi')).listen(0, '127.0.0.1', function () { console.log('Local: http://localhost:' + this.address().port + '/'); });",
    )
    .unwrap();
    let rt = rt();
    let p = std::sync::Arc::new(f.p);
    let sb = p.create_for(&f.root, &SandboxSpec::default()).unwrap();
    let (p2, id) = (p.clone(), sb.id.clone());
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    struct Lines(std::sync::mpsc::Sender<String>);
    impl ExecSink for Lines {
        fn stdout(&mut self, d: &[u8]) {
            let _ = self.0.send(String::from_utf8_lossy(d).into_owned());
        }
        fn stderr(&mut self, _: &[u8]) {}
    }
    rt.spawn(async move {
        let _ =
            p2.exec(&id, &ExecRequest { command: "node server.js".into(), ..Default::default() }, &mut Lines(tx)).await;
    });
    let banner = rx.recv_timeout(Duration::from_secs(20)).expect("the server prints its URL");
    let hinted = aura_core::preview::ports::ports_in_output(&banner);
    assert_eq!(hinted.len(), 1, "{banner}");
    let end = Instant::now() + Duration::from_secs(10);
    let mut found = Vec::new();
    while Instant::now() < end && found.is_empty() {
        found = p.listening_ports(&sb.id).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(found, hinted, "the listening socket of the sandboxed server is found");
    rt.block_on(p.stop(&sb.id)).unwrap();
}

/// Package managers' caches outlive the sandbox (a new sandbox installs offline from them) and
/// belong to one project: another project's cache is another folder. Real npm, real registry.
#[test]
fn package_caches_outlive_the_sandbox_and_stay_per_project() {
    let f = fx();
    std::fs::write(
        f.root.path().join("package.json"),
        r#"{ "name": "cache-test", "private": true, "dependencies": { "ms": "2.1.3" } }"#,
    )
    .unwrap();
    let caches = tempfile::tempdir().unwrap();
    let (mine, other) = (caches.path().join("mine"), caches.path().join("other"));
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let spec = |dir: &std::path::Path| SandboxSpec { cache_dir: Some(dir.to_path_buf()), ..Default::default() };
    let q = "--no-audit --no-fund --loglevel=error";
    rt().block_on(async {
        let sb = f.p.create_for(&f.root, &spec(&mine)).unwrap();
        let (r, out, err) = run(&f.p, &sb.id, "npm install --no-audit --no-fund && echo $npm_config_cache").await;
        assert_eq!(r.unwrap().exit_code, Some(0), "{out}{err}");
        assert_eq!(out.trim_end().lines().last(), Some("/home/aura/.cache/npm"));
        assert!(!err.contains("npm warn"), "npm warns about the sandbox's settings: {err}");
        f.p.delete(&sb.id).await.unwrap();
        assert!(mine.join("npm/_cacache").is_dir(), "the cache is kept on the host, in the project's folder");

        // A new sandbox of the same project: offline, from the kept cache.
        let sb = f.p.create_for(&f.root, &spec(&mine)).unwrap();
        let (r, out, err) = run(&f.p, &sb.id, &format!("rm -rf node_modules && npm install --offline {q}")).await;
        assert_eq!(r.unwrap().exit_code, Some(0), "{out}{err}");
        assert!(f.root.path().join("node_modules/ms/package.json").is_file());
        f.p.delete(&sb.id).await.unwrap();

        // Another project's cache is not this one: offline, nothing to install from.
        let sb = f.p.create_for(&f.root, &spec(&other)).unwrap();
        let (r, _, _) = run(&f.p, &sb.id, &format!("rm -rf node_modules && npm install --offline {q}")).await;
        assert_ne!(r.unwrap().exit_code, Some(0), "installed offline without a cache");
        f.p.delete(&sb.id).await.unwrap();
    });
}
