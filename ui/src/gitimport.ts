// File: Import from Git… — a URL, a branch, one subfolder, and the new project's folder.
// The clone runs in the core; the dialog shows its steps and any error, then opens the project.
import { open as openFolderDialog } from "@tauri-apps/plugin-dialog";
import { h } from "./dom";
import { api, asIpcError } from "./ipc";
import { openDialog } from "./modal";

/** The folder name a URL suggests: `…/starters.git` → `starters`, a subfolder's last part first. */
export function suggestedName(url: string, subfolder: string): string {
  const from = subfolder.trim().replace(/\/+$/, "") || url.trim().replace(/\/+$/, "").replace(/\.git$/, "");
  return from.split(/[/:]/).filter(Boolean).pop() ?? "";
}

export function showGitImport(openProject: (path: string) => Promise<void>): void {
  const field = (label: string, name: string, placeholder = "") => {
    const input = h("input", { type: "text", class: "modal-input", name, placeholder, spellcheck: "false", "aria-label": label });
    return { input, row: h("label", { class: "run-row" }, label, input) };
  };
  const url = field("Repository URL", "url", "https://github.com/owner/repo.git, git@host:owner/repo.git or /path/to/repo");
  const branch = field("Branch or tag (empty: the default branch)", "branch");
  const sub = field("Only this folder (optional, e.g. starters/react)", "subfolder");
  const parent = field("Create the project in", "parent", "/home/you/projects");
  const name = field("Folder name", "name");
  const choose = h("button", { type: "button" }, "Choose…");
  const steps = h("div", { class: "hint", role: "status" });
  const error = h("div", { class: "run-error", role: "alert", hidden: true });
  const go = h("button", { type: "submit", class: "primary" }, "Import");
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "modal run-settings", "data-testid": "git-import" },
    h("h3", {}, "Import from Git"), url.row, branch.row, sub.row,
    h("div", { class: "git-parent" }, parent.row, choose), name.row, steps, error,
    h("div", { class: "modal-buttons" }, go, cancel));
  const close = openDialog(form, () => {});
  cancel.addEventListener("click", close);
  let named = false;
  name.input.addEventListener("input", () => { named = true; });
  const suggest = () => { if (!named) name.input.value = suggestedName(url.input.value, sub.input.value); };
  url.input.addEventListener("input", suggest);
  sub.input.addEventListener("input", suggest);
  choose.addEventListener("click", async () => {
    const dir = await openFolderDialog({ directory: true, multiple: false, title: "Create the project in" }).catch(() => null);
    if (typeof dir === "string") parent.input.value = dir;
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const folder = parent.input.value.trim().replace(/\/+$/, "");
    if (!folder || !name.input.value.trim()) {
      error.textContent = "Choose where to create the project and its folder name.";
      error.hidden = false;
      return;
    }
    go.disabled = true;
    try {
      const root = await api.importGit({
        url: url.input.value.trim(), branch: branch.input.value.trim() || null, subfolder: sub.input.value.trim() || null,
        dest: `${folder}/${name.input.value.trim()}`,
      }, (step) => { steps.textContent = `${step}…`; });
      close();
      await openProject(root);
    } catch (err) {
      steps.textContent = "";
      error.textContent = asIpcError(err).message;
      error.hidden = false;
    } finally {
      go.disabled = false;
    }
  });
  url.input.focus();
}
