// What ▶ Run types into its terminal, and what the status bar says about it.
import type { RunState } from "./run";

/** Printed between the install and the dev server; the typed line never contains it verbatim. */
export const RUN_MARK = "[aura] dependencies installed";

/** Single-quotes `s` for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The line typed into the Run terminal's shell: the install (when due), the mark, then the dev
 * server, in one `exec` so the terminal ends with the exit code of whichever step failed.
 */
export function runLine(install: string | null, dev: string, port: number | null = null): string {
  // The port saved in Run settings goes to frameworks that take it (Next.js, Express, Nuxt…) as
  // PORT, so the two agree; npm's update notice is not about the project.
  const env = `npm_config_update_notifier=false${port ? ` PORT=${port}` : ""} `;
  const devPart = `exec sh -c ${shellQuote(dev)}`;
  if (!install) return `${env}${devPart}\n`;
  const script = `${install} && printf '[aura] %s\\n' 'dependencies installed' && ${devPart}`;
  return `${env}exec sh -c ${shellQuote(script)}\n`;
}

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
