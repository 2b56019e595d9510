//! Starts one of the contract servers in the repository's tests/contract (Python, validating every request
//! against the official spec) and talks to its control endpoints. Shared by the provider tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

pub struct ContractServer {
    child: Child,
    pub port: u16,
}

impl ContractServer {
    /// `script` is a file in tests/contract; `spec` a folder under ../shared/specs.
    pub fn start(script: &str, spec: &str, key: &str) -> Self {
        // The repository root (this crate is src-tauri/core).
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let spec_dir = format!("{root}/../shared/specs/{spec}");
        assert!(std::path::Path::new(&spec_dir).exists(), "the official specs must be at {spec_dir}");
        let mut child = Command::new("python3")
            .arg(format!("{root}/tests/contract/{script}"))
            .args([&spec_dir, key])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 must be installed");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let port =
            line.trim().strip_prefix("LISTENING ").unwrap_or_else(|| panic!("server said {line:?}")).parse().unwrap();
        Self { child, port }
    }

    /// An E2B client for this server (every host of `e2b.test` resolved to it), `attempts`
    /// tries per idempotent call.
    pub fn e2b_client(&self, key: &str, attempts: u32) -> aura_core::sandbox::remote::e2b::E2bProvider {
        use aura_core::sandbox::remote::e2b::{E2bConfig, E2bProvider};
        use aura_core::sandbox::remote::RetryPolicy;
        let cfg = E2bConfig {
            domain: "e2b.test".into(),
            scheme: "http".into(),
            resolve_all_to: Some(format!("127.0.0.1:{}", self.port).parse().unwrap()),
            template: "base".into(),
        };
        let retry = RetryPolicy {
            attempts,
            base_delay: std::time::Duration::from_millis(20),
            max_delay: std::time::Duration::from_millis(200),
            timeout: std::time::Duration::from_secs(5),
        };
        E2bProvider::new(cfg, aura_core::secrets::Secret::new(key), retry).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn http(&self, method: &str, path: &str, body: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
    }

    /// Replaces the fault rules (see tests/contract/fakes.py).
    pub fn faults(&self, rules: serde_json::Value) {
        self.http("POST", "/__faults", &serde_json::json!({ "rules": rules }).to_string());
    }

    /// Requests that did not match the official spec.
    pub fn violations(&self) -> Vec<String> {
        serde_json::from_str(&self.http("GET", "/__violations", "")).unwrap()
    }

    /// Moves the server's clock on by `seconds` (idle timeouts and auto-stop follow it).
    pub fn advance(&self, seconds: u64) {
        self.http("POST", "/__clock", &serde_json::json!({ "advance": seconds }).to_string());
    }

    pub fn requests(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.http("GET", "/__requests", "")).unwrap()
    }
}

impl Drop for ContractServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects a remote terminal's output (`Some`) and its end (`None`) for the PTY tests.
pub struct TermOut(pub std::sync::mpsc::Sender<Option<Vec<u8>>>);

impl aura_core::terminal::TerminalSink for TermOut {
    fn output(&mut self, data: Vec<u8>) {
        let _ = self.0.send(Some(data));
    }
    fn exit(&mut self, _code: Option<u32>) {
        let _ = self.0.send(None);
    }
}

/// Drives a remote terminal through input, a resize and a kill, as both PTY tests do.
pub fn exercise_terminal(
    term: &dyn aura_core::terminal::TerminalHandle,
    rx: &std::sync::mpsc::Receiver<Option<Vec<u8>>>,
) {
    use std::time::{Duration, Instant};
    let mut seen = String::new();
    let mut wait_for = |needle: &str| {
        let end = Instant::now() + Duration::from_secs(15);
        while !seen.contains(needle) && Instant::now() < end {
            if let Ok(Some(d)) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.push_str(&String::from_utf8_lossy(&d));
            }
        }
        assert!(seen.contains(needle), "{needle:?} not in {seen:?}");
    };
    term.write(b"echo pty-$((40+2))\n").unwrap();
    wait_for("pty-42");
    term.resize(100, 30).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    term.write(b"stty size\n").unwrap();
    wait_for("30 100");
    term.kill();
    let end = Instant::now() + Duration::from_secs(10);
    let mut ended = false;
    while Instant::now() < end && !ended {
        ended = matches!(rx.recv_timeout(Duration::from_millis(200)), Ok(None));
    }
    assert!(ended, "the terminal reports its end after kill");
}

/// A command that returns once a process of the sandbox (the contract servers run them on this
/// machine) listens on `port`, and keeps listening for 30 s: it forks after `listen`, the
/// parent exits.
pub fn listener(port: u16) -> String {
    format!(
        "python3 -c 'import os,socket,time;s=socket.socket();s.bind((\"127.0.0.1\",{port}));s.listen();os.fork() and os._exit(0);time.sleep(30)' >/dev/null 2>&1"
    )
}

/// Ends the [`listener`] on `port`.
pub fn stop_listener(port: u16) {
    let _ = Command::new("pkill").args(["-f", &format!("\",{port}[)]")]).status();
}

/// Waits until process `pid` (started by a contract server on this machine) has ended
/// (gone, or a zombie its server has not reaped yet); panics naming `what` after 20 s.
pub fn ended(pid: i32, what: &str) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()).unwrap_or("");
        if stat.is_empty() || state == "Z" {
            return;
        }
        assert!(std::time::Instant::now() < until, "{what}: the command's process {pid} still runs in the sandbox");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The command line that writes its process id to `file` and then waits a minute.
pub fn waits_with_pid(file: &str) -> String {
    format!("echo $$ > {file}; exec sleep 60")
}
