//! All of sync's SQL, in one place: the change journal, the manifest, and the engine's
//! position in the bucket (HEAD seen, in-flight commit, differential base, sent blobs, and the
//! one transaction that records a pass), and where packed blobs are.

pub mod journal;
mod manifest;
mod packs;
mod position;

pub(crate) use manifest::put_row;
