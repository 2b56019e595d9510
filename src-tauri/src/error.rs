//! The one error shape the UI receives: a stable `kind` to branch on and a message to show.

use aura_core::error::ErrorKind;
use aura_core::UserFacing;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct IpcError {
    pub kind: ErrorKind,
    pub message: String,
}

impl IpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl<E: UserFacing> From<E> for IpcError {
    fn from(e: E) -> Self {
        Self { kind: e.kind(), message: e.to_string() }
    }
}

pub type IpcResult<T> = Result<T, IpcError>;
