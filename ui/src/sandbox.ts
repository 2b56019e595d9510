// The sandbox panel: where the project runs, its state and controls, a Run box with streamed
// output, running processes, settings (env vars, limits, isolation), history and usage.
import { ApiKeys } from "./apikeys";
import { h } from "./dom";
import { formatEnv, parseEnv } from "./envtext";
import { FleetView } from "./fleet";
import { RatesForm, StorageLine } from "./usage";
import { usageLine } from "./fleettext";
import { api, asIpcError, type ProjectSettings, type SandboxAction, type SandboxStatus } from "./ipc";
import { confirmChoice, toast } from "./modal";

const MiB = 1024 * 1024;

export class SandboxPanel {
  private status: SandboxStatus | null = null;
  private header = h("div", { class: "sb-header", "data-testid": "sandbox-state" });
  private buttons = h("div", { class: "sb-buttons" });
  private runInput = h("input", { type: "text", class: "sb-run-input", placeholder: "Command to run in the sandbox, e.g. npm test", spellcheck: "false", "aria-label": "command" });
  private output = h("pre", { class: "sb-output", "data-testid": "run-output" });
  private procs = h("div", { class: "sb-procs" });
  private env = h("textarea", { class: "sb-env", rows: 4, spellcheck: "false", placeholder: "NAME=value, one per line" });
  private memory = h("input", { type: "number", min: 64, step: 64, class: "sb-num", title: "MiB" });
  private pids = h("input", { type: "number", min: 16, class: "sb-num" });
  private cpu = h("input", { type: "number", min: 0, class: "sb-num", title: "seconds per process; empty = no limit" });
  private autoStop = h("input", { type: "number", min: 0, class: "sb-num", title: "minutes" });
  private cpus = h("input", { type: "number", min: 1, class: "sb-num", "aria-label": "vCPUs" });
  private disk = h("input", { type: "number", min: 1, class: "sb-num", "aria-label": "disk GiB" });
  private unsandboxed = h("input", { type: "checkbox" });
  private unprotected = h("input", { type: "checkbox", "data-testid": "allow-unprotected" });
  private network = h("select", { class: "sb-network", "aria-label": "network", "data-testid": "sandbox-network" },
    h("option", { value: "isolated" }, "Internet: public addresses only — no LAN, no cloud metadata, nothing of this machine"),
    h("option", { value: "registries" }, "Registries only: package registries and hosts you allow; asks about the rest"),
    h("option", { value: "offline" }, "Offline: no network"),
    h("option", { value: "host", class: "local-only" }, "Host network (unsafe)"));
  private allow = h("textarea", { class: "sb-env", rows: 6, spellcheck: "false", "data-testid": "sandbox-network-allow",
    placeholder: "one per line: registry.npmjs.org, *.example.com, 203.0.113.0/24, host:8443" });
  private allowField = h("label", { class: "sb-field" }, "Reached without asking (Registries only)", this.allow);
  private connections = h("div", { class: "sb-section", "data-testid": "sandbox-connections" });
  private refreshTimer = 0;
  /** The settings form has edits not saved yet (counted, so a save that began before an edit
   *  does not mark it saved). */
  private formDirty = false;
  private refreshSeq = 0;
  private edits = 0;
  /** The list of allowed hosts as last put in the form. */
  private filledAllow: string[] = [];
  private provider = h("select", { class: "sb-provider", "aria-label": "provider" },
    h("option", { value: "local" }, "Local (bubblewrap)"), h("option", { value: "daytona" }, "Daytona"), h("option", { value: "e2b" }, "E2B"));
  private image = h("input", { type: "text", placeholder: "default", spellcheck: "false" });
  private daytonaUrl = h("input", { type: "text", placeholder: "https://app.daytona.io/api (DAYTONA_API_URL)", spellcheck: "false" });
  private daytonaTarget = h("input", { type: "text", placeholder: "account default (DAYTONA_TARGET)", spellcheck: "false" });
  private e2bDomain = h("input", { type: "text", placeholder: "e2b.app (E2B_DOMAIN)", spellcheck: "false" });
  private stopOnClose = h("input", { type: "checkbox" });
  private testResult = h("div", { class: "hint sb-test-result" });
  private history = h("div", { class: "sb-history" });
  private running = false;
  private runButton: HTMLButtonElement | null = null;
  private keysHost = h("div", { class: "sb-keys" });
  private keys = new ApiKeys(this.keysHost);
  private fleet: FleetView;
  private fleetSection: HTMLDetailsElement;
  private historySection: HTMLDetailsElement;
  private rates = new RatesForm(() => void this.loadHistory());
  private storage = new StorageLine(async () => (await api.usageRates()).storage_gb_month_usd);

