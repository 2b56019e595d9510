// Typed calls into the Rust command layer. Argument and result types are generated from Rust
// (ts-rs, `cargo test` writes ./bindings); this file only names the commands.
import { Channel, invoke } from "@tauri-apps/api/core";
import type { DirEntry } from "./bindings/DirEntry";
import type { FileContent } from "./bindings/FileContent";
import type { FileVersion } from "./bindings/FileVersion";
import type { FsChange } from "./bindings/FsChange";
import type { IpcError } from "./bindings/IpcError";
import type { ProjectInfo } from "./bindings/ProjectInfo";
import type { ProjectSession } from "./bindings/ProjectSession";
import type { RecentProject } from "./bindings/RecentProject";
import type { SearchQuery } from "./bindings/SearchQuery";
import type { SearchResults } from "./bindings/SearchResults";

import type { ExecChunk } from "./bindings/ExecChunk";
import type { ExecOutcome } from "./bindings/ExecOutcome";
import type { ExecutionRecord } from "./bindings/ExecutionRecord";
import type { ProcessInfo } from "./bindings/ProcessInfo";
import type { ProjectSettings } from "./bindings/ProjectSettings";
import type { SandboxAction } from "./bindings/SandboxAction";
import type { SandboxStatus } from "./bindings/SandboxStatus";
import type { UsageRow } from "./bindings/UsageRow";
import type { SecretName } from "./bindings/SecretName";
import type { PreviewInfo } from "./bindings/PreviewInfo";
import type { SecretState } from "./bindings/SecretState";

import type { AgentEvent } from "./bindings/AgentEvent";
import type { AgentPolicy } from "./bindings/AgentPolicy";
import type { AgentStatus } from "./bindings/AgentStatus";
import type { Permission } from "./bindings/Permission";
import type { UndoReport } from "./bindings/UndoReport";
import type { BucketSettings } from "./bindings/BucketSettings";
import type { FileVersionInfo } from "./bindings/FileVersionInfo";
import type { SyncExplanation } from "./bindings/SyncExplanation";
import type { SnapshotInfo } from "./bindings/SnapshotInfo";
import type { SyncEvent } from "./bindings/SyncEvent";
import type { SyncSettingsView } from "./bindings/SyncSettingsView";
import type { SyncStatus } from "./bindings/SyncStatus";

import type { GitImport } from "./bindings/GitImport";
import type { NewProject } from "./bindings/NewProject";
import type { NewProjectOptions } from "./bindings/NewProjectOptions";
import type { Offer } from "./bindings/Offer";
import type { RunConfig } from "./bindings/RunConfig";
import type { RunPlan } from "./bindings/RunPlan";
import type { RunSetup } from "./bindings/RunSetup";
import type { UpdateInfo } from "./bindings/UpdateInfo";
import type { UpdateProgress } from "./bindings/UpdateProgress";
import type { UpdateSettings } from "./bindings/UpdateSettings";

export type { SecretName, SecretState };
export type { BucketSettings, FileVersionInfo, SnapshotInfo, SyncExplanation, SyncEvent, SyncSettingsView, SyncStatus };
export type { ExecChunk, ExecOutcome, ExecutionRecord, ProcessInfo, ProjectSettings, SandboxAction, SandboxStatus, UsageRow };
export type { DirEntry, FileContent, FileVersion, FsChange, IpcError, ProjectInfo, ProjectSession };
export type { RecentProject, SearchQuery, SearchResults };
export type { Offer, UpdateInfo, UpdateProgress, UpdateSettings };
export type { RunConfig, RunPlan, RunSetup };
export type { GitImport, NewProject, NewProjectOptions };
export type { AgentEvent, AgentPolicy, AgentStatus, Permission, UndoReport };

/** Every command rejects with an IpcError; this turns anything else into one too. */
export function asIpcError(e: unknown): IpcError {
  if (e && typeof e === "object" && "kind" in e && "message" in e) return e as IpcError;
  return { kind: "internal", message: String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asIpcError(e);
  }
}

