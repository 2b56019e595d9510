// The Updates dialog: settings (check at start, server), "Check now", the offer with its notes,
// and "Install and restart" with a progress bar. The checks and the install are the core's.
import { h } from "./dom";
import { api, asIpcError, type UpdateInfo } from "./ipc";
import { openDialog, toast } from "./modal";
import { offerText, progressText } from "./updatetext";

export class UpdatesDialog {
  /**
   * `window.dirty()` lists unsaved buffers (the install button says it saves them);
   * `window.save()` saves them and the session before the restart, false if something could not be.
   */
  constructor(private window: { dirty: () => string[]; save: () => Promise<boolean> }) {}

  /** The check at start: silent unless there is an update (or the user set a server that fails). */
  async checkAtStart(): Promise<void> {
    const info = await api.updateInfo().catch(() => null);
    if (!info?.settings.check_at_start || !(info.settings.endpoint || info.packaged_endpoint)) return;
    try {
      const offer = await api.updateCheck();
      if (offer.available) toast(`Aura ${offer.version} is available — click to see what's new.`, "info", () => void this.show(false));
    } catch (e) {
      console.warn("update check at start failed:", asIpcError(e).message);
    }
  }

  async show(checkNow: boolean): Promise<void> {
    let info: UpdateInfo;
    try {
      info = await api.updateInfo();
    } catch (e) {
      toast(asIpcError(e).message, "error");
      return;
    }
    const atStart = h("input", { type: "checkbox", class: "upd-at-start" });
    atStart.checked = info.settings.check_at_start;
    const endpoint = h("input", {
      type: "text", class: "modal-input upd-endpoint", spellcheck: "false",
      placeholder: info.packaged_endpoint ?? "https://…/latest.json",
    });
    endpoint.value = info.settings.endpoint;
    const result = h("div", { class: "upd-result", role: "status" });
    const notes = h("pre", { class: "upd-notes", hidden: true });
    const error = h("div", { class: "upd-error", role: "alert", hidden: true });
    const bar = h("progress", { class: "upd-progress", hidden: true });
    const phase = h("span", { class: "upd-phase" });
    const install = h("button", { type: "button", class: "primary upd-install", hidden: true }, "Install and restart");
    const check = h("button", { type: "button", class: "upd-check" }, "Check now");
    const close = h("button", { type: "button", class: "upd-close" }, "Close");
    const installedAs = info.installed_as ? `installed from the .${info.installed_as} package` : "run from a build (not installed from a package)";
    const box = h("div", { class: "modal updates", role: "dialog", "data-testid": "updates" },
      h("h3", {}, "Updates"),
      h("p", { class: "upd-version" }, `Aura ${info.current} · ${installedAs}`),
      h("label", { class: "upd-row" }, atStart, " Check for updates when Aura starts"),
      h("label", { class: "upd-row" }, "Update server", endpoint),
      h("div", { class: "modal-buttons" }, check, close),
      result, notes, h("div", { class: "upd-bar" }, bar, phase), error, h("div", { class: "modal-buttons" }, install));
    const dismiss = openDialog(box, () => {});
    close.addEventListener("click", dismiss);

    const fail = (e: unknown) => {
      error.textContent = asIpcError(e).message;
      error.hidden = false;
    };
    const save = async (): Promise<boolean> => {
      try {
        await api.updateSaveSettings({ check_at_start: atStart.checked, endpoint: endpoint.value });
        return true;
      } catch (e) {
        fail(e);
        return false;
      }
    };
    atStart.addEventListener("change", () => void save());
    let ticket = 0; // only the latest check's outcome is shown
    // `data-checks` counts finished checks (the tests wait on it).
    const settled = () => { box.dataset.checks = String(Number(box.dataset.checks ?? 0) + 1); };
    const runCheck = async () => {
      const mine = ++ticket;
      error.hidden = true;
      install.hidden = true;
      notes.hidden = true;
      result.textContent = "Checking…";
      check.disabled = true;
      if (!(await save())) {
        result.textContent = "";
        check.disabled = false;
        settled();
        return;
      }
      try {
        const offer = await api.updateCheck();
        if (mine !== ticket) return;
        result.textContent = offerText(offer);
        notes.textContent = offer.notes;
        notes.hidden = !offer.available || !offer.notes;
        // A build run in place cannot replace itself: say so now, before anything is saved.
        install.hidden = !offer.available || !info.installed_as;
        if (offer.available && !info.installed_as) {
          error.textContent = "This copy of Aura runs from a build, not from an installed package, so it cannot install updates. Install the .deb or .rpm package to update from here.";
          error.hidden = false;
        }
        const dirty = this.window.dirty().length;
        install.textContent = dirty ? `Save ${dirty} unsaved file${dirty > 1 ? "s" : ""}, install and restart` : "Install and restart";
      } catch (e) {
        if (mine !== ticket) return;
        result.textContent = "";
        fail(e);
      } finally {
        if (mine === ticket) {
          check.disabled = false;
          settled();
        }
      }
    };
    check.addEventListener("click", () => void runCheck());
    install.addEventListener("click", async () => {
      error.hidden = true;
      if (!(await this.window.save())) {
        error.textContent = "Some files could not be saved, so the update waits. Save or close them, then install.";
        error.hidden = false;
        return;
      }
      install.disabled = check.disabled = true;
      bar.hidden = false;
      bar.removeAttribute("value");
      phase.textContent = "Starting the download…";
      try {
        await api.updateInstall((p) => {
          phase.textContent = progressText(p);
          if (p.phase === "downloading" && p.total) {
            bar.max = p.total;
            bar.value = p.got;
          } else if (p.phase !== "downloading") {
            bar.removeAttribute("value");
          }
        });
      } catch (e) {
        bar.hidden = true;
        phase.textContent = "";
        fail(e);
        install.disabled = check.disabled = false;
      }
    });
    if (checkNow) await runCheck();
  }
}