  constructor(host: HTMLElement, private onStatus: (s: SandboxStatus) => void, private onOutput: (text: string) => void = () => {},
    openProject: (path: string) => Promise<void> = async () => {}) {
    this.fleet = new FleetView(openProject, () => void this.refresh());
    this.fleetSection = h("details", { class: "sb-section", "data-testid": "sandboxes-section" }, h("summary", {}, "Sandboxes (all projects)"), this.fleet.host);
    this.fleetSection.addEventListener("toggle", () => { if (this.fleetSection.open) void this.fleet.load(); });
    this.historySection = h("details", { class: "sb-section" }, h("summary", {}, "History and usage"), this.history, this.storage.host, this.rates.host);
    this.historySection.addEventListener("toggle", () => { if (this.historySection.open) void this.rates.load(); });
    const run = h("button", { class: "primary sb-run-button" }, "Run");
    run.addEventListener("click", () => {
      if (this.running) void api.sandboxCancel();
      else void this.run();
    });
    this.runButton = run;
    this.runInput.addEventListener("keydown", (e) => { if (e.key === "Enter") void this.run(); });
    const save = h("button", {}, "Save settings");
    save.addEventListener("click", () => void this.saveSettings());
    this.unsandboxed.addEventListener("change", () => void this.toggleUnsandboxed());
    this.unprotected.addEventListener("change", () => void this.toggleUnprotected());
    this.network.addEventListener("change", () => void this.changeNetwork());
    const test = h("button", {}, "Test connection");
    test.addEventListener("click", () => void this.testConnection());
    this.provider.addEventListener("change", () => this.showProviderFields());
    const settings = h("details", { class: "sb-section" }, h("summary", {}, "Settings"),
      h("label", { class: "sb-field" }, "Where the project runs", this.provider),
      h("label", { class: "sb-field remote-only" }, "Snapshot / template", this.image),
      h("label", { class: "sb-field daytona-only" }, "Daytona API URL", this.daytonaUrl),
      h("label", { class: "sb-field daytona-only" }, "Daytona target (region)", this.daytonaTarget),
      h("label", { class: "sb-field e2b-only" }, "E2B domain", this.e2bDomain),
      h("label", { class: "sb-field sb-check remote-only" }, this.stopOnClose, "Stop the sandbox when Aura closes"),
      h("div", { class: "sb-run" }, test), this.testResult,
      h("label", { class: "sb-field" }, "Environment variables", this.env),
      h("label", { class: "sb-field" }, "Memory limit (MiB)", this.memory),
      h("label", { class: "sb-field" }, "Max processes + threads", this.pids),
      h("label", { class: "sb-field" }, "CPU seconds per process", this.cpu),
      h("label", { class: "sb-field daytona-only" }, "vCPUs (empty: the provider's default)", this.cpus),
      h("label", { class: "sb-field daytona-only" }, "Disk (GiB; empty: the provider's default)", this.disk),
      h("label", { class: "sb-field" }, "Auto-stop after idle minutes", this.autoStop),
      h("label", { class: "sb-field" }, "Network", this.network),
      this.allowField,
      h("label", { class: "sb-field sb-check" }, this.unsandboxed, "Allow running without isolation where bubblewrap is unavailable"),
      h("label", { class: "sb-field sb-check" }, this.unprotected, "Run commands even where the sandbox cannot protect everything this machine runs by itself (the panel names what)"),
      save);
    // Marked before the fields' own handlers run (capture), so a save they start counts it.
    for (const kind of ["input", "change"]) settings.addEventListener(kind, () => this.edited(), { capture: true });
    host.append(
      this.header, this.buttons,
      h("div", { class: "sb-section" }, h("div", { class: "sb-label" }, "Run"), h("div", { class: "sb-run" }, this.runInput, run), this.output),
      h("div", { class: "sb-section" }, h("div", { class: "sb-label" }, "Processes"), this.procs),
      this.connections,
      settings,
      h("details", { class: "sb-section" }, h("summary", {}, "API keys"), this.keysHost),
      this.fleetSection,
      this.historySection,
    );
  }

