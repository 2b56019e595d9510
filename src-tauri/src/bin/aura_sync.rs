//! `aura-sync`: Aura's sync engine without the window, for scripts, servers and benchmarks.
//! The same code the app runs (`aura_core::sync`), configured from the environment:
//!
//! ```text
//! AURA_S3_ENDPOINT  AURA_S3_BUCKET  AURA_S3_REGION (auto)  AURA_S3_PATH_STYLE (1)
//! AURA_S3_ACCESS_KEY_ID  AURA_S3_SECRET_ACCESS_KEY  AURA_SYNC_CONCURRENCY (16)
//! AURA_SYNC_PROJECT_KEY (an encrypted project's key: 32 bytes in base64; every object sealed)
//!
//! aura-sync push DIR [--db FILE] [--key KEY]   scan DIR and push what changed
//! aura-sync restore KEY DEST [--snapshot ID] [--db FILE]
//!                                              write a snapshot into an empty folder; with
//!                                              --db, DEST becomes a project that pushes on
//!                                              top of it (another machine)
//! aura-sync projects | snapshots KEY | gc KEY
//! aura-sync encrypt KEY NEWKEY                 convert plaintext project KEY, history included,
//!                                              into NEWKEY sealed with AURA_SYNC_PROJECT_KEY;
//!                                              KEY is left as a pointer (run it again after an
//!                                              interruption: it goes on where it stopped);
//!                                              prints a new recovery phrase for the key
//! ```
//! Each command prints one JSON line; errors go to stderr with exit status 1.

use std::path::PathBuf;

use aura_core::paths::ProjectRoot;
use aura_core::secrets::Secret;
use aura_core::store::Store;
use aura_core::sync::bucket::{project_prefix, Bucket, S3Config, S3Store};
use aura_core::sync::crypto::{KdfParams, ProjectKey, RecoveryPhrase, WrappedKey};
use aura_core::sync::engine::{self, Afterwards, ProjectSync, PushOptions};
use serde_json::json;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn target(key: &str) -> Result<(Bucket, PushOptions), String> {
    target_sealed(key, true)
}

/// The project at `key`; sealed with AURA_SYNC_PROJECT_KEY when it is set and `sealed`.
fn target_sealed(key: &str, sealed: bool) -> Result<(Bucket, PushOptions), String> {
    let cfg = S3Config {
        endpoint: env("AURA_S3_ENDPOINT")?,
        bucket: env("AURA_S3_BUCKET")?,
        region: std::env::var("AURA_S3_REGION").unwrap_or_else(|_| "auto".into()),
        path_style: std::env::var("AURA_S3_PATH_STYLE").map(|v| v != "0").unwrap_or(true),
        max_attempts: 3,
    };
    let id = Secret::new(env("AURA_S3_ACCESS_KEY_ID")?);
    let secret = Secret::new(env("AURA_S3_SECRET_ACCESS_KEY")?);
    let mut opts = PushOptions::default();
    if let Ok(n) = std::env::var("AURA_SYNC_CONCURRENCY") {
        opts.concurrency = n.parse().map_err(|_| "AURA_SYNC_CONCURRENCY must be a number".to_string())?;
    }
    let bucket = Bucket::new(std::sync::Arc::new(S3Store::new(cfg, &id, &secret)), project_prefix(key));
    match std::env::var("AURA_SYNC_PROJECT_KEY") {
        Ok(text) if sealed => {
            let k = ProjectKey::from_text(&text).ok_or("AURA_SYNC_PROJECT_KEY must be 32 bytes in base64")?;
            Ok((bucket.sealed_with(k.cipher()), opts))
        }
        _ => Ok((bucket, opts)),
    }
}

fn flag(args: &mut Vec<String>, name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.remove(i);
    (i < args.len()).then(|| args.remove(i))
}

fn default_db() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("aura-sync/state.sqlite3")
}

fn s(e: &dyn std::fmt::Display) -> String {
    e.to_string()
}

