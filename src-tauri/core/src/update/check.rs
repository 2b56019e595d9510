//! Asks the update server what it offers and judges it against the installed version.

use std::cmp::Ordering;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::Serialize;
use ts_rs::TS;

use super::{expand, Release, Target, UpdateError};

/// The largest manifest read; a real one is a few kilobytes.
const MAX_MANIFEST: usize = 1 << 20;

/// What "Check for Updates" shows.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Offer {
    /// The installed version.
    pub current: String,
    /// The version the server offers (equal to `current` when up to date).
    pub version: String,
    pub available: bool,
    pub notes: String,
    pub date: Option<String>,
    /// The manifest entry the package comes from (`linux-x86_64-deb`).
    pub package: String,
    /// The server asked, for the dialog ("from releases.example.org").
    pub server: String,
}

/// The outcome of a check: an offer, or why nothing can be offered.
#[derive(Debug, Clone)]
pub enum Check {
    UpToDate(Offer),
    Available(Offer, Release),
}

/// Fetches and judges the manifest at `endpoint` for `target`, installed at `current`.
pub async fn check(endpoint: &Url, current: &str, target: &Target) -> Result<Check, UpdateError> {
    let url = expand(endpoint, current, target)?;
    let server = url.host_str().unwrap_or_default().to_string();
    let unreachable = |e: reqwest::Error| UpdateError::Unreachable { url: url.to_string(), reason: reason(&e) };
    let client = client().map_err(unreachable)?;
    let response = client.get(url.clone()).header("Accept", "application/json").send().await.map_err(unreachable)?;
    let status = response.status();
    let up_to_date = || Offer {
        current: current.to_string(),
        version: current.to_string(),
        available: false,
        notes: String::new(),
        date: None,
        package: String::new(),
        server: server.clone(),
    };
    if status == StatusCode::NO_CONTENT {
        return Ok(Check::UpToDate(up_to_date()));
    }
    if !status.is_success() {
        return Err(UpdateError::HttpStatus { url: url.to_string(), status: status.to_string() });
    }
    let body = read_capped(response).await.map_err(unreachable)?;
    let release = Release::parse(&body, target)?;
    match super::compare(current, &release.version)? {
        Ordering::Greater => Ok(Check::Available(
            Offer {
                current: current.to_string(),
                version: release.version.trim_start_matches('v').to_string(),
                available: true,
                notes: release.notes.clone(),
                date: release.date.clone(),
                package: release.key.clone(),
                server,
            },
            release,
        )),
        Ordering::Equal => Ok(Check::UpToDate(up_to_date())),
        Ordering::Less => Err(UpdateError::Downgrade { current: current.to_string(), offered: release.version }),
    }
}

/// Redirects are followed only to https or back to loopback, as the endpoint itself.
fn client() -> reqwest::Result<reqwest::Client> {
    crate::install_tls_provider();
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let ok = attempt.url().scheme() == "https" || super::endpoint::is_loopback(attempt.url());
        if attempt.previous().len() > 5 || !ok {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(policy)
        .build()
}

async fn read_capped(mut response: reqwest::Response) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_MANIFEST {
            break; // parsing the cut text fails with a clear "not a valid manifest"
        }
    }
    Ok(body)
}

/// The innermost cause ("Connection refused"), not reqwest's "error sending request for url".
fn reason(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if e.is_timeout() {
        format!("no answer in time ({text})")
    } else {
        text
    }
}
