//! Which destinations a *Registries only* sandbox may reach without asking.
//!
//! An entry is a host name (`pypi.org`), a wildcard for its subdomains (`*.github.com`, which
//! does not match `github.com` itself), an IP address (`2001:db8::1`, `[2001:db8::1]`) or a
//! CIDR range (`198.51.100.0/24`), each with an optional port (`example.com:8443`,
//! `[2001:db8::1]:8443`). Without a port an entry allows the web's ports, 80 and 443. Names
//! compare case-insensitively and without a trailing dot.

use std::net::IpAddr;

use ipnet::IpNet;

/// The package registries every language's install reaches, and Git hosting: the default list.
pub const REGISTRIES: &[&str] = &[
    "registry.npmjs.org",
    "registry.yarnpkg.com",
    "pypi.org",
    "files.pythonhosted.org",
    "crates.io",
    "index.crates.io",
    "static.crates.io",
    "github.com",
    "codeload.github.com",
    "raw.githubusercontent.com",
    "objects.githubusercontent.com",
];

/// The ports an entry without one allows.
const WEB_PORTS: [u16; 2] = [80, 443];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    /// `*.suffix`: any name ending in `.suffix`.
    Subdomains(String),
    Net(IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: Host,
    port: Option<u16>,
}

/// A parsed list of entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist(Vec<Entry>);

/// A host name as compared: lower case, no trailing dot, no IPv6 brackets.
pub fn normalize(host: &str) -> String {
    host.trim().trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase()
}

impl Allowlist {
    /// Parses `entries`; the error names the first one that is not an entry.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries.iter().map(|e| parse_entry(e.as_ref())).collect::<Result<_, _>>().map(Allowlist)
    }

    /// Adds one entry (ignored when it does not parse: callers add what they made).
    pub fn add(&mut self, entry: &str) {
        if let Ok(e) = parse_entry(entry) {
            self.0.push(e);
        }
    }

    /// Whether `host` (a name or an address) on `port` is on the list.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = normalize(host);
        let ip: Option<IpAddr> = host.parse().ok();
        self.0.iter().any(|e| {
            let port_ok = match e.port {
                Some(p) => p == port,
                None => WEB_PORTS.contains(&port),
            };
            port_ok
                && match (&e.host, ip) {
                    (Host::Name(n), None) => *n == host,
                    (Host::Subdomains(s), None) => host.len() > s.len() + 1 && host.ends_with(&format!(".{s}")),
                    (Host::Net(net), Some(ip)) => net.contains(&ip),
                    _ => false,
                }
        })
    }
}

fn parse_entry(raw: &str) -> Result<Entry, String> {
    let s = raw.trim();
    let bad = |why: &str| format!("'{raw}' is not a host to allow: {why}");
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    // `[v6]` or `[v6]:port`; a bare IPv6 address (several colons) has no port.
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(|| bad("a '[' without ']'"))?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(bad("text after ']'")),
        }
    } else if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':').unwrap();
        (h, Some(p))
    } else {
        (s, None)
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| bad("the port is not 1-65535"))?),
        None => None,
    };
    let h = normalize(host);
    let host = if let Ok(net) = h.parse::<IpNet>() {
        Host::Net(net)
    } else if let Ok(ip) = h.parse::<IpAddr>() {
        Host::Net(IpNet::from(ip))
    } else if let Some(suffix) = h.strip_prefix("*.") {
        check_name(suffix).map_err(|w| bad(&w))?;
        Host::Subdomains(suffix.to_string())
    } else {
        check_name(&h).map_err(|w| bad(&w))?;
        Host::Name(h)
    };
    Ok(Entry { host, port })
}

fn check_name(n: &str) -> Result<(), String> {
    let ok_label = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if n.len() > 253 || !n.split('.').all(ok_label) {
        return Err("a host name has letters, digits, '-' and dots (a wildcard only as '*.' at the start)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(e: &[&str]) -> Allowlist {
        Allowlist::parse(e).unwrap()
    }

    #[test]
    fn names_match_exactly_without_case_or_a_trailing_dot_on_the_webs_ports() {
        let l = list(&["registry.npmjs.org"]);
        assert!(l.allows("registry.npmjs.org", 443) && l.allows("Registry.NPMJS.org.", 80));
        assert!(!l.allows("registry.npmjs.org", 22), "no port: 80 and 443 only");
        assert!(!l.allows("evil-registry.npmjs.org", 443) && !l.allows("registry.npmjs.org.evil.com", 443));
        assert!(!l.allows("npmjs.org", 443));
    }

    #[test]
    fn a_wildcard_matches_subdomains_only() {
        let l = list(&["*.github.com"]);
        assert!(l.allows("api.github.com", 443) && l.allows("a.b.github.com", 443));
        assert!(!l.allows("github.com", 443), "the wildcard is not the domain itself");
        assert!(!l.allows("evilgithub.com", 443) && !l.allows("github.com.evil", 443));
    }

    #[test]
    fn ports_are_exact_when_given() {
        let l = list(&["example.com:8443", "[2001:db8::1]:8080"]);
        assert!(l.allows("example.com", 8443) && !l.allows("example.com", 443));
        assert!(l.allows("2001:db8::1", 8080) && l.allows("[2001:db8::1]", 8080) && !l.allows("2001:db8::1", 443));
    }

    #[test]
    fn addresses_and_ranges_in_both_families() {
        let l = list(&["198.51.100.0/24", "2001:db8::/32", "203.0.113.9", "2001:db8:ffff::1"]);
        assert!(l.allows("198.51.100.77", 443) && !l.allows("198.51.101.1", 443));
        assert!(l.allows("2001:db8:1::5", 443) && l.allows("[2001:DB8::5]", 80));
        assert!(l.allows("203.0.113.9", 443) && !l.allows("203.0.113.10", 443));
        assert!(!l.allows("registry.npmjs.org", 443), "addresses never match names");
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in ["", "exa mple.com", "*.", "ex*ample.com", "example.com:0", "example.com:99999", "[::1", "[::1]x"] {
            let e = Allowlist::parse(&[bad]).unwrap_err();
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
        assert!(Allowlist::parse(REGISTRIES).is_ok());
    }
}
