//! Versioned schema migrations, tracked in `PRAGMA user_version`. Append only: never edit a
//! migration that has shipped; add the next one.

use rusqlite::Connection;

use super::StoreError;

/// Migration N (1-based) brings the schema from version N-1 to N.
const MIGRATIONS: &[&str] = &[
    // 1: projects and their sessions, plus the tables sync and sandboxes build on.
    r#"
    CREATE TABLE projects (
        id              INTEGER PRIMARY KEY,
        root            TEXT    NOT NULL UNIQUE,
        name            TEXT    NOT NULL,
        created_at      INTEGER NOT NULL,
        last_opened_at  INTEGER NOT NULL,
        provider        TEXT    NOT NULL DEFAULT 'local',
        session_json    TEXT
    );
    CREATE INDEX projects_recent ON projects(last_opened_at DESC);

    -- What was last synced for each file. Paths are raw bytes: names need not be UTF-8.
    CREATE TABLE manifest (
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        path         BLOB    NOT NULL,
        size         INTEGER NOT NULL,
        mtime_ns     INTEGER NOT NULL,
        inode        INTEGER,
        blake3       BLOB,
        remote_etag  TEXT,
        synced_at    INTEGER,
        PRIMARY KEY (project_id, path)
    ) WITHOUT ROWID;

    -- Durable queue of local changes not yet pushed to every target.
    CREATE TABLE journal (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        op           TEXT    NOT NULL CHECK (op IN ('upsert', 'delete', 'rename')),
        path         BLOB    NOT NULL,
        from_path    BLOB,
        recorded_at  INTEGER NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT
    );
    CREATE INDEX journal_by_project ON journal(project_id, seq);

    CREATE TABLE sandbox_sessions (
        id           INTEGER PRIMARY KEY,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        provider     TEXT    NOT NULL,
        remote_id    TEXT,
        state        TEXT    NOT NULL,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        ended_at     INTEGER
    );

    CREATE TABLE executions (
        id           INTEGER PRIMARY KEY,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        session_id   INTEGER REFERENCES sandbox_sessions(id) ON DELETE SET NULL,
        command      TEXT    NOT NULL,
        exit_code    INTEGER,
        started_at   INTEGER NOT NULL,
        duration_ms  INTEGER,
        bytes_out    INTEGER NOT NULL DEFAULT 0
    );
    "#,
    // 2: per-project settings (provider, sandbox env and limits); never secrets.
    r#"
    ALTER TABLE projects ADD COLUMN settings_json TEXT;
    CREATE INDEX executions_by_project ON executions(project_id, started_at DESC);
    "#,
    // 3: where the project's bucket copy was when this machine last synced it.
    r#"
    ALTER TABLE projects ADD COLUMN sync_snapshot TEXT;
    ALTER TABLE projects ADD COLUMN sync_head_etag TEXT;
    "#,
    // 4: sync in the app: a revision on journal rows (a change coalesced into a row that is
    // being uploaded must not be forgotten with it), file modes in the manifest, the project's
    // key in the bucket, the snapshot a pass is committing (so a crash after the bucket moved
    // is not mistaken for another machine), and app-wide settings (the bucket; never secrets).
    r#"
    ALTER TABLE journal ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX journal_by_path ON journal(project_id, path, seq);
    CREATE INDEX journal_by_from ON journal(project_id, from_path, seq);
    ALTER TABLE manifest ADD COLUMN mode INTEGER NOT NULL DEFAULT 420;
    ALTER TABLE projects ADD COLUMN sync_key TEXT;
    ALTER TABLE projects ADD COLUMN sync_inflight TEXT;
    CREATE TABLE settings (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    ) WITHOUT ROWID;
    -- Blobs this machine stored recently (a pass cut short by a crash or the network does not
    -- send them again). Trusted only while fresh: older entries may have been collected.
    -- Differential snapshots: the full snapshot a project's passes build on (its files), and
    -- what differs from it at this machine's position (NULL blake3: removed).
    ALTER TABLE projects ADD COLUMN sync_base TEXT;
    CREATE TABLE sync_base (
        project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        path        BLOB    NOT NULL,
        blake3      TEXT    NOT NULL,
        size        INTEGER NOT NULL,
        mode        INTEGER NOT NULL,
        PRIMARY KEY (project_id, path)
    ) WITHOUT ROWID;
    CREATE TABLE sync_delta (
        project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        path        BLOB    NOT NULL,
        blake3      TEXT,
        size        INTEGER NOT NULL DEFAULT 0,
        mode        INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (project_id, path)
    ) WITHOUT ROWID;
    CREATE TABLE sent_blobs (
        location  TEXT    NOT NULL,
        hash      BLOB    NOT NULL,
        at_ms     INTEGER NOT NULL,
        PRIMARY KEY (location, hash)
    ) WITHOUT ROWID;
    "#,
    // 5: small blobs travel in packs: where each packed blob this machine wrote or adopted is, so
    // its later snapshots can name the place of every file they hold.
    r#"
    CREATE TABLE pack_index (
        location  TEXT    NOT NULL,
        hash      BLOB    NOT NULL,
        pack      TEXT    NOT NULL,
        at        INTEGER NOT NULL,
        len       INTEGER NOT NULL,
        PRIMARY KEY (location, hash)
    ) WITHOUT ROWID;
    "#,
    // 6: what each remote sandbox was sent of its project (path and content digest), so that
    // reattaching to it after a restart sends only what changed.
    r#"
    CREATE TABLE mirror_files (
        sandbox   TEXT NOT NULL,
        path      BLOB NOT NULL,
        digest    BLOB NOT NULL,
        PRIMARY KEY (sandbox, path)
    ) WITHOUT ROWID;
    "#,
    // 7: the size of each sandbox session, so its hours can be priced.
    r#"
    ALTER TABLE sandbox_sessions ADD COLUMN cpu REAL;
    ALTER TABLE sandbox_sessions ADD COLUMN memory_gib REAL;
    "#,
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(StoreError::TooNew { found: current, known: LATEST });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "migrated state database");
    }
    Ok(())
}
