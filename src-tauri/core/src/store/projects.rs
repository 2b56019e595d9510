//! Recent projects and per-project session state (open tabs, pane layout).

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{now_ms, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub id: i64,
    pub root: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RecentProject {
    pub root: String,
    pub name: String,
    #[ts(type = "number")]
    pub last_opened_ms: i64,
    /// The folder is still there.
    pub exists: bool,
}

/// Pane sizes and visibility, in CSS pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct PaneLayout {
    pub sidebar_width: u32,
    pub bottom_height: u32,
    pub preview_width: u32,
    pub sidebar_visible: bool,
    pub bottom_visible: bool,
    pub preview_visible: bool,
    /// Which sidebar view is shown: "files" or "search".
    pub sidebar_view: String,
}

impl Default for PaneLayout {
    fn default() -> Self {
        Self {
            sidebar_width: 260,
            bottom_height: 260,
            preview_width: 420,
            sidebar_visible: true,
            bottom_visible: true,
            preview_visible: false,
            sidebar_view: "files".into(),
        }
    }
}

/// What is restored when a project is opened again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct ProjectSession {
    pub open_tabs: Vec<String>,
    pub active_tab: Option<String>,
    pub expanded_dirs: Vec<String>,
    pub layout: PaneLayout,
}

impl Store {
    /// Records that `root` was opened now, creating its row the first time.
    pub fn touch_project(&self, root: &str, name: &str) -> Result<ProjectRecord, StoreError> {
        let now = now_ms();
        let id = self.with(|c| {
            c.query_row(
                "INSERT INTO projects (root, name, created_at, last_opened_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT(root) DO UPDATE SET last_opened_at = excluded.last_opened_at, name = excluded.name
                 RETURNING id",
                params![root, name, now],
                |r| r.get(0),
            )
        })?;
        Ok(ProjectRecord { id, root: root.to_string(), name: name.to_string() })
    }

    pub fn recent_projects(&self, limit: u32) -> Result<Vec<RecentProject>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT root, name, last_opened_at FROM projects ORDER BY last_opened_at DESC, id DESC LIMIT ?1",
            )?;
            let rows = st.query_map([limit], |r| {
                let root: String = r.get(0)?;
                Ok(RecentProject {
                    exists: std::path::Path::new(&root).is_dir(),
                    root,
                    name: r.get(1)?,
                    last_opened_ms: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The most recently opened project that still exists on disk.
    pub fn last_project(&self) -> Result<Option<String>, StoreError> {
        Ok(self.recent_projects(20)?.into_iter().find(|p| p.exists).map(|p| p.root))
    }

    pub fn save_session(&self, project_id: i64, session: &ProjectSession) -> Result<(), StoreError> {
        let json = serde_json::to_string(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.with(|c| c.execute("UPDATE projects SET session_json = ?1 WHERE id = ?2", params![json, project_id]))?;
        Ok(())
    }

    /// The saved session, or the default one (a damaged record is logged and replaced).
    pub fn load_session(&self, project_id: i64) -> Result<ProjectSession, StoreError> {
        let json: Option<String> = self
            .with(|c| {
                c.query_row("SELECT session_json FROM projects WHERE id = ?1", [project_id], |r| r.get(0)).optional()
            })?
            .flatten();
        Ok(match json {
            Some(j) => serde_json::from_str(&j).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "ignoring unreadable session state");
                ProjectSession::default()
            }),
            None => ProjectSession::default(),
        })
    }
}
