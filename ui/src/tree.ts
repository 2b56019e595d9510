// The file tree: lists one folder at a time, on expand; refreshes the folders the watcher names.
import { api, asIpcError, type DirEntry, type Listing } from "./ipc";
import { h } from "./dom";
import { basename, dirname, isWithin, join } from "./paths";
import { confirmChoice, promptText, toast } from "./modal";

export interface TreeEvents {
  openFile(path: string): void;
  renamed(from: string, to: string): void;
  deleted(path: string): void;
  changed(): void; // expansion changed (session state)
}

export class FileTree {
  private expanded = new Set<string>();
  private children = new Map<string, DirEntry[]>(); // loaded folders ("" = root)
  private loading = new Map<string, number>(); // newest listing asked for, per folder
  private selected: string | null = null;
  private menu: HTMLElement | null = null;
  /** Source control's letter per changed file, and the folders holding one. */
  private marks = new Map<string, string>();
  private markedDirs = new Set<string>();

  constructor(private root: HTMLElement, private events: TreeEvents) {
    root.addEventListener("keydown", (e) => this.onKey(e));
    root.addEventListener("contextmenu", (e) => {
      if (e.target === root) {
        e.preventDefault();
        this.showMenu(e, "");
      }
    });
    document.addEventListener("mousedown", (e) => {
      if (this.menu && !this.menu.contains(e.target as Node)) this.closeMenu();
    });
  }

  /** Shows the root and re-expands `expanded` (from the saved session) that still exist, from
   *  `listed` (what opening the project listed) and asking for any folder it does not hold. */
  async load(expanded: string[] = [], listed: Listing[] = []): Promise<void> {
    this.expanded = new Set();
    this.children.clear();
    const given = new Map(listed.map((l) => [l.dir, l.entries]));
    const show = async (dir: string) => {
      const entries = given.get(dir);
      if (entries) this.children.set(dir, entries);
      else await this.loadDir(dir);
    };
    await show("");
    for (const dir of [...expanded].sort()) {
      const parent = dirname(dir);
      if (this.children.get(parent)?.some((e) => e.path === dir && e.is_dir)) {
        this.expanded.add(dir);
        await show(dir);
      }
    }
    this.render();
  }

  expandedDirs(): string[] {
    return [...this.expanded];
  }

  /** Re-lists the given folders where they are shown. */
  async refresh(dirs: string[]): Promise<void> {
    const visible = dirs.filter((d) => d === "" || (this.expanded.has(d) && this.children.has(d)));
    if (!visible.length) return;
    await Promise.all(visible.map((d) => this.loadDir(d)));
    // Forget folders that disappeared.
    for (const dir of [...this.expanded]) {
      const parent = dirname(dir);
      const list = this.children.get(parent);
      if (list && !list.some((e) => e.path === dir)) {
        this.expanded.delete(dir);
        this.children.delete(dir);
      }
    }
    this.render();
  }

  async reloadAll(): Promise<void> {
    await this.refresh(["", ...this.expanded]);
  }

  private async loadDir(dir: string): Promise<void> {
    // Listings run concurrently off the main thread and may finish in any order: only the
    // newest listing of a folder is kept, so an older one never overwrites a newer one.
    const ticket = (this.loading.get(dir) ?? 0) + 1;
    this.loading.set(dir, ticket);
    try {
      const entries = await api.listDir(dir);
      if (this.loading.get(dir) === ticket) this.children.set(dir, entries);
    } catch (e) {
      if (this.loading.get(dir) !== ticket) return;
      const err = asIpcError(e);
      if (err.kind === "not_found" && dir !== "") {
        this.expanded.delete(dir);
        this.children.delete(dir);
      } else toast(err.message, "error");
    }
  }

  /** Source control's marks (path → letter); folders holding a changed file are marked too. */
  setMarks(marks: Map<string, string>): void {
    this.marks = marks;
    this.markedDirs = new Set();
    for (const p of marks.keys()) {
      for (let d = dirname(p); d; d = dirname(d)) this.markedDirs.add(d);
    }
    for (const row of this.root.querySelectorAll<HTMLElement>(".tree-row")) this.mark(row, row.dataset.path ?? "");
  }

  private mark(el: HTMLElement, path: string): void {
    const letter = this.marks.get(path) ?? (this.markedDirs.has(path) ? "•" : "");
    if (letter) el.dataset.git = letter;
    else delete el.dataset.git;
    let badge = el.querySelector<HTMLElement>(".git-mark");
    if (!letter) return void badge?.remove();
    if (!badge) el.append((badge = h("span", { class: "git-mark" })));
    badge.textContent = letter;
  }

  private render(): void {
    const rows: HTMLElement[] = [];
    const walk = (dir: string, depth: number) => {
      for (const entry of this.children.get(dir) ?? []) {
        rows.push(this.row(entry, depth));
        if (entry.is_dir && this.expanded.has(entry.path)) walk(entry.path, depth + 1);
      }
    };
    walk("", 0);
    if (!rows.length) rows.push(h("div", { class: "tree-empty" }, "This folder is empty."));
    this.root.replaceChildren(...rows);
  }

