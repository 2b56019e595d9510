//! What an agent may do without asking: allow, ask or deny, per tool.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Permission {
    Allow,
    /// The IDE shows the exact command or change and waits for the user.
    Ask,
    Deny,
}

/// What a tool does, which sets its default permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolClass {
    Read,
    Write,
    Command,
}

/// Every tool the agent server offers, with its class. Settings list them in this order.
pub const TOOLS: &[(&str, ToolClass)] = &[
    ("list_files", ToolClass::Read),
    ("read_file", ToolClass::Read),
    ("search", ToolClass::Read),
    ("processes", ToolClass::Read),
    ("preview_url", ToolClass::Read),
    ("app_logs", ToolClass::Read),
    ("stop_app", ToolClass::Write),
    ("write_file", ToolClass::Write),
    ("edit_file", ToolClass::Write),
    ("execute_command", ToolClass::Command),
    ("run_app", ToolClass::Command),
];

pub fn class_of(tool: &str) -> Option<ToolClass> {
    TOOLS.iter().find(|(n, _)| *n == tool).map(|(_, c)| *c)
}

fn default_for(class: ToolClass) -> Permission {
    match class {
        ToolClass::Read | ToolClass::Write => Permission::Allow,
        ToolClass::Command => Permission::Ask,
    }
}

/// The permission of each tool (what the user chose, else the default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AgentPolicy {
    pub tools: BTreeMap<String, Permission>,
}

const KEY: &str = "agent.permissions";

impl AgentPolicy {
    pub fn defaults() -> Self {
        Self { tools: TOOLS.iter().map(|(n, c)| (n.to_string(), default_for(*c))).collect() }
    }

    /// The saved choices over the defaults; a saved tool Aura no longer has is dropped.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let mut p = Self::defaults();
        if let Some(saved) = store.setting(KEY)? {
            if let Ok(saved) = serde_json::from_str::<AgentPolicy>(&saved) {
                for (tool, perm) in saved.tools {
                    if let Some(slot) = p.tools.get_mut(&tool) {
                        *slot = perm;
                    }
                }
            }
        }
        Ok(p)
    }

    pub fn save(&self, store: &Store) -> Result<(), StoreError> {
        let json = serde_json::to_string(self).expect("a policy serializes");
        store.set_setting(KEY, Some(&json))
    }

    /// An unknown tool is denied (the server refuses it before this is asked).
    pub fn get(&self, tool: &str) -> Permission {
        self.tools.get(tool).copied().unwrap_or(Permission::Deny)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_allow_reads_and_writes_and_ask_for_commands() {
        let p = AgentPolicy::defaults();
        assert_eq!(p.get("read_file"), Permission::Allow);
        assert_eq!(p.get("write_file"), Permission::Allow);
        assert_eq!(p.get("execute_command"), Permission::Ask);
        assert_eq!(p.get("no_such_tool"), Permission::Deny);
    }

    #[test]
    fn saved_choices_override_defaults_and_unknown_tools_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let mut p = AgentPolicy::defaults();
        p.tools.insert("write_file".into(), Permission::Deny);
        p.tools.insert("gone_tool".into(), Permission::Allow);
        p.save(&store).unwrap();
        let back = AgentPolicy::load(&store).unwrap();
        assert_eq!(back.get("write_file"), Permission::Deny);
        assert!(!back.tools.contains_key("gone_tool"));
        assert_eq!(back.get("execute_command"), Permission::Ask);
    }
}