  /** Opens the Sandboxes section and lists them. */
  showFleet(): void {
    if (this.fleetSection.open) void this.fleet.load();
    else this.fleetSection.open = true;
    this.fleetSection.scrollIntoView({ block: "nearest" });
  }

  async refresh(): Promise<void> {
    // Only the newest refresh is shown: an older answer arriving late would show stale settings.
    const seq = ++this.refreshSeq;
    try {
      const s = await api.sandboxStatus();
      if (seq === this.refreshSeq) this.show(s);
    } catch (e) {
      this.header.textContent = asIpcError(e).message;
    }
  }

  private show(s: SandboxStatus): void {
    this.status = s;
    this.onStatus(s);
    const state = s.sandbox?.state ?? "none";
    const iso = s.isolation === "bubblewrap" ? "isolated (bubblewrap; project at /workspace)" : s.isolation === "remote" ? "isolated by the provider"
      : s.isolation === "none" ? "NOT ISOLATED" : "isolation unavailable";
    this.header.replaceChildren(...[
      h("div", {}, h("b", {}, s.settings.provider), " sandbox · ", h("span", { class: `sb-state state-${state}`, "data-state": state }, state)),
      s.sandbox && (s.sandbox.memory_bytes !== null || s.sandbox.cpu !== null)
        ? h("div", { class: "hint sb-usage-now" }, [
          s.sandbox.cpu !== null ? `${s.sandbox.cpu} CPU` : "",
          s.sandbox.memory_bytes !== null ? `${(s.sandbox.memory_bytes / MiB).toFixed(0)} MiB memory${s.settings.provider === "local" ? " in use" : ""}` : "",
        ].filter(Boolean).join(" · "))
        : null,
      // A local sandbox's detail repeats the isolation and network lines below.
      s.sandbox?.detail && s.settings.provider !== "local" ? h("div", { class: "hint" }, s.sandbox.detail) : null,
      s.files ? h("div", { class: "hint", "data-testid": "sandbox-files" }, `Project files in the sandbox: ${s.files}`) : null,
      s.note ? h("div", { class: "hint", "data-testid": "sandbox-note" }, s.note) : null,
      h("div", { class: s.isolation === "bubblewrap" || s.isolation === "remote" ? "hint" : "sb-warning" }, iso + (s.isolation_problem ? `: ${s.isolation_problem}` : "")),
      networkLine(s),
      this.projectHosts(s),
      guardLine(s, () => void this.runUnprotected()),
    ].filter((x): x is HTMLDivElement => x !== null));
    const actions: [SandboxAction, string, boolean][] = [
      ["create", "Create", !s.sandbox],
      ["start", "Start", state === "stopped"],
      ["stop", "Stop", state === "started" || state === "paused"],
      ["pause", "Pause", state === "started"],
      ["resume", "Resume", state === "paused"],
      ["delete", "Delete", !!s.sandbox],
    ];
    this.buttons.replaceChildren(...actions.map(([a, label, enabled]) => {
      const b = h("button", { "data-action": a, disabled: !enabled }, label);
      b.addEventListener("click", () => void this.act(a));
      return b;
    }));
    this.renderConnections(s);
    // What the user is typing in the settings is theirs until saved: a refresh never undoes it.
    if (!this.formDirty) this.fillForm(s.settings);
    else this.mergeAllowed(s.settings.network_allow);
    void this.loadProcesses();
    void this.loadHistory();
    void this.keys.refresh();
  }

