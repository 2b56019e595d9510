// File: New Project… — name, location, framework and its options, package manager, more
// packages. The core writes the starter (it ships with Aura, so this works offline); the window
// opens it and ▶ Run installs the dependencies in the sandbox and starts the dev server.
import { open as openFolderDialog } from "@tauri-apps/plugin-dialog";
import type { Framework } from "./bindings/Framework";
import type { FrameworkInfo } from "./bindings/FrameworkInfo";
import type { PackageManager } from "./bindings/PackageManager";
import { h } from "./dom";
import { api, asIpcError } from "./ipc";
import { openDialog, toast } from "./modal";

export const NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$/;

/** Splits "zod, @scope/x@1  requests==2.32.3" into package specs. */
export function splitPackages(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

export async function showNewProject(created: (root: string) => Promise<void>): Promise<void> {
  let options;
  try {
    options = await api.newProjectOptions();
  } catch (e) {
    toast(asIpcError(e).message, "error");
    return;
  }
  const input = (name: string, label: string, value = "") => {
    const el = h("input", { type: "text", class: "modal-input", name, spellcheck: "false", "aria-label": label });
    el.value = value;
    return el;
  };
  const name = input("name", "Project name");
  const parent = input("parent", "Location", options.default_parent);
  const choose = h("button", { type: "button" }, "Choose…");
  const framework = h("select", { name: "framework", "aria-label": "Framework" },
    ...options.frameworks.map((f) => h("option", { value: f.framework }, f.title)));
  const check = (name: string, label: string, on: boolean) => {
    const box = h("input", { type: "checkbox", name });
    box.checked = on;
    return { box, row: h("label", { class: "np-check" }, box, ` ${label}`) };
  };
  const ts = check("typescript", "TypeScript", true);
  const eslint = check("eslint", "ESLint", false);
  const prettier = check("prettier", "Prettier", false);
  const tailwind = check("tailwind", "Tailwind CSS", false);
  const pm = h("select", { name: "package_manager", "aria-label": "Package manager" },
    ...options.package_managers.map((p) => h("option", { value: p }, p)));
  const pmRow = h("label", { class: "run-row" }, "Package manager", pm);
  const extra = input("extra", "More packages");
  extra.placeholder = "zod, @tanstack/react-query@5";
  const note = h("div", { class: "hint" });
  const error = h("div", { class: "run-error", role: "alert", hidden: true });
  const create = h("button", { type: "submit", class: "primary" }, "Create");
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "modal run-settings", "data-testid": "new-project" },
    h("h3", {}, "New Project"),
    h("label", { class: "run-row" }, "Project name", name),
    h("div", { class: "git-parent" }, h("label", { class: "run-row" }, "Location", parent), choose),
    h("label", { class: "run-row" }, "Framework", framework),
    h("div", { class: "np-options" }, ts.row, eslint.row, prettier.row, tailwind.row),
    pmRow, h("label", { class: "run-row" }, "More packages (optional)", extra), note, error,
    h("div", { class: "modal-buttons" }, create, cancel));
  const close = openDialog(form, () => {});
  cancel.addEventListener("click", close);
  choose.addEventListener("click", async () => {
    const dir = await openFolderDialog({ directory: true, multiple: false, title: "Location" }).catch(() => null);
    if (typeof dir === "string") parent.value = dir;
  });
  const info = (): FrameworkInfo => options.frameworks.find((f) => f.framework === framework.value)!;
  const shape = () => {
    const f = info();
    ts.row.hidden = !f.typescript_optional;
    eslint.row.hidden = !f.eslint;
    prettier.row.hidden = !f.prettier;
    tailwind.row.hidden = !f.tailwind;
    pmRow.hidden = !f.node;
    const lang = f.typescript_always ? "TypeScript; " : "";
    note.textContent = `${lang}dev server: ${f.dev} on port ${f.port}. Dependencies install in the project's sandbox when it first runs.`;
    if (f.node && !options.package_managers.length) note.textContent = "Node.js (npm) was not found on this machine: install it to run this starter.";
  };
  framework.addEventListener("change", shape);
  shape();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const fail = (m: string) => { error.textContent = m; error.hidden = false; };
    if (!NAME_RULE.test(name.value.trim())) return fail("The name needs 2 to 64 letters, digits, '-' or '_', starting with a letter or digit.");
    if (!parent.value.trim()) return fail("Choose where to create the project.");
    const f = info();
    create.disabled = true;
    try {
      const root = await api.createProject({
        name: name.value.trim(), parent: parent.value.trim(), framework: f.framework as Framework,
        typescript: f.typescript_optional ? ts.box.checked : f.typescript_always,
        eslint: f.eslint && eslint.box.checked, prettier: f.prettier && prettier.box.checked, tailwind: f.tailwind && tailwind.box.checked,
        package_manager: (pm.value || "npm") as PackageManager, extra: splitPackages(extra.value),
      });
      close();
      await created(root);
    } catch (err) {
      fail(asIpcError(err).message);
    } finally {
      create.disabled = false;
    }
  });
  name.focus();
}
