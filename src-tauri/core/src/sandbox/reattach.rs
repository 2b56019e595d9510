//! Finding a project's remote sandbox from an earlier session (the id in SQLite, else the
//! provider's list by the labels Aura puts on every sandbox it makes), and those labels.

use super::Egress;
use super::*;
use crate::paths::ProjectRoot;
use crate::store::Store;

/// What [`find`] found of a project's earlier sandbox.
pub(super) enum Found {
    Nothing,
    Kept(SandboxInfo),
    Gone(String),
    /// Made with another network choice than the project's now (left as it is).
    OtherNetwork(String),
}

/// The labels (Daytona) / metadata (E2B) of a sandbox Aura creates: which project, on which
/// installation, so its sandboxes can be found and told apart in the provider's list.
pub(super) fn labels(root: &ProjectRoot, store: &Store, egress: &Egress) -> Vec<(String, String)> {
    let mut out = vec![("project".to_string(), root.name())];
    out.extend(identity(root, store, egress));
    out
}

/// The labels that say whose sandbox it is and how it was made: this project (a hash of its
/// path) on this installation, with this network choice.
pub(super) fn identity(root: &ProjectRoot, store: &Store, egress: &Egress) -> Vec<(String, String)> {
    let mut out = vec![("aura-project".to_string(), project_key(&root.path().display().to_string()))];
    if let Ok(id) = store.install_id() {
        out.push(("aura-machine".to_string(), id));
    }
    out.push(("aura-network".to_string(), egress.key()));
    out
}

/// The `aura-project` label of the project at `path` (a hash: the path itself stays here).
pub fn project_key(path: &str) -> String {
    blake3::hash(path.as_bytes()).to_hex()[..16].to_string()
}

/// Where the network choice a remote sandbox was made with is kept.
pub(super) fn network_setting(id: &str) -> String {
    format!("sandbox.network.{id}")
}

/// The project's remote sandbox from an earlier session, started or resumed, if it is still
/// there: the id in SQLite, else the provider's list by the labels `mine` (a new state
/// database, another copy of it). One made with another network choice is not used (a
/// sandbox keeps its network: an Offline project must not get one with internet). Only
/// "not found" or a state it cannot come back from counts as gone: any other error is the
/// caller's (creating another sandbox then would leave this one orphaned).
pub(super) async fn find(
    store: &Store,
    provider: &dyn Provider,
    project: i64,
    kind: ProviderKind,
    mine: &[(String, String)],
) -> Result<Found, SandboxError> {
    if kind == ProviderKind::Local {
        return Ok(Found::Nothing);
    }
    let id = match store.last_remote_sandbox(project, kind.as_str()).ok().flatten() {
        Some(id) => {
            // Made with this network choice? (The labels below already say so.)
            let network = mine.iter().find(|(k, _)| k == "aura-network").map(|(_, v)| v.as_str());
            if store.setting(&network_setting(&id)).ok().flatten().as_deref() != network {
                return Ok(Found::OtherNetwork(id));
            }
            id
        }
        None => match provider.list_labelled(mine).await {
            Ok(found) => match found.into_iter().find(|s| s.state != SandboxState::Destroyed) {
                Some(s) => {
                    if let Some((_, key)) = mine.iter().find(|(k, _)| k == "aura-network") {
                        let _ = store.set_setting(&network_setting(&s.id), Some(key));
                    }
                    s.id
                }
                None => return Ok(Found::Nothing),
            },
            Err(SandboxError::Unsupported(_)) => return Ok(Found::Nothing),
            Err(e) => return Err(e),
        },
    };
    let info = match provider.get(&id).await {
        Ok(info) => info,
        Err(SandboxError::NotFound(_)) => return Ok(Found::Gone(id)),
        Err(e) => return Err(e),
    };
    Ok(match info.state {
        SandboxState::Started => Found::Kept(info),
        SandboxState::Stopped => Found::Kept(provider.start(&id).await?),
        SandboxState::Paused => Found::Kept(provider.resume(&id).await?),
        _ => Found::Gone(id),
    })
}
