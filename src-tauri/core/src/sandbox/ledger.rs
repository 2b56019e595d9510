//! What a remote sandbox was sent of the project (path → content digest), kept in the state
//! database between sessions: reattaching to the sandbox after a restart then sends only what
//! changed on disk meanwhile and removes what was deleted, instead of the whole project.

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::{Digest, Store};

#[derive(Clone, Default)]
pub struct Ledger {
    /// None: nothing is kept (tests, or a provider whose copy needs none).
    store: Option<Arc<Store>>,
    sandbox: String,
}

impl Ledger {
    pub fn new(store: Arc<Store>, sandbox: &str) -> Self {
        Self { store: Some(store), sandbox: sandbox.to_string() }
    }

    /// What the sandbox holds, as last recorded (empty when unknown).
    pub fn load(&self) -> HashMap<Vec<u8>, Digest> {
        let Some(store) = &self.store else { return HashMap::new() };
        store.mirror_manifest(&self.sandbox).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the record of a remote sandbox's files cannot be read: sending everything");
            HashMap::new()
        })
    }

    /// Paths sent (`Some`) or removed (`None`).
    pub fn record(&self, changes: &[(Vec<u8>, Option<Digest>)]) {
        let Some(store) = &self.store else { return };
        if changes.is_empty() {
            return;
        }
        if let Err(e) = store.mirror_record(&self.sandbox, changes) {
            tracing::warn!(error = %e, "the record of a remote sandbox's files cannot be written");
        }
    }

    /// Sends everything next time (the sandbox's copy cannot be trusted any more).
    pub fn forget(&self) {
        if let Some(store) = &self.store {
            let _ = store.mirror_forget(&self.sandbox);
        }
    }
}