export const api = {
  startupProject: () => call<string>("startup_project"),
  openProject: (path: string, onChange: (c: FsChange) => void) => {
    const ch = new Channel<FsChange>();
    ch.onmessage = onChange;
    return call<ProjectInfo>("open_project", { path, onChange: ch });
  },
  recentProjects: () => call<RecentProject[]>("recent_projects"),
  saveSession: (session: ProjectSession) => call<void>("save_session", { session }),
  uiReady: (pageMs: number) => call<void>("ui_ready", { pageMs: Math.round(pageMs) }),

  listDir: (path: string) => call<DirEntry[]>("list_dir", { path }),
  readFile: (path: string) => call<FileContent>("read_file", { path }),
  writeFile: (path: string, text: string, expectedHash: string | null) =>
    call<FileVersion>("write_file", { path, text, expectedHash }),
  createFile: (path: string) => call<void>("create_file", { path }),
  createDir: (path: string) => call<void>("create_dir", { path }),
  renamePath: (from: string, to: string) => call<void>("rename_path", { from, to }),
  deletePath: (path: string) => call<void>("delete_path", { path }),

  previewPorts: () => call<number[]>("preview_ports"),
  previewOpen: (port: number) => call<PreviewInfo>("preview_open", { port }),
  previewLocation: (port: number) => call<string>("preview_location", { port }),
  previewOpenExternal: (port: number) => call<void>("preview_open_external", { port }),
  previewClose: () => call<void>("preview_close"),

  searchProject: (query: SearchQuery) => call<SearchResults>("search_project", { query }),
  findFiles: (query: string, limit = 50) => call<string[]>("find_files", { query, limit }),

  sandboxStatus: () => call<SandboxStatus>("sandbox_status"),
  sandboxAction: (action: SandboxAction) => call<SandboxStatus>("sandbox_action", { action }),
  sandboxExec: (command: string, onOutput: (c: ExecChunk) => void) => {
    const ch = new Channel<ExecChunk>();
    ch.onmessage = onOutput;
    return call<ExecOutcome>("sandbox_exec", { command, onOutput: ch });
  },
  sandboxCancel: () => call<void>("sandbox_cancel"),
  sandboxProcesses: () => call<ProcessInfo[]>("sandbox_processes"),
  sandboxTestConnection: (settings: ProjectSettings) => call<string>("sandbox_test_connection", { settings }),
  saveProjectSettings: (settings: ProjectSettings) => call<void>("save_project_settings", { settings }),
  executionHistory: () => call<ExecutionRecord[]>("execution_history"),
  usageSummary: () => call<UsageRow[]>("usage_summary"),
  secretsStatus: () => call<SecretState[]>("secrets_status"),
  secretSet: (name: SecretName, value: string) => call<void>("secret_set", { name, value }),
  secretDelete: (name: SecretName) => call<void>("secret_delete", { name }),

  syncSubscribe: (onStatus: (s: SyncStatus) => void) => {
    const ch = new Channel<SyncStatus>();
    ch.onmessage = onStatus;
    return call<SyncStatus>("sync_subscribe", { onStatus: ch });
  },
  syncSettings: () => call<SyncSettingsView>("sync_settings"),
  syncSaveSettings: (bucket: BucketSettings) => call<void>("sync_save_settings", { bucket }),
  syncTest: (bucket: BucketSettings) => call<string>("sync_test", { bucket }),
  syncEnable: (on: boolean) => call<void>("sync_enable", { on }),
  syncNow: () => call<void>("sync_now"),
  syncEvents: () => call<SyncEvent[]>("sync_events"),
  syncResolve: (keepMine: boolean) => call<void>("sync_resolve", { keepMine }),
  syncSnapshots: () => call<SnapshotInfo[]>("sync_snapshots"),
  syncRestoreSnapshot: (id: string) => call<void>("sync_restore_snapshot", { id }),
  syncExplain: (path: string) => call<SyncExplanation>("sync_explain", { path }),
  syncFileHistory: (path: string) => call<FileVersionInfo[]>("sync_file_history", { path }),
  syncRestoreFile: (path: string, blake3: string) => call<void>("sync_restore_file", { path, blake3 }),
  syncGc: () => call<string>("sync_gc"),
  syncCloudProjects: () => call<string[]>("sync_cloud_projects"),
  syncCloudSnapshots: (key: string) => call<SnapshotInfo[]>("sync_cloud_snapshots", { key }),
  syncRestoreProject: (key: string, snapshot: string | null, dest: string) =>
    call<string>("sync_restore_project", { key, snapshot, dest }),

  newProjectOptions: () => call<NewProjectOptions>("new_project_options"),
  createProject: (spec: NewProject) => call<string>("create_project", { spec }),
  importGit: (request: GitImport, onProgress: (step: string) => void) => {
    const ch = new Channel<string>();
    ch.onmessage = onProgress;
    return call<string>("import_git", { request, onProgress: ch });
  },

  runSetup: () => call<RunSetup>("run_setup"),
  runSave: (config: RunConfig) => call<void>("run_save", { config }),
  runPlan: () => call<RunPlan>("run_plan"),
  runInstalled: () => call<void>("run_installed"),

  updateInfo: () => call<UpdateInfo>("update_info"),
  updateSaveSettings: (settings: UpdateSettings) => call<void>("update_save_settings", { settings }),
  updateCheck: () => call<Offer>("update_check"),
  /** Resolves only if the install failed (it throws then); on success the app relaunches. */
  updateInstall: (onProgress: (p: UpdateProgress) => void) => {
    const ch = new Channel<UpdateProgress>();
    ch.onmessage = onProgress;
    return call<void>("update_install", { onProgress: ch });
  },

  terminalOpen: (
    inSandbox: boolean,
    cols: number,
    rows: number,
    onData: (bytes: Uint8Array) => void,
    onExit: (code: number | null) => void,
  ) => {
    const data = new Channel<ArrayBuffer>();
    data.onmessage = (buf) => onData(new Uint8Array(buf));
    const exit = new Channel<number | null>();
    exit.onmessage = onExit;
    return call<number>("terminal_open", { inSandbox, cols, rows, onData: data, onExit: exit });
  },
  terminalWrite: (id: number, data: string) => call<void>("terminal_write", { id, data }),
  terminalResize: (id: number, cols: number, rows: number) =>
    call<void>("terminal_resize", { id, cols, rows }),
  terminalAck: (id: number, bytes: number) => call<void>("terminal_ack", { id, bytes }),
  terminalClose: (id: number) => call<void>("terminal_close", { id }),

  agentSubscribe: (onEvent: (e: AgentEvent) => void) => {
    const ch = new Channel<AgentEvent>();
    ch.onmessage = onEvent;
    return call<void>("agent_subscribe", { onEvent: ch });
  },
  agentStatus: () => call<AgentStatus>("agent_status"),
  agentNewToken: () => call<string>("agent_new_token"),
  agentSetPermission: (tool: string, permission: Permission) =>
    call<AgentPolicy>("agent_set_permission", { tool, permission }),
  agentDecide: (id: number, allow: boolean) => call<boolean>("agent_decide", { id, allow }),
  agentUndo: () => call<UndoReport>("agent_undo"),
  agentKeep: () => call<void>("agent_keep"),
};
