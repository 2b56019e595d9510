//! What every domain error offers the UI: a stable machine-readable kind next to its message.

/// Implemented by each domain's error enum so the command layer can hand the UI both a short,
/// stable `kind` (to branch on, e.g. `"conflict"`) and a sentence a user can act on (`Display`).
pub trait UserFacing: std::fmt::Display {
    fn kind(&self) -> &'static str;
}
