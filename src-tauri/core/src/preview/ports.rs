//! Which ports a sandbox's processes listen on, and dev-server URLs in command output.

use std::collections::HashSet;

/// Ports (TCP, IPv4 and IPv6) on which any of `pids` has a listening socket.
///
/// Reads the socket inodes from `/proc/<pid>/fd` and matches them with the LISTEN entries of
/// `/proc/<pid>/net/tcp{,6}` (the network namespace the process is in).
pub fn listening_ports(pids: &[u32]) -> Vec<u16> {
    let mut inodes = HashSet::new();
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let t = target.to_string_lossy();
                if let Some(inode) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    let mut ports = Vec::new();
    let Some(first) = pids.first() else { return ports };
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{first}/net/{table}")) else { continue };
        ports.extend(parse_listening(&text, &inodes));
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Every TCP port listened on in the network namespace of `pid` (a sandbox's own namespace,
/// where every socket is the sandbox's).
pub fn all_listening(pid: u32) -> Vec<u16> {
    let text: String = ["tcp", "tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/{pid}/net/{t}")).ok())
        .collect::<Vec<_>>()
        .join("\n");
    listening_in(&text)
}

/// Every LISTEN (state 0A) port in `/proc/net/tcp`-format text (several tables may follow each
/// other, each with its header line), sorted, once each.
pub fn listening_in(text: &str) -> Vec<u16> {
    let mut ports: Vec<u16> = text
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.get(3) == Some(&"0A")).then(|| u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()).flatten()
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The LISTEN (state 0A) entries of a `/proc/net/tcp` table whose socket inode is in `inodes`.
pub fn parse_listening(table: &str, inodes: &HashSet<String>) -> Vec<u16> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
            if *state != "0A" || !inodes.contains(*inode) {
                return None;
            }
            u16::from_str_radix(local.rsplit(':').next()?, 16).ok()
        })
        .collect()
}

/// Ports named by dev-server banners such as `Local: http://localhost:5173/`.
pub fn ports_in_output(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for host in ["localhost:", "127.0.0.1:", "0.0.0.0:", "[::1]:", "[::]:"] {
        let mut rest = text;
        while let Some(i) = rest.find(host) {
            rest = &rest[i + host.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(p) = digits.parse::<u16>() {
                if p > 0 && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners() {
        let vite = "  VITE v7.0.0  ready in 200 ms\n\n  ➜  Local:   http://localhost:5173/\n  ➜  Network: use --host";
        assert_eq!(ports_in_output(vite), vec![5173]);
        assert_eq!(ports_in_output("Listening on http://0.0.0.0:3000 and http://127.0.0.1:3000"), vec![3000]);
        assert!(ports_in_output("no urls here: localhost:abc").is_empty());
    }

    #[test]
    fn proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1\n   2: 0100007F:1436 0100007F:1435 01 00000000:00000000 00:00000000 00000000     0        0 12345 1\n";
        let inodes: HashSet<String> = ["12345".to_string()].into();
        assert_eq!(parse_listening(table, &inodes), vec![0x1435]);
        // Every listener, tables one after another (tcp then tcp6), the header lines skipped.
        let both = format!("{table}{}", table.replace("0100007F:0050", "00000000000000000000000000000000:1F90"));
        assert_eq!(listening_in(&both), vec![80, 0x1435, 8080]);
    }
}
