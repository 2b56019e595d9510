//! The update server's address: https, or plain http on this machine's loopback (a local mirror,
//! the tests' server). Integrity never rests on the transport: every package is signature-checked.

use std::net::IpAddr;

use reqwest::Url;

use super::{Target, UpdateError};

/// Parses an endpoint as the user or the packager wrote it.
pub fn parse_endpoint(text: &str) -> Result<Url, UpdateError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(UpdateError::NoEndpoint);
    }
    let url = Url::parse(text).map_err(|_| UpdateError::BadEndpoint(text.to_string()))?;
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(UpdateError::InsecureEndpoint(url.to_string())),
        _ => Err(UpdateError::BadEndpoint(text.to_string())),
    }
}

pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(h) => h.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// Fills in the variables the updater plugin also replaces, so both ask the same URL.
pub fn expand(endpoint: &Url, current: &str, target: &Target) -> Result<Url, UpdateError> {
    let text = endpoint
        .as_str()
        .replace("%7B%7Bcurrent_version%7D%7D", current)
        .replace("%7B%7Btarget%7D%7D", target.os)
        .replace("%7B%7Barch%7D%7D", target.arch)
        .replace("%7B%7Bbundle_type%7D%7D", target.installer.unwrap_or("unknown"))
        .replace("{{current_version}}", current)
        .replace("{{target}}", target.os)
        .replace("{{arch}}", target.arch)
        .replace("{{bundle_type}}", target.installer.unwrap_or("unknown"));
    Url::parse(&text).map_err(|_| UpdateError::BadEndpoint(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(parse_endpoint("https://releases.example.org/aura/latest.json").is_ok());
        for ok in ["http://127.0.0.1:8080/latest.json", "http://127.9.0.1/x", "http://localhost/x", "http://[::1]:9/x"]
        {
            assert!(parse_endpoint(ok).is_ok(), "{ok}");
        }
        for (bad, want) in [
            ("http://example.org/latest.json", "https"),
            ("http://10.0.0.1/latest.json", "https"),
            ("ftp://example.org/x", "not a valid URL"),
            ("releases/latest.json", "not a valid URL"),
            ("   ", "No update server"),
        ] {
            let e = parse_endpoint(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn variables_are_filled_in_path_and_query() {
        let t = Target { os: "linux", arch: "x86_64", installer: Some("deb") };
        let u = parse_endpoint("https://h/{{target}}/{{arch}}/{{current_version}}?b={{bundle_type}}").unwrap();
        assert_eq!(expand(&u, "0.1.0", &t).unwrap().as_str(), "https://h/linux/x86_64/0.1.0?b=deb");
    }
}
