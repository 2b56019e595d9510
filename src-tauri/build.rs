//! Build script: generates Tauri's context and the ACL for Aura's own commands.
//!
//! Every IPC command must be listed here: Tauri then generates an `allow-<command>` permission
//! for each, and a command that no capability grants cannot be called from any webview.

use tauri_build::{AppManifest, Attributes};

/// Aura's IPC commands. Keep in step with `commands::handler()` in `src-tauri/src/commands/mod.rs`.
const COMMANDS: &[&str] = &[
    "startup_project",
    "open_project",
    "recent_projects",
    "save_session",
    "ui_ready",
    "list_dir",
    "read_file",
    "write_file",
    "create_file",
    "create_dir",
    "rename_path",
    "delete_path",
    "preview_ports",
    "preview_open",
    "preview_location",
    "preview_open_external",
    "preview_close",
    "search_project",
    "find_files",
    "sandbox_status",
    "sandbox_action",
    "sandbox_exec",
    "sandbox_cancel",
    "sandbox_processes",
    "save_project_settings",
    "execution_history",
    "usage_summary",
    "sandbox_test_connection",
    "secrets_status",
    "secret_set",
    "secret_delete",
    "sync_subscribe",
    "sync_settings",
    "sync_save_settings",
    "sync_test",
    "sync_enable",
    "sync_now",
    "sync_events",
    "sync_resolve",
    "sync_snapshots",
    "sync_restore_snapshot",
    "sync_explain",
    "sync_file_history",
    "sync_restore_file",
    "sync_gc",
    "sync_cloud_projects",
    "sync_cloud_snapshots",
    "sync_restore_project",
    "update_info",
    "update_save_settings",
    "update_check",
    "update_install",
    "run_setup",
    "run_save",
    "run_plan",
    "run_installed",
    "import_git",
    "new_project_options",
    "create_project",
    "terminal_open",
    "terminal_write",
    "terminal_resize",
    "terminal_ack",
    "terminal_close",
    "agent_subscribe",
    "agent_status",
    "agent_new_token",
    "agent_set_permission",
    "agent_decide",
    "agent_undo",
    "agent_keep",
];

fn main() {
    let attrs = Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri build script failed: {e:#}");
    }
}
