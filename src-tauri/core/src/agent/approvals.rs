//! "Ask" permissions: a call waits until the user approves or denies it in the IDE.

use std::collections::HashMap;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::oneshot;
use ts_rs::TS;

/// What the approval card shows.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ApprovalRequest {
    #[ts(type = "number")]
    pub id: u64,
    pub tool: String,
    /// The exact command, or the file and the change.
    pub title: String,
    /// The command's working folder and time limit, or the diff of the change.
    pub detail: String,
    /// Why this call is asked about whatever the settings say (a file the host runs by itself).
    pub reason: Option<String>,
}

#[derive(Default)]
pub struct Approvals {
    pending: Mutex<HashMap<u64, (ApprovalRequest, oneshot::Sender<bool>)>>,
}

impl Approvals {
    /// Registers a question; the receiver gets the user's answer (dropped = denied).
    pub fn ask(&self, req: ApprovalRequest) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(req.id, (req, tx));
        rx
    }

    /// The user's answer; false when the question is no longer pending.
    pub fn decide(&self, id: u64, allow: bool) -> bool {
        match self.pending.lock().remove(&id) {
            Some((_, tx)) => tx.send(allow).is_ok(),
            None => false,
        }
    }

    /// A question the agent stopped waiting for (it cancelled the call).
    pub fn withdraw(&self, id: u64) {
        self.pending.lock().remove(&id);
    }

    pub fn pending(&self) -> Vec<ApprovalRequest> {
        let mut v: Vec<ApprovalRequest> = self.pending.lock().values().map(|(r, _)| r.clone()).collect();
        v.sort_by_key(|r| r.id);
        v
    }
}
