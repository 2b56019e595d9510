// ▶ Run: opens the Run terminal inside the project's sandbox (local, Daytona or E2B alike), into
// which the core types the install (when the manifests changed) and the dev server, and opens the
// preview on the port the app serves. Where the run is — installing, starting, running on its port, stuck,
// exited and why — is decided by the core (`runStatus`: the terminal's output, its end and the
// sandbox's ports), the same run agents see; this shows it and drives the window.
import { h } from "./dom";
import type { RunStatus } from "./bindings/RunStatus";
import { api, asIpcError, type RunApp, type RunConfig, type RunPlan } from "./ipc";
import { openDialog, toast } from "./modal";
import type { TerminalPanel } from "./terminal";
import { RestartWatch } from "./runtext";

export type RunState = { phase: "idle" } | RunStatus | { phase: "failed"; message: string };

export class RunController {
  private termId: number | null = null;
  private runs = 0;
  state: RunState = { phase: "idle" };

  constructor(private ui: {
    terminals: TerminalPanel;
    showBottom: () => void;
    openPreview: (port: number) => Promise<void>;
    /** A dev server without HMR finished restarting after a change: show the new page. */
    reloadPreview: () => void;
    onState: (s: RunState, seconds: number) => void;
    sandboxChanged: () => void;
  }) {}

  busy(): boolean {
    return this.termId !== null;
  }

  private phaseSince = Date.now();
  private ticker: number | undefined;

  private set(s: RunState): void {
    if (s.phase !== this.state.phase) this.phaseSince = Date.now();
    this.state = s;
    this.ui.onState(s, this.elapsed());
    // While installing or starting, the status bar shows the seconds so far.
    clearInterval(this.ticker);
    if (s.phase === "installing" || s.phase === "starting") {
      this.ticker = window.setInterval(() => this.ui.onState(this.state, this.elapsed()), 1000);
    }
  }

  /** Seconds in the current phase. */
  private elapsed(): number {
    return Math.floor((Date.now() - this.phaseSince) / 1000);
  }

  async start(): Promise<void> {
    if (this.busy()) this.stop();
    const run = ++this.runs;
    let plan: RunPlan;
    try {
      plan = await api.runPlan();
    } catch (e) {
      const err = asIpcError(e);
      if (err.kind === "no_run_config") return void this.configure(err.message);
      this.set({ phase: "failed", message: err.message });
      toast(err.message, "error");
      return;
    }
    // The saved port is awaited; otherwise the framework's usual port is only a hint.
    const awaited = plan.port_saved ? plan.config.port : null;
    const restarts = new RestartWatch();
    this.set(plan.install ? { phase: "installing" } : { phase: "starting", port: awaited });
    this.ui.showBottom();
    const id = await this.ui.terminals.create(true, {
      title: "Run",
      run: true,
      onOutput: (text) => {
        if (restarts.feed(text) && run === this.runs && this.state.phase === "running") this.ui.reloadPreview();
      },
      onExit: () => {
        if (run !== this.runs) return;
        const ended = this.termId;
        this.termId = null;
        // How it ended (and why, when an install failed) is the core's to say.
        if (ended !== null) {
          api.runStatus(ended).catch(() => null).then((st) => {
            if (run === this.runs) this.set(st?.phase === "exited" ? st : { phase: "exited", code: null, during: "run", why: null });
          });
        }
      },
    });
    this.ui.sandboxChanged();
    if (id === null) {
      this.set({ phase: "failed", message: "the Run terminal could not open in the sandbox" });
      return;
    }
    this.termId = id;
    let previewed = false;
    for (;;) {
      // Stuck: look less often (a remote sandbox's ports cost a call to its provider).
      await new Promise((r) => setTimeout(r, this.state.phase === "stuck" ? 5000 : 400));
      if (run !== this.runs || this.termId !== id) return;
      const st = await api.runStatus(id).catch(() => null);
      if (run !== this.runs || this.termId !== id || !st || st.phase === "exited") continue;
      if (st.phase !== this.state.phase || ("port" in st && "port" in this.state && st.port !== this.state.port)) this.set(st);
      if (st.phase === "running" && st.port !== null && !previewed) {
        previewed = true;
        await this.ui.openPreview(st.port);
        return;
      }
    }
  }

  stop(): void {
    this.runs++;
    if (this.termId !== null) this.ui.terminals.closeId(this.termId);
    this.termId = null;
    this.set({ phase: "idle" });
  }

  /** The Run settings: the commands and port, saved to .aura/run.json in the project. */
  async configure(why?: string): Promise<void> {
    let setup;
    try {
      setup = await api.runSetup();
    } catch (e) {
      toast(asIpcError(e).message, "error");
      return;
    }
    const c: RunConfig = setup.config ?? { install: null, dev: "", port: null, manifests: [] };
    const field = (label: string, value: string, name: string) => {
      const input = h("input", { type: "text", class: "modal-input", name, spellcheck: "false", "aria-label": label });
      input.value = value;
      return { input, row: h("label", { class: "run-row" }, label, input) };
    };
    const install = field("Install command", c.install ?? "", "install");
    const dev = field("Dev command", c.dev, "dev");
    // A port typed here is the one ▶ Run waits for; left empty, Run follows the port the app opens.
    const port = field("Port", setup.saved && c.port ? String(c.port) : "", "port");
    port.input.placeholder = "empty: the port the app opens";
    let manifests = c.manifests;
    const app = appChoice(setup.apps, c.dev, (a) => {
      install.input.value = a.config.install ?? "";
      dev.input.value = a.config.dev;
      port.input.value = "";
      manifests = a.config.manifests;
    });
    const error = h("div", { class: "run-error", role: "alert", hidden: true });
    const save = h("button", { type: "submit", class: "primary" }, "Save");
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h("form", { class: "modal run-settings", "data-testid": "run-settings" },
      h("h3", {}, "Run settings"),
      why ? h("p", { class: "run-why" }, why) : null,
      h("p", { class: "hint" }, `${setup.source}. Saved in .aura/run.json, so it travels with the project.`),
      app, install.row, dev.row, port.row, error, h("div", { class: "modal-buttons" }, save, cancel));
    const close = openDialog(form, () => {});
    cancel.addEventListener("click", close);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const p = port.input.value.trim();
      const n = Number(p);
      if (p && (!Number.isInteger(n) || n < 1 || n > 65535)) {
        error.textContent = `"${p}" is not a port number.`;
        error.hidden = false;
        return;
      }
      try {
        await api.runSave({ install: install.input.value.trim() || null, dev: dev.input.value.trim(), port: p ? n : null, manifests });
        close();
        toast("Run settings saved in .aura/run.json");
      } catch (err) {
        error.textContent = asIpcError(err).message;
        error.hidden = false;
      }
    });
    dev.input.focus();
  }
}

/** A monorepo's apps to pick from (each fills the commands below); none for a single package. */
function appChoice(apps: RunApp[], dev: string, pick: (a: RunApp) => void): HTMLElement | null {
  if (!apps.length) return null;
  const select = h("select", { class: "modal-input", name: "app", "aria-label": "App" });
  select.append(h("option", { value: "" }, "as set below"));
  apps.forEach((a, i) => select.append(h("option", { value: String(i) }, `${a.folder} — ${a.name} (${a.framework})`)));
  const current = apps.findIndex((a) => a.config.dev === dev);
  if (current >= 0) select.value = String(current);
  select.addEventListener("change", () => {
    const a = apps[Number(select.value)];
    if (select.value && a) pick(a);
  });
  return h("label", { class: "run-row" }, "App", select);
}
