use crate::error::UserFacing;

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("cannot start the terminal: {0}")]
    Spawn(String),
    #[error("terminal {0} is closed")]
    NoSuchTerminal(u32),
    #[error("terminal I/O failed: {0}")]
    Io(String),
}

impl UserFacing for TerminalError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::Spawn(_) => crate::error::ErrorKind::TerminalSpawn,
            Self::NoSuchTerminal(_) => crate::error::ErrorKind::TerminalClosed,
            Self::Io(_) => crate::error::ErrorKind::Io,
        }
    }
}