  /** The sandbox's state and what it connected to, without touching the form (a refresh while
   *  it is on screen). */
  private async refreshLive(): Promise<void> {
    const seq = ++this.refreshSeq;
    try {
      const s = await api.sandboxStatus();
      if (seq !== this.refreshSeq) return;
      this.status = s;
      this.onStatus(s);
      this.renderConnections(s);
    } catch (e) {
      console.warn("sandbox status", e);
    }
  }

  /** Hosts added to the project's list meanwhile ("Always for this project") join the list
   *  being edited, so saving the form does not drop them. */
  private mergeAllowed(list: string[]): void {
    const added = list.filter((x) => !this.filledAllow.includes(x));
    const lines = this.allow.value.split("\n").map((l) => l.trim()).filter((l) => l !== "");
    const missing = added.filter((x) => !lines.includes(x));
    if (missing.length) this.allow.value = [...lines, ...missing].join("\n");
    this.filledAllow = list;
  }

  private fillForm(st: ProjectSettings): void {
    this.filledAllow = st.network_allow;
    this.env.value = formatEnv(st.env);
    this.memory.value = st.limits.memory_bytes ? String(Math.round(st.limits.memory_bytes / MiB)) : "";
    this.pids.value = st.limits.max_pids ? String(st.limits.max_pids) : "";
    this.cpu.value = st.limits.cpu_seconds ? String(st.limits.cpu_seconds) : "";
    this.cpus.value = st.limits.cpus ? String(st.limits.cpus) : "";
    this.disk.value = st.limits.disk_gib ? String(st.limits.disk_gib) : "";
    this.autoStop.value = st.auto_stop_minutes ? String(st.auto_stop_minutes) : "";
    this.unsandboxed.checked = st.allow_unsandboxed;
    this.unprotected.checked = st.allow_unprotected;
    this.network.value = st.network;
    this.allow.value = st.network_allow.join("\n");
    this.provider.value = st.provider;
    this.image.value = st.image;
    this.daytonaUrl.value = st.daytona_api_url;
    this.daytonaTarget.value = st.daytona_target;
    this.e2bDomain.value = st.e2b_domain;
    this.stopOnClose.checked = st.stop_on_close;
    this.showProviderFields();
  }

