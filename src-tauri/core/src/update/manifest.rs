//! The update manifest the Tauri updater reads (`latest.json`): a version, notes, a date, and per
//! platform a package URL with its minisign signature — or one flat `url`/`signature` pair.

use std::collections::BTreeMap;

use reqwest::Url;
use serde::Deserialize;

use super::UpdateError;

/// This install: `{os}-{arch}` and, when it runs from a package, that package's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub os: &'static str,
    pub arch: &'static str,
    /// `deb`, `rpm`, `appimage`... or `None` when not installed from a package.
    pub installer: Option<&'static str>,
}

impl Target {
    pub fn this_machine(installer: Option<&'static str>) -> Self {
        let arch = match std::env::consts::ARCH {
            "x86" => "i686",
            "arm" => "armv7",
            a => a,
        };
        Self { os: std::env::consts::OS, arch, installer }
    }

    /// The platform keys to look for, most specific first (as the updater plugin does).
    pub fn keys(&self) -> Vec<String> {
        let base = format!("{}-{}", self.os, self.arch);
        match self.installer {
            Some(i) => vec![format!("{base}-{i}"), base],
            None => vec![base],
        }
    }
}

#[derive(Deserialize)]
struct Raw {
    version: String,
    notes: Option<String>,
    pub_date: Option<String>,
    platforms: Option<BTreeMap<String, RawPackage>>,
    url: Option<String>,
    signature: Option<String>,
}

#[derive(Deserialize)]
struct RawPackage {
    url: Option<String>,
    signature: Option<String>,
}

/// What the manifest offers this install.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub version: String,
    pub notes: String,
    pub date: Option<String>,
    pub url: Url,
    /// The platform entry it came from (`linux-x86_64-deb`), or `*` for a flat manifest.
    pub key: String,
}

