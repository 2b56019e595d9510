// What the status bar says about ▶ Run (the line it types is the core's: `run::line`), and when
// a dev server without HMR has restarted.
import type { RunState } from "./run";

export function runLabel(s: RunState, seconds = 0): string {
  const t = seconds > 0 ? ` ${seconds} s` : "";
  switch (s.phase) {
    case "idle": return "";
    case "installing": return `▶ installing…${t}`;
    case "starting": return s.port ? `▶ starting (waiting for :${s.port})…${t}` : `▶ starting…${t}`;
    case "running": return s.port ? `▶ running :${s.port}` : "▶ running";
    case "stuck": return s.port ? `▶ running, but nothing listens on :${s.port} yet` : "▶ running, but it opened no port yet";
    case "exited":
      return s.during === "install"
        ? `▶ install failed${s.code === null ? "" : ` (exit ${s.code})`}${s.why ? `: ${s.why}` : ""}`
        : `▶ exited${s.code === null ? "" : ` with code ${s.code}`}`;
    case "failed": return `▶ ${s.message}`;
  }
}

/**
 * Dev servers without HMR restart on a change (uvicorn --reload, Flask's reloader, node --watch,
 * Django): this reads their output and says when a restart has finished, so the preview reloads.
 */
export class RestartWatch {
  private restarting = false;
  private tail = "";

  /** Feeds output; true when a restart just completed. */
  feed(text: string): boolean {
    this.tail = (this.tail + text).slice(-2000);
    if (/Reloading|reloading|Restarting '|Restarting with|Watching for file changes/.test(text)) this.restarting = true;
    if (this.restarting && /Application startup complete|Debugger is active|listening on|Starting development server/.test(text)) {
      this.restarting = false;
      this.tail = "";
      return true;
    }
    return false;
  }
}
