//! The state database on a real SQLite file: migrations, WAL, recent projects, sessions.

use aura_core::store::{PaneLayout, ProjectSession, Store, StoreError};

#[test]
fn migrates_a_new_file_in_wal_mode_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/aura.sqlite3");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 7);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        tables,
        [
            "executions",
            "journal",
            "manifest",
            "mirror_files",
            "pack_index",
            "projects",
            "sandbox_sessions",
            "sent_blobs",
            "settings",
            "sync_base",
            "sync_delta"
        ]
    );
    drop(conn);
    // Reopening is a no-op migration.
    assert_eq!(Store::open(&path).unwrap().schema_version().unwrap(), 7);
}

#[test]
fn refuses_a_database_from_a_newer_aura() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aura.sqlite3");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    match Store::open(&path) {
        Err(e @ StoreError::TooNew { .. }) => assert!(e.to_string().contains("newer Aura")),
        other => panic!("expected TooNew, got {:?}", other.err()),
    }
}

#[test]
fn recent_projects_and_sessions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aura.sqlite3");
    let p1 = tempfile::tempdir().unwrap();
    let p2 = tempfile::tempdir().unwrap();
    let r1 = p1.path().display().to_string();
    let r2 = p2.path().display().to_string();
    {
        let store = Store::open(&db).unwrap();
        let a = store.touch_project(&r1, "one").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = store.touch_project(&r2, "two").unwrap();
        assert_ne!(a.id, b.id);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(store.touch_project(&r1, "one").unwrap().id, a.id, "same root, same row");
        let session = ProjectSession {
            open_tabs: vec!["src/main.rs".into(), "README.md".into()],
            active_tab: Some("README.md".into()),
            expanded_dirs: vec!["src".into()],
            layout: PaneLayout { sidebar_width: 333, preview_visible: true, ..PaneLayout::default() },
        };
        store.save_session(a.id, &session).unwrap();
        assert_eq!(store.load_session(b.id).unwrap(), ProjectSession::default());
    }
    let store = Store::open(&db).unwrap();
    let recent = store.recent_projects(10).unwrap();
    assert_eq!(recent.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["one", "two"]);
    assert!(recent.iter().all(|r| r.exists));
    assert_eq!(store.last_project().unwrap().as_deref(), Some(r1.as_str()));
    let id = store.touch_project(&r1, "one").unwrap().id;
    let s = store.load_session(id).unwrap();
    assert_eq!(s.open_tabs, ["src/main.rs", "README.md"]);
    assert_eq!(s.layout.sidebar_width, 333);
    assert!(s.layout.preview_visible);

    // A project folder that disappeared is not reopened at startup.
    drop(p1);
    assert_eq!(store.last_project().unwrap().as_deref(), Some(r2.as_str()));
    assert!(!store.recent_projects(10).unwrap().iter().find(|r| r.root == r1).unwrap().exists);
}

#[test]
fn a_damaged_session_record_falls_back_to_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aura.sqlite3");
    let store = Store::open(&db).unwrap();
    let p = store.touch_project("/some/where", "where").unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE projects SET session_json = '{not json' WHERE id = ?1", [p.id])
        .unwrap();
    assert_eq!(store.load_session(p.id).unwrap(), ProjectSession::default());
}

#[test]
fn settings_sessions_executions_and_usage() {
    use aura_core::sandbox::ProviderKind;
    use aura_core::store::ProjectSettings;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("aura.sqlite3")).unwrap();
    let p = store.touch_project("/w/p", "p").unwrap();
    assert_eq!(store.project_settings(p.id).unwrap(), ProjectSettings::default());
    let s = ProjectSettings { provider: ProviderKind::E2b, env: vec![("A".into(), "1".into())], ..Default::default() };
    store.save_project_settings(p.id, &s).unwrap();
    assert_eq!(store.project_settings(p.id).unwrap(), s);

    let sid = store.start_sandbox_session(p.id, "local", "abc", "started", (None, None)).unwrap();
    store.record_execution(p.id, Some(sid), "npm test", Some(0), 1000, 250, 42).unwrap();
    store.record_execution(p.id, Some(sid), "false", Some(1), 2000, 5, 0).unwrap();
    store.update_sandbox_session(sid, "destroyed", true).unwrap();
    let recent = store.recent_executions(p.id, 10).unwrap();
    assert_eq!(recent.iter().map(|e| e.command.as_str()).collect::<Vec<_>>(), ["false", "npm test"]);
    assert_eq!(recent[1].provider.as_deref(), Some("local"));
    let usage = store.usage().unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!((usage[0].provider.as_str(), usage[0].sandboxes, usage[0].executions), ("local", 1, 2));
    assert!(usage[0].sandbox_hours >= 0.0);
    // Secrets never reach the database: nothing key-like is stored by settings.
    let raw: String = rusqlite::Connection::open(dir.path().join("aura.sqlite3"))
        .unwrap()
        .query_row("SELECT settings_json FROM projects", [], |r| r.get(0))
        .unwrap();
    assert!(!raw.to_lowercase().contains("key"), "{raw}");
}

/// A crash leaves a remote session open: the next start ends it at its last update (hours stop
/// growing) and keeps its sandbox to reattach to; a deleted one is never reattached.
#[test]
fn crashed_remote_sessions_end_and_their_sandbox_stays_reattachable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("aura.sqlite3")).unwrap();
    let p = store.touch_project("/w/p", "p").unwrap();
    let a = store.start_sandbox_session(p.id, "e2b", "sbx-a", "started", (Some(2.0), Some(0.5))).unwrap();
    store.update_sandbox_session(a, "started", false).unwrap();
    assert_eq!(store.close_crashed_remote_sessions().unwrap(), 1);
    assert_eq!(store.close_crashed_remote_sessions().unwrap(), 0, "only open ones");
    assert_eq!(store.last_remote_sandbox(p.id, "e2b").unwrap().as_deref(), Some("sbx-a"));
    assert_eq!(store.last_remote_sandbox(p.id, "daytona").unwrap(), None);
    let hours = store.usage().unwrap().into_iter().find(|u| u.provider == "e2b").unwrap().sandbox_hours;
    assert!(hours < 0.01, "ended at its last update: {hours}");

    let b = store.start_sandbox_session(p.id, "e2b", "sbx-b", "started", (None, None)).unwrap();
    store.update_sandbox_session(b, "destroyed", true).unwrap();
    assert_eq!(store.last_remote_sandbox(p.id, "e2b").unwrap(), None, "the newest was deleted");
}
