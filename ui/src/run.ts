// ▶ Run: installs the dependencies when their manifests changed, starts the dev server in a Run
// terminal inside the project's sandbox (local, Daytona or E2B alike), waits for the port the app
// opens (the core follows the terminal and the sandbox's ports: `runPort`; a port saved in Run
// settings is the one awaited) and opens the preview on it. The status bar follows every step; ■ Stop ends the Run terminal.
import { h } from "./dom";
import { api, asIpcError, type RunApp, type RunConfig, type RunPlan } from "./ipc";
import { openDialog, toast } from "./modal";
import type { TerminalPanel } from "./terminal";
import { RestartWatch, RUN_MARK, runLine } from "./runtext";

export type RunState =
  | { phase: "idle" }
  | { phase: "installing" }
  | { phase: "starting"; port: number | null }
  | { phase: "running"; port: number | null }
  | { phase: "exited"; code: number | null; during: "install" | "run"; why?: string }
  | { phase: "stuck"; port: number | null }
  | { phase: "failed"; message: string };

/** How much of the install's output is kept to tell why it failed. */
const INSTALL_TAIL = 16 * 1024;

/** How long a started dev server may take to open a port before the status says so. */
const PORT_WAIT_MS = 120_000;

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
    let installed = !plan.install;
    let tail = "";
    const restarts = new RestartWatch();
    this.set(plan.install ? { phase: "installing" } : { phase: "starting", port: awaited });
    this.ui.showBottom();
    const id = await this.ui.terminals.create(true, {
      title: "Run",
      input: runLine(plan.install, plan.config.dev, awaited),
      run: { port: plan.config.port, port_saved: plan.port_saved, install: plan.install, dev: plan.config.dev },
      onOutput: (text) => {
        if (installed) {
          if (restarts.feed(text) && run === this.runs && this.state.phase === "running") this.ui.reloadPreview();
          return;
        }
        // The install's output (its end), for the mark and, when it fails, for why.
        tail = (tail + text).slice(-INSTALL_TAIL);
        if (tail.slice(-400).includes(RUN_MARK)) {
          installed = true;
          api.runInstalled().catch(() => {});
          if (run === this.runs) this.set({ phase: "starting", port: awaited });
        }
      },
      onExit: (code) => {
        if (run !== this.runs) return;
        this.termId = null;
        if (installed) return this.set({ phase: "exited", code, during: "run" });
        // The status bar says why in one line when the package manager's output tells.
        api.runExplain(tail).catch(() => null).then((why) => {
          if (run === this.runs) this.set({ phase: "exited", code, during: "install", why: why ?? undefined });
        });
      },
    });
    this.ui.sandboxChanged();
    if (id === null) {
      this.set({ phase: "failed", message: "the Run terminal could not open in the sandbox" });
      return;
    }
    this.termId = id;
    // A project with no usual port (a command-line program) counts as running once started; if
    // it opens a port after all, the preview follows.
    const expectsPort = plan.config.port !== null;
    if (!expectsPort && installed) this.set({ phase: "running", port: null });
    // Wait for the app's port while this run lives; the install may take minutes, the dev server not.
    let startedAt = installed ? Date.now() : 0;
    for (;;) {
      // After the wait, look less often (a remote sandbox's ports cost a call to its provider).
      const late = startedAt && Date.now() - startedAt > PORT_WAIT_MS;
      await new Promise((r) => setTimeout(r, late ? 5000 : 400));
      if (run !== this.runs || this.termId !== id) return;
      if (!installed) continue;
      if (!startedAt) {
        startedAt = Date.now();
        if (!expectsPort) this.set({ phase: "running", port: null });
      }
      const port = await api.runPort(id).catch(() => null);
      if (run !== this.runs || this.termId !== id) return;
      if (port !== null) {
        this.set({ phase: "running", port });
        await this.ui.openPreview(port);
        return;
      }
      if (expectsPort && Date.now() - startedAt > PORT_WAIT_MS && this.state.phase !== "stuck") this.set({ phase: "stuck", port: awaited });
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
