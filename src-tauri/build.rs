//! Build script: generates Tauri's context and the ACL for Aura's own commands.
//!
//! Every IPC command in the handler list gets an `allow-<command>` permission from Tauri; a
//! command that no capability grants cannot be called from any webview.

use tauri_build::{AppManifest, Attributes};

/// The file whose `generate_handler![...]` list names every command: the one place they are
/// listed in Rust (the capability file must grant exactly these; `tests/acl.rs` checks it).
const HANDLER: &str = "src-tauri/src/commands/mod.rs";

/// Aura's IPC commands, read from the handler list.
fn commands() -> &'static [&'static str] {
    println!("cargo:rerun-if-changed={HANDLER}");
    let src = std::fs::read_to_string(HANDLER).unwrap_or_else(|e| panic!("cannot read {HANDLER}: {e}"));
    let list = src
        .split("generate_handler![")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("{HANDLER} has no generate_handler![...] list"));
    let names: Vec<&'static str> = list
        .split(',')
        .filter_map(|s| s.trim().rsplit("::").next().filter(|n| !n.is_empty()))
        .map(|n| &*Box::leak(n.to_string().into_boxed_str()))
        .collect();
    Box::leak(names.into_boxed_slice())
}

fn main() {
    let attrs = Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(AppManifest::new().commands(commands()));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri build script failed: {e:#}");
    }
}
