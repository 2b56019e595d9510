//! What may leave an isolated sandbox's network namespace: the public internet, nothing private.
//!
//! The user-mode network tool (pasta, slirp4netns) reaches whatever the host can route to — the
//! user's LAN, a company VPN, a cloud VM's instance-metadata endpoint that hands out its
//! credentials. So before the tool is attached, an nftables ruleset is loaded into the sandbox's
//! own namespace (Aura holds `CAP_NET_ADMIN` there; sandboxed commands run in a nested user
//! namespace without it, so they can neither read nor change it). Its output hook refuses, with
//! "administratively prohibited" (connect fails at once with `EHOSTUNREACH`), every packet to:
//!
//! - private, carrier-grade NAT, link-local, loopback, multicast and reserved IPv4 ranges and their
//!   IPv6 counterparts (unique-local, link-local, multicast, IPv4-mapped), and the same IPv4 ranges
//!   embedded in NAT64 and 6to4 addresses, which a gateway would translate back;
//! - every address of the host's own interfaces and its default gateways (the router's admin
//!   page is on the LAN even when its address looks public).
//!
//! Only the sandbox's own loopback, the tool's DNS forwarder (port 53) and IPv6 neighbour
//! discovery pass before the filter. Refused packets and new TCP connections are logged to a
//! netfilter log group that Aura follows ([`super::connlog`]) for the panel's list. Filtering by address, not by name, also refuses DNS
//! rebinding: a public name answered with a private address meets the same rule.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// IPv4 ranges no sandbox reaches: "this network", private, carrier-grade NAT, loopback,
/// link-local (cloud metadata lives there), IETF protocol assignments, benchmarking (often used
/// inside companies), multicast, reserved and broadcast.
pub const BLOCKED_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

/// IPv6 ranges no sandbox reaches: unspecified, loopback, IPv4-mapped, local-use NAT64,
/// unique-local (cloud metadata such as fd00:ec2::254 lives there), link-local, site-local and
/// multicast.
pub const BLOCKED_V6: &[&str] =
    &["::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8"];

/// The destinations refused: the fixed ranges, their NAT64/6to4 embeddings, and `host`'s
/// addresses not already inside them (nftables refuses overlapping elements in one set).
pub fn blocked(host: &[IpAddr]) -> Vec<IpNet> {
    let v4: Vec<Ipv4Net> = BLOCKED_V4.iter().map(|s| s.parse().expect("a valid range")).collect();
    let mut nets: Vec<IpNet> = v4.iter().copied().map(IpNet::V4).collect();
    nets.extend(BLOCKED_V6.iter().map(|s| IpNet::V6(s.parse().expect("a valid range"))));
    for n in &v4 {
        nets.extend(embedded(*n).into_iter().map(IpNet::V6));
    }
    for a in host {
        let a = canonical(*a);
        if !nets.iter().any(|n| n.contains(&a)) {
            nets.push(IpNet::from(a));
        }
    }
    IpNet::aggregate(&nets)
}

/// An IPv4-mapped IPv6 address is its IPv4 address on the wire.
fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        v4 => v4,
    }
}

/// `net` as a NAT64 (64:ff9b::/96) and a 6to4 (2002::/16) range: what a translating gateway
/// would turn back into it.
pub fn embedded(net: Ipv4Net) -> [Ipv6Net; 2] {
    let o = net.network().octets();
    let nat64 =
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([o[2], o[3]]));
    let six = Ipv6Addr::new(0x2002, u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([o[2], o[3]]), 0, 0, 0, 0, 0);
    [
        Ipv6Net::new(nat64, 96 + net.prefix_len()).expect("a prefix of at most 128"),
        Ipv6Net::new(six, 16 + net.prefix_len()).expect("a prefix of at most 48"),
    ]
}

/// The ruleset loaded into an isolated sandbox's namespace; `dns` is the tool's forwarder.
pub fn ruleset(dns: Ipv4Addr, host: &[IpAddr]) -> String {
    let blocked = blocked(host);
    let list = |v6: bool| {
        blocked.iter().filter(|n| matches!(n, IpNet::V6(_)) == v6).map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
    };
    format!(
        "table inet aura {{\n\
         \tchain out {{\n\
         \t\ttype filter hook output priority 0; policy accept;\n\
         \t\toifname \"lo\" accept\n\
         \t\tip daddr {dns} meta l4proto {{ tcp, udp }} th dport 53 accept\n\
         \t\ticmpv6 type {{ nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert }} accept\n\
         \t\ticmpv6 type {{ mld-listener-report, mld2-listener-report }} drop\n\
         \t\tip daddr {{ {v4} }} counter log prefix \"{blocked}\" group {group} reject with icmpx admin-prohibited\n\
         \t\tip6 daddr {{ {v6} }} counter log prefix \"{blocked}\" group {group} reject with icmpx admin-prohibited\n\
         \t\ttcp flags & (syn | ack) == syn log prefix \"{allowed}\" group {group}\n\
         \t}}\n\
         }}\n",
        v4 = list(false),
        v6 = list(true),
        blocked = super::connlog::BLOCKED,
        allowed = super::connlog::ALLOWED,
        group = super::connlog::GROUP,
    )
}

/// The host's own addresses (every interface but loopback) and its default gateways.
pub fn host_addresses() -> Vec<IpAddr> {
    let mut out = BTreeSet::new();
    if let Ok(addrs) = interface_addresses() {
        out.extend(addrs);
    }
    out.extend(default_gateways());
    out.into_iter().filter(|a| !a.is_loopback() && !a.is_unspecified()).collect()
}

