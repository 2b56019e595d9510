//! A test network in namespaces the test makes itself (`ip netns` + a veth pair; root only),
//! shared by the egress test and the network benchmark:
//!
//! ```text
//!  "host" namespace                         "upstream" namespace
//!  the test's process, sandboxes, pasta     198.51.100.7        plays the public internet
//!  203.0.113.2/24 ── veth ── 203.0.113.1    10.99.0.1           a LAN server
//!  2001:db8:1::2/64          2001:db8:1::1  169.254.169.254     cloud metadata
//!  default via 203.0.113.1, 2001:db8:1::1   2001:db8:2::7       the public internet, IPv6
//!                                           fd00:ec2::254       cloud metadata, IPv6
//!                                           198.51.100.53:53    DNS (public/other.aura.test,
//!                                                               rebind.aura.test -> 10.99.0.1)
//! ```
//!
//! The process runs itself again inside "host" ([`TestNet::inside`]), whose `/etc/resolv.conf`
//! names the test's DNS server. Everything is removed when the value is dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct TestNet {
    pub host: String,
    pub up: String,
    servers: Option<Child>,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip (iproute2)");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

impl TestNet {
    /// The two namespaces, named after `tag` and this process.
    pub fn build(tag: &str) -> Self {
        let id = std::process::id();
        let net = TestNet { host: format!("aura-{tag}{id}-h"), up: format!("aura-{tag}{id}-u"), servers: None };
        let (h, u) = (net.host.as_str(), net.up.as_str());
        let (vh, vu) = (format!("a{tag}{id}h"), format!("a{tag}{id}u"));
        ip(&["netns", "add", h]);
        ip(&["netns", "add", u]);
        ip(&["link", "add", &vh, "netns", h, "type", "veth", "peer", "name", &vu, "netns", u]);
        for (ns, dev, v4, v6) in
            [(h, &vh, "203.0.113.2/24", "2001:db8:1::2/64"), (u, &vu, "203.0.113.1/24", "2001:db8:1::1/64")]
        {
            ip(&["-n", ns, "addr", "add", v4, "dev", dev]);
            // No duplicate address detection: the address is usable at once.
            ip(&["-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&["-n", h, "route", "add", "default", "via", "203.0.113.1"]);
        ip(&["-n", h, "-6", "route", "add", "default", "via", "2001:db8:1::1"]);
        for a in ["198.51.100.7/32", "198.51.100.53/32", "10.99.0.1/32", "169.254.169.254/32"] {
            ip(&["-n", u, "addr", "add", a, "dev", "lo"]);
        }
        for a in ["2001:db8:2::7/128", "fd00:ec2::254/128"] {
            ip(&["-n", u, "-6", "addr", "add", a, "dev", "lo"]);
        }
        // `ip netns exec` shows this file as /etc/resolv.conf; pasta forwards DNS to it.
        std::fs::create_dir_all(format!("/etc/netns/{h}")).unwrap();
        std::fs::write(format!("/etc/netns/{h}/resolv.conf"), "nameserver 198.51.100.53\n").unwrap();
        net
    }

    /// Starts `tests/support/upstream.py` in "upstream" with these `--tcp` servers (and
    /// `--blob` ones, `ADDR:PORT=BYTES`), plus the DNS server; returns once they listen.
    pub fn start_servers(&mut self, tcp: &[&str]) {
        self.start_servers_with(tcp, &[]);
    }

    pub fn start_servers_with(&mut self, tcp: &[&str], blobs: &[&str]) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/upstream.py");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.up, "python3", script, "--tcp"]).args(tcp);
        if !blobs.is_empty() {
            cmd.arg("--blob").args(blobs);
        }
        cmd.args(["--dns", "198.51.100.53:53", "--name"]).args([
            "public.aura.test=198.51.100.7",
            "other.aura.test=198.51.100.7",
            "rebind.aura.test=10.99.0.1",
        ]);
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY", "the upstream servers did not start");
        self.servers = Some(child);
    }

    /// This same program inside "host", with `args` and `flag` set in its environment.
    pub fn inside(&self, args: &[&str], flag: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.host]).arg(std::env::current_exe().unwrap()).args(args).env(flag, "1");
        c
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        if let Some(mut c) = self.servers.take() {
            drop(c.stdin.take());
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.host, &self.up] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", self.host));
    }
}
