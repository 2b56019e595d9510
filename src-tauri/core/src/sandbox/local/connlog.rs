//! What an Internet-mode sandbox connects to, as its own filter sees it.
//!
//! The egress ruleset ([`super::egress`]) logs every refused packet and every outgoing TCP
//! connection attempt (a SYN) to netfilter log group [`GROUP`] of the sandbox's namespace. Aura
//! reads that group over a netfilter netlink socket made inside the namespace (by the holder's
//! socket factory) and records each destination in the gatekeeper's connection list, so the
//! Sandbox panel shows what the code reached and what was refused — by address (DNS answers are
//! not followed), TCP for allowed connections (every refused packet, whatever its protocol).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use tokio::io::unix::AsyncFd;

use crate::netpolicy::{Gatekeeper, Verdict};

/// The netfilter log group the egress ruleset writes to.
pub const GROUP: u16 = 7;
/// The prefixes of the two log rules.
pub const ALLOWED: &str = "aura-allowed";
pub const BLOCKED: &str = "aura-blocked";

const NFNL_SUBSYS_ULOG: u16 = 4;
const NFULNL_MSG_PACKET: u16 = 0;
const NFULNL_MSG_CONFIG: u16 = 1;
const NFULA_PAYLOAD: u16 = 9;
const NFULA_PREFIX: u16 = 10;
const NFULA_CFG_CMD: u16 = 1;
const NFULA_CFG_MODE: u16 = 2;
const NFULA_CFG_QTHRESH: u16 = 5;
const NFULNL_CFG_CMD_BIND: u8 = 1;
const NFULNL_COPY_PACKET: u8 = 2;
/// Enough of a packet for its IP and transport headers.
const COPY_RANGE: u32 = 96;

/// One logged packet: where it went and whether the filter refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub addr: IpAddr,
    pub port: u16,
    pub blocked: bool,
}

fn attr(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// A configuration message for log group [`GROUP`] with these attributes.
fn config(seq: u32, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    // nfgenmsg: family, version, resource id (the group, big-endian).
    body.extend_from_slice(&[libc::AF_UNSPEC as u8, 0]);
    body.extend_from_slice(&GROUP.to_be_bytes());
    for (k, v) in attrs {
        attr(&mut body, *k, v);
    }
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG).to_ne_bytes());
    msg.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&body);
    msg
}

/// The messages that bind the group and ask for each packet's headers, at once.
pub fn setup_messages() -> Vec<Vec<u8>> {
    let mut mode = COPY_RANGE.to_be_bytes().to_vec();
    mode.extend_from_slice(&[NFULNL_COPY_PACKET, 0]);
    vec![
        config(1, &[(NFULA_CFG_CMD, vec![NFULNL_CFG_CMD_BIND])]),
        config(2, &[(NFULA_CFG_MODE, mode), (NFULA_CFG_QTHRESH, 1u32.to_be_bytes().to_vec())]),
    ]
}

/// The logged packets in a buffer of netlink messages; anything else is skipped. An error
/// message (a refused configuration) is returned as its errno.
pub fn parse(buf: &[u8]) -> Result<Vec<Seen>, i32> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 16 <= buf.len() {
        let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().unwrap());
        if len < 16 || at + len > buf.len() {
            break;
        }
        let msg = &buf[at + 16..at + len];
        if kind == libc::NLMSG_ERROR as u16 && msg.len() >= 4 {
            let errno = i32::from_ne_bytes(msg[..4].try_into().unwrap());
            if errno != 0 {
                return Err(-errno);
            }
        } else if kind == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET && msg.len() >= 4 {
            if let Some(s) = packet(&msg[4..]) {
                out.push(s);
            }
        }
        at += len.next_multiple_of(4);
    }
    Ok(out)
}

/// The destination of one logged packet, from its attributes.
fn packet(mut attrs: &[u8]) -> Option<Seen> {
    let (mut prefix, mut payload) = (None, None);
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            break;
        }
        let data = &attrs[4..len];
        match kind {
            NFULA_PREFIX => prefix = Some(data.split(|&b| b == 0).next().unwrap_or(data)),
            NFULA_PAYLOAD => payload = Some(data),
            _ => {}
        }
        attrs = &attrs[len.next_multiple_of(4).min(attrs.len())..];
    }
    let blocked = match prefix? {
        p if p == BLOCKED.as_bytes() => true,
        p if p == ALLOWED.as_bytes() => false,
        _ => return None,
    };
    let (addr, proto, l4) = network_header(payload?)?;
    let port = match proto {
        libc::IPPROTO_TCP | libc::IPPROTO_UDP if l4.len() >= 4 => u16::from_be_bytes([l4[2], l4[3]]),
        _ => 0,
    };
    Some(Seen { addr, port, blocked })
}

/// Destination, protocol and the transport header of an IPv4 or IPv6 packet.
fn network_header(p: &[u8]) -> Option<(IpAddr, i32, &[u8])> {
    match p.first()? >> 4 {
        4 if p.len() >= 20 => {
            let ihl = ((p[0] & 0x0f) as usize) * 4;
            let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
            Some((IpAddr::V4(dst), p[9] as i32, p.get(ihl..).unwrap_or(&[])))
        }
        6 if p.len() >= 40 => {
            let dst: [u8; 16] = p[24..40].try_into().ok()?;
            Some((IpAddr::V6(Ipv6Addr::from(dst)), p[6] as i32, &p[40..]))
        }
        _ => None,
    }
}

