// Source control (the "Git" sidebar view): the branch, a commit message box (Ctrl+Enter), staged
// changes and changes, each file with its letter as VS Code shows them and a button to stage or
// unstage it; a click opens its diff against HEAD. The status is
// read in the core (gix; nothing of the repository runs) and refreshed as files change. The
// tree and the status bar show the same marks.
import { h } from "./dom";
import { api, asIpcError, type ChangeKind, type FileChange, type GitStatus } from "./ipc";
import { confirmChoice, promptText, toast } from "./modal";

const LETTER: Record<ChangeKind, string> = {
  modified: "M", added: "A", deleted: "D", renamed: "R", copied: "C", type_changed: "T", untracked: "U", conflicted: "!",
};

/** The letter a file shows in the tree and the list: the work tree's change first. */
export function letterOf(f: FileChange): string {
  const k = f.unstaged ?? f.staged;
  return k ? LETTER[k] : "";
}

export interface ScmEvents {
  /** The marks changed: path → letter (files only). */
  marks(marks: Map<string, string>): void;
  /** Branch, number of changed files and HEAD's commit; nulls when the project is not a
   *  repository. */
  summary(branch: string | null, changes: number | null, head: string | null): void;
}

export class SourceControl {
  private status: GitStatus | null = null;
  private timer: number | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private message = h("textarea", { class: "modal-input scm-message", rows: 3, placeholder: "Message (Ctrl+Enter to commit)", "aria-label": "commit message", "data-testid": "scm-message" }) as HTMLTextAreaElement;
  private amend = h("input", { type: "checkbox", "data-testid": "scm-amend" }) as HTMLInputElement;
  private commitButton = h("button", { class: "primary", "data-testid": "scm-commit" }, "Commit");
  private history = h("div", { class: "scm-history", "data-testid": "scm-log" });
  private logHead: string | null | undefined = undefined;

