// Typed calls into the Rust command layer. The commands with their argument and result types
// are generated from Rust (`./bindings/commands.ts` from the #[tauri::command] functions, the
// types by ts-rs; `cargo test` writes both); this file turns channels into callbacks.
import { Channel, invoke } from "@tauri-apps/api/core";
import { commands } from "./bindings/commands";
import type { DirEntry } from "./bindings/DirEntry";
import type { Listing } from "./bindings/Listing";
import type { FileContent } from "./bindings/FileContent";
import type { FileVersion } from "./bindings/FileVersion";
import type { FsChange } from "./bindings/FsChange";
import type { IpcError } from "./bindings/IpcError";
import type { ProjectInfo } from "./bindings/ProjectInfo";
import type { ProjectSession } from "./bindings/ProjectSession";
import type { RecentProject } from "./bindings/RecentProject";
import type { SearchQuery } from "./bindings/SearchQuery";
import type { SearchResults } from "./bindings/SearchResults";
import type { ChangeKind } from "./bindings/ChangeKind";
import type { FileChange } from "./bindings/FileChange";
import type { GitStatus } from "./bindings/GitStatus";
import type { Branches } from "./bindings/Branches";
import type { CommitInfo } from "./bindings/CommitInfo";

import type { ExecChunk } from "./bindings/ExecChunk";
import type { ExecOutcome } from "./bindings/ExecOutcome";
import type { ExecutionRecord } from "./bindings/ExecutionRecord";
import type { ProcessInfo } from "./bindings/ProcessInfo";
import type { ProjectSettings } from "./bindings/ProjectSettings";
import type { SandboxAction } from "./bindings/SandboxAction";
import type { SandboxStatus } from "./bindings/SandboxStatus";
import type { Usage } from "./bindings/Usage";
import type { SecretName } from "./bindings/SecretName";
import type { SecretState } from "./bindings/SecretState";

import type { AgentEvent } from "./bindings/AgentEvent";
import type { Connection } from "./bindings/Connection";
import type { NetAnswer } from "./bindings/NetAnswer";
import type { NetAsk } from "./bindings/NetAsk";
import type { NetEvent } from "./bindings/NetEvent";
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
import type { RunApp } from "./bindings/RunApp";
import type { AppStatus } from "./bindings/AppStatus";
import type { RunSetup } from "./bindings/RunSetup";
import type { UpdateInfo } from "./bindings/UpdateInfo";
import type { UpdateProgress } from "./bindings/UpdateProgress";
import type { UpdateSettings } from "./bindings/UpdateSettings";

export type { SecretName, SecretState };
export type { BucketSettings, FileVersionInfo, SnapshotInfo, SyncExplanation, SyncEvent, SyncSettingsView, SyncStatus };
export type { ExecChunk, ExecOutcome, ExecutionRecord, ProcessInfo, ProjectSettings, SandboxAction, SandboxStatus, Usage };
export type { DirEntry, FileContent, Listing, FileVersion, FsChange, IpcError, ProjectInfo, ProjectSession };
export type { RecentProject, SearchQuery, SearchResults };
export type { Branches, ChangeKind, CommitInfo, FileChange, GitStatus };
export type { Offer, UpdateInfo, UpdateProgress, UpdateSettings };
export type { AppStatus, RunApp, RunConfig, RunPlan, RunSetup };
export type { GitImport, NewProject, NewProjectOptions };
export type { AgentEvent, AgentPolicy, AgentStatus, Permission, UndoReport };
export type { Connection, NetAnswer, NetAsk, NetEvent };

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

const c = commands(call);

/** Opens a channel whose messages go to `on`. */
function channel<T>(on: (m: T) => void): Channel<T> {
  const ch = new Channel<T>();
  ch.onmessage = on;
  return ch;
}

/** The app's API: the generated commands, with callbacks in place of channels. */
export const api = {
  ...c,
  openProject: (path: string, onChange: (c: FsChange) => void) => c.openProject(path, channel(onChange)),
  uiReady: (pageMs: number) => c.uiReady(Math.round(pageMs)),
  findFiles: (query: string, limit = 50) => c.findFiles(query, limit),
  sandboxExec: (command: string, onOutput: (c: ExecChunk) => void) => c.sandboxExec(command, channel(onOutput)),
  syncSubscribe: (onStatus: (s: SyncStatus) => void) => c.syncSubscribe(channel(onStatus)),
  importGit: (request: GitImport, onProgress: (step: string) => void) => c.importGit(request, channel(onProgress)),
  /** Resolves only if the install failed (it throws then); on success the app relaunches. */
  updateInstall: (onProgress: (p: UpdateProgress) => void) => c.updateInstall(channel(onProgress)),
  terminalOpen: (
    inSandbox: boolean,
    cols: number,
    rows: number,
    onData: (output: Uint8Array | string) => void,
    onExit: (code: number | null) => void,
  ) => c.terminalOpen(cols, rows, inSandbox,
    // A few KiB of whole characters come as a string (handed over in one step), the rest as bytes.
    channel<ArrayBuffer | string>((data) => onData(typeof data === "string" ? data : new Uint8Array(data))), channel(onExit)),
  /** ▶ Run's terminal in the sandbox, the run typed in by the core, which follows it (`runStatus`). */
  runTerminalOpen: (
    cols: number,
    rows: number,
    onData: (output: Uint8Array | string) => void,
    onExit: (code: number | null) => void,
  ) => c.runTerminalOpen(cols, rows,
    channel<ArrayBuffer | string>((data) => onData(typeof data === "string" ? data : new Uint8Array(data))), channel(onExit)),
  /** An agent's `run_app` asks the window to start ▶ Run. */
  runSubscribe: (onStart: () => void) => c.runSubscribe(channel(onStart)),
  agentSubscribe: (onEvent: (e: AgentEvent) => void) => c.agentSubscribe(channel(onEvent)),
  netSubscribe: (onEvent: (e: NetEvent) => void) => c.netSubscribe(channel(onEvent)),
};
