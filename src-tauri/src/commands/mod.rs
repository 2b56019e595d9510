//! The IPC surface: each command translates arguments to an `aura_core` call and its result back.
//! The list in `handler()` is the one list of commands: `build.rs` makes the ACL and the
//! `aura-commands` permission set from it, which `capabilities/main.json` grants (`tests/acl.rs`).
//!
//! Every command that touches the disk, SQLite, the network or D-Bus is `async` (or uses
//! [`off_main`]). The few plain `fn` commands left only touch memory and must stay in the order
//! the window sent them, which the main thread gives: `terminal_write` / `resize` / `ack` / `close`
//! (a keystroke queued behind another must not overtake it; the PTY writer thread does the I/O),
//! `sandbox_cancel`, `sync_subscribe`, `sync_events` and `ui_ready`.

mod agent;
mod create;
mod files;
mod fleet;
mod git;
mod preview;
mod project;
mod run;
mod sandbox;
mod search;
mod secrets;
mod sync;
mod terminal;
mod update;

use crate::error::{IpcError, IpcResult};
use crate::state::AppState;

/// Runs `f` with the app state on the blocking pool. Tauri runs a plain `fn` command on the main
/// (UI) thread, so every command that waits on the disk, SQLite or D-Bus (the keychain) goes
/// through here: a slow disk or a locked database never freezes the window.
async fn off_main<T, F>(app: tauri::AppHandle, f: F) -> IpcResult<T>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> IpcResult<T> + Send + 'static,
{
    use tauri::Manager;
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>())).await.map_err(|e| {
        IpcError::new(aura_core::error::ErrorKind::Internal, format!("the operation stopped unexpectedly: {e}"))
    })?
}

pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        project::startup_project,
        project::open_project,
        project::recent_projects,
        project::save_session,
        project::ui_ready,
        create::import_git,
        create::new_project_options,
        create::create_project,
        files::list_dir,
        files::read_file,
        files::write_file,
        files::create_file,
        files::create_dir,
        files::rename_path,
        files::delete_path,
        preview::preview_ports,
        preview::preview_open,
        preview::preview_location,
        preview::preview_open_external,
        preview::preview_close,
        run::run_setup,
        run::run_save,
        run::run_plan,
        search::search_project,
        search::find_files,
        sandbox::sandbox_status,
        sandbox::sandbox_warm,
        sandbox::sandbox_action,
        sandbox::sandbox_exec,
        sandbox::sandbox_cancel,
        sandbox::sandbox_processes,
        sandbox::save_project_settings,
        sandbox::execution_history,
        fleet::sandboxes_list,
        fleet::sandboxes_act,
        fleet::usage_summary,
        fleet::usage_rates,
        fleet::usage_save_rates,
        sandbox::sandbox_test_connection,
        sandbox::net_subscribe,
        sandbox::net_answer,
        secrets::secrets_status,
        secrets::secret_set,
        secrets::secret_delete,
        git::git_status,
        git::git_head_text,
        git::git_stage,
        git::git_unstage,
        git::git_commit,
        git::git_branches,
        git::git_log,
        git::git_switch,
        sync::sync_subscribe,
        sync::sync_settings,
        sync::sync_save_settings,
        sync::sync_test,
        sync::sync_enable,
        sync::sync_now,
        sync::sync_encrypt,
        sync::sync_change_phrase,
        sync::sync_enter_phrase,
        sync::sync_events,
        sync::sync_resolve,
        sync::sync_snapshots,
        sync::sync_restore_snapshot,
        sync::sync_explain,
        sync::sync_file_history,
        sync::sync_restore_file,
        sync::sync_gc,
        sync::sync_storage,
        sync::sync_cloud_projects,
        sync::sync_cloud_snapshots,
        sync::sync_restore_project,
        update::update_info,
        update::update_save_settings,
        update::update_check,
        update::update_install,
        terminal::terminal_open,
        terminal::run_terminal_open,
        terminal::run_status,
        terminal::run_subscribe,
        terminal::terminal_write,
        terminal::terminal_resize,
        terminal::terminal_ack,
        terminal::terminal_close,
        agent::agent_subscribe,
        agent::agent_status,
        agent::agent_new_token,
        agent::agent_set_permission,
        agent::agent_decide,
        agent::agent_undo,
        agent::agent_keep,
    ]
}
