// Editor tabs over one CodeMirror view. Each tab keeps its own EditorState (undo history, cursor);
// saves carry the hash the file was read with, so a file changed on disk is never overwritten
// silently.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, foldGutter, foldKeymap, indentOnInput, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
import { highlightSelectionMatches, openSearchPanel, replaceNext, searchKeymap } from "@codemirror/search";
import { Compartment, EditorSelection, EditorState, Text } from "@codemirror/state";
import { oneDark } from "@codemirror/theme-one-dark";
import {
  crosshairCursor, drawSelection, dropCursor, EditorView, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, keymap, lineNumbers, rectangularSelection,
} from "@codemirror/view";
import { h } from "./dom";
import { emptyArea } from "./editors";
import { api, asIpcError, type FileVersion } from "./ipc";
import { languageExtension, languageFor, type LanguageId } from "./languages";
import { basename, rebase, isWithin } from "./paths";
import { confirmChoice, toast } from "./modal";

interface Tab {
  path: string;
  state: EditorState | null; // null when the file cannot be edited (see `error`)
  saved: Text | null; // document as last read or written
  version: FileVersion | null;
  readonly: boolean;
  language: LanguageId;
  error?: string;
  diskChanged?: boolean;
  missing?: boolean;
  el: HTMLElement; // the tab button
}

export interface EditorEvents {
  cursor(line: number, col: number): void;
  language(lang: string): void;
  tabsChanged(): void;
  status(msg: string): void;
  /** A file was loaded into a new tab. */
  opened?(path: string): void;
}

const language = new Compartment();
const readOnly = new Compartment();
const gitGutter = new Compartment();

export class EditorArea {
  private tabs = new Map<string, Tab>();
  /** The save in flight per file (see `save`). */
  private saving = new Map<string, Promise<boolean>>();
  private order: string[] = [];
  private active: string | null = null;
  private view: EditorView;
  private tabBar = h("div", { class: "tab-bar", role: "tablist" });
  private banner = h("div", { class: "editor-banner", hidden: true });
  private message = h("div", { class: "editor-message", hidden: true });
  private empty = emptyArea();

  constructor(host: HTMLElement, private events: EditorEvents) {
    const viewHost = h("div", { class: "editor-host" });
    host.append(this.tabBar, this.banner, this.message, this.empty, viewHost);
    this.view = new EditorView({
      parent: viewHost,
      dispatch: (tr, view) => {
        view.update([tr]);
        if (tr.docChanged || tr.selection) this.afterUpdate(tr.docChanged);
      },
    });
    this.showActive();
  }

