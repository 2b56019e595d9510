// API keys editor: values go straight to the OS keychain; the UI only ever learns "set" or not.
import { h } from "./dom";
import { api, asIpcError, type SecretState } from "./ipc";
import { toast } from "./modal";

const HELP: Record<string, string> = {
  DAYTONA_API_KEY: "Daytona (app.daytona.io → API Keys)",
  E2B_API_KEY: "E2B (e2b.dev → dashboard → API Keys)",
  R2_ACCESS_KEY_ID: "Cloudflare R2 / S3 access key id (sync)",
  R2_SECRET_ACCESS_KEY: "Cloudflare R2 / S3 secret access key (sync)",
};

export class ApiKeys {
  private list = h("div", { class: "keys-list" });
  /** Number of the newest status request (older answers are dropped). */
  private asked = 0;

  /** `only`: the keys this editor shows (all when empty). */
  constructor(host: HTMLElement, private only: string[] = []) {
    host.append(h("div", { class: "hint" }, "Stored only in the OS keychain; never shown again after saving."), this.list);
  }

  async refresh(): Promise<void> {
    // Calls run concurrently off the main thread and may finish in any order: only the newest
    // one's answer is shown, so an answer from before a save never hides the save.
    const ticket = ++this.asked;
    try {
      const states = await api.secretsStatus();
      if (ticket === this.asked) this.render(states);
    } catch (e) {
      if (ticket === this.asked) this.list.replaceChildren(h("div", { class: "sb-warning" }, asIpcError(e).message));
    }
  }

  private render(states: SecretState[]): void {
    const shown = this.only.length ? states.filter((s) => this.only.includes(s.env_name)) : states;
    // A refresh can land while a key is being typed (the panels refresh on every status change):
    // what is typed, and the focus, carry over to the new rows instead of being wiped.
    const typed = new Map<string, string>();
    let focused: string | undefined;
    for (const row of this.list.querySelectorAll<HTMLElement>(".key-row")) {
      const old = row.querySelector("input");
      if (!old || !row.dataset.secret) continue;
      if (old.value) typed.set(row.dataset.secret, old.value);
      if (document.activeElement === old) focused = row.dataset.secret;
    }
    let refocus: HTMLInputElement | undefined;
    this.list.replaceChildren(...shown.map((s) => {
      const input = h("input", { type: "password", autocomplete: "off", spellcheck: "false", placeholder: s.set ? "•••••• (set)" : "paste key", "aria-label": s.env_name });
      input.value = typed.get(s.name) ?? "";
      if (focused === s.name) refocus = input;
      const save = h("button", {}, "Save");
      const del = h("button", { disabled: !s.set }, "Remove");
      save.addEventListener("click", async () => {
        const value = input.value.trim();
        input.value = "";
        if (!value) return;
        try {
          await api.secretSet(s.name, value);
          toast(`${s.env_name} saved in the keychain.`);
        } catch (e) {
          toast(asIpcError(e).message, "error");
        }
        await this.refresh();
      });
      del.addEventListener("click", async () => {
        await api.secretDelete(s.name).catch((e) => toast(asIpcError(e).message, "error"));
        await this.refresh();
      });
      return h("div", { class: "key-row", "data-secret": s.name },
        h("div", {}, h("code", {}, s.env_name), " ", h("span", { class: s.set ? "key-set" : "hint" }, s.set ? "set" : "not set")),
        h("div", { class: "hint" }, HELP[s.env_name] ?? ""),
        h("div", { class: "sb-run" }, input, save, del));
    }));
    refocus?.focus();
  }
}
