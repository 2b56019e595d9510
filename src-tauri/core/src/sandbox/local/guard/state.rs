//! One sandbox's side of the guard: the placeholders its commands rely on (removed when it
//! stops), the plans whose descriptors a starting command still needs, what the newest plan
//! protects, and what appeared in the project while it ran.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{remove_placeholders, Guard};
use crate::sandbox::GuardReport;

#[derive(Default)]
pub struct SandboxGuard {
    placeholders: Vec<PathBuf>,
    /// Plans kept until their command's opener has run, by the command's pid (`None` until a
    /// terminal is attached).
    held: Vec<(Option<u32>, Guard)>,
    report: Option<GuardReport>,
    /// What the scans found below the root so far (`None` before the first).
    found: Option<BTreeSet<String>>,
    appeared: Vec<String>,
}

impl SandboxGuard {
    /// Takes in the plan for a command about to start in sandbox `id`.
    pub fn record(&mut self, id: &str, g: &Guard) {
        for p in &g.placeholders {
            if !self.placeholders.contains(p) {
                self.placeholders.push(p.clone());
            }
        }
        // A repository, tool folder or guarded file that appeared since the last command
        // started may have been made by sandboxed code (a subfolder's new `.git`, a root
        // `.envrc` cannot be refused): said until the sandbox stops.
        let now: BTreeSet<String> = g.found.iter().cloned().collect();
        if let Some(before) = &self.found {
            for rel in now.difference(before) {
                if !self.appeared.contains(rel) {
                    self.appeared.push(rel.clone());
                }
            }
        }
        self.found = Some(now);
        let report = GuardReport {
            protected: g.protected as u32,
            unprotected: g.notes.clone(),
            gaps: g.gaps as u32,
            appeared: self.appeared.clone(),
            blocked: Vec::new(),
        };
        if !g.notes.is_empty() && self.report.as_ref() != Some(&report) {
            tracing::warn!(sandbox = id, "sandbox protections incomplete: {}", g.notes.join("; "));
        }
        self.report = Some(report);
        // A command's descriptors are needed until its opener has run (it then is `bash` no more).
        self.held.retain(|(pid, _)| pid.is_none_or(super::opener_running));
    }

    /// Keeps a terminal's plan until [`SandboxGuard::attach`] names its process.
    pub fn hold(&mut self, g: Guard) {
        self.held.push((None, g));
    }

    pub fn attach(&mut self, pid: u32) {
        if let Some(slot) = self.held.iter_mut().find(|(p, _)| p.is_none()) {
            slot.0 = Some(pid);
        }
    }

    pub fn report(&self) -> Option<GuardReport> {
        self.report.clone()
    }

    /// Nothing runs in the sandbox any more: its placeholders go, and what appeared is forgotten.
    pub fn stopped(&mut self) {
        self.held.clear();
        self.found = None;
        self.appeared.clear();
        remove_placeholders(&std::mem::take(&mut self.placeholders));
    }
}
