// What the status bar says about sync.
import type { SyncStatus } from "./ipc";

/** The status bar's words for a sync status. */
export function syncLabel(s: SyncStatus): string {
  const n = Number(s.pending);
  switch (s.state) {
    case "off": return "sync off";
    case "syncing":
      if (s.progress) return `syncing ${s.progress[0]}/${s.progress[1]}`;
      return n ? `syncing ${n}…` : "syncing…";
    case "synced": return "synced";
    case "pending": return `pending ${n}${Number(s.failing) ? ` · ${s.failing} failing` : ""}`;
    case "offline": return `offline · ${n} queued`;
    case "conflict": return "sync conflict";
    case "error": return `sync error · ${n} queued`;
  }
  return s.state;
}

