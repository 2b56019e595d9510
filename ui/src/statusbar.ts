// The status bar: project, cursor position, language, and what the app is doing.
import { $, h } from "./dom";
import type { SandboxStatus, SyncStatus } from "./ipc";
import { syncLabel } from "./synclabel";

export class StatusBar {
  private left = h("span", { class: "status-left" });
  private message = h("span", { class: "status-message", "data-testid": "status-message" });
  private cursor = h("span", { class: "status-cursor" });
  private language = h("span", { class: "status-language" });
  private run = h("button", { class: "status-run", "data-testid": "run-status", hidden: true, title: "The Run terminal" });
  private provider = h("span", { class: "status-provider", title: "Where commands run" }, "local");
  private git = h("button", { class: "status-git", "data-testid": "git-status", hidden: true, title: "Source control (click for the Git view)" });
  private sync = h("button", { class: "status-sync", "data-testid": "sync-status", title: "Sync (click for the panel)" }, "sync off");

  constructor(
    onSyncClick: () => void = () => {},
    onRunClick: () => void = () => {},
    onGitClick: () => void = () => {},
  ) {
    this.git.addEventListener("click", onGitClick);
    this.sync.addEventListener("click", onSyncClick);
    this.run.addEventListener("click", onRunClick);
    // Where commands run sits on the left, beside the project (as VS Code's remote indicator):
    // its text changes once the sandbox state is known, and on the right that moved the sync and
    // run buttons from under a pointer about to click them.
    $("#statusbar").append(this.left, this.git, this.provider, this.message, h("span", { class: "spacer" }), this.cursor, this.language, this.run, this.sync);
  }

  /** ▶ Run's state ("running :5173", "install failed (exit 1)"); hidden when idle. */
  setRun(label: string, phase: string): void {
    this.run.textContent = label;
    this.run.hidden = !label;
    this.run.dataset.phase = phase;
    this.run.classList.toggle("warn", phase === "exited" || phase === "failed" || phase === "stuck");
  }

  /** Synced / pending N / offline / conflict. */
  setSync(s: SyncStatus): void {
    const label = syncLabel(s);
    this.sync.textContent = `☁ ${label}`;
    this.sync.dataset.state = s.state;
    this.sync.dataset.pending = String(s.pending);
    // The box has a fixed width (see the style): the whole of it is in the tooltip.
    this.sync.title = s.message ?? `Sync: ${label} (click for the panel)`;
    this.sync.classList.toggle("warn", s.state === "offline" || s.state === "conflict" || s.state === "error");
  }

  /** The branch and how many files changed; hidden when the project is not a repository. */
  setGit(branch: string | null, changes: number | null): void {
    this.git.hidden = branch === null;
    this.git.textContent = branch === null ? "" : `⎇ ${branch}${changes ? ` · ${changes}` : ""}`;
    this.git.dataset.changes = String(changes ?? 0);
  }

  setProject(name: string, root: string): void {
    this.left.textContent = name;
    this.left.title = root;
  }

  setCursor(line: number, col: number): void {
    this.cursor.textContent = line ? `Ln ${line}, Col ${col}` : "";
  }

  setLanguage(lang: string): void {
    this.language.textContent = lang;
  }

  /** Where commands run, and whether they are isolated. */
  private resumeTimer = 0;

  /** A kept remote sandbox is being resumed in the background, with the seconds it takes;
   *  `null` when that is over (the next status shows its state). */
  resuming(provider: string | null): void {
    window.clearInterval(this.resumeTimer);
    this.resumeTimer = 0;
    if (!provider) return;
    const since = Date.now();
    const show = () => {
      this.provider.textContent = `${provider}: resuming… ${Math.floor((Date.now() - since) / 1000)} s`;
      this.provider.dataset.state = "resuming";
    };
    show();
    this.resumeTimer = window.setInterval(show, 1000);
  }

  setSandbox(s: SandboxStatus): void {
    if (this.resumeTimer) return;
    const state = s.sandbox?.state ?? "no sandbox";
    const iso = s.isolation === "remote" ? ""
      : s.isolation === "bubblewrap" ? (s.network_problem ? " · network unavailable"
        : s.network === "host" ? " · HOST NETWORK" : s.network === "offline" ? " · offline" : s.network === "registries" ? " · registries only" : " · internet")
      : s.isolation === "none" ? " · NOT ISOLATED" : " · isolation unavailable";
    this.provider.textContent = `${s.settings.provider}: ${state}${iso}`;
    this.provider.title = s.isolation === "bubblewrap" && s.network === "isolated" && s.network_tool
      ? `own network namespace, out through ${s.network_tool} to public addresses only` : "";
    this.provider.classList.toggle("warn", iso !== "" && iso !== " · internet" && iso !== " · offline" && iso !== " · registries only");
    this.provider.dataset.state = state;
  }

  flash(text: string, ms = 3000): void {
    this.message.textContent = text;
    const now = text;
    setTimeout(() => {
      if (this.message.textContent === now) this.message.textContent = "";
    }, ms);
  }
}