  constructor(private host: HTMLElement, private events: ScmEvents) {
    this.commitButton.addEventListener("click", () => void this.commit());
    this.message.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.ctrlKey) {
        e.preventDefault();
        void this.commit();
      }
    });
  }

  /** Commits what is staged (or, with nothing staged, every change, as VS Code offers). */
  async commit(): Promise<void> {
    const s = this.status;
    if (!s) return;
    const message = this.message.value;
    if (!message.trim()) return void toast("Write a commit message first.", "error");
    try {
      if (!s.files.some((f) => f.staged) && !this.amend.checked) {
        const all = s.files.filter((f) => f.unstaged).map((f) => f.path);
        if (!all.length) return void toast("Nothing to commit.", "error");
        await api.gitStage(all);
      }
      const id = await api.gitCommit(message, this.amend.checked);
      this.message.value = "";
      this.amend.checked = false;
      toast(`Committed ${id}.`);
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
    await this.refresh();
  }

  /** Offers the other branches and a new one; git refuses a switch that would lose changes. */
  async pickBranch(): Promise<void> {
    let b;
    try {
      b = await api.gitBranches();
    } catch (e) {
      return void toast(asIpcError(e).message, "error");
    }
    const others = b.local.filter((n) => n !== b.current);
    const made = "New branch…";
    const choice = await confirmChoice("Switch branch", `On ${b.current ?? "a detached HEAD"}.`, [...others.slice(0, 12), made, "Cancel"]);
    if (!choice || choice === "Cancel") return;
    const create = choice === made;
    const name = create ? await promptText("New branch from HEAD") : choice;
    if (!name) return;
    try {
      await api.gitSwitch(name.trim(), create);
      toast(`On ${name.trim()}.`);
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
    await this.refresh();
  }

  /** The last commits of the current branch, read again when HEAD moves. */
  private async loadLog(head: string | null): Promise<void> {
    if (head === this.logHead) return;
    this.logHead = head;
    const commits = head ? await api.gitLog(50).catch(() => []) : [];
    this.history.replaceChildren(...commits.map((c) =>
      h("div", { class: "scm-commit-row", title: `${c.id} · ${c.author} · ${new Date(Number(c.time) * 1000).toLocaleString()}` },
        h("span", { class: "hint" }, c.id), h("span", { class: "scm-name" }, c.summary), h("span", { class: "hint scm-dir" }, c.author))));
    if (!commits.length) this.history.replaceChildren(h("div", { class: "hint" }, "No commits yet."));
  }

  private async act(what: "stage" | "unstage", paths: string[]): Promise<void> {
    try {
      await (what === "stage" ? api.gitStage(paths) : api.gitUnstage(paths));
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
    await this.refresh();
  }

  /** Asks for the status a moment after the last change (a burst of saves is one read). */
  changed(): void {
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.refresh(), 300);
  }

  /** Reads the status now (one read at a time; a change meanwhile reads once more after). */
  async refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          this.status = await api.gitStatus();
          this.render(null);
        } catch (e) {
          this.status = null;
          const err = asIpcError(e);
          this.render(err.kind === "not_found" ? null : err.message);
        }
      } while (this.again);
    })().finally(() => { this.running = null; });
    return this.running;
  }

  private render(problem: string | null): void {
    const s = this.status;
    this.host.dataset.loaded = "true";
    if (!s) {
      this.events.marks(new Map());
      this.events.summary(null, null, null);
      this.host.replaceChildren(h("div", { class: "hint", "data-testid": "scm-none" },
        problem ?? "This project is not a Git repository."));
      return;
    }
    const marks = new Map(s.files.map((f) => [f.path, letterOf(f)]));
    this.events.marks(marks);
    this.events.summary(s.branch ?? (s.head ? `(${s.head})` : "(no commit)"), s.files.length, s.head ?? "");
    const staged = s.files.filter((f) => f.staged);
    const unstaged = s.files.filter((f) => f.unstaged);
    const list = (title: string, files: FileChange[], which: "staged" | "unstaged") => {
      const all = h("button", { class: "scm-act", title: which === "staged" ? "Unstage all" : "Stage all", "data-testid": `scm-${which}-all` }, which === "staged" ? "−" : "+");
      all.addEventListener("click", () => void this.act(which === "staged" ? "unstage" : "stage", files.map((f) => f.path)));
      return h("div", { class: "sb-section", "data-testid": `scm-${which}` },
        h("div", { class: "sb-label scm-label" }, `${title} (${files.length})`, files.length ? all : null),
        ...files.map((f) => this.row(f, which)));
    };
    // The message box is kept across refreshes (what is typed stays).
    const branch = h("button", { class: "scm-branch", "data-testid": "scm-switch", title: "Switch branch or make one" }, `⎇ ${s.branch ?? "detached"} ▾`);
    branch.addEventListener("click", () => void this.pickBranch());
    void this.loadLog(s.head ?? null);
    this.host.replaceChildren(
      h("div", { class: "sb-header", "data-testid": "scm-branch" },
        branch,
        h("div", { class: "hint" }, s.head ? `at ${s.head}` : "no commit yet")),
      h("div", { class: "sb-section scm-commit" }, this.message,
        h("div", { class: "sb-row" }, this.commitButton, h("label", { class: "sb-check" }, this.amend, " Amend the last commit"))),
      ...(staged.length ? [list("Staged changes", staged, "staged")] : []),
      list("Changes", unstaged, "unstaged"),
      ...(s.truncated ? [h("div", { class: "hint" }, `Only the first ${s.files.length} changed files are listed.`)] : []),
      h("details", { class: "sb-section", open: true }, h("summary", { class: "sb-label" }, "History"), this.history),
    );
  }

  private row(f: FileChange, which: "staged" | "unstaged"): HTMLElement {
    const kind = (which === "staged" ? f.staged : f.unstaged)!;
    const letter = LETTER[kind];
    const name = f.path.split("/").pop() ?? f.path;
    const dir = f.path.slice(0, f.path.length - name.length).replace(/\/$/, "");
    const el = h("div", { class: "scm-row", "data-path": f.path, "data-kind": kind, title: f.from ? `${f.from} → ${f.path}` : f.path },
      h("span", { class: "scm-name" }, name),
      h("span", { class: "hint scm-dir" }, dir),
      h("span", { class: `scm-letter git-${letter}` }, letter));
    const act = h("button", { class: "scm-act", title: which === "staged" ? "Unstage" : "Stage", "data-testid": `scm-${which === "staged" ? "unstage" : "stage"}` }, which === "staged" ? "−" : "+");
    act.addEventListener("click", (e) => {
      e.stopPropagation();
      void this.act(which === "staged" ? "unstage" : "stage", [f.path]);
    });
    el.insertBefore(act, el.lastChild);
    el.addEventListener("click", () => void import("./diff").then((d) => d.showDiff(f.path, kind === "deleted")));
    return el;
  }
}
