// Terminal tabs: xterm.js views on PTYs in the Rust core. Output arrives on a Channel as raw
// bytes; each chunk is acknowledged once xterm has parsed it (flow control with the Rust side).
// When xterm falls behind a flood, the Rust side sends frames of the screen instead of the bytes
// and, once the output is quiet, the whole scrollback and screen (core: terminal/relay.rs); they
// are escape sequences like any output, so nothing here tells them apart.
import type { FitAddon } from "@xterm/addon-fit";
import type { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { h } from "./dom";
import { api, asIpcError } from "./ipc";
import { toast } from "./modal";

interface Term {
  id: number;
  title: string;
  xterm: Terminal;
  fit: FitAddon;
  host: HTMLElement;
  tab: HTMLElement;
  exited: boolean;
  cols: number;
  rows: number;
}

const THEME = {
  background: "#1b1e26", foreground: "#d7dae0", cursor: "#f0c674",
  black: "#1b1e26", red: "#e06c75", green: "#98c379", yellow: "#e5c07b", blue: "#61afef",
  magenta: "#c678dd", cyan: "#56b6c2", white: "#d7dae0",
};

/** A terminal opened for a job (▶ Run): its tab title and hooks. */
export interface JobOptions {
  title?: string;
  onOutput?: (text: string) => void;
  onExit?: (code: number | null) => void;
  /** ▶ Run's terminal (in the sandbox): the core types the run into it and follows it. */
  run?: boolean;
}

/** For benchmarks (`tests/bench/app_bench.mjs`): when the page defines it before a terminal
 *  opens, it sees that terminal's output as it arrives, in order, and each chunk once xterm has
 *  parsed it; so the time from a keystroke to its echo being on the terminal can be measured. */
interface OutputProbe {
  received(output: Uint8Array | string): void;
  parsed(count: number): void;
}

const encoder = new TextEncoder();
/** The size of output as the Rust side counts it (UTF-8 bytes), for acknowledging it. */
function byteLength(output: Uint8Array | string): number {
  if (typeof output !== "string") return output.length;
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(output) ? output.length : encoder.encode(output).length;
}

/** xterm.js (a third of the window's code) loads with the first terminal, after the project is
 *  on screen, not with the window. */
let xtermModules: Promise<[typeof import("@xterm/xterm"), typeof import("@xterm/addon-fit")]> | null = null;
function loadXterm() {
  xtermModules ??= Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]);
  return xtermModules;
}

export class TerminalPanel {
  private terms: Term[] = [];
  private active: Term | null = null;
  private tabs = h("div", { class: "term-tabs", role: "tablist" });
  private body = h("div", { class: "term-body" });
  private counter = 0;

  /** `onOutput` sees the decoded output of sandbox terminals (the preview looks for URLs);
   *  `onSandboxTerminal` is told when one opened (it may have started the sandbox). */
  constructor(
    host: HTMLElement,
    private onOutput: (text: string) => void = () => {},
    private onSandboxTerminal: () => void = () => {},
  ) {
    const add = h("button", { class: "term-new", title: "New host terminal (Ctrl+Shift+`)" }, "+ host");
    add.addEventListener("click", () => this.create(false));
    const addSandbox = h("button", { class: "term-new", title: "New terminal inside the project's sandbox" }, "+ sandbox");
    addSandbox.addEventListener("click", () => this.create(true));
    host.append(h("div", { class: "term-header" }, h("span", { class: "pane-title" }, "Terminal"), this.tabs, add, addSandbox), this.body);
    new ResizeObserver(() => this.fitActive()).observe(this.body);
  }

  count(): number {
    return this.terms.length;
  }