  private row(entry: DirEntry, depth: number): HTMLElement {
    const open = entry.is_dir && this.expanded.has(entry.path);
    const icon = entry.is_dir ? (open ? "▾" : "▸") : "";
    const el = h(
      "div",
      {
        class: `tree-row${entry.ignored ? " ignored" : ""}${this.selected === entry.path ? " selected" : ""}`,
        role: "treeitem",
        "data-path": entry.path,
        "data-kind": entry.is_dir ? "dir" : "file",
        "aria-expanded": entry.is_dir ? String(open) : undefined,
        title: entry.path + (entry.kind === "symlink" ? " (symlink)" : ""),
        style: `padding-left:${8 + depth * 14}px`,
      },
      h("span", { class: "twisty" }, icon),
      h("span", { class: `name ${entry.is_dir ? "dir" : "file"}` }, entry.name),
    );
    this.mark(el, entry.path);
    el.addEventListener("click", () => this.activate(entry));
    el.addEventListener("contextmenu", (e) => {
      e.preventDefault();
      e.stopPropagation();
      this.select(entry.path);
      this.showMenu(e, entry.path, entry);
    });
    return el;
  }

  private select(path: string | null): void {
    this.selected = path;
    for (const r of this.root.querySelectorAll(".tree-row.selected")) r.classList.remove("selected");
    if (path) this.root.querySelector(`.tree-row[data-path="${CSS.escape(path)}"]`)?.classList.add("selected");
  }

  private async activate(entry: DirEntry): Promise<void> {
    this.select(entry.path);
    if (!entry.is_dir) {
      this.events.openFile(entry.path);
      return;
    }
    if (this.expanded.has(entry.path)) this.expanded.delete(entry.path);
    else {
      this.expanded.add(entry.path);
      await this.loadDir(entry.path);
    }
    this.render();
    this.events.changed();
  }

  private entry(path: string): DirEntry | undefined {
    return this.children.get(dirname(path))?.find((e) => e.path === path);
  }

  /** The folder new entries go into: the selected folder, or the selected file's folder. */
  private targetDir(): string {
    if (!this.selected) return "";
    const e = this.entry(this.selected);
    return e?.is_dir ? e.path : dirname(this.selected);
  }

  async newFile(dir = this.targetDir()): Promise<void> {
    const name = await promptText(`New file in /${dir}`);
    if (!name) return;
    const path = join(dir, name.trim());
    try {
      await api.createFile(path);
      await this.reveal(path);
      this.events.openFile(path);
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  async newFolder(dir = this.targetDir()): Promise<void> {
    const name = await promptText(`New folder in /${dir}`);
    if (!name) return;
    const path = join(dir, name.trim());
    try {
      await api.createDir(path);
      await this.reveal(path);
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  async rename(path = this.selected): Promise<void> {
    if (!path) return;
    const old = basename(path);
    const dot = old.lastIndexOf(".");
    const name = await promptText(`Rename ${path}`, old, dot > 0 ? dot : old.length);
    if (!name || name === old) return;
    const to = join(dirname(path), name.trim());
    try {
      await api.renamePath(path, to);
      if (this.expanded.delete(path)) this.expanded.add(to);
      this.events.renamed(path, to);
      await this.reveal(to);
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  async remove(path = this.selected): Promise<void> {
    if (!path) return;
    const e = this.entry(path);
    const what = e?.is_dir ? "folder and everything in it" : "file";
    const answer = await confirmChoice(`Delete ${basename(path)}?`, `The ${what} is deleted from disk. This cannot be undone.`, ["Delete", "Cancel"]);
    if (answer !== "Delete") return;
    try {
      await api.deletePath(path);
      for (const d of [...this.expanded]) if (isWithin(d, path)) this.expanded.delete(d);
      this.events.deleted(path);
      this.selected = null;
      await this.refresh([dirname(path)]);
    } catch (err) {
      toast(asIpcError(err).message, "error");
    }
  }

  /** Expands the parents of `path`, refreshes them and selects it. */
  async reveal(path: string): Promise<void> {
    const parts = path.split("/");
    let dir = "";
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part);
      this.expanded.add(dir);
    }
    await Promise.all(["", ...this.expanded].filter((d) => isWithin(path, d)).map((d) => this.loadDir(d)));
    this.selected = path;
    this.render();
    this.events.changed();
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.selected) return;
    if (e.key === "F2") this.rename();
    else if (e.key === "Delete") this.remove();
    else if (e.key === "Enter") {
      const entry = this.entry(this.selected);
      if (entry) this.activate(entry);
    } else return;
    e.preventDefault();
  }

  private showMenu(e: MouseEvent, path: string, entry?: DirEntry): void {
    this.closeMenu();
    const dir = entry ? (entry.is_dir ? entry.path : dirname(entry.path)) : path;
    const items: [string, () => void][] = [
      ["New File…", () => this.newFile(dir)],
      ["New Folder…", () => this.newFolder(dir)],
    ];
    if (entry) {
      items.push(["Rename…", () => this.rename(entry.path)], ["Delete", () => this.remove(entry.path)]);
      items.push(["Copy Relative Path", () => navigator.clipboard?.writeText(entry.path)]);
      items.push(["Why Is This Synced or Not?", () => void this.explainSync(entry.path)]);
    }
    const menu = h("div", { class: "context-menu", role: "menu" });
    for (const [label, run] of items) {
      const item = h("div", { class: "menu-item", role: "menuitem" }, label);
      item.addEventListener("click", () => {
        this.closeMenu();
        run();
      });
      menu.append(item);
    }
    menu.style.left = `${e.clientX}px`;
    menu.style.top = `${e.clientY}px`;
    document.body.append(menu);
    this.menu = menu;
  }

  /** Says which rule, folder, link or limit decides whether sync carries `path`. */
  private async explainSync(path: string): Promise<void> {
    try {
      const why = await api.syncExplain(path);
      await confirmChoice(why.synced ? `${path} is synced` : `${path} is not synced`, why.reason, ["Close"]);
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  private closeMenu(): void {
    this.menu?.remove();
    this.menu = null;
  }
}
