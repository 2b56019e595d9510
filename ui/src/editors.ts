// The editor area as the window sees it from the start. CodeMirror (most of the window's code)
// loads with the first file opened or restored: a project shown without open files never loads
// it. Until then there is nothing open, dirty or active, and the area shows how to open a file.
import type { EditorArea, EditorEvents } from "./editor";
import { h } from "./dom";
import { Lazy } from "./lazy";

/** What the area shows with no file open. */
export function emptyArea(): HTMLElement {
  return h("div", { class: "editor-empty" },
    h("p", {}, "Open a file from the tree, or press Ctrl+P."),
    h("p", { class: "hint" }, "Ctrl+Shift+P: all commands · Ctrl+`: terminal · Ctrl+Shift+F: search"));
}

export class Editors {
  private area: Lazy<EditorArea>;
  private empty = emptyArea();

  constructor(host: HTMLElement, events: EditorEvents) {
    host.append(this.empty);
    this.area = new Lazy(async () => {
      const { EditorArea } = await import("./editor");
      this.empty.remove();
      return new EditorArea(host, events);
    }, "the editor");
  }

  /** Starts loading the editor (a session with tabs to restore will need it). */
  preload(): void {
    void this.area.get();
  }

  async open(path: string, line?: number, col?: number): Promise<void> {
    return (await this.area.get()).open(path, line, col);
  }

  async restore(paths: string[], active: string | null): Promise<void> {
    if (paths.length || this.area.now) await (await this.area.get()).restore(paths, active);
  }

  openPaths(): string[] {
    return this.area.now?.openPaths() ?? [];
  }

  activePath(): string | null {
    return this.area.now?.activePath() ?? null;
  }

  dirtyPaths(): string[] {
    return this.area.now?.dirtyPaths() ?? [];
  }

  async save(): Promise<boolean> {
    return this.area.now ? this.area.now.save() : true;
  }

  async saveAll(): Promise<void> {
    await this.area.now?.saveAll();
  }

  async close(path?: string): Promise<boolean> {
    return this.area.now ? this.area.now.close(path) : true;
  }

  async diskChanged(paths: string[]): Promise<void> {
    await this.area.now?.diskChanged(paths);
  }

  renamed(from: string, to: string): void {
    this.area.now?.renamed(from, to);
  }

  deleted(path: string): void {
    this.area.now?.deleted(path);
  }

  /** Marks the lines changed against HEAD (`base`: HEAD's text, `null` for none). */
  async setBaseline(path: string, base: string | null): Promise<void> {
    await this.area.now?.setBaseline(path, base);
  }

  cycle(delta: number): void {
    this.area.now?.cycle(delta);
  }

  find(replace = false): void {
    this.area.now?.find(replace);
  }
}
