//! An empty Tauri window: the peer of Aura's package size, start and memory figures. It says
//! `probe ready` on stdout when its page has loaded (Aura's peer moment is its `ui ready`).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tauri::Builder::default()
        .on_page_load(|_, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                println!("probe ready");
            }
        })
        .run(tauri::generate_context!())
        .expect("the probe window could not start");
}
