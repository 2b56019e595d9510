// Command palette (Ctrl+Shift+P) and quick open (Ctrl+P): one overlay, two sources.
import { $, h } from "./dom";
import { fuzzyFilter } from "./fuzzy";
import { api } from "./ipc";

export interface Command {
  id: string;
  title: string;
  shortcut?: string;
  run(): void | Promise<void>;
}

export class Palette {
  private commands: Command[] = [];
  private close: (() => void) | null = null;

  constructor(private openFile: (path: string) => void) {}

  register(cmds: Command[]): void {
    this.commands.push(...cmds);
  }

  all(): Command[] {
    return this.commands;
  }

  run(id: string): void {
    this.commands.find((c) => c.id === id)?.run();
  }

  showCommands(): void {
    this.show(">", "Type a command");
  }

  showFiles(): void {
    this.show("", "Go to file (type > for commands)");
  }

  private show(prefix: string, placeholder: string): void {
    this.close?.();
    const input = h("input", { type: "text", class: "palette-input", placeholder, spellcheck: "false", "aria-label": "palette" });
    input.value = prefix;
    const list = h("div", { class: "palette-list", role: "listbox" });
    const box = h("div", { class: "palette", "data-testid": "palette" }, input, list);
    const overlay = $("#overlay");
    overlay.replaceChildren(box);
    overlay.hidden = false;
    let items: { label: string; hint?: string; run: () => void }[] = [];
    let sel = 0;
    let seq = 0;

    const close = () => {
      overlay.hidden = true;
      overlay.replaceChildren();
      overlay.removeEventListener("mousedown", outside);
      this.close = null;
    };
    const outside = (e: MouseEvent) => { if (e.target === overlay) close(); };
    overlay.addEventListener("mousedown", outside);
    this.close = close;

    const render = () => {
      list.replaceChildren(...items.map((it, i) => {
        const row = h("div", { class: `palette-item${i === sel ? " selected" : ""}`, role: "option" },
          h("span", {}, it.label), it.hint ? h("span", { class: "hint" }, it.hint) : null);
        row.addEventListener("mousedown", (e) => {
          e.preventDefault();
          close();
          it.run();
        });
        return row;
      }));
      list.children[sel]?.scrollIntoView({ block: "nearest" });
    };
    const update = async () => {
      const q = input.value;
      const mine = ++seq;
      if (q.startsWith(">")) {
        items = fuzzyFilter(q.slice(1), this.commands, (c) => c.title)
          .map((c) => ({ label: c.title, hint: c.shortcut, run: () => void c.run() }));
      } else {
        const files = await api.findFiles(q, 50).catch(() => [] as string[]);
        if (mine !== seq) return;
        items = files.map((p) => ({ label: p, run: () => this.openFile(p) }));
      }
      sel = 0;
      render();
    };
    input.addEventListener("input", update);
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") sel = Math.min(sel + 1, items.length - 1);
      else if (e.key === "ArrowUp") sel = Math.max(sel - 1, 0);
      else if (e.key === "Escape") return close();
      else if (e.key === "Enter") {
        const it = items[sel];
        close();
        it?.run();
        return;
      } else return;
      e.preventDefault();
      render();
    });
    input.focus();
    update();
  }
}
