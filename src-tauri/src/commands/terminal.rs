use aura_core::terminal::TerminalSink;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

/// Streams PTY output to the webview: as a string when it is a few KiB of whole UTF-8 characters
/// (a frame of the screen, a prompt), else as raw bytes (an ArrayBuffer on the JS side).
///
/// Tauri hands a small JSON message to the page in one step, but raw bytes past 1 KiB (and any
/// message past 8 KiB) in two: a note, then the page's request for the data, each through the
/// main threads of the app and of the page. During a flood those threads are busy repainting, so
/// the second trip is what a keystroke's echo, sent as a frame, would wait for.
struct ChannelSink {
    data: Channel<InvokeResponseBody>,
    exit: Channel<Option<u32>>,
}

/// Text up to this many bytes goes as a string (its JSON form stays under Tauri's 8 KiB for
/// handing a message over directly, unless it is mostly escapes).
const DIRECT_TEXT: usize = 6 * 1024;

impl TerminalSink for ChannelSink {
    fn output(&mut self, data: Vec<u8>) {
        let body = match String::from_utf8(data) {
            Ok(text) if text.len() <= DIRECT_TEXT => {
                InvokeResponseBody::Json(serde_json::to_string(&text).unwrap_or_default())
            }
            Ok(text) => InvokeResponseBody::Raw(text.into_bytes()),
            Err(e) => InvokeResponseBody::Raw(e.into_bytes()),
        };
        let _ = self.data.send(body);
    }
    fn exit(&mut self, code: Option<u32>) {
        let _ = self.exit.send(code);
    }
}

/// Opens a shell in the project folder: on the host, or inside the project's sandbox.
#[tauri::command]
pub async fn terminal_open(
    state: State<'_, AppState>,
    cols: u16,
    rows: u16,
    in_sandbox: bool,
    on_data: Channel<InvokeResponseBody>,
    on_exit: Channel<Option<u32>>,
) -> IpcResult<u32> {
    let sink = ChannelSink { data: on_data, exit: on_exit };
    Ok(state.host.open_terminal(in_sandbox, cols, rows, sink).await?)
}

/// ▶ Run: opens its terminal in the project's sandbox with the run typed in (the core plans
/// it: the install when due, then the dev server); the core follows its output and the
/// sandbox's ports for the port the app opens, and shows the run to agents. [`run_status`]
/// says where the run is.
#[tauri::command]
pub async fn run_terminal_open(
    state: State<'_, AppState>,
    cols: u16,
    rows: u16,
    on_data: Channel<InvokeResponseBody>,
    on_exit: Channel<Option<u32>>,
) -> IpcResult<u32> {
    let sink = ChannelSink { data: on_data, exit: on_exit };
    Ok(state.host.open_run_terminal(cols, rows, sink).await?)
}

/// The window's ▶ Run button, for agents: an agent's `run_app` sends on `on_start` to have the
/// window start its ▶ Run (one run for both; see `aura_core::project::windowrun`).
#[tauri::command]
pub fn run_subscribe(state: State<'_, AppState>, on_start: Channel<()>) {
    state.host.set_run_button(Some(Box::new(move || on_start.send(()).is_ok())));
}

/// Where the run in Run terminal `id` is: installing, starting, running on its port, stuck, or
/// exited (with why) — decided by the core (none when `id` is not the run).
#[tauri::command]
pub async fn run_status(state: State<'_, AppState>, id: u32) -> IpcResult<Option<aura_core::project::RunStatus>> {
    Ok(state.host.run_status(id).await?)
}

#[tauri::command]
pub fn terminal_write(state: State<'_, AppState>, id: u32, data: String) -> IpcResult<()> {
    Ok(state.terminals.write(id, data.as_bytes())?)
}

#[tauri::command]
pub fn terminal_resize(state: State<'_, AppState>, id: u32, cols: u16, rows: u16) -> IpcResult<()> {
    Ok(state.terminals.resize(id, cols, rows)?)
}

/// The terminal widget has rendered `bytes` more bytes (flow control).
#[tauri::command]
pub fn terminal_ack(state: State<'_, AppState>, id: u32, bytes: u32) -> IpcResult<()> {
    Ok(state.terminals.ack(id, bytes as usize)?)
}

#[tauri::command]
pub fn terminal_close(state: State<'_, AppState>, id: u32) {
    state.terminals.close(id);
}
