// The Sandboxes view: every sandbox Aura made at Daytona and E2B — this machine's and other
// machines', found by the labels Aura sets — with its project, state, age and cost; stop it,
// delete it, or open its project.
import type { FleetAction } from "./bindings/FleetAction";
import type { FleetEntry } from "./bindings/FleetEntry";
import { h } from "./dom";
import { details, whose } from "./fleettext";
import { api, asIpcError } from "./ipc";
import { confirmChoice, toast } from "./modal";

export class FleetView {
  readonly host = h("div", { class: "sb-fleet", "data-testid": "sandboxes" });
  private banner = h("div", { class: "sb-fleet-banner" });
  private list = h("div", { class: "sb-fleet-list" });
  private skipped = h("div", { class: "hint" });
  private seq = 0;

  /** `changed` is told when an action may have changed the open project's sandbox. */
  constructor(private openProject: (path: string) => Promise<void>, private changed: () => void) {
    const refresh = h("button", { "data-testid": "sandboxes-refresh" }, "Refresh");
    refresh.addEventListener("click", () => void this.load());
    this.host.append(
      h("div", { class: "hint" }, "Every sandbox Aura made at your providers, from this machine or another; costs at the rates below (compute and memory)."),
      h("div", { class: "sb-run" }, refresh), this.banner, this.list, this.skipped);
  }

  async load(): Promise<void> {
    const seq = ++this.seq;
    this.list.replaceChildren(h("div", { class: "hint" }, "Asking the providers…"));
    try {
      const fleet = await api.sandboxesList();
      if (seq !== this.seq) return;
      const now = Date.now();
      this.list.replaceChildren(...(fleet.sandboxes.length
        ? fleet.sandboxes.map((e) => this.row(e, now))
        : [h("div", { class: "hint" }, "No sandboxes of Aura's at the providers asked.")]));
      this.skipped.textContent = fleet.skipped.length ? `Not asked: ${fleet.skipped.join("; ")}` : "";
      this.showForgotten(fleet.sandboxes.filter((e) => e.idle));
    } catch (e) {
      if (seq === this.seq) this.list.replaceChildren(h("div", { class: "sb-warning" }, asIpcError(e).message));
    }
  }

  private row(e: FleetEntry, now: number): HTMLElement {
    const buttons = h("div", { class: "sb-buttons" });
    const add = (label: string, run: () => void) => {
      const b = h("button", {}, label);
      b.addEventListener("click", run);
      buttons.append(b);
    };
    if (e.state === "started") add(e.provider === "e2b" ? "Pause" : "Stop", () => void this.act(e, "stop"));
    add("Delete", () => void this.act(e, "delete"));
    const path = e.project_path;
    if (path && !e.current) add("Open project", () => void this.openProject(path));
    return h("div", { class: `sb-fleet-row${e.idle ? " idle" : ""}`, "data-sandbox": e.id, "data-state": e.state },
      h("div", { class: "sb-fleet-name" }, whose(e)),
      h("div", { class: "hint" }, details(e, now)),
      h("div", { class: "hint sb-fleet-id" }, e.id),
      buttons);
  }

  /** Running, not the open project's, unused past their auto-stop: one click stops them all. */
  private showForgotten(idle: FleetEntry[]): void {
    if (!idle.length) {
      this.banner.replaceChildren();
      return;
    }
    const stop = h("button", { "data-testid": "sandboxes-stop-idle" }, `Stop ${idle.length === 1 ? "it" : "them"}`);
    stop.addEventListener("click", () => void this.stopAll(idle));
    this.banner.replaceChildren(h("div", { class: "sb-warning" },
      `${idle.length} of Aura's sandboxes ${idle.length === 1 ? "is" : "are"} running unused past ${idle.length === 1 ? "its" : "their"} auto-stop, with no open project. `, stop));
  }

  private async stopAll(idle: FleetEntry[]): Promise<void> {
    const failed: string[] = [];
    for (const e of idle) {
      await api.sandboxesAct(e.provider, e.id, "stop").catch((err) => failed.push(`${e.id}: ${asIpcError(err).message}`));
    }
    if (failed.length) toast(`Not stopped: ${failed.join("; ")}`, "error");
    await this.load();
  }

  private async act(e: FleetEntry, action: FleetAction): Promise<void> {
    if (action === "delete") {
      const ok = await confirmChoice(`Delete sandbox ${e.id}?`,
        `The ${e.provider} sandbox of "${e.project}" and everything made inside it (installed packages, files not in the project) are deleted at the provider. ` +
        "The project's folder on this machine is not touched." + (e.current ? " The project's next command makes a new sandbox." : ""),
        ["Cancel", "Delete"]);
      if (ok !== "Delete") return;
    }
    try {
      await api.sandboxesAct(e.provider, e.id, action);
      toast(action === "delete" ? `Deleted ${e.id}.` : `${e.provider === "e2b" ? "Paused" : "Stopped"} ${e.id}.`);
    } catch (err) {
      toast(asIpcError(err).message, "error");
    }
    if (e.current) this.changed();
    await this.load();
  }
}

/** At start: when some of Aura's sandboxes run unused with no open project, say so once, with
 *  a click that opens the view. Asks only providers with a key; quiet on errors (the view says). */
export async function noticeForgotten(show: () => void): Promise<void> {
  const keys = await api.secretsStatus().catch(() => []);
  if (!keys.some((k) => (k.name === "daytona_api_key" || k.name === "e2b_api_key") && k.set)) return;
  const fleet = await api.sandboxesList().catch(() => null);
  const idle = fleet?.sandboxes.filter((e) => e.idle) ?? [];
  if (idle.length) toast(`${idle.length} of Aura's sandboxes ${idle.length === 1 ? "is" : "are"} running unused with no open project — click to see them in Sandboxes.`, "info", show);
}
