//! What a sandbox's code tried to reach: one row per host and port, with how it was decided and
//! how often, newest first — so a user sees what their dependencies phone.

use serde::Serialize;
use ts_rs::TS;

/// How a connection was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Verdict {
    /// On the list.
    Allowed,
    /// The user allowed it when asked (once or always).
    AllowedByUser,
    /// The user denied it, or did not answer in time.
    Denied,
    /// Refused whatever the list says (a private address, or a name that resolves to one).
    Blocked,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub verdict: Verdict,
    /// Why, for a refusal.
    pub reason: Option<String>,
    pub count: u32,
}

/// The rows, capped: the oldest go when there are more.
#[derive(Debug, Default)]
pub struct ConnectionLog(Vec<Connection>);

const MAX_ROWS: usize = 200;

impl ConnectionLog {
    pub fn record(&mut self, host: &str, port: u16, verdict: Verdict, reason: Option<String>) {
        if let Some(i) = self.0.iter().position(|c| c.host == host && c.port == port && c.verdict == verdict) {
            let mut c = self.0.remove(i);
            c.count += 1;
            c.reason = reason;
            self.0.insert(0, c);
            return;
        }
        self.0.insert(0, Connection { host: host.to_string(), port, verdict, reason, count: 1 });
        self.0.truncate(MAX_ROWS);
    }

    pub fn rows(&self) -> Vec<Connection> {
        self.0.clone()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_destination_and_verdict_newest_first() {
        let mut l = ConnectionLog::default();
        l.record("a.test", 443, Verdict::Allowed, None);
        l.record("b.test", 443, Verdict::Denied, Some("denied".into()));
        l.record("a.test", 443, Verdict::Allowed, None);
        let rows = l.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].host.as_str(), rows[0].count), ("a.test", 2));
        assert_eq!(rows[1].verdict, Verdict::Denied);
    }
}
