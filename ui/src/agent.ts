// The Agent panel: connecting a coding agent (MCP), what each tool may do, the questions an
// agent asks, what it did, and undoing its changes.
import { h } from "./dom";
import { api, asIpcError, type AgentEvent, type AgentStatus, type Permission } from "./ipc";
import { confirmChoice, toast } from "./modal";
import type { AgentCall } from "./bindings/AgentCall";
import type { ApprovalRequest } from "./bindings/ApprovalRequest";
import type { BaselineInfo } from "./bindings/BaselineInfo";
import { agentConnectLines } from "./agenttext";

const TOOL_TITLES: Record<string, string> = {
  list_files: "List files", read_file: "Read files", search: "Search", processes: "List processes",
  preview_url: "Open the preview", write_file: "Write files", edit_file: "Edit files", execute_command: "Run commands",
};

export class AgentPanel {
  private header = h("div", { class: "sb-header", "data-testid": "agent-server" });
  private token = h("div", { class: "sb-section", "data-testid": "agent-token" });
  private connect = h("div", { class: "sb-section", "data-testid": "agent-connect" });
  private asks = h("div", { class: "agent-asks", "data-testid": "agent-asks" });
  private changes = h("div", { class: "sb-section", "data-testid": "agent-changes" });
  private perms = h("div", { class: "sb-section", "data-testid": "agent-permissions" });
  private activity = h("div", { class: "sync-events", "data-testid": "agent-activity" });
  private status: AgentStatus | null = null;
  /** The token just made: shown until the panel is refreshed by a project switch or restart. */
  private freshToken: string | null = null;
  private calls = new Map<number, AgentCall>();
  private pending = new Map<number, ApprovalRequest>();

  constructor(host: HTMLElement, private show: () => void) {
    host.append(h("div", { class: "agent-panel" },
      this.header, this.asks, this.changes,
      h("div", { class: "sb-section" }, h("div", { class: "sb-label" }, "Activity"), this.activity),
      h("details", { class: "sb-section", "data-testid": "agent-settings" }, h("summary", {}, "Connect an agent"),
        this.token, this.connect, this.perms),
    ));
  }

