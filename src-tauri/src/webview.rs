//! How the window's web view draws its page.
//!
//! WebKitGTK composites the page with OpenGL by default. Without a GPU that GL is Mesa's
//! software rasterizer (llvmpipe): it maps LLVM into the app and the web process and draws every
//! layer on the CPU — ~80 MiB of PSS and a share of both cores while a terminal floods, for
//! nothing a code editor's page needs (WebGL in the preview still works without it). So on a
//! machine with no GPU render node the page is drawn without compositing; with one, WebKit's
//! default stays. `AURA_COMPOSITING=on|off` overrides either way.

/// Whether the page is composited with OpenGL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compositing {
    /// WebKit's default (OpenGL layers).
    Gpu,
    /// Drawn on the CPU without layers.
    Off,
}

/// The choice from the override (`AURA_COMPOSITING`) and whether a GPU render node exists.
pub fn choose(overridden: Option<&str>, has_gpu: bool) -> Compositing {
    match overridden.map(str::trim) {
        Some("on" | "1" | "gpu") => Compositing::Gpu,
        Some("off" | "0") => Compositing::Off,
        _ if has_gpu => Compositing::Gpu,
        _ => Compositing::Off,
    }
}

/// A DRM render node (`/dev/dri/renderD*`): a GPU that OpenGL can use.
fn has_render_node() -> bool {
    std::fs::read_dir("/dev/dri")
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false)
}

/// Applies the choice to the window's web view (Linux; elsewhere the platform's default stays).
pub fn configure<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    let choice = choose(std::env::var("AURA_COMPOSITING").ok().as_deref(), has_render_node());
    tracing::info!(?choice, "page compositing");
    #[cfg(target_os = "linux")]
    if choice == Compositing::Off {
        let _ = window.with_webview(|wv| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            if let Some(settings) = WebViewExt::settings(&wv.inner()) {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpu_keeps_webkits_compositing_and_none_turns_it_off() {
        assert_eq!(choose(None, true), Compositing::Gpu);
        assert_eq!(choose(None, false), Compositing::Off);
    }

    #[test]
    fn the_override_wins_either_way() {
        assert_eq!(choose(Some("on"), false), Compositing::Gpu);
        assert_eq!(choose(Some("off"), true), Compositing::Off);
        assert_eq!(choose(Some("whatever"), false), Compositing::Off);
    }
}