/// Interface addresses from `getifaddrs`.
fn interface_addresses() -> std::io::Result<Vec<IpAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list freed below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` walks the list getifaddrs returned; each addr is valid for its family.
        unsafe {
            let a = (*cur).ifa_addr;
            if !a.is_null() {
                match (*a).sa_family as i32 {
                    libc::AF_INET => {
                        let sin = &*(a as *const libc::sockaddr_in);
                        out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(a as *const libc::sockaddr_in6);
                        out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
    }
    // SAFETY: the list from getifaddrs above, freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Next hops of the host's default routes, from the kernel's tables.
fn default_gateways() -> Vec<IpAddr> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let mut out = v4_gateways(&read("/proc/net/route"));
    out.extend(v6_gateways(&read("/proc/net/ipv6_route")));
    out
}

/// Gateways of default routes in `/proc/net/route`, which prints an address's bytes as one
/// native-endian word in hex.
fn v4_gateways(table: &str) -> Vec<IpAddr> {
    let gw = |l: &str| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[1] == "00000000").then(|| u32::from_str_radix(f[2], 16).ok()).flatten()
    };
    table
        .lines()
        .skip(1)
        .filter_map(gw)
        .filter(|&w| w != 0)
        .map(|w| IpAddr::V4(Ipv4Addr::from(w.to_ne_bytes())))
        .collect()
}

/// Gateways of default routes (`::/0`) in `/proc/net/ipv6_route`.
fn v6_gateways(table: &str) -> Vec<IpAddr> {
    let gw = |l: &str| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 4 && f[0].bytes().all(|b| b == b'0') && f[1] == "00")
            .then(|| u128::from_str_radix(f[4], 16).ok())
            .flatten()
    };
    table.lines().filter_map(gw).filter(|&w| w != 0).map(|w| IpAddr::V6(Ipv6Addr::from(w))).collect()
}

/// The `nft` program (Debian/Ubuntu package `nftables`).
pub fn nft() -> Option<PathBuf> {
    ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/usr/local/sbin/nft"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Loads `rules` into the namespace that `enter` (an `nsenter` argv prefix) enters; nothing is
/// loaded unless all of it is (nft applies a file as one transaction).
pub fn load(enter: &[String], rules: &str) -> Result<(), String> {
    let nft = nft().ok_or(
        "the 'nft' program is needed to keep sandboxed code off private networks and cloud metadata \
         (Debian/Ubuntu: apt install nftables)",
    )?;
    let (prog, args) = enter.split_first().ok_or("no way into the sandbox's namespace")?;
    let mut child = Command::new(prog)
        .args(args)
        .arg(nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    child.stdin.take().expect("piped").write_all(rules.as_bytes()).map_err(|e| format!("nft: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cannot keep the sandbox off private networks: nft says {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(host: &[IpAddr], a: &str) -> bool {
        let a: IpAddr = a.parse().unwrap();
        blocked(host).iter().any(|n| n.contains(&a))
    }

    #[test]
    fn private_metadata_and_local_addresses_are_refused_public_ones_are_not() {
        for a in [
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "127.0.0.1",
            "0.0.0.0",
            "224.0.0.251",
            "255.255.255.255",
            "fd00:ec2::254",
            "fe80::1",
            "::1",
            "ff02::fb",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::c0a8:101",
            "2002:c0a8:101::1",
        ] {
            assert!(refused(&[], a), "{a} must be refused");
        }
        for a in ["1.1.1.1", "104.16.0.1", "198.51.100.7", "2606:4700::1111", "64:ff9b::101:101", "2002:101:101::1"] {
            assert!(!refused(&[], a), "{a} is public");
        }
    }

    #[test]
    fn the_hosts_own_addresses_are_refused_without_overlapping_the_ranges() {
        let host: Vec<IpAddr> = ["203.0.113.2", "10.0.0.5", "2001:db8::2", "::ffff:198.51.100.9"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(refused(&host, "203.0.113.2") && refused(&host, "2001:db8::2") && refused(&host, "198.51.100.9"));
        assert!(!refused(&host, "203.0.113.3"));
        let b = blocked(&host);
        for (i, x) in b.iter().enumerate() {
            for y in &b[i + 1..] {
                assert!(!x.contains(y) && !y.contains(x), "{x} and {y} overlap");
            }
        }
    }

    #[test]
    fn the_ruleset_lets_loopback_dns_and_neighbour_discovery_through_first() {
        let r = ruleset(Ipv4Addr::new(169, 254, 0, 53), &[]);
        let pos = |s: &str| r.find(s).unwrap_or_else(|| panic!("{s} missing in {r}"));
        assert!(pos("oifname \"lo\" accept") < pos("ip daddr {"));
        assert!(pos("ip daddr 169.254.0.53") < pos("ip daddr {"));
        assert!(pos("nd-neighbor-solicit") < pos("ip6 daddr {"));
        // The kernel's own multicast listener reports (sent when the interface comes up) are
        // dropped before the logging rule: they are not the sandbox's code reaching anything.
        assert!(pos("mld2-listener-report } drop") < pos("ip6 daddr {"));
        assert!(r.contains("169.254.0.0/16") && r.contains("fc00::/7"));
    }

    #[test]
    fn gateways_are_read_from_the_kernels_tables() {
        let word = if cfg!(target_endian = "little") { "0100A8C0" } else { "C0A80001" };
        let v4 = format!(
            "Iface\tDestination\tGateway \tFlags\n\
             eth0\t00000000\t{word}\t0003\n\
             eth0\t0000A8C0\t00000000\t0001\n"
        );
        assert_eq!(v4_gateways(&v4), vec!["192.168.0.1".parse::<IpAddr>().unwrap()]);
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n\
                  fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n";
        assert_eq!(v6_gateways(v6), vec!["fe80::1".parse::<IpAddr>().unwrap()]);
    }
}
