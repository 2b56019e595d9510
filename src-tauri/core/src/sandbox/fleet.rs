//! The Sandboxes view: every sandbox Aura made at the user's providers — from this machine or
//! another, as their labels say — with its project, state, start, last activity and what it
//! has cost by the configured rates; one can be stopped or deleted from here. A sandbox kept
//! running after Aura closed, left by a crash or made on another machine is found here instead
//! of being paid for unseen.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::cost::Rates;
use super::reattach::project_key;
use super::service::SandboxService;
use super::{ProviderKind, SandboxError, SandboxInfo, SandboxState};
use crate::store::{now_ms, ProjectSettings, Store};

/// One of Aura's sandboxes at a provider.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct FleetEntry {
    pub provider: ProviderKind,
    pub id: String,
    pub state: SandboxState,
    /// The project's name, as labelled when the sandbox was made.
    pub project: String,
    /// The project's folder, when it is one of this machine's projects.
    pub project_path: Option<String>,
    /// Made by this installation of Aura.
    pub this_machine: bool,
    /// The open project's sandbox.
    pub current: bool,
    #[ts(type = "number | null")]
    pub started_ms: Option<i64>,
    /// Its last use as far as anyone knows: the provider's last activity, or the end of this
    /// machine's last session with it.
    #[ts(type = "number | null")]
    pub active_ms: Option<i64>,
    pub cpu: Option<f32>,
    #[ts(type = "number | null")]
    pub memory_bytes: Option<u64>,
    /// Its running time priced at the rates: this machine's sessions with it, plus the time
    /// it has run since then (or since it started, for another machine's).
    pub usd: Option<f64>,
    /// Running, not the open project's, and unused for longer than its project's auto-stop:
    /// most likely forgotten.
    pub idle: bool,
}

/// What the Sandboxes view shows.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Fleet {
    pub sandboxes: Vec<FleetEntry>,
    /// Providers that were not asked or did not answer, each with why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum FleetAction {
    Stop,
    Delete,
}

/// Is this one of Aura's sandboxes (it carries the project label Aura sets)?
fn auras(info: &SandboxInfo) -> bool {
    info.labels.contains_key("aura-project")
}

/// Every sandbox Aura made at the providers whose keys are in the keychain, newest first.
pub async fn list(service: &SandboxService, store: &Store, settings: &ProjectSettings) -> Fleet {
    let (clients, mut skipped) = service.remote_clients(settings);
    let asked = futures::future::join_all(clients.iter().map(|c| c.list())).await;
    let machine = store.install_id().ok();
    let projects: HashMap<String, String> =
        store.recent_projects(10_000).unwrap_or_default().into_iter().map(|p| (project_key(&p.root), p.root)).collect();
    let current = service.current_remote();
    let rates = Rates::load(store);
    let now = now_ms();
    let mut sandboxes = Vec::new();
    for (client, answer) in clients.iter().zip(asked) {
        let found = match answer {
            Ok(found) => found,
            Err(e) => {
                skipped.push(e.to_string());
                continue;
            }
        };
        for info in found.into_iter().filter(auras) {
            let current = current.as_ref().is_some_and(|(k, id)| *k == client.kind() && *id == info.id);
            sandboxes.push(entry(info, store, &projects, machine.as_deref(), current, &rates, now));
        }
    }
    sandboxes.sort_by_key(|e| std::cmp::Reverse(e.started_ms.unwrap_or(0)));
    Fleet { sandboxes, skipped }
}

fn entry(
    info: SandboxInfo,
    store: &Store,
    projects: &HashMap<String, String>,
    machine: Option<&str>,
    current: bool,
    rates: &Rates,
    now: i64,
) -> FleetEntry {
    let label = |k: &str| info.labels.get(k).cloned();
    let record = store.sandbox_record(&info.id).ok().flatten();
    let running = info.state == SandboxState::Started;
    // Time not in an open session of this machine's that it ran since its last one, or since
    // it started.
    let unrecorded_ms = match &record {
        Some(r) if r.open => 0,
        _ if !running => 0,
        Some(r) => now - r.last_ms.max(info.started_ms.unwrap_or(r.last_ms)),
        None => info.started_ms.map_or(0, |s| now - s),
    };
    let ms = record.as_ref().map_or(0, |r| r.ms) + unrecorded_ms.max(0);
    let gib = info.memory_bytes.map(|b| b as f64 / (1u64 << 30) as f64);
    let cpu = info.cpu.map(f64::from).or(record.as_ref().and_then(|r| r.cpu));
    let usd =
        rates.estimate(info.provider, cpu, gib.or(record.as_ref().and_then(|r| r.memory_gib)), ms as f64 / 1000.0);
    let active_ms = info.active_ms.or(record.as_ref().map(|r| r.last_ms)).or(info.started_ms);
    let auto_stop = record
        .as_ref()
        .and_then(|r| store.project_settings(r.project_id).ok())
        .map_or(Some(30), |s| s.auto_stop_minutes)
        .filter(|&m| m > 0)
        .unwrap_or(30);
    let idle = running && !current && active_ms.is_some_and(|a| now - a > i64::from(auto_stop) * 60_000);
    FleetEntry {
        provider: info.provider,
        project: label("project").unwrap_or_else(|| "(unnamed)".into()),
        project_path: label("aura-project").and_then(|k| projects.get(&k).cloned()),
        this_machine: machine.is_some() && label("aura-machine").as_deref() == machine,
        current,
        started_ms: info.started_ms,
        active_ms,
        cpu: info.cpu,
        memory_bytes: info.memory_bytes,
        usd,
        idle,
        state: info.state,
        id: info.id,
    }
}

/// Stops or deletes sandbox `id` at `provider`. Deleting the open project's sandbox lets the
/// project go of it first; its next command makes a new one.
pub async fn act(
    service: &SandboxService,
    settings: &ProjectSettings,
    provider: ProviderKind,
    id: &str,
    action: FleetAction,
) -> Result<(), SandboxError> {
    let client = service.remote(&ProjectSettings { provider, ..settings.clone() })?;
    // Only what Aura made is acted on from here.
    let info = client.get(id).await?;
    if !auras(&info) {
        return Err(SandboxError::Unsupported("acting on a sandbox Aura did not make"));
    }
    match action {
        FleetAction::Stop => {
            let after = match provider {
                // E2B keeps a paused sandbox (its files and processes); "stop" there is pause.
                ProviderKind::E2b => client.pause(id).await?,
                _ => client.stop(id).await?,
            };
            service.record_state(id, &after);
        }
        FleetAction::Delete => {
            service.let_go(id);
            client.delete(id).await?;
        }
    }
    Ok(())
}
