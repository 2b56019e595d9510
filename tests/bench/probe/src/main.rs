//! An empty Tauri window: the peer of Aura's package size and start figures.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tauri::Builder::default().run(tauri::generate_context!()).expect("the probe window could not start");
}
