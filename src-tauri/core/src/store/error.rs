use crate::error::UserFacing;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open Aura's state database at '{path}': {message}")]
    Open { path: String, message: String },
    #[error(
        "Aura's state database was written by a newer Aura (schema {found}, this build knows {known}); update Aura"
    )]
    TooNew { found: i64, known: i64 },
    #[error("state database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored project state is unreadable: {0}")]
    Corrupt(String),
}

impl UserFacing for StoreError {
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::Store
    }
}
