// Pane sizes and visibility, driven by CSS variables on the workbench and dragged splitters.
import type { PaneLayout } from "./bindings/PaneLayout";
import { $ } from "./dom";

export const DEFAULT_LAYOUT: PaneLayout = {
  sidebar_width: 260, bottom_height: 260, preview_width: 420,
  sidebar_visible: true, bottom_visible: true, preview_visible: false, sidebar_view: "files",
};

export function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.round(v)));
}

export class Layout {
  private state: PaneLayout = { ...DEFAULT_LAYOUT };

  constructor(private changed: () => void, private resized: () => void) {
    for (const s of document.querySelectorAll<HTMLElement>(".splitter")) this.bindSplitter(s);
    window.addEventListener("resize", () => this.resized());
  }

  get(): PaneLayout {
    return { ...this.state };
  }

  apply(l: Partial<PaneLayout>): void {
    this.state = { ...this.state, ...l };
    const wb = $("#workbench");
    wb.style.setProperty("--sidebar-w", `${this.state.sidebar_width}px`);
    wb.style.setProperty("--bottom-h", `${this.state.bottom_height}px`);
    wb.style.setProperty("--preview-w", `${this.state.preview_width}px`);
    wb.classList.toggle("no-sidebar", !this.state.sidebar_visible);
    wb.classList.toggle("no-bottom", !this.state.bottom_visible);
    wb.classList.toggle("no-preview", !this.state.preview_visible);
    for (const b of document.querySelectorAll<HTMLElement>("#sidebar-tabs button")) {
      b.classList.toggle("active", b.dataset.view === this.state.sidebar_view);
    }
    for (const v of document.querySelectorAll<HTMLElement>(".sidebar-view")) {
      v.hidden = v.id !== `view-${this.state.sidebar_view}`;
    }
    requestAnimationFrame(() => this.resized());
  }

  toggle(pane: "sidebar" | "bottom" | "preview"): void {
    const key = `${pane}_visible` as const;
    this.apply({ [key]: !this.state[key] });
    this.changed();
  }

  show(pane: "sidebar" | "bottom" | "preview", view?: string): void {
    this.apply({ [`${pane}_visible`]: true, ...(view ? { sidebar_view: view } : {}) });
    this.changed();
  }

  private bindSplitter(el: HTMLElement): void {
    const which = el.dataset.split as "sidebar" | "bottom" | "preview";
    el.addEventListener("pointerdown", (down) => {
      down.preventDefault();
      el.setPointerCapture(down.pointerId);
      const start = { x: down.clientX, y: down.clientY, ...this.state };
      const move = (e: PointerEvent) => {
        if (which === "sidebar") this.apply({ sidebar_width: clamp(start.sidebar_width + e.clientX - start.x, 140, 800) });
        else if (which === "preview") this.apply({ preview_width: clamp(start.preview_width - (e.clientX - start.x), 200, 1400) });
        else this.apply({ bottom_height: clamp(start.bottom_height - (e.clientY - start.y), 80, window.innerHeight - 160) });
      };
      const up = () => {
        el.removeEventListener("pointermove", move);
        el.removeEventListener("pointerup", up);
        this.changed();
      };
      el.addEventListener("pointermove", move);
      el.addEventListener("pointerup", up);
    });
  }
}
