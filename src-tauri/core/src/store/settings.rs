//! The `settings` table: one text value per key (`sync.bucket`, `agent.permissions`, ...).
//! Never secrets: those are in the OS keychain.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

impl Store {
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional())
    }

    pub fn set_setting(&self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        self.with(|c| match value {
            Some(v) => c.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v],
            ),
            None => c.execute("DELETE FROM settings WHERE key = ?1", [key]),
        })?;
        Ok(())
    }

    /// This installation's id (made on first use): sandboxes Aura creates are labelled with it,
    /// so the ones of this machine can be told from another machine's.
    pub fn install_id(&self) -> Result<String, StoreError> {
        const KEY: &str = "install.id";
        if let Some(id) = self.setting(KEY)? {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.with(|c| c.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)", params![KEY, id]))?;
        Ok(self.setting(KEY)?.unwrap_or(id))
    }
}
