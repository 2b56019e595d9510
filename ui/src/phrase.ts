// The recovery phrase of an end-to-end encrypted project: shown once when encryption is set up
// (numbered words, and Continue only once the user says it is written down) or changed, and
// asked for when such a project is restored or was made encrypted on another machine. The phrase is never kept in the page after its dialog closes.
import { h } from "./dom";
import { openDialog } from "./modal";

const NEW_PROJECT = "This project is now encrypted end to end: the bucket holds only ciphertext. These 24 words are the only way to restore it on another machine or after losing this one. Write them down and keep them safe — Aura keeps them nowhere, and no one can recover them for you.";

/** Shows `phrase` until the user confirms it is written down; `intro` says what it is for. */
export function showPhrase(phrase: string, intro = NEW_PROJECT): Promise<void> {
  return new Promise((resolve) => {
    const words = phrase.split(" ");
    const list = h("ol", { class: "phrase-words", "data-testid": "recovery-words" }, ...words.map((w) => h("li", {}, w)));
    const tick = h("input", { type: "checkbox", "data-testid": "recovery-written" });
    const go = h("button", { class: "primary", type: "button", disabled: true, "data-testid": "recovery-continue" }, "Continue");
    tick.addEventListener("change", () => { go.disabled = !tick.checked; });
    const box = h("div", { class: "modal phrase-box", role: "dialog", "data-testid": "recovery-phrase" },
      h("h3", {}, "Your recovery phrase"),
      h("p", {}, intro),
      list,
      h("label", { class: "sb-check" }, tick, " I have written the 24 words down"),
      h("div", { class: "modal-buttons" }, go));
    // Neither Escape nor a click beside it dismisses it: the words are shown once.
    let close = () => {};
    const open = () => { close = openDialog(box, open); };
    open();
    go.addEventListener("click", () => {
      list.replaceChildren();
      close();
      resolve();
    });
    tick.focus();
  });
}

/** Asks for an encrypted project's recovery phrase; `why` says what went wrong last time,
 * `action` names the button. */
export function askPhrase(project: string, why?: string, action = "Restore"): Promise<string | null> {
  return new Promise((resolve) => {
    const input = h("textarea", { class: "modal-input phrase-input", rows: 3, spellcheck: "false", "aria-label": "recovery phrase", "data-testid": "recovery-input" });
    const ok = h("button", { class: "primary", type: "submit", "data-testid": "recovery-submit" }, action);
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h("form", { class: "modal", "data-testid": "recovery-ask" },
      h("h3", {}, `Recovery phrase of ${project}`),
      h("p", {}, "This project is encrypted end to end. Type its 24-word recovery phrase (or its password)."),
      why ? h("p", { class: "run-error", role: "alert" }, why) : null,
      input, h("div", { class: "modal-buttons" }, ok, cancel));
    const close = openDialog(form, () => resolve(null));
    cancel.addEventListener("click", () => { close(); resolve(null); });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value;
      input.value = "";
      close();
      resolve(text);
    });
    input.focus();
  });
}