  private async act(action: SandboxAction): Promise<void> {
    try {
      const s = await api.sandboxAction(action);
      ++this.refreshSeq;
      this.show(s);
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  /** Runs the typed command in the sandbox, streaming its output. */
  async run(command = this.runInput.value.trim()): Promise<void> {
    if (!command || this.running) return;
    this.running = true;
    if (this.runButton) this.runButton.textContent = "Stop";
    this.output.replaceChildren(h("span", { class: "sb-cmd" }, `$ ${command}\n`));
    try {
      const res = await api.sandboxExec(command, (c) => {
        this.output.append(h("span", { class: c.stream }, c.text));
        this.onOutput(c.text);
        this.output.scrollTop = this.output.scrollHeight;
      });
      const how = res.exit_code !== null ? `exit code ${res.exit_code}` : `killed by signal ${res.signal}`;
      this.output.append(h("span", { class: "sb-done", "data-exit": String(res.exit_code) }, `\n[${how} in ${res.duration_ms} ms]\n`));
    } catch (e) {
      this.output.append(h("span", { class: "stderr sb-done" }, `\n[${asIpcError(e).message}]\n`));
    } finally {
      this.running = false;
      if (this.runButton) this.runButton.textContent = "Run";
      await this.refresh();
    }
  }

  private async loadProcesses(): Promise<void> {
    const ps = await api.sandboxProcesses().catch(() => []);
    this.procs.replaceChildren(...(ps.length
      ? ps.map((p) => h("div", { class: "sb-proc" }, `${p.pid}  ${p.command}  ${(p.rss_bytes / MiB).toFixed(1)} MiB`))
      : [h("div", { class: "hint" }, "nothing running")]));
  }

  private async loadHistory(): Promise<void> {
    const [hist, usage] = await Promise.all([api.executionHistory().catch(() => []), api.usageSummary().catch(() => [])]);
    this.history.replaceChildren(
      ...usage.map((u) => h("div", { class: "sb-usage", "data-provider": u.provider }, usageLine(u))),
      ...hist.slice(0, 20).map((x) => h("div", { class: "sb-hist" },
        `${new Date(x.started_at_ms).toLocaleTimeString()}  ${x.command}  → ${x.exit_code ?? "killed"} (${x.duration_ms ?? "?"} ms, ${x.bytes_out} B)`)),
    );
  }

  private readSettings(): ProjectSettings | null {
    if (!this.status) return null;
    const { vars, errors } = parseEnv(this.env.value);
    if (errors.length) {
      toast(errors.join("\n"), "error");
      return null;
    }
    const num = (el: HTMLInputElement) => (el.value.trim() === "" ? null : Math.max(0, Math.floor(Number(el.value))));
    const mem = num(this.memory);
    return {
      ...this.status.settings,
      env: vars,
      limits: { ...this.status.settings.limits, memory_bytes: mem ? mem * MiB : null, max_pids: num(this.pids), cpu_seconds: num(this.cpu) || null,
        cpus: num(this.cpus) || null, disk_gib: num(this.disk) || null },
      auto_stop_minutes: num(this.autoStop) || null,
      allow_unsandboxed: this.unsandboxed.checked,
      allow_unprotected: this.unprotected.checked,
      network: this.network.value as ProjectSettings["network"],
      network_allow: this.allow.value.split("\n").map((l) => l.trim()).filter((l) => l !== ""),
      provider: this.provider.value as ProjectSettings["provider"],
      image: this.image.value.trim(),
      daytona_api_url: this.daytonaUrl.value.trim(),
      daytona_target: this.daytonaTarget.value.trim(),
      e2b_domain: this.e2bDomain.value.trim(),
      stop_on_close: this.stopOnClose.checked,
    };
  }

  private showProviderFields(): void {
    const p = this.provider.value;
    const root = this.provider.closest("details");
    root?.querySelectorAll<HTMLElement>(".remote-only").forEach((el) => { el.hidden = p === "local"; });
    root?.querySelectorAll<HTMLElement>(".local-only").forEach((el) => { el.hidden = p !== "local"; });
    root?.querySelectorAll<HTMLElement>(".daytona-only").forEach((el) => { el.hidden = p !== "daytona"; });
    root?.querySelectorAll<HTMLElement>(".e2b-only").forEach((el) => { el.hidden = p !== "e2b"; });
    this.showAllowField();
  }

  /** The list of allowed hosts matters only to Registries only. */
  private showAllowField(): void {
    this.allowField.hidden = this.network.value !== "registries";
  }

  private async testConnection(): Promise<void> {
    const s = this.readSettings();
    if (!s) return;
    this.testResult.textContent = "Checking…";
    try {
      this.testResult.textContent = await api.sandboxTestConnection(s);
    } catch (e) {
      this.testResult.textContent = asIpcError(e).message;
    }
  }

  private edited(): void {
    this.formDirty = true;
    this.edits += 1;
  }

  private async saveSettings(): Promise<void> {
    const s = this.readSettings();
    if (!s) return;
    const edits = this.edits;
    try {
      await api.saveProjectSettings(s);
      if (this.edits === edits) this.formDirty = false;
      const restarted = s.network !== this.status?.settings.network || s.allow_unsandboxed !== this.status?.settings.allow_unsandboxed
        || s.allow_unprotected !== this.status?.settings.allow_unprotected;
      toast(restarted ? "Sandbox settings saved; the local sandbox was ended and the next command starts one with them."
        : "Sandbox settings saved; they apply to the next sandbox (Delete, then Create).");
      await this.refresh();
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  private async changeNetwork(): Promise<void> {
    if (this.network.value === "host") {
      const ok = await confirmChoice("Use the host network?",
        "Code in the sandbox (install scripts, agent-written code) could then reach every service on this machine's " +
        "loopback — databases, dev servers, the desktop's X11 and D-Bus sockets — and other sandboxes. " +
        "The status bar will say HOST NETWORK.", ["Cancel", "Use host network"]);
      if (ok !== "Use host network") {
        this.network.value = this.status?.settings.network ?? "isolated";
        return;
      }
    }
    this.showAllowField();
    await this.saveSettings();
  }

  /** Hosts the project's .aura/network.json asks for, offered to be added (never applied alone:
   *  code in the sandbox can write that file). */
  private projectHosts(s: SandboxStatus): HTMLDivElement | null {
    if (s.settings.network !== "registries") return null;
    if (s.network_file_problem) return h("div", { class: "sb-warning", "data-testid": "sandbox-network-suggested" }, s.network_file_problem);
    if (!s.network_suggested.length) return null;
    const add = h("button", { "data-testid": "sandbox-network-add" }, "Add to the list");
    add.addEventListener("click", () => void this.addHosts(s.network_suggested));
    return h("div", { class: "sb-warning", "data-testid": "sandbox-network-suggested" },
      `This project's .aura/network.json asks to reach ${s.network_suggested.join(", ")} without asking. `,
      "Code in the sandbox can write that file too: add them only if you trust where they came from. ", add);
  }

  /** Adds `hosts` to the list in the form (with whatever else is being edited there) and saves. */
  private async addHosts(hosts: string[]): Promise<void> {
    const lines = this.allow.value.split("\n").map((l) => l.trim()).filter((l) => l !== "");
    this.allow.value = [...lines, ...hosts.filter((x) => !lines.includes(x))].join("\n");
    const settings = this.readSettings();
    if (!settings) return;
    const edits = this.edits;
    try {
      await api.saveProjectSettings(settings);
      if (this.edits === edits) this.formDirty = false;
      toast(`Added to the project's list: ${hosts.join(", ")}`);
      await this.refresh();
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  /** What a local sandbox's code tried to reach (by name through the Registries-only proxy, by
   *  address as the Internet mode's filter logged it); kept fresh while it is on screen. */
  private renderConnections(s: SandboxStatus): void {
    window.clearTimeout(this.refreshTimer);
    const on = s.settings.provider === "local" && (s.settings.network === "registries" || s.settings.network === "isolated");
    this.connections.hidden = !on;
    if (!on) return;
    const what: Record<string, string> = { allowed: "allowed", allowed_by_user: "allowed by you", denied: "denied", blocked: "blocked" };
    const rows = s.connections.flatMap((c) => [
      h("span", { title: c.reason ?? "", "data-connection": `${c.host}:${c.port} ${c.verdict}` }, c.host.includes(":") ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`),
      h("span", { class: c.verdict === "denied" || c.verdict === "blocked" ? "refused" : "", title: c.reason ?? "" }, what[c.verdict] ?? c.verdict),
      h("span", {}, `×${c.count}`),
    ]);
    this.connections.replaceChildren(
      h("div", { class: "sb-label" }, "Outbound connections"),
      rows.length ? h("div", { class: "sb-connections" }, ...rows)
        : h("div", { class: "hint" }, s.settings.network === "registries"
          ? "None yet: what the sandbox's code reaches through Aura's proxy shows here."
          : "None yet: the addresses the sandbox's code connects to (TCP) and every refused one show here."),
    );
    if (s.sandbox) {
      this.refreshTimer = window.setTimeout(() => { if (this.connections.offsetParent) void this.refreshLive(); }, 2000);
    }
  }

  /** The panel's "Run without these protections": the same as ticking the setting. */
  private async runUnprotected(): Promise<void> {
    this.unprotected.checked = true;
    await this.toggleUnprotected();
  }

  private async toggleUnprotected(): Promise<void> {
    if (this.unprotected.checked) {
      const named = this.status?.sandbox?.guard?.unprotected.join("; ") ?? "";
      const ok = await confirmChoice("Run without these protections?",
        "Code in the sandbox (a postinstall script, an agent, a cloned repository) could then change what is named here, " +
        "and this machine could later run it by itself" + (named ? `: ${named}` : "") + ". Everything else stays protected.",
        ["Cancel", "Run anyway"]);
      if (ok !== "Run anyway") {
        this.unprotected.checked = false;
        return;
      }
    }
    await this.saveSettings();
  }

  private async toggleUnsandboxed(): Promise<void> {
    if (this.unsandboxed.checked) {
      const ok = await confirmChoice("Run without isolation?",
        "Where bubblewrap cannot work, commands and terminals would run directly on this machine with your permissions: " +
        "they could read and change any of your files. The status bar will say NOT ISOLATED.", ["Cancel", "Allow"]);
      if (ok !== "Allow") {
        this.unsandboxed.checked = false;
        return;
      }
    }
    await this.saveSettings();
  }
}

/** What of the project is read-only inside because this machine runs it (after a command ran). */
function guardLine(s: SandboxStatus, runAnyway: () => void): HTMLDivElement | null {
  const g = s.sandbox?.guard;
  if (!g || s.isolation !== "bubblewrap") return null;
  let text = `read-only inside: ${g.protected} path${g.protected === 1 ? "" : "s"} this machine runs by itself (Git settings and hooks, editor and agent config)`;
  if (g.unprotected.length) text += `. NOT PROTECTED: ${g.unprotected.join("; ")}`;
  if (g.appeared.length) {
    text += `. Appeared while the sandbox ran: ${g.appeared.join(", ")} — if you did not make ${g.appeared.length === 1 ? "it" : "them"}, `
      + "remove before you use Git, an editor or an agent there on this machine (it could run what the sandbox put in)";
  }
  const warn = g.unprotected.length > 0 || g.appeared.length > 0 || g.blocked.length > 0;
  const line = h("div", { class: warn ? "sb-warning" : "hint", "data-testid": "sandbox-guard" }, text);
  // What the sandbox tried and was refused, newest first: something in it wanted this machine
  // to run its code.
  if (g.gaps > 0 && !s.settings.allow_unprotected) {
    line.append(h("div", {}, "Commands wait for your choice: ",
      h("button", { "data-testid": "run-unprotected", onclick: runAnyway }, "Run without these protections")));
  }
  const shown = g.blocked.slice(0, 8);
  for (const b of shown) line.append(h("div", { class: "sb-blocked" }, `blocked: ${b}`));
  if (g.blocked.length > shown.length) line.append(h("div", { class: "sb-blocked" }, `…and ${g.blocked.length - shown.length} more`));
  return line;
}

/** The sandbox's network as the panel states it; a problem or the host network is a warning. */
function networkLine(s: SandboxStatus): HTMLDivElement | null {
  if (s.isolation === "remote") return remoteNetworkLine(s);
  if (!s.network || s.isolation !== "bubblewrap") return null;
  const [text, warn] = s.network_problem ? [`network unavailable: ${s.network_problem}`, true]
    : s.network === "isolated" ? [`network: internet via ${s.network_tool ?? "?"}, public addresses only — private networks (LAN, VPN), cloud metadata and this machine are refused`, false]
    : s.network === "registries" ? ["network: registries only — no route out; HTTP(S) through Aura's proxy to the listed hosts, you are asked about any other", false]
    : s.network === "offline" ? ["network: offline", false]
    : ["network: HOST NETWORK — sandboxed code can reach this machine's loopback services", true];
  return h("div", { class: warn ? "sb-warning" : "hint", "data-testid": "sandbox-network-state", "data-network": s.network }, text);
}

/** A remote sandbox's network, as it was asked for when the sandbox was created. */
function remoteNetworkLine(s: SandboxStatus): HTMLDivElement {
  const offline = s.settings.network === "offline";
  const provider = s.settings.provider === "e2b" ? "E2B" : "Daytona";
  const text = offline ? "network: offline — the provider blocks all outbound traffic"
    : s.settings.network === "registries" ? `network: only the listed hosts, enforced by ${provider} (ports are not kept there, and nothing is asked: add a host to the list)`
    : s.settings.provider === "e2b" ? "network: internet, private ranges denied; the sandbox's URLs open only with its access token, which Aura's preview adds"
    : "network: internet (Daytona's own network rules)";
  return h("div", { class: "hint", "data-testid": "sandbox-network-state", "data-network": s.settings.network === "host" ? "isolated" : s.settings.network },
    `${text} (applies to sandboxes created from now on)`);
}