  async start(): Promise<void> {
    await api.agentSubscribe((e) => this.onEvent(e)).catch((e) => console.warn("agent events", e));
    await this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      this.status = await api.agentStatus();
    } catch (e) {
      this.header.textContent = asIpcError(e).message;
      return;
    }
    this.calls = new Map(this.status.activity.map((c) => [Number(c.id), c]));
    this.pending = new Map(this.status.pending.map((r) => [Number(r.id), r]));
    this.render();
  }

  private onEvent(e: AgentEvent): void {
    if (e.kind === "call") {
      this.calls.set(Number(e.data.id), e.data);
    }
    if (e.kind === "ask") {
      this.pending.set(Number(e.data.id), e.data);
      this.show();
      toast(`An agent asks to ${e.data.tool === "execute_command" ? "run a command" : "change a file"}: approve or deny it in the Agent panel.`, "info", () => this.show());
    }
    if (e.kind === "answered") this.pending.delete(Number(e.data));
    if (e.kind === "changes" && this.status) this.status.changes = e.data;
    this.render();
  }

  private render(): void {
    const s = this.status;
    if (!s) return;
    this.header.replaceChildren(
      h("div", { class: "sb-state" }, s.url ? "Agent server on" : "Agent server off"),
      h("div", { class: "hint" }, s.url ?? s.problem ?? ""),
    );
    this.renderAsks();
    this.renderChanges(s.changes);
    this.renderToken(s);
    this.renderPermissions(s);
    const calls = [...this.calls.values()].sort((a, b) => Number(b.id) - Number(a.id)).slice(0, 200);
    this.activity.replaceChildren(...(calls.length ? calls.map(callRow) : [h("div", { class: "hint" }, "No agent calls yet.")]));
  }

  private renderAsks(): void {
    const cards = [...this.pending.values()].map((r) => h("div", { class: "agent-ask", "data-testid": "agent-ask" },
      h("div", { class: "sb-label" }, r.tool === "execute_command" ? "An agent wants to run" : "An agent wants to change a file"),
      h("pre", { class: "sb-output agent-ask-title" }, r.title),
      r.reason ? h("div", { class: "agent-ask-why", "data-testid": "agent-ask-why" }, `Asked whatever the settings say: ${r.reason}.`) : null,
      r.detail ? h("pre", { class: "sb-output agent-ask-detail" }, r.detail) : null,
      h("div", { class: "sb-buttons" },
        h("button", { class: "primary", "data-testid": "agent-approve", onclick: () => void this.decide(r, true) }, "Approve"),
        h("button", { "data-testid": "agent-deny", onclick: () => void this.decide(r, false) }, "Deny")),
    ));
    this.asks.replaceChildren(...cards);
  }

  private async decide(r: ApprovalRequest, allow: boolean): Promise<void> {
    this.pending.delete(Number(r.id));
    this.render();
    const still = await api.agentDecide(Number(r.id), allow).catch(() => false);
    if (!still) toast("The agent stopped waiting for that answer.", "info");
  }

  private renderChanges(c: BaselineInfo | null): void {
    if (!c) {
      this.changes.replaceChildren(h("div", { class: "hint" }, "No agent changes to undo."));
      return;
    }
    const since = new Date(Number(c.taken_ms)).toLocaleTimeString();
    const notCovered = c.not_covered.length
      ? [h("div", { class: "hint" }, `Not covered by undo: ${c.not_covered.slice(0, 3).join(", ")}${c.not_covered.length > 3 ? ", …" : ""}`)]
      : [];
    this.changes.replaceChildren(
      h("div", {}, `An agent has been changing this project since ${since}.`),
      ...notCovered,
      h("div", { class: "sb-buttons" },
        h("button", { "data-testid": "agent-undo", onclick: () => void this.undo(since) }, "Undo agent changes"),
        h("button", { "data-testid": "agent-keep", onclick: () => void api.agentKeep().catch((e) => toast(asIpcError(e).message, "error")) }, "Keep changes")),
    );
  }

  private async undo(since: string): Promise<void> {
    const ok = await confirmChoice("Undo agent changes?",
      `Every file goes back to how it was at ${since}, before the agent's first change. Your own edits since then are undone too.`,
      ["Undo changes"]);
    if (ok !== "Undo changes") return;
    try {
      const r = await api.agentUndo();
      const skipped = r.skipped.length ? `; not restored: ${r.skipped.join(", ")}` : "";
      toast(`Undone: ${r.restored.length} restored, ${r.removed.length} removed${skipped}`, r.skipped.length ? "error" : "info");
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  private renderToken(s: AgentStatus): void {
    const make = h("button", { "data-testid": "agent-new-token", onclick: () => void this.newToken(s.token_set) },
      s.token_set ? "Replace token…" : "Create token");
    const shown = this.freshToken
      ? [h("div", {}, "Copy the token now: it is not shown again."),
        h("div", { class: "sb-run" },
          h("input", { class: "sb-run-input", readonly: true, value: this.freshToken, "data-testid": "agent-token-value" }),
          copyButton(this.freshToken))]
      : [h("div", { class: "hint" }, s.token_set ? "A token is set (kept in the system keychain)." : "No token yet: agents are refused until you create one.")];
    this.token.replaceChildren(h("div", { class: "sb-label" }, "Token"), ...shown, h("div", { class: "sb-buttons" }, make));
    const lines = agentConnectLines(s.url, s.stdio_command, this.freshToken);
    this.connect.replaceChildren(h("div", { class: "sb-label" }, "Add to your agent"),
      ...lines.map((l) => h("div", { class: "agent-line" },
        h("div", { class: "hint" }, l.label),
        h("div", { class: "sb-run" }, h("pre", { class: "sb-output agent-snippet", "data-testid": `agent-line-${l.id}` }, l.text), copyButton(l.text)))));
  }

  private async newToken(replacing: boolean): Promise<void> {
    if (replacing) {
      const ok = await confirmChoice("Replace the agent token?", "Agents using the current token are refused until they get the new one.", ["Replace"]);
      if (ok !== "Replace") return;
    }
    try {
      this.freshToken = await api.agentNewToken();
      if (this.status) this.status.token_set = true;
      this.render();
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  private renderPermissions(s: AgentStatus): void {
    const rows = Object.entries(s.policy.tools).map(([tool, perm]) => {
      const sel = h("select", { "data-testid": `agent-perm-${tool}`, "aria-label": `${tool} permission` },
        ...(["allow", "ask", "deny"] as Permission[]).map((p) => h("option", { value: p, selected: p === perm }, p)));
      sel.addEventListener("change", async () => {
        try {
          s.policy = await api.agentSetPermission(tool, sel.value as Permission);
        } catch (e) {
          toast(asIpcError(e).message, "error");
        }
      });
      return h("label", { class: "sb-field agent-perm" }, `${TOOL_TITLES[tool] ?? tool} (${tool})`, sel);
    });
    this.perms.replaceChildren(h("div", { class: "sb-label" }, "What agents may do"), ...rows);
  }
}

function copyButton(text: string): HTMLElement {
  return h("button", { title: "Copy", onclick: () => void navigator.clipboard.writeText(text).then(() => toast("Copied.")).catch((e) => toast(String(e), "error")) }, "Copy");
}

function callRow(c: AgentCall): HTMLElement {
  return h("div", { class: `agent-call outcome-${c.outcome}`, "data-testid": "agent-call", title: `${c.arguments}\n${c.summary}` },
    h("span", { class: "agent-call-tool" }, c.tool), " ",
    h("span", { class: "agent-call-outcome" }, c.outcome), " ",
    h("span", { class: "hint" }, `${Number(c.duration_ms)} ms`),
    h("div", { class: "agent-call-args" }, c.arguments),
    c.summary ? h("div", { class: "agent-call-summary" }, c.summary) : null);
}
