// An app an agent started with `run_app`: followed while it runs and shown in the status bar
// beside ▶ Run's own state (the user's ▶ Run is the app agents see; this is the other way round).
import { api, type AppStatus } from "./ipc";

/** The status bar's words for it; empty hides it. */
export function agentAppLabel(s: AppStatus | null): string {
  if (!s) return "";
  switch (s.phase) {
    case "installing": return "agent ▶ installing…";
    case "running": return s.port ? `agent ▶ running :${s.port}` : "agent ▶ running";
    case "exited": return `agent ▶ ${s.ended ?? "exited"}`;
    default: return "";
  }
}

/** Polls the agent's app while it installs or runs, once an agent has started or stopped one. */
export class AgentAppWatch {
  private timer: number | undefined;
  private seq = 0;

  constructor(private onChange: (s: AppStatus | null) => void) {}

  /** An agent called `tool`: follow the app when the tool starts or stops one. */
  toolCalled(tool: string): void {
    if (tool === "run_app" || tool === "stop_app") void this.poll();
  }

  async stop(): Promise<void> {
    await api.agentAppStop().catch(() => {});
    await this.poll();
  }

  private async poll(): Promise<void> {
    clearTimeout(this.timer);
    const seq = ++this.seq;
    const s = await api.agentApp().catch(() => null);
    if (seq !== this.seq) return;
    this.onChange(s);
    if (s && (s.phase === "installing" || s.phase === "running")) this.timer = window.setTimeout(() => void this.poll(), 1000);
  }
}