  /** Opens a shell on the host (in the project folder) or inside the project's sandbox; returns
   *  its id, or null when it could not open (a toast says why). */
  async create(inSandbox = false, job: JobOptions = {}): Promise<number | null> {
    const [{ Terminal: XTerm }, { FitAddon: Fit }] = await loadXterm();
    const xterm = new XTerm({
      // As many lines as the Rust side keeps (SCROLLBACK in core terminal/mod.rs).
      scrollback: 10000, fontFamily: "'DejaVu Sans Mono', 'Menlo', monospace", fontSize: 13,
      theme: THEME, allowProposedApi: false, cursorBlink: true,
    });
    const fit = new Fit();
    xterm.loadAddon(fit);
    const host = h("div", { class: "term-view" });
    this.body.append(host);
    xterm.open(host);
    // For a test's failure report: what the terminal holds, whatever the renderer shows.
    Object.defineProperty(host, "bufferText", {
      value: () => {
        const buf = xterm.buffer.active;
        return Array.from({ length: buf.length }, (_, i) => buf.getLine(i)?.translateToString(true) ?? "").join("\n").trim();
      },
    });
    this.show(host);
    try { fit.fit(); } catch { /* not laid out yet */ }
    const title = job.title ?? `${inSandbox ? "sandbox" : "bash"} ${++this.counter}`;
    const tab = h("div", { class: `term-tab${inSandbox ? " sandboxed" : ""}`, role: "tab", "data-sandbox": String(inSandbox), "data-title": title }, h("span", {}, title),
      h("button", { class: "tab-close", title: "Kill terminal", "aria-label": "close terminal" }, "×"));
    let term: Term | null = null;
    // Keystrokes typed before the PTY is attached are kept and sent once it is, in order.
    const early: string[] = [];
    xterm.onData((data) => {
      if (!term) early.push(data);
      else if (!term.exited) api.terminalWrite(term.id, data).catch((e) => toast(asIpcError(e).message, "error"));
    });
    const decoder = new TextDecoder();
    // Output can arrive (and be rendered) before `terminalOpen` has answered with the id, as a
    // remote shell's first prompt often does: bytes rendered meanwhile are acknowledged once the
    // id is known. (Using the id before then threw inside xterm's write callback, which stopped
    // xterm from rendering anything more: a terminal frozen at its first prompt.)
    let openId: number | null = null;
    let exitedEarly = false;
    let ackLater = 0;
    const ack = (n: number) => {
      if (openId === null) ackLater += n;
      else api.terminalAck(openId, n).catch(() => {});
    };
    const probe = (window as unknown as { auraOutputProbe?: OutputProbe }).auraOutputProbe;
    try {
      const onData = (output: Uint8Array | string) => {
        probe?.received(output);
        const size = byteLength(output);
        xterm.write(output, () => {
          probe?.parsed(size);
          ack(size);
        });
        if ((inSandbox || job.onOutput) && size < 65536) {
          const text = typeof output === "string" ? output : decoder.decode(output, { stream: true });
          if (inSandbox) this.onOutput(text);
          job.onOutput?.(text);
        }
      };
      const onExit = (code: number | null) => {
        if (term) term.exited = true;
        else exitedEarly = true;
        tab.classList.add("exited");
        xterm.write(`\r\n\x1b[2m[process exited${code === null ? "" : ` with code ${code}`}]\x1b[0m\r\n`);
        job.onExit?.(code);
      };
      const id = job.run
        ? await api.runTerminalOpen(xterm.cols, xterm.rows, onData, onExit)
        : await api.terminalOpen(inSandbox, xterm.cols, xterm.rows, onData, onExit);
      term = { id, title, xterm, fit, host, tab, exited: exitedEarly, cols: xterm.cols, rows: xterm.rows };
      openId = id;
      if (ackLater) ack(ackLater);
      ackLater = 0;
    } catch (e) {
      host.remove();
      xterm.dispose();
      toast(asIpcError(e).message, "error");
      return null;
    }
    const t = term;
    host.dataset.terminalId = String(t.id);
    host.dataset.sandbox = String(inSandbox);
    tab.dataset.terminalId = String(t.id);
    if (early.length) api.terminalWrite(t.id, early.splice(0).join("")).catch((e) => toast(asIpcError(e).message, "error"));
    tab.addEventListener("mousedown", (e) => {
      if ((e.target as HTMLElement).classList.contains("tab-close")) return;
      this.activate(t);
    });
    tab.querySelector(".tab-close")!.addEventListener("click", () => this.close(t));
    this.tabs.append(tab);
    this.terms.push(t);
    this.activate(t);
    if (inSandbox) this.onSandboxTerminal();
    return t.id;
  }

  /** Kills the terminal with this id, if it is still open. */
  closeId(id: number): void {
    const t = this.terms.find((x) => x.id === id);
    if (t) this.close(t);
  }

  /** Shows the terminal with this id. */
  showId(id: number): void {
    const t = this.terms.find((x) => x.id === id);
    if (t) this.activate(t);
  }

  private show(host: HTMLElement): void {
    for (const v of this.body.querySelectorAll<HTMLElement>(".term-view")) v.hidden = v !== host;
  }

  private activate(t: Term): void {
    this.active = t;
    this.show(t.host);
    for (const x of this.terms) x.tab.classList.toggle("active", x === t);
    this.fitActive();
    t.xterm.focus();
  }

  /** Fits the active terminal to its pane and tells the PTY the new size. */
  fitActive(): void {
    const t = this.active;
    if (!t || t.host.hidden || !t.host.offsetWidth) return;
    try { t.fit.fit(); } catch { return; }
    if (t.xterm.cols !== t.cols || t.xterm.rows !== t.rows) {
      t.cols = t.xterm.cols;
      t.rows = t.xterm.rows;
      if (!t.exited) api.terminalResize(t.id, t.cols, t.rows).catch(() => {});
    }
  }

  /** Kills the terminal's process group and removes the tab. */
  close(t = this.active): void {
    if (!t) return;
    api.terminalClose(t.id).catch(() => {});
    t.xterm.dispose();
    t.host.remove();
    t.tab.remove();
    this.terms = this.terms.filter((x) => x !== t);
    if (this.active === t) {
      this.active = null;
      const next = this.terms[this.terms.length - 1];
      if (next) this.activate(next);
    }
  }

  closeAll(): void {
    for (const t of [...this.terms]) this.close(t);
  }

  focus(): void {
    if (this.active) this.active.xterm.focus();
    else this.create();
  }
}