  private extensions(lang: LanguageId, ro: boolean) {
    return [
      lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), history(), foldGutter(),
      drawSelection(), dropCursor(), EditorState.allowMultipleSelections.of(true), indentOnInput(),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }), bracketMatching(), closeBrackets(),
      autocompletion(), rectangularSelection(), crosshairCursor(), highlightActiveLine(),
      highlightSelectionMatches(), oneDark,
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap,
        ...foldKeymap, ...completionKeymap, indentWithTab]),
      language.of([]),
      gitGutter.of([]),
      readOnly.of(EditorState.readOnly.of(ro)),
      EditorView.contentAttributes.of({ "data-language": lang }),
    ];
  }

  openPaths(): string[] {
    return [...this.order];
  }

  activePath(): string | null {
    return this.active;
  }

  isDirty(path: string): boolean {
    const t = this.tabs.get(path);
    if (!t?.state || !t.saved) return false;
    const doc = t.path === this.active ? this.view.state.doc : t.state.doc;
    return !doc.eq(t.saved);
  }

  dirtyPaths(): string[] {
    return this.order.filter((p) => this.isDirty(p));
  }

  /** Opens (or focuses) a file; optionally puts the cursor at a 1-based line and column. */
  async open(path: string, line?: number, col?: number): Promise<void> {
    if (!this.tabs.has(path)) {
      const tab = await this.load(path);
      this.tabs.set(path, tab);
      this.order.push(path);
      this.tabBar.append(tab.el);
      this.events.tabsChanged();
    }
    this.activate(path);
    if (line !== undefined) this.goTo(line, col ?? 1);
  }

  private async load(path: string): Promise<Tab> {
    const el = h("div", { class: "tab", role: "tab", "data-path": path, title: path },
      h("span", { class: "tab-name" }, basename(path)),
      h("span", { class: "tab-dirty", "aria-label": "unsaved changes" }, "●"),
      h("button", { class: "tab-close", title: "Close (Ctrl+W)", "aria-label": "close" }, "×"));
    el.addEventListener("mousedown", (e) => {
      if ((e.target as HTMLElement).classList.contains("tab-close")) return;
      if (e.button === 1) this.close(path);
      else this.activate(path);
    });
    el.querySelector(".tab-close")!.addEventListener("click", () => this.close(path));
    const tab: Tab = { path, state: null, saved: null, version: null, readonly: true, language: "plain", el };
    try {
      const file = await api.readFile(path);
      tab.language = languageFor(path, file.text.slice(0, 200).split("\n")[0]);
      tab.state = EditorState.create({ doc: file.text, extensions: this.extensions(tab.language, file.readonly) });
      tab.saved = tab.state.doc;
      tab.version = file.version;
      tab.readonly = file.readonly;
      this.loadLanguage(tab);
      queueMicrotask(() => this.events.opened?.(path));
    } catch (e) {
      tab.error = asIpcError(e).message;
    }
    return tab;
  }

  /** Marks the lines of `path` changed against `base` (its HEAD text; `null`: no marks — not
   *  in HEAD, or not a repository). */
  async setBaseline(path: string, base: string | null): Promise<void> {
    const tab = this.tabs.get(path);
    if (!tab?.state) return;
    const ext = base === null ? [] : (await import("./gitgutter")).changeGutter(Text.of(base.split("\n")));
    if (!tab.state) return;
    const effects = gitGutter.reconfigure(ext);
    if (tab.path === this.active) this.view.dispatch({ effects });
    else tab.state = tab.state.update({ effects }).state;
  }

  private async loadLanguage(tab: Tab): Promise<void> {
    const ext = await languageExtension(tab.language);
    if (!tab.state) return;
    const effects = language.reconfigure(ext);
    if (tab.path === this.active) this.view.dispatch({ effects });
    else tab.state = tab.state.update({ effects }).state;
  }

  activate(path: string): void {
    const next = this.tabs.get(path);
    if (!next) return;
    this.stash();
    this.active = path;
    if (next.state) this.view.setState(next.state);
    this.showActive();
    if (next.state) this.view.focus();
    this.events.tabsChanged();
  }

  /** Keeps the live view state in the active tab before switching. */
  private stash(): void {
    const cur = this.active && this.tabs.get(this.active);
    if (cur && cur.state) cur.state = this.view.state;
  }

  private showActive(): void {
    const tab = this.active ? this.tabs.get(this.active) : undefined;
    for (const t of this.tabs.values()) t.el.classList.toggle("active", t === tab);
    this.empty.hidden = !!tab;
    this.view.dom.hidden = !tab?.state;
    this.message.hidden = !tab?.error;
    this.message.textContent = tab?.error ?? "";
    this.renderBanner();
    this.events.language(tab?.state ? tab.language + (tab.readonly ? " (read-only)" : "") : "");
    if (!tab?.state) this.events.cursor(0, 0);
    else this.afterUpdate(false);
  }

  private afterUpdate(docChanged: boolean): void {
    const tab = this.active ? this.tabs.get(this.active) : undefined;
    if (!tab) return;
    const head = this.view.state.selection.main.head;
    const line = this.view.state.doc.lineAt(head);
    this.events.cursor(line.number, head - line.from + 1);
    if (docChanged) tab.el.classList.toggle("dirty", this.isDirty(tab.path));
  }

  private renderBanner(): void {
    const tab = this.active ? this.tabs.get(this.active) : undefined;
    if (!tab || !(tab.diskChanged || tab.missing)) {
      this.banner.hidden = true;
      return;
    }
    const text = tab.missing
      ? "This file was deleted on disk. Save to write it again, or close the tab."
      : "This file changed on disk and you have unsaved changes.";
    const buttons = tab.missing ? [] : [
      h("button", { onclick: () => this.reload(tab.path) }, "Reload from disk"),
      h("button", { onclick: () => this.save(tab.path, true) }, "Keep mine (overwrite)"),
    ];
    this.banner.replaceChildren(h("span", {}, text), ...buttons);
    this.banner.hidden = false;
  }

  goTo(line: number, col: number): void {
    const doc = this.view.state.doc;
    const l = doc.line(Math.min(Math.max(1, line), doc.lines));
    const pos = Math.min(l.from + Math.max(0, col - 1), l.to);
    this.view.dispatch({ selection: EditorSelection.cursor(pos), scrollIntoView: true });
    this.view.focus();
  }

  /** Saves the active (or given) tab. `force` overwrites a version changed on disk. Saves of
   * one file run one after the other, each with the version the previous one wrote (saves run
   * off the main thread and would otherwise race: an older text could land last). */
  async save(path = this.active, force = false): Promise<boolean> {
    if (!path) return false;
    const before = this.saving.get(path) ?? Promise.resolve(true);
    const next = before.catch(() => false).then(() => this.saveNow(path, force));
    this.saving.set(path, next);
    try {
      return await next;
    } finally {
      if (this.saving.get(path) === next) this.saving.delete(path);
    }
  }

  private async saveNow(path: string, force: boolean): Promise<boolean> {
    const tab = this.tabs.get(path);
    if (!tab || !tab.state) return false;
    if (tab.readonly) {
      toast(`${tab.path} is read-only.`, "error");
      return false;
    }
    this.stash();
    const doc = tab.path === this.active ? this.view.state.doc : tab.state.doc;
    const expected = force || tab.missing ? null : tab.version?.hash ?? null;
    try {
      tab.version = await api.writeFile(tab.path, doc.toString(), expected);
      tab.saved = doc;
      tab.diskChanged = tab.missing = false;
      tab.el.classList.toggle("dirty", this.isDirty(tab.path));
      this.renderBanner();
      this.events.status(`Saved ${tab.path}`);
      return true;
    } catch (e) {
      const err = asIpcError(e);
      if (err.kind !== "conflict") {
        toast(err.message, "error");
        return false;
      }
      const choice = await confirmChoice("File changed on disk", err.message, ["Overwrite", "Reload", "Cancel"]);
      if (choice === "Overwrite") return this.saveNow(tab.path, true);
      if (choice === "Reload") await this.reload(tab.path);
      return false;
    }
  }

  async saveAll(): Promise<void> {
    for (const p of this.dirtyPaths()) await this.save(p);
  }

  /** Replaces the buffer with the disk content. */
  async reload(path: string): Promise<void> {
    const tab = this.tabs.get(path);
    if (!tab) return;
    try {
      const file = await api.readFile(path);
      this.replaceDoc(tab, file.text);
      tab.version = file.version;
      tab.diskChanged = tab.missing = false;
      this.renderBanner();
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  private replaceDoc(tab: Tab, text: string): void {
    if (!tab.state) return;
    const isActive = tab.path === this.active;
    const state = isActive ? this.view.state : tab.state;
    const head = Math.min(state.selection.main.head, text.length);
    const tr = state.update({ changes: { from: 0, to: state.doc.length, insert: text }, selection: { anchor: head } });
    if (isActive) this.view.dispatch(tr);
    else tab.state = tr.state;
    tab.saved = tr.state.doc;
    tab.el.classList.toggle("dirty", false);
  }

  /** Files changed on disk: reload clean tabs, warn on dirty ones, flag deleted ones. */
  async diskChanged(paths: string[]): Promise<void> {
    for (const path of paths) {
      const tab = this.tabs.get(path);
      if (!tab || !tab.state || !tab.version) continue;
      let file;
      try {
        file = await api.readFile(path);
      } catch (e) {
        if (asIpcError(e).kind === "not_found") {
          tab.missing = true;
          tab.saved = null; // nothing on disk matches the buffer any more
          tab.el.classList.add("dirty");
        }
        this.renderBanner();
        continue;
      }
      tab.missing = false;
      if (file.version.hash === tab.version.hash) continue; // our own save, or a touch
      if (this.isDirty(path)) tab.diskChanged = true;
      else {
        this.replaceDoc(tab, file.text);
        tab.version = file.version;
        this.events.status(`Reloaded ${path} (changed on disk)`);
      }
      this.renderBanner();
    }
  }

  /** Closes a tab, asking first when it has unsaved changes. */
  async close(path = this.active): Promise<boolean> {
    const tab = path ? this.tabs.get(path) : undefined;
    if (!tab) return true;
    if (this.isDirty(tab.path)) {
      const choice = await confirmChoice(`Save changes to ${basename(tab.path)}?`,
        "Your changes are lost if you don't save them.", ["Save", "Don't Save", "Cancel"]);
      if (choice === null || choice === "Cancel") return false;
      if (choice === "Save" && !(await this.save(tab.path))) return false;
    }
    const idx = this.order.indexOf(tab.path);
    this.order.splice(idx, 1);
    this.tabs.delete(tab.path);
    tab.el.remove();
    if (this.active === tab.path) {
      this.active = null;
      const next = this.order[Math.min(idx, this.order.length - 1)];
      if (next) this.activate(next);
      else this.showActive();
    }
    this.events.tabsChanged();
    return true;
  }

  cycle(delta: number): void {
    if (!this.order.length || !this.active) return;
    const i = (this.order.indexOf(this.active) + delta + this.order.length) % this.order.length;
    this.activate(this.order[i]);
  }

  /** A file or folder was renamed from the tree: follow it. */
  renamed(from: string, to: string): void {
    this.stash();
    const moved = [...this.tabs.values()].filter((t) => isWithin(t.path, from));
    for (const tab of moved) {
      this.tabs.delete(tab.path);
      const next = rebase(tab.path, from, to);
      this.order[this.order.indexOf(tab.path)] = next;
      if (this.active === tab.path) this.active = next;
      tab.path = next;
      tab.el.dataset.path = next;
      tab.el.title = next;
      tab.el.querySelector(".tab-name")!.textContent = basename(next);
      this.tabs.set(next, tab);
    }
    this.events.tabsChanged();
  }

  /** Deleted from the tree (the user confirmed): close clean tabs, keep dirty ones as unsaved. */
  deleted(path: string): void {
    for (const tab of [...this.tabs.values()]) {
      if (!isWithin(tab.path, path)) continue;
      if (this.isDirty(tab.path)) {
        tab.missing = true;
        tab.saved = null;
      } else this.close(tab.path);
    }
    this.renderBanner();
  }

  /** Opens tabs from a saved session, skipping files that are gone. */
  async restore(paths: string[], active: string | null): Promise<void> {
    for (const p of paths) {
      try {
        await this.open(p);
      } catch {
        /* a missing file is simply not restored */
      }
    }
    for (const t of [...this.tabs.values()]) if (t.error && /does not exist/.test(t.error)) await this.close(t.path);
    if (active && this.tabs.has(active)) this.activate(active);
  }

  focus(): void {
    this.view.focus();
  }

  /** Opens the find (or, with `replace`, find-and-replace) panel of the active file. */
  find(replace = false): void {
    if (this.active && this.tabs.get(this.active)?.state) {
      if (replace) openSearchPanel(this.view) || replaceNext(this.view);
      else openSearchPanel(this.view);
    }
  }
}
