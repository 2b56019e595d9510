//! Build script: generates Tauri's context and the ACL for Aura's own commands.
//!
//! Every IPC command in the handler list gets an `allow-<command>` permission from Tauri, and
//! all of them together the `aura-commands` set, which the window's capability grants; a
//! command that no capability grants cannot be called from any webview.

use tauri_build::{AppManifest, Attributes};

/// The file whose `generate_handler![...]` list names every command: the one place they are
/// listed in Rust (the ACL and the `aura-commands` set are made from it).
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

/// Writes the `aura-commands` permission set (every command's `allow-<command>`) where Tauri
/// reads the app's permissions, so the window's capability grants the set instead of listing
/// each command again. Returns the glob Tauri reads permissions from.
fn command_set(commands: &[&str]) -> &'static str {
    let dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("permissions");
    std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");
    let allows: Vec<String> = commands.iter().map(|c| format!("  \"allow-{}\",", c.replace('_', "-"))).collect();
    let toml = format!(
        "# Made by build.rs from the handler list in {HANDLER}.\n\n[[set]]\nidentifier = \"aura-commands\"\ndescription = \"Every IPC command of Aura's window: the handler list.\"\npermissions = [\n{}\n]\n",
        allows.join("\n")
    );
    let file = dir.join("aura-commands.toml");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(toml.as_str()) {
        std::fs::write(&file, toml).expect("OUT_DIR is writable");
    }
    Box::leak(format!("{}/*.toml", dir.display()).into_boxed_str())
}

fn main() {
    let commands = commands();
    let attrs = Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(AppManifest::new().commands(commands).permissions_path_pattern(command_set(commands)));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri build script failed: {e:#}");
    }
}
