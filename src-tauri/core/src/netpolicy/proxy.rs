//! The HTTP proxy a *Registries only* sandbox's programs go through: `CONNECT host:port` for
//! HTTPS (the TLS stays end to end; nothing is decrypted) and absolute-form requests for plain
//! HTTP. Each destination is decided by the [`Gatekeeper`] by name, then dialled from the host
//! only at a public address. A refusal is an HTTP 403 whose reason and body say "blocked by
//! Aura's network policy" and why.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Gatekeeper;

/// The longest request head read before refusing it.
const MAX_HEAD: usize = 32 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const COPY_BUF: usize = 64 * 1024;

/// Serves `listener` until the task is dropped. `refused` are the ranges never dialled
/// (private, link-local, the host's own addresses: see `sandbox::local::egress::blocked`).
pub async fn serve(listener: TcpListener, gate: Arc<Gatekeeper>, refused: Arc<Vec<IpNet>>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (gate, refused) = (gate.clone(), refused.clone());
        tokio::spawn(async move {
            let _ = handle(client, &gate, &refused).await;
        });
    }
}

/// Where a request goes and what to send there first.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    /// `None` for CONNECT; for plain HTTP the head rewritten for the origin.
    head: Option<Vec<u8>>,
}

async fn handle(mut client: TcpStream, gate: &Gatekeeper, refused: &[IpNet]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(2048);
    let head_len = loop {
        if let Some(i) = find_head_end(&buf) {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return reply(&mut client, 431, "Request Header Fields Too Large", "the request head is too large\n").await;
        }
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let target = match parse(&buf[..head_len]) {
        Ok(t) => t,
        Err(why) => return reply(&mut client, 400, "Bad Request", &format!("{why}\n")).await,
    };
    if let Err(why) = gate.decide(&target.host, target.port).await {
        return refuse(&mut client, &why).await;
    }
    let mut upstream = match dial(&target.host, target.port, refused).await {
        Ok(s) => s,
        Err(Dial::Private(ip)) => {
            let why = format!("{} resolves to {ip}, a private or local address", target.host);
            let _ = gate.refuse(&target.host, target.port, super::Verdict::Blocked, why.clone());
            return refuse(&mut client, &why).await;
        }
        Err(Dial::Failed(why)) => return reply(&mut client, 502, "Bad Gateway", &format!("{why}\n")).await,
    };
    let rest = &buf[head_len..];
    match &target.head {
        None => client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await?,
        Some(head) => upstream.write_all(head).await?,
    }
    upstream.write_all(rest).await?;
    // 64 KiB a direction (tokio's default is 8): a download costs fewer wake-ups and copies.
    tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, COPY_BUF, COPY_BUF).await?;
    Ok(())
}

async fn refuse(client: &mut TcpStream, why: &str) -> std::io::Result<()> {
    reply(client, 403, "Blocked by Aura's network policy", &format!("blocked by Aura's network policy: {why}\n")).await
}

async fn reply(client: &mut TcpStream, status: u16, reason: &str, body: &str) -> std::io::Result<()> {
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(msg.as_bytes()).await?;
    client.shutdown().await
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// `host:port` or `[v6]:port`.
fn split_authority(a: &str, default_port: Option<u16>) -> Result<(String, u16), String> {
    let bad = || format!("'{a}' is not host:port");
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        (h, after.strip_prefix(':'))
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad())?,
        None => default_port.ok_or_else(bad)?,
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

fn parse(head: &[u8]) -> Result<Target, String> {
    let text = std::str::from_utf8(head).map_err(|_| "the request head is not text".to_string())?;
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) => (m, t, v),
        _ => return Err(format!("'{first}' is not an HTTP request line")),
    };
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_authority(target, None)?;
        return Ok(Target { host, port, head: None });
    }
    let rest = target
        .strip_prefix("http://")
        .ok_or_else(|| format!("this is Aura's proxy: it takes CONNECT or http://… requests, not '{target}'"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = split_authority(authority, Some(80))?;
    let mut out = format!("{method} {path} {version}\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        if !matches!(name.as_str(), "proxy-connection" | "proxy-authorization" | "connection" | "keep-alive") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    // One request per upstream connection: the next may be for another host.
    out.push_str("Connection: close\r\n\r\n");
    Ok(Target { host, port, head: Some(out.into_bytes()) })
}

enum Dial {
    /// Every address of the name is refused (the first is named).
    Private(IpAddr),
    Failed(String),
}

async fn dial(host: &str, port: u16, refused: &[IpNet]) -> Result<TcpStream, Dial> {
    let name = super::allowlist::normalize(host);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
        .await
        .map_err(|e| Dial::Failed(format!("cannot resolve {name}: {e}")))?
        .collect();
    let ok: Vec<SocketAddr> = addrs.iter().copied().filter(|a| !is_refused(a.ip(), refused)).collect();
    if ok.is_empty() {
        return Err(match addrs.first() {
            Some(a) => Dial::Private(a.ip()),
            None => Dial::Failed(format!("{name} has no address")),
        });
    }
    let mut last = String::new();
    for a in ok {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(a)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = format!("cannot connect to {name} ({a}): {e}"),
            Err(_) => last = format!("{name} ({a}) did not answer in {}s", CONNECT_TIMEOUT.as_secs()),
        }
    }
    Err(Dial::Failed(last))
}

fn is_refused(ip: IpAddr, refused: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    refused.iter().any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_and_absolute_requests_are_parsed_and_rewritten_for_the_origin() {
        let t = parse(b"CONNECT registry.npmjs.org:443 HTTP/1.1\r\nHost: registry.npmjs.org:443\r\n\r\n").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.head), ("registry.npmjs.org", 443, None));
        let t = parse(b"CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("2001:db8::1", 8443));

        let t = parse(b"GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n")
            .unwrap();
        assert_eq!((t.host.as_str(), t.port), ("example.com", 80));
        let head = String::from_utf8(t.head.unwrap()).unwrap();
        assert_eq!(head, "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: close\r\n\r\n");
        let t = parse(b"GET http://example.com:8080 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(t.port, 8080);
        assert!(String::from_utf8(t.head.unwrap()).unwrap().starts_with("GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn what_is_not_a_proxy_request_is_named() {
        assert!(parse(b"GET /index.html HTTP/1.1\r\n\r\n").unwrap_err().contains("Aura's proxy"));
        assert!(parse(b"CONNECT example.com HTTP/1.1\r\n\r\n").unwrap_err().contains("host:port"));
        assert!(parse(b"nonsense\r\n\r\n").is_err());
    }

    #[test]
    fn mapped_addresses_are_checked_as_what_they_are() {
        let refused = vec!["10.0.0.0/8".parse::<IpNet>().unwrap()];
        assert!(is_refused("::ffff:10.1.2.3".parse().unwrap(), &refused));
        assert!(!is_refused("198.51.100.7".parse().unwrap(), &refused));
    }
}
