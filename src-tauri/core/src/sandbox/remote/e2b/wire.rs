//! E2B's messages as types: the control plane's sandbox record, and envd's Connect-RPC
//! messages (proto3 JSON: bytes in base64, 64-bit numbers as strings, defaults left out) with
//! the envelopes of a server stream.

use base64::Engine;
use serde::{Deserialize, Deserializer};

use crate::sandbox::SandboxError;

/// A sandbox as the control plane describes it (create, get, list, connect).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Sandbox {
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    #[serde(default)]
    pub envd_access_token: Option<String>,
    /// What the sandbox's URLs want (`e2b-traffic-access-token`) when not public.
    #[serde(default)]
    pub traffic_access_token: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub cpu_count: Option<f32>,
    #[serde(default, rename = "memoryMB")]
    pub memory_mb: Option<u64>,
    #[serde(default)]
    pub end_at: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
}

fn base64_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom)).transpose()
}

/// An int64 (a string in proto3 JSON; a number is taken too).
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        S(String),
        N(u64),
    }
    Ok(match N::deserialize(d)? {
        N::S(s) => s.parse().map_err(serde::de::Error::custom)?,
        N::N(n) => n,
    })
}

/// `process.ProcessEvent`: one of start, data, end (keepalives carry nothing).
#[derive(Debug, Default, Deserialize)]
struct ProcessEventMsg {
    #[serde(default)]
    start: Option<StartEvent>,
    #[serde(default)]
    data: Option<DataEvent>,
    #[serde(default)]
    end: Option<EndEvent>,
}

#[derive(Debug, Deserialize)]
struct StartEvent {
    pid: u32,
}

#[derive(Debug, Default, Deserialize)]
struct DataEvent {
    #[serde(default, deserialize_with = "base64_bytes")]
    stdout: Option<Vec<u8>>,
    #[serde(default, deserialize_with = "base64_bytes")]
    stderr: Option<Vec<u8>>,
    #[serde(default, deserialize_with = "base64_bytes")]
    pty: Option<Vec<u8>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndEvent {
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    error: Option<String>,
}

/// One message of a `process.Process/Start` stream (`StartResponse`), or the stream's end.
#[derive(Debug, Default, Deserialize)]
struct StreamMsg {
    #[serde(default)]
    event: Option<ProcessEventMsg>,
    /// Only in the end-of-stream message: the call's failure.
    #[serde(default)]
    error: Option<RpcError>,
}

#[derive(Debug, Default, Deserialize)]
struct RpcError {
    #[serde(default)]
    message: Option<String>,
}

/// What a process did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Event {
    Started { pid: u32 },
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    Pty(Vec<u8>),
    Ended { exit_code: i32, error: Option<String> },
}

/// A `process.Process/Start` response read event by event.
pub(super) struct ProcessStream {
    response: reqwest::Response,
    buf: Vec<u8>,
    ready: std::collections::VecDeque<Event>,
}

fn bad(m: impl std::fmt::Display) -> SandboxError {
    SandboxError::BadResponse { provider: "E2B", message: m.to_string() }
}

impl ProcessStream {
    pub(super) fn new(response: reqwest::Response) -> Self {
        Self { response, buf: Vec::new(), ready: Default::default() }
    }

    /// The next event; `None` once the stream ended cleanly.
    pub(super) async fn next(&mut self) -> Result<Option<Event>, SandboxError> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Ok(Some(e));
            }
            let chunk = self
                .response
                .chunk()
                .await
                .map_err(|e| SandboxError::Network { provider: "E2B", message: e.to_string() })?;
            let Some(chunk) = chunk else { return Ok(None) };
            self.buf.extend_from_slice(&chunk);
            for (flags, payload) in take_envelopes(&mut self.buf) {
                let msg: StreamMsg = serde_json::from_slice(&payload).map_err(bad)?;
                if flags & END_STREAM != 0 {
                    if let Some(err) = msg.error {
                        let message = err.message.unwrap_or_else(|| "process failed".into());
                        return Err(SandboxError::Api { provider: "E2B", status: 200, message });
                    }
                    continue;
                }
                let Some(ev) = msg.event else { continue };
                if let Some(s) = ev.start {
                    self.ready.push_back(Event::Started { pid: s.pid });
                }
                if let Some(d) = ev.data {
                    self.ready.extend(d.stdout.map(Event::Stdout));
                    self.ready.extend(d.stderr.map(Event::Stderr));
                    self.ready.extend(d.pty.map(Event::Pty));
                }
                if let Some(end) = ev.end {
                    self.ready.push_back(Event::Ended { exit_code: end.exit_code, error: end.error });
                }
            }
        }
    }
}

/// `process.ListResponse`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ProcessList {
    #[serde(default)]
    pub processes: Vec<ProcessInfo>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ProcessInfo {
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub config: Option<ProcessConfig>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ProcessConfig {
    #[serde(default)]
    pub cmd: String,
}

/// `filesystem.ListDirResponse`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DirListing {
    #[serde(default)]
    pub entries: Vec<EntryInfo>,
}

#[derive(Debug, Deserialize)]
pub(super) struct EntryInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub file_type: String,
    #[serde(default, deserialize_with = "int64")]
    pub size: u64,
}

/// The envelope flag of a stream's last message.
const END_STREAM: u8 = 0x02;

/// Splits Connect streaming envelopes (1 flag byte, 4-byte big-endian length, payload) off `buf`.
pub fn take_envelopes(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        if buf.len() < 5 {
            return out;
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if buf.len() < 5 + len {
            return out;
        }
        let flags = buf[0];
        let payload = buf[5..5 + len].to_vec();
        buf.drain(..5 + len);
        out.push((flags, payload));
    }
}

pub fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + payload.len());
    v.push(flags);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto3_json_defaults_and_encodings_are_read() {
        let end: StreamMsg =
            serde_json::from_str(r#"{"event":{"end":{"exited":true,"status":"exit status 0"}}}"#).unwrap();
        assert_eq!(end.event.unwrap().end.unwrap().exit_code, 0, "a zero exit code is left out");
        let data: StreamMsg = serde_json::from_str(r#"{"event":{"data":{"stdout":"aGk="}}}"#).unwrap();
        assert_eq!(data.event.unwrap().data.unwrap().stdout.unwrap(), b"hi");
        let dir: DirListing = serde_json::from_str(
            r#"{"entries":[{"name":"a","type":"FILE_TYPE_FILE","size":"12"},{"name":"b","size":3}]}"#,
        )
        .unwrap();
        assert_eq!((dir.entries[0].size, dir.entries[1].size), (12, 3));
    }
}