impl Release {
    pub fn parse(body: &[u8], target: &Target) -> Result<Self, UpdateError> {
        let raw: Raw = serde_json::from_slice(body).map_err(|e| UpdateError::Malformed(e.to_string()))?;
        super::compare(&raw.version, &raw.version)?; // a version that is not semver is malformed
        let (key, package) = match (&raw.platforms, raw.url) {
            (Some(platforms), _) => {
                let keys = target.keys();
                // A build run in place has no package kind: any package for this system shows
                // what is available (installing it is refused with the reason).
                let any_kind = || {
                    let prefix = format!("{}-", keys[0]);
                    platforms.iter().find(|(k, _)| target.installer.is_none() && k.starts_with(&prefix))
                };
                let found = keys.iter().find_map(|k| platforms.get_key_value(k)).or_else(any_kind);
                let Some((key, p)) = found else {
                    let listed: Vec<&str> = platforms.keys().map(String::as_str).collect();
                    return Err(UpdateError::NoPackage {
                        wanted: keys.join(" or "),
                        listed: if listed.is_empty() { "nothing".into() } else { listed.join(", ") },
                    });
                };
                (key.clone(), RawPackage { url: p.url.clone(), signature: p.signature.clone() })
            }
            (None, Some(url)) => ("*".to_string(), RawPackage { url: Some(url), signature: raw.signature }),
            (None, None) => return Err(UpdateError::Malformed("it has neither `platforms` nor `url`".into())),
        };
        let url_text = package.url.ok_or_else(|| UpdateError::Malformed(format!("the {key} entry has no `url`")))?;
        let url = Url::parse(&url_text).ok().filter(|u| matches!(u.scheme(), "https" | "http")).ok_or_else(|| {
            UpdateError::Malformed(format!("the {key} package URL {url_text:?} is not an http(s) URL"))
        })?;
        if url.scheme() == "http" && !super::endpoint::is_loopback(&url) {
            return Err(UpdateError::InsecureEndpoint(url.to_string()));
        }
        if package.signature.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(UpdateError::Unsigned { target: key });
        }
        Ok(Self { version: raw.version, notes: raw.notes.unwrap_or_default(), date: raw.pub_date, url, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEB: Target = Target { os: "linux", arch: "x86_64", installer: Some("deb") };

    fn manifest(platforms: &str) -> String {
        format!(
            r#"{{"version":"0.2.0","notes":"Faster sync","pub_date":"2026-11-20T10:00:00Z","platforms":{platforms}}}"#
        )
    }

    #[test]
    fn picks_the_installer_specific_entry_first() {
        let m = manifest(
            r#"{"linux-x86_64":{"url":"https://h/a.AppImage","signature":"s1"},
                "linux-x86_64-deb":{"url":"https://h/a.deb","signature":"s2"},
                "linux-x86_64-rpm":{"url":"https://h/a.rpm","signature":"s3"}}"#,
        );
        let r = Release::parse(m.as_bytes(), &DEB).unwrap();
        assert_eq!((r.key.as_str(), r.url.as_str()), ("linux-x86_64-deb", "https://h/a.deb"));
        assert_eq!((r.version.as_str(), r.notes.as_str()), ("0.2.0", "Faster sync"));
        let rpm = Target { installer: Some("rpm"), ..DEB };
        assert_eq!(Release::parse(m.as_bytes(), &rpm).unwrap().url.as_str(), "https://h/a.rpm");
    }

    #[test]
    fn falls_back_to_os_arch_and_reads_the_flat_form() {
        let m = manifest(r#"{"linux-x86_64":{"url":"https://h/a","signature":"s"}}"#);
        assert_eq!(Release::parse(m.as_bytes(), &DEB).unwrap().key, "linux-x86_64");
        let flat = r#"{"version":"v0.3.0","url":"https://h/b.deb","signature":"s"}"#;
        let r = Release::parse(flat.as_bytes(), &DEB).unwrap();
        assert_eq!((r.key.as_str(), r.version.as_str(), r.notes.as_str()), ("*", "v0.3.0", ""));
    }

    #[test]
    fn a_build_run_in_place_sees_any_package_for_its_system() {
        let m = manifest(
            r#"{"darwin-aarch64":{"url":"https://h/m","signature":"s"},"linux-x86_64-rpm":{"url":"https://h/r","signature":"s"}}"#,
        );
        let in_place = Target { installer: None, ..DEB };
        assert_eq!(Release::parse(m.as_bytes(), &in_place).unwrap().key, "linux-x86_64-rpm");
        let e = Release::parse(m.as_bytes(), &DEB).unwrap_err().to_string();
        assert!(e.contains("it lists: darwin-aarch64, linux-x86_64-rpm"), "a .deb install does not take an .rpm: {e}");
    }

    #[test]
    fn refusals_name_their_cause() {
        let cases = [
            ("not json".to_string(), "not a valid update manifest"),
            (r#"{"version":"0.2.0"}"#.to_string(), "neither `platforms` nor `url`"),
            (r#"{"platforms":{}}"#.to_string(), "missing field `version`"),
            (r#"{"version":"soon","url":"https://h/x","signature":"s"}"#.to_string(), "\"soon\" is not a semantic"),
            (
                manifest(r#"{"darwin-aarch64":{"url":"https://h/x","signature":"s"}}"#),
                "linux-x86_64-deb or linux-x86_64",
            ),
            (manifest(r#"{"darwin-aarch64":{"url":"https://h/x","signature":"s"}}"#), "it lists: darwin-aarch64"),
            (manifest(r#"{}"#), "it lists: nothing"),
            (manifest(r#"{"linux-x86_64-deb":{"url":"https://h/x"}}"#), "no signature for the linux-x86_64-deb"),
            (manifest(r#"{"linux-x86_64-deb":{"url":"https://h/x","signature":" "}}"#), "no signature"),
            (manifest(r#"{"linux-x86_64-deb":{"signature":"s"}}"#), "has no `url`"),
            (manifest(r#"{"linux-x86_64-deb":{"url":"file:///etc/passwd","signature":"s"}}"#), "not an http(s) URL"),
            (manifest(r#"{"linux-x86_64-deb":{"url":"http://example.org/a.deb","signature":"s"}}"#), "must use https"),
        ];
        for (body, want) in cases {
            let e = Release::parse(body.as_bytes(), &DEB).unwrap_err().to_string();
            assert!(e.contains(want), "{body}\n  -> {e}\n  wanted {want:?}");
        }
    }
}
