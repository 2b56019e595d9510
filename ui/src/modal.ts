// In-window dialogs (the webview's prompt/confirm are not reliable across platforms) and toasts.
import { $, h } from "./dom";

/** Shows `content` over the window; Escape or a click outside calls `onCancel`. Returns close. */
export function openDialog(content: HTMLElement, onCancel: () => void): () => void {
  const overlay = $("#overlay");
  overlay.replaceChildren(content);
  overlay.hidden = false;
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.preventDefault();
      close();
      onCancel();
    }
  };
  const onClick = (e: MouseEvent) => {
    if (e.target === overlay) {
      close();
      onCancel();
    }
  };
  function close() {
    overlay.hidden = true;
    overlay.replaceChildren();
    document.removeEventListener("keydown", onKey, true);
    overlay.removeEventListener("mousedown", onClick);
  }
  document.addEventListener("keydown", onKey, true);
  overlay.addEventListener("mousedown", onClick);
  return close;
}

/** Asks for a line of text; resolves to null when cancelled. */
export function promptText(title: string, initial = "", selectUntil?: number): Promise<string | null> {
  return new Promise((resolve) => {
    const input = h("input", { type: "text", class: "modal-input", spellcheck: "false" });
    input.value = initial;
    const form = h("form", { class: "modal", "data-testid": "prompt" }, h("label", {}, title), input);
    const close = openDialog(form, () => resolve(null));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      close();
      resolve(input.value);
    });
    input.focus();
    input.setSelectionRange(0, selectUntil ?? initial.length);
  });
}

/** Asks a yes/no question; the first button is the default. */
export function confirmChoice(title: string, message: string, buttons: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const box = h("div", { class: "modal", role: "dialog", "data-testid": "confirm" },
      h("h3", {}, title), h("p", {}, message));
    const row = h("div", { class: "modal-buttons" });
    let close = () => {};
    buttons.forEach((b, i) => {
      const btn = h("button", { class: i === 0 ? "primary" : "", type: "button" }, b);
      btn.addEventListener("click", () => {
        close();
        resolve(b);
      });
      row.append(btn);
    });
    box.append(row);
    close = openDialog(box, () => resolve(null));
    (row.firstElementChild as HTMLElement | null)?.focus();
  });
}

/** A short message in the corner; errors stay until dismissed. `onClick` makes it actionable. */
export function toast(message: string, kind: "info" | "error" = "info", onClick?: () => void): void {
  let host = document.getElementById("toasts");
  if (!host) {
    host = h("div", { id: "toasts", "aria-live": "polite" });
    document.body.append(host);
  }
  const el = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  el.addEventListener("click", () => {
    el.remove();
    onClick?.();
  });
  host.append(el);
  if (kind === "info") setTimeout(() => el.remove(), 4000);
}
