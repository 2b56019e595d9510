//! `update::check` against a real HTTP server on 127.0.0.1: every answer a release server can give.

use std::collections::HashMap;
use std::sync::Arc;

use aura_core::update::{check, parse_endpoint, Check, Target, UpdateError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const DEB: Target = Target { os: "linux", arch: "x86_64", installer: Some("deb") };

fn manifest(version: &str) -> String {
    format!(
        r#"{{"version":"{version}","notes":"New things","pub_date":"2026-11-20T10:00:00Z",
            "platforms":{{"linux-x86_64-deb":{{"url":"http://127.0.0.1:1/a.deb","signature":"c2ln"}}}}}}"#
    )
}

/// Serves `routes` (path → raw HTTP response) and returns its base URL.
async fn serve(routes: HashMap<&'static str, String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let routes = routes.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let answer = routes.get(path.as_str()).cloned().unwrap_or_else(|| status(404, ""));
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    base
}

fn status(code: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn ask(base: &str, path: &str) -> Result<Check, UpdateError> {
    check(&parse_endpoint(&format!("{base}{path}")).unwrap(), "0.2.0", &DEB).await
}

#[tokio::test]
async fn every_answer_gets_its_own_outcome() {
    let base = serve(HashMap::from([
        ("/newer.json", status(200, &manifest("0.3.0"))),
        ("/same.json", status(200, &manifest("v0.2.0"))),
        ("/older.json", status(200, &manifest("0.1.0"))),
        ("/none", status(204, "")),
        ("/broken.json", status(200, "{\"version\": \"0.3.0\", \"platforms\": ")),
        ("/mac.json", status(200, &manifest("0.3.0").replace("linux-x86_64-deb", "darwin-aarch64"))),
        ("/500", status(500, "oops")),
        ("/linux/x86_64/0.2.0/deb", status(200, &manifest("0.3.0"))),
    ]))
    .await;

    match ask(&base, "/newer.json").await.unwrap() {
        Check::Available(offer, release) => {
            assert_eq!((offer.current.as_str(), offer.version.as_str()), ("0.2.0", "0.3.0"));
            assert_eq!((offer.notes.as_str(), offer.package.as_str()), ("New things", "linux-x86_64-deb"));
            assert_eq!(release.url.as_str(), "http://127.0.0.1:1/a.deb");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(ask(&base, "/same.json").await.unwrap(), Check::UpToDate(o) if !o.available));
    assert!(matches!(ask(&base, "/none").await.unwrap(), Check::UpToDate(_)));
    let templated = ask(&base, "/{{target}}/{{arch}}/{{current_version}}/{{bundle_type}}").await;
    assert!(matches!(templated, Ok(Check::Available(..))), "{templated:?}");

    for (path, want) in [
        ("/older.json", "offers version 0.1.0, older than the installed 0.2.0"),
        ("/broken.json", "not a valid update manifest"),
        ("/mac.json", "no package for this system (linux-x86_64-deb or linux-x86_64)"),
        ("/500", "answered HTTP 500"),
        ("/missing.json", "answered HTTP 404"),
    ] {
        let e = ask(&base, path).await.unwrap_err().to_string();
        assert!(e.contains(want), "{path}: {e}");
    }
}

#[tokio::test]
async fn a_server_that_is_down_is_named_with_the_cause() {
    // Port 1: nothing listens there (privileged, unused), so the connection is refused.
    let port = 1;
    let e = ask(&format!("http://127.0.0.1:{port}"), "/latest.json").await.unwrap_err().to_string();
    assert!(e.contains(&format!("Could not reach the update server at http://127.0.0.1:{port}/latest.json")), "{e}");
    assert!(e.to_lowercase().contains("refused"), "{e}");
}