async fn run(mut args: Vec<String>) -> Result<serde_json::Value, String> {
    let db_flag = flag(&mut args, "--db").map(PathBuf::from);
    let db = db_flag.clone().unwrap_or_else(default_db);
    let key_flag = flag(&mut args, "--key");
    let snapshot = flag(&mut args, "--snapshot");
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["push", dir] => push(dir, &db, key_flag.as_deref()).await,
        ["restore", key, dest] => restore(key, dest, db_flag.is_some().then_some(&db), snapshot.as_deref()).await,
        ["projects"] => {
            let (t, _) = target("_")?;
            Ok(json!(t.list_projects().await.map_err(|e| s(&e))?))
        }
        ["snapshots", key] => {
            let (t, _) = target(key)?;
            Ok(json!({"head": t.head().await.map_err(|e| s(&e))?.map(|h| h.0), "snapshots": t.list_snapshots().await.map_err(|e| s(&e))?}))
        }
        ["gc", key] => {
            let (t, _) = target(key)?;
            let r = engine::gc(&t, 3_600_000).await.map_err(|e| s(&e))?;
            Ok(json!({
                "deleted": r.blobs_deleted, "kept": r.blobs_kept,
                "packs_deleted": r.packs_deleted, "packs_kept": r.packs_kept,
                "bytes_freed": r.bytes_freed,
            }))
        }
        ["encrypt", key, new_key] => encrypt(key, new_key).await,
        _ => Err("usage: aura-sync push DIR [--db FILE] [--key KEY] | restore KEY DEST [--snapshot ID] | projects | snapshots KEY | gc KEY | encrypt KEY NEWKEY".into()),
    }
}

/// `push DIR`: scans the folder and sends what changed.
async fn push(dir: &str, db: &std::path::Path, key: Option<&str>) -> Result<serde_json::Value, String> {
    let root = ProjectRoot::open(dir).map_err(|e| s(&e))?;
    let store = Store::open(db).map_err(|e| s(&e))?;
    let id = store.touch_project(&root.path().display().to_string(), &root.name()).map_err(|e| s(&e))?.id;
    if let Some(k) = key {
        store.set_sync_key(id, k).map_err(|e| s(&e))?;
    }
    let key = store.sync_key(id).map_err(|e| s(&e))?;
    let (t, opts) = target(&key)?;
    t.ensure_bucket().await.map_err(|e| s(&e))?;
    let started = std::time::Instant::now();
    let (r2, st2) = (root.clone(), db.to_path_buf());
    let scan = tokio::task::spawn_blocking(move || {
        let store = Store::open(&st2)?;
        aura_core::sync::scan(&r2, &store, id)
    })
    .await
    .map_err(|e| s(&e))?
    .map_err(|e| s(&e))?;
    let scanned_ms = started.elapsed().as_millis();
    let sync = ProjectSync { root: &root, store: &store, project_id: id, bucket: &t, opts: &opts };
    let r = sync.push().await.map_err(|e| s(&e))?;
    // What the bucket now has of the project: every file the scan saw is there, or skipped
    // with a reason, or an error (still queued).
    let manifest = store.manifest_all(id).map_err(|e| s(&e))?;
    let folders = manifest.values().filter(|f| aura_core::sync::folders::is_dir(f.mode)).count();
    let listed = |l: &[(Vec<u8>, String)], what: &str| -> Vec<serde_json::Value> {
        l.iter().map(|(p, e)| json!({"path": String::from_utf8_lossy(p), what: e})).collect()
    };
    let skipped: Vec<(Vec<u8>, String)> = scan.skipped.iter().chain(&r.skipped).cloned().collect();
    Ok(json!({
        "synced_files": manifest.len() - folders,
        "synced_folders": folders,
        "skipped_count": skipped.len(),
        "key": key,
        "snapshot": r.snapshot,
        "hashed": scan.hashed,
        "unchanged": scan.unchanged,
        "uploaded": r.uploaded.len(),
        "already_there": r.already_there,
        "bytes_sent": r.bytes_sent,
        "deleted": r.deleted.len(),
        "errors": listed(&r.errors, "error"),
        "scan_errors": listed(&scan.errors, "error"),
        "skipped": listed(&skipped, "reason"),
        "pending": store.journal_count(id).map_err(|e| s(&e))?,
        "scan_ms": scanned_ms,
        "total_ms": started.elapsed().as_millis(),
    }))
}

