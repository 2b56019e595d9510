//! The update settings, kept in the state database: whether to check at start, and the server.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::{Store, StoreError};

const CHECK_AT_START: &str = "update.check_at_start";
const ENDPOINT: &str = "update.endpoint";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UpdateSettings {
    /// Check once when the app starts (on by default).
    pub check_at_start: bool,
    /// The manifest URL; empty means the one the package was built with.
    pub endpoint: String,
}

impl UpdateSettings {
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            check_at_start: store.setting(CHECK_AT_START)?.as_deref() != Some("0"),
            endpoint: store.setting(ENDPOINT)?.unwrap_or_default(),
        })
    }

    /// Saves after checking the endpoint, so a typo is refused when entered, not at the next check.
    pub fn save(&self, store: &Store) -> Result<(), super::UpdateError> {
        if !self.endpoint.trim().is_empty() {
            super::parse_endpoint(&self.endpoint)?;
        }
        store.set_setting(CHECK_AT_START, Some(if self.check_at_start { "1" } else { "0" }))?;
        let endpoint = self.endpoint.trim();
        store.set_setting(ENDPOINT, (!endpoint.is_empty()).then_some(endpoint))?;
        Ok(())
    }

    /// The endpoint to ask: the user's, else the packager's (`plugins.updater.endpoints`).
    pub fn endpoint_or<'a>(&'a self, packaged: &'a [String]) -> Result<reqwest::Url, super::UpdateError> {
        let chosen = if self.endpoint.trim().is_empty() {
            packaged.first().map(String::as_str)
        } else {
            Some(&self.endpoint[..])
        };
        super::parse_endpoint(chosen.unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_bad_endpoints_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let s = UpdateSettings::load(&store).unwrap();
        assert_eq!(s, UpdateSettings { check_at_start: true, endpoint: String::new() });
        assert!(matches!(s.endpoint_or(&[]), Err(super::super::UpdateError::NoEndpoint)));
        assert_eq!(s.endpoint_or(&["https://p/latest.json".into()]).unwrap().as_str(), "https://p/latest.json");

        let mine = UpdateSettings { check_at_start: false, endpoint: " http://127.0.0.1:9/l.json ".into() };
        mine.save(&store).unwrap();
        let back = UpdateSettings::load(&store).unwrap();
        assert_eq!(back, UpdateSettings { check_at_start: false, endpoint: "http://127.0.0.1:9/l.json".into() });

        let bad = UpdateSettings { check_at_start: true, endpoint: "http://example.org/l.json".into() };
        assert!(bad.save(&store).unwrap_err().to_string().contains("https"));
        assert_eq!(UpdateSettings::load(&store).unwrap(), back, "a refused save changes nothing");
    }
}
