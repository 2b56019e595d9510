// A file's changes against HEAD, side by side (CodeMirror's merge view): HEAD on the left,
// the file on disk on the right, changed lines and words marked, unchanged stretches folded.
// Read-only for now; it loads with its first use.
import { MergeView } from "@codemirror/merge";
import { EditorState } from "@codemirror/state";
import { oneDark } from "@codemirror/theme-one-dark";
import { EditorView, lineNumbers } from "@codemirror/view";
import { h } from "./dom";
import { api, asIpcError } from "./ipc";
import { languageExtension, languageFor } from "./languages";
import { openDialog, toast } from "./modal";

/** Opens the diff of `path` (project-relative) against HEAD over the window. */
export async function showDiff(path: string, deleted: boolean): Promise<void> {
  let before: string | null;
  let after = "";
  try {
    before = await api.gitHeadText(path);
    if (!deleted) after = (await api.readFile(path)).text;
  } catch (e) {
    toast(asIpcError(e).message, "error");
    return;
  }
  const lang = await languageExtension(languageFor(path, after.split("\n", 1)[0] ?? ""));
  const side = (doc: string) => ({
    doc,
    extensions: [lineNumbers(), oneDark, lang, EditorState.readOnly.of(true), EditorView.editable.of(false)],
  });
  const host = h("div", { class: "diff-body" });
  const close = h("button", { type: "button" }, "Close");
  const box = h("div", { class: "modal diff-box", role: "dialog", "data-testid": "diff-view", "data-path": path },
    h("div", { class: "diff-head" },
      h("span", { class: "diff-title" }, path),
      h("span", { class: "hint" }, before === null ? "new file (not in HEAD)" : deleted ? "deleted" : "HEAD ↔ working tree"),
      close),
    host);
  const done = openDialog(box, () => view.destroy());
  const view = new MergeView({
    a: side(before ?? ""),
    b: side(after),
    parent: host,
    collapseUnchanged: { margin: 3, minSize: 6 },
    gutter: true,
  });
  close.addEventListener("click", () => {
    view.destroy();
    done();
  });
}