/// `encrypt KEY NEWKEY`: converts a plaintext project (see `engine::convert_history`), then
/// empties its old place but for the pointer. Progress goes to stderr, one line per snapshot.
async fn encrypt(key: &str, new_key: &str) -> Result<serde_json::Value, String> {
    if std::env::var("AURA_SYNC_PROJECT_KEY").is_err() {
        return Err("set AURA_SYNC_PROJECT_KEY to the new project key".into());
    }
    let (from, opts) = target_sealed(key, false)?;
    let (to, _) = target(new_key)?;
    // The key wrapped by a new recovery phrase, printed once (the app asks for it).
    let text = std::env::var("AURA_SYNC_PROJECT_KEY").unwrap_or_default();
    let pk = ProjectKey::from_text(&text).ok_or("AURA_SYNC_PROJECT_KEY must be 32 bytes in base64")?;
    let phrase = RecoveryPhrase::generate();
    let wrapped = WrappedKey::wrap(&pk, phrase.as_str(), KdfParams::DEFAULT).map_err(|e| s(&e))?;
    to.put_wrapped_key(&wrapped).await.map_err(|e| s(&e))?;
    let progress = |done: usize, total: usize| eprintln!("carried {done}/{total}");
    let (head, _) = engine::convert_history(&from, &to, new_key, &opts, &progress).await.map_err(|e| s(&e))?;
    let deleted = from.delete_all_but_head().await.map_err(|e| s(&e))?;
    Ok(json!({
        "head": head,
        "snapshots": to.list_snapshots().await.map_err(|e| s(&e))?.len(),
        "plaintext_deleted": deleted,
        "recovery_phrase": phrase.as_str(),
    }))
}

/// `restore KEY DEST`: writes a snapshot into an empty folder; with `--db`, the folder becomes
/// a synced project following the bucket's HEAD.
async fn restore(
    key: &str,
    dest: &str,
    db: Option<&PathBuf>,
    snapshot: Option<&str>,
) -> Result<serde_json::Value, String> {
    let (t, opts) = target(key)?;
    let dest = PathBuf::from(dest);
    std::fs::create_dir_all(&dest).map_err(|e| s(&e))?;
    if std::fs::read_dir(&dest).map_err(|e| s(&e))?.next().is_some() {
        return Err(format!("{} is not empty", dest.display()));
    }
    if let Some(db) = db {
        let root = ProjectRoot::open(&dest).map_err(|e| s(&e))?;
        let store = Store::open(db).map_err(|e| s(&e))?;
        let id = store.touch_project(&root.path().display().to_string(), &root.name()).map_err(|e| s(&e))?.id;
        store.sync_forget(id).map_err(|e| s(&e))?;
        store.set_sync_key(id, key).map_err(|e| s(&e))?;
        let sync = ProjectSync { root: &root, store: &store, project_id: id, bucket: &t, opts: &opts };
        let r = sync.adopt(snapshot, Afterwards::FollowHead).await.map_err(|e| s(&e))?;
        return Ok(json!({"snapshot": r.snapshot, "files": r.written}));
    }
    let snap = engine::restore(&t, snapshot, &dest).await.map_err(|e| s(&e))?;
    let folders = snap.files.iter().filter(|f| aura_core::sync::folders::is_dir(f.mode)).count();
    Ok(json!({"snapshot": snap.id, "files": snap.files.len() - folders, "folders": folders}))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run(args)) {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("aura-sync: {e}");
            std::process::exit(1);
        }
    }
}
