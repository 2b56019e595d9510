use aura_core::terminal::TerminalSink;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

/// Streams PTY output to the webview as raw bytes (an ArrayBuffer on the JS side).
struct ChannelSink {
    data: Channel<InvokeResponseBody>,
    exit: Channel<Option<u32>>,
}

impl TerminalSink for ChannelSink {
    fn output(&mut self, data: Vec<u8>) {
        let _ = self.data.send(InvokeResponseBody::Raw(data));
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
