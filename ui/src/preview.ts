// The preview pane: the running app in a frame, always through Aura's loopback proxy (a
// different origin from the IDE, with no Tauri IPC), with a port picker and device widths.
import { h } from "./dom";
import { api, asIpcError } from "./ipc";

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
  private message = h("div", { class: "placeholder" },
    h("p", {}, "No app running yet."),
    h("p", { class: "hint" }, "Start the dev server in a sandbox terminal (e.g. npm run dev), then Detect or type its port."));
  private base = "";

  constructor(host: HTMLElement) {
    this.port.setAttribute("list", "preview-ports");
    const go = h("button", { title: "Show this port" }, "Go");
    go.addEventListener("click", () => void this.show(Number(this.port.value)));
    this.port.addEventListener("keydown", (e) => { if (e.key === "Enter") void this.show(Number(this.port.value)); });
    const detect = h("button", { title: "Find the ports the sandbox listens on" }, "Detect");
    detect.addEventListener("click", () => void this.detect(true));
    const reload = h("button", { title: "Reload" }, "⟳");
    reload.addEventListener("click", () => this.reload());
    this.width.addEventListener("change", () => {
      this.frame.style.width = this.width.value ? `${this.width.value}px` : "100%";
    });
    this.frame.hidden = true;
    host.replaceChildren(
      h("div", { class: "preview-toolbar" }, h("span", { class: "pane-title" }, "Preview"), this.port, this.ports, go, detect, reload, this.width),
      this.address,
      h("div", { class: "preview-stage" }, this.frame, this.message),
    );
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
    if (!port) return;
    try {
      const info = await api.previewOpen(port);
      this.port.value = String(port);
      this.base = info.base_url;
      this.address.textContent = `${info.base_url} → sandbox port ${port}`;
      this.frame.hidden = false;
      this.message.hidden = true;
      this.frame.src = info.entry_url;
    } catch (e) {
      this.note(asIpcError(e).message);
    }
  }

  reload(): void {
    if (this.base) this.frame.src = this.frame.src;
  }

  private note(text: string): void {
    this.message.hidden = false;
    this.message.replaceChildren(h("p", {}, text));
  }
}
