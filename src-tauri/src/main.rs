// Hide the console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // `aura mcp`: the agent server over stdio (for `claude mcp add aura -- aura mcp`).
    if std::env::args().nth(1).as_deref() == Some("mcp") {
        std::process::exit(aura_lib::run_mcp_bridge());
    }
    aura_lib::run();
}
