// The preview pane: the running app in a frame, always through Aura's loopback proxy (a
// different origin from the IDE, with no Tauri IPC), with a port picker and device widths.
import { h } from "./dom";
import { api, asIpcError } from "./ipc";
import { portsInText } from "./ports";

const WIDTHS: [string, string][] = [["", "Responsive"], ["375", "Phone (375)"], ["768", "Tablet (768)"], ["1280", "Desktop (1280)"]];

export class PreviewPane {
  private frame = h("iframe", {
    class: "preview-frame",
    title: "App preview",
    // Scripts and the app's own storage run at the proxy's origin, never the IDE's.
    sandbox: "allow-scripts allow-forms allow-same-origin allow-popups allow-modals allow-downloads",
    referrerpolicy: "no-referrer",
  });
  private port = h("input", { type: "number", min: 1, max: 65535, class: "preview-port", placeholder: "port", "aria-label": "port" });
  private ports = h("datalist", { id: "preview-ports" });
  private width = h("select", { class: "preview-width", "aria-label": "device width" }, ...WIDTHS.map(([v, l]) => h("option", { value: v }, l)));
  private address = h("span", { class: "preview-address", "data-testid": "preview-address" });
  private message = h("div", { class: "placeholder", "data-testid": "preview-message" });
  private base = "";
  private current = 0; // the port shown
  private hinted = 0; // the last dev-server port seen in command or terminal output
  private history: string[] = [];
  private at = -1;
  private expect: string | null = null; // a location we navigated to ourselves

  constructor(host: HTMLElement) {
    this.port.setAttribute("list", "preview-ports");
    const go = h("button", { title: "Show this port" }, "Go");
    go.addEventListener("click", () => void this.show(Number(this.port.value)));
    this.port.addEventListener("keydown", (e) => { if (e.key === "Enter") void this.show(Number(this.port.value)); });
    const detect = h("button", { title: "Find the ports the sandbox listens on" }, "Detect");
    detect.addEventListener("click", () => void this.detect(true));
    const reload = h("button", { title: "Reload" }, "⟳");
    reload.addEventListener("click", () => this.reload());
    const external = h("button", { title: "Open in your browser" }, "↗");
    external.addEventListener("click", () => {
      if (this.current) api.previewOpenExternal(this.current).catch((e) => this.note(asIpcError(e).message));
    });
    const back = h("button", { title: "Back" }, "◀");
    back.addEventListener("click", () => this.go(-1));
    const forward = h("button", { title: "Forward" }, "▶");
    forward.addEventListener("click", () => this.go(1));
    // The frame is another origin: its address comes from the proxy, which sees navigations.
    window.setInterval(() => void this.track(), 800);
    this.width.addEventListener("change", () => {
      this.frame.style.width = this.width.value ? `${this.width.value}px` : "100%";
    });
    this.reset();
    host.replaceChildren(
      h("div", { class: "preview-toolbar" }, h("span", { class: "pane-title" }, "Preview"), back, forward, reload, this.port, this.ports, go, detect, this.width, external),
      this.address,
      h("div", { class: "preview-stage" }, this.frame, this.message),
    );
  }

  /** Nothing shown: a new project is open (the last one's page, port and history belong to a
   *  sandbox that is gone). */
  reset(): void {
    this.current = 0;
    this.hinted = 0;
    this.base = "";
    this.history = [];
    this.at = -1;
    this.expect = null;
    this.frame.src = "about:blank";
    this.frame.hidden = true;
    this.port.value = "";
    this.ports.replaceChildren();
    this.address.textContent = "";
    this.message.hidden = false;
    this.message.replaceChildren(
      h("p", {}, "No app running yet."),
      h("p", { class: "hint" }, "Start the dev server in a sandbox terminal (e.g. npm run dev), then Detect or type its port."));
  }

  /** A dev-server banner seen in command output ("Local: http://localhost:5173/"): offered in
   *  the port list, and shown at once when the pane is open with nothing in it. */
  hint(text: string): void {
    for (const p of portsInText(text)) {
      this.hinted = p;
      if (![...this.ports.children].some((o) => (o as HTMLOptionElement).value === String(p))) {
        this.ports.append(h("option", { value: String(p) }));
      }
      if (!this.current && this.frame.hidden && this.frame.isConnected && this.frame.offsetParent !== null) void this.show(p);
    }
  }

  /** The pane was just opened: with nothing shown, the last dev-server address seen in output
   *  (even before the pane was open) is shown at once. */
  opened(): void {
    if (!this.current && this.hinted) void this.show(this.hinted);
  }

  /** Finds listening ports; with `open`, shows the first one. */
  async detect(open = false): Promise<number[]> {
    const ports = await api.previewPorts().catch((e) => {
      this.note(asIpcError(e).message);
      return [] as number[];
    });
    this.ports.replaceChildren(...ports.map((p) => h("option", { value: String(p) })));
    if (open) {
      if (ports.length) await this.show(ports[0]);
      else this.note("Nothing is listening in the sandbox yet. Start the dev server, or type its port.");
    }
    return ports;
  }

  async show(port: number): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      // A typo in the port field: say so, keep what is shown.
      this.note(`${this.port.value || port} is not a port: choose one between 1 and 65535.`);
      return;
    }
    try {
      const info = await api.previewOpen(port);
      this.port.value = String(port);
      this.base = info.base_url;
      this.current = port;
      this.history = [info.base_url];
      this.at = 0;
      this.address.textContent = `${info.base_url} → sandbox port ${port}`;
      this.frame.hidden = false;
      this.message.hidden = true;
      this.frame.src = info.entry_url;
    } catch (e) {
      // Not the page asked for: show why, not whatever the frame had before.
      this.reset();
      this.note(`Cannot show port ${port}: ${asIpcError(e).message}`);
    }
  }

  reload(): void {
    if (!this.base) return;
    const here = this.history[this.at] ?? this.base;
    this.expect = here;
    this.frame.src = here;
  }

  /** Back (-1) or forward (+1) through the pages the proxy saw the frame load. */
  go(delta: number): void {
    const next = this.at + delta;
    if (next < 0 || next >= this.history.length) return;
    this.at = next;
    this.expect = this.history[next];
    this.frame.src = this.history[next];
  }

  private async track(): Promise<void> {
    if (!this.current || this.frame.hidden) return;
    const loc = await api.previewLocation(this.current).catch(() => null);
    if (!loc || loc === this.history[this.at]) return;
    if (loc === this.expect) {
      this.expect = null;
      return;
    }
    // A navigation inside the page: it becomes the newest entry.
    this.history = [...this.history.slice(0, this.at + 1), loc];
    this.at = this.history.length - 1;
    this.address.textContent = `${loc} → sandbox port ${this.current}`;
  }

  private note(text: string): void {
    this.message.hidden = false;
    this.message.replaceChildren(h("p", {}, text));
  }
}
