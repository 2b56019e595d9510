//! Every agent call, for the Agent activity panel: tool, arguments, result summary, duration.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::Serialize;
use ts_rs::TS;

/// Calls kept (the oldest go first).
const KEEP: usize = 500;
/// Longest argument or result text kept per call (characters).
const MAX_TEXT: usize = 2_000;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct AgentCall {
    #[ts(type = "number")]
    pub id: u64,
    pub tool: String,
    /// The arguments as JSON, shortened; written text is replaced by its size.
    pub arguments: String,
    /// "ok", "error", "denied" or "running".
    pub outcome: String,
    /// The first lines of the result, or the error.
    pub summary: String,
    #[ts(type = "number")]
    pub started_ms: i64,
    #[ts(type = "number")]
    pub duration_ms: u64,
}

pub fn shorten(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The arguments as the panel shows them: file contents are replaced by their size, so a big
/// write does not fill the panel (and the log holds no file content).
pub fn describe_arguments(args: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut shown = args.clone();
    for key in ["content", "old_text", "new_text"] {
        if let Some(serde_json::Value::String(s)) = shown.get(key) {
            let n = s.len();
            shown.insert(key.into(), serde_json::Value::String(format!("<{n} bytes>")));
        }
    }
    shorten(&serde_json::Value::Object(shown).to_string())
}

#[derive(Default)]
pub struct ActivityLog {
    calls: Mutex<VecDeque<AgentCall>>,
    next: std::sync::atomic::AtomicU64,
}

impl ActivityLog {
    pub fn next_id(&self) -> u64 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }

    /// Adds or replaces (same id) a call.
    pub fn put(&self, call: AgentCall) {
        let mut calls = self.calls.lock();
        if let Some(slot) = calls.iter_mut().find(|c| c.id == call.id) {
            *slot = call;
            return;
        }
        if calls.len() == KEEP {
            calls.pop_front();
        }
        calls.push_back(call);
    }

    /// Newest first.
    pub fn recent(&self) -> Vec<AgentCall> {
        self.calls.lock().iter().rev().cloned().collect()
    }
}