/// Configures `fd` (a netfilter netlink socket of the sandbox's namespace) and starts the task
/// that records what it logs in `gate`; the handle ends it.
pub fn follow(fd: OwnedFd, gate: Arc<Gatekeeper>) -> Result<tokio::task::AbortHandle, String> {
    for m in setup_messages() {
        // SAFETY: sends the bytes of `m` on our own socket.
        let n = unsafe { libc::send(fd.as_raw_fd(), m.as_ptr().cast(), m.len(), 0) };
        if n < 0 {
            return Err(format!("cannot configure the filter's log: {}", std::io::Error::last_os_error()));
        }
    }
    // SAFETY: `fd` is an owned, open descriptor that only the AsyncFd holds and closes from now on.
    let fd = unsafe { AsyncFd::register(fd) }.map_err(|e| format!("the filter's log: {e}"))?;
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let Ok(mut ready) = fd.readable().await else { return };
            // SAFETY: receives into `buf`, within its length.
            let n = unsafe { libc::recv(fd.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::WouldBlock {
                    ready.clear_ready();
                    continue;
                }
                // ENOBUFS: the kernel dropped messages while we were slow; later ones still come.
                if e.raw_os_error() == Some(libc::ENOBUFS) {
                    continue;
                }
                tracing::warn!(error = %e, "the sandbox's connection log stopped");
                return;
            }
            match parse(&buf[..n as usize]) {
                Ok(seen) => {
                    for s in seen {
                        let (verdict, reason) = if s.blocked {
                            (Verdict::Blocked, Some("a private, link-local or local address".to_string()))
                        } else {
                            (Verdict::Allowed, None)
                        };
                        gate.seen(&s.addr.to_string(), s.port, verdict, reason);
                    }
                }
                Err(errno) => {
                    tracing::warn!(errno, "the kernel refused the sandbox's connection log");
                    return;
                }
            }
        }
    });
    Ok(task.abort_handle())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A logged packet as the kernel sends it.
    fn logged(prefix: &str, payload: &[u8]) -> Vec<u8> {
        let mut body = vec![libc::AF_INET as u8, 0, 0, GROUP as u8];
        let mut p = prefix.as_bytes().to_vec();
        p.push(0);
        attr(&mut body, NFULA_PREFIX, &p);
        attr(&mut body, NFULA_PAYLOAD, payload);
        let mut msg = ((16 + body.len()) as u32).to_ne_bytes().to_vec();
        msg.extend_from_slice(&(NFNL_SUBSYS_ULOG << 8).to_ne_bytes());
        msg.extend_from_slice(&[0; 10]);
        msg.extend_from_slice(&body);
        msg
    }

    fn ipv4_tcp(dst: [u8; 4], port: u16) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 2];
        p.extend_from_slice(&dst);
        p.extend_from_slice(&[0xc3, 0x50]);
        p.extend_from_slice(&port.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    #[test]
    fn logged_packets_become_destinations() {
        let mut buf = logged(ALLOWED, &ipv4_tcp([104, 16, 0, 1], 443));
        buf.extend(logged(BLOCKED, &ipv4_tcp([169, 254, 169, 254], 80)));
        let mut v6 = vec![0x60, 0, 0, 0, 0, 20, 17, 64];
        v6.extend_from_slice(&[0; 16]);
        v6.extend_from_slice(&"fd00:ec2::254".parse::<Ipv6Addr>().unwrap().octets());
        v6.extend_from_slice(&[0x13, 0x88, 0x00, 0x35, 0, 8, 0, 0]);
        buf.extend(logged(BLOCKED, &v6));
        buf.extend(logged("someone-else", &ipv4_tcp([1, 1, 1, 1], 53)));
        let seen = parse(&buf).unwrap();
        assert_eq!(
            seen,
            vec![
                Seen { addr: "104.16.0.1".parse().unwrap(), port: 443, blocked: false },
                Seen { addr: "169.254.169.254".parse().unwrap(), port: 80, blocked: true },
                Seen { addr: "fd00:ec2::254".parse().unwrap(), port: 53, blocked: true },
            ]
        );
    }

    #[test]
    fn a_refused_configuration_is_its_errno() {
        let mut msg = 36u32.to_ne_bytes().to_vec();
        msg.extend_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
        msg.extend_from_slice(&[0; 10]);
        msg.extend_from_slice(&(-libc::EPERM).to_ne_bytes());
        msg.extend_from_slice(&[0; 16]);
        assert_eq!(parse(&msg), Err(libc::EPERM));
    }

    #[test]
    fn setup_binds_the_group_and_asks_for_headers() {
        let m = setup_messages();
        assert_eq!(m.len(), 2);
        assert_eq!(u32::from_ne_bytes(m[0][..4].try_into().unwrap()) as usize, m[0].len());
        assert_eq!(&m[0][18..20], &GROUP.to_be_bytes());
        assert_eq!(m[0][24], NFULNL_CFG_CMD_BIND);
    }
}
