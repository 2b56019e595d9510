// The sync panel: on/off for this project, state and queue, conflict choice, recent activity,
// the snapshot history (restore any), one file's versions, bucket settings and keys, and
// "Restore from cloud" onto this machine.
import { open as openDialog } from "@tauri-apps/plugin-dialog";
import { ApiKeys } from "./apikeys";
import { h } from "./dom";
import { api, asIpcError, type BucketSettings, type SnapshotInfo, type SyncStatus } from "./ipc";
import { confirmChoice, toast } from "./modal";
import { askPhrase, showPhrase } from "./phrase";
import { syncLabel } from "./synclabel";

function when(ms: number): string {
  return new Date(ms).toLocaleString();
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export class SyncPanel {
  private header = h("div", { class: "sb-header", "data-testid": "sync-state" });
  private enabled = h("input", { type: "checkbox", "data-testid": "sync-enabled" });
  /** End-to-end encryption, chosen before the first pass (on by default). */
  private encrypt = h("input", { type: "checkbox", "data-testid": "sync-encrypt", checked: true });
  private encryptLabel = h("span", {}, " Encrypt end to end (the bucket holds only ciphertext)");
  private encrypted = false;
  private syncing = false;
  private newPhrase = h("button", { "data-testid": "sync-new-phrase", hidden: true, title: "Wrap this project's key with a new recovery phrase; the old phrase stops opening it" }, "New recovery phrase…");
  /** The project key in the bucket, for the phrase dialog's title. */
  private key = "";
  private conflict = h("div", { class: "sync-conflict", "data-testid": "sync-conflict", hidden: true });
  private events = h("div", { class: "sync-events", "data-testid": "sync-events" });
  private skipped = h("div", { class: "sb-section", "data-testid": "sync-skipped", hidden: true });
  private history = h("div", { class: "sync-history", "data-testid": "sync-history" });
  private fileHistory = h("div", { class: "sync-history", "data-testid": "sync-file-history" });
  private endpoint = h("input", { type: "text", spellcheck: "false", placeholder: "https://<account>.r2.cloudflarestorage.com", "aria-label": "endpoint" });
  private bucket = h("input", { type: "text", spellcheck: "false", placeholder: "bucket name", "aria-label": "bucket" });
  private region = h("input", { type: "text", spellcheck: "false", placeholder: "auto", "aria-label": "region" });
  private pathStyle = h("input", { type: "checkbox", "aria-label": "path-style" });
  private concurrency = h("input", { type: "number", min: 1, max: 256, class: "sb-num", "aria-label": "concurrency" });
  private maxMib = h("input", { type: "number", min: 1, class: "sb-num", "aria-label": "largest file (MiB)" });
  private testResult = h("div", { class: "hint", "data-testid": "sync-test-result" });
  private keysHost = h("div", { class: "sb-keys" });
  private keys = new ApiKeys(this.keysHost, ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]);
  private eventsTimer: number | undefined;

  constructor(private host: HTMLElement, private onStatus: (s: SyncStatus) => void, private activeFile: () => string | null,
    private openProject: (root: string) => Promise<void>) {
    this.enabled.addEventListener("change", () => void this.toggle());
    this.encrypt.addEventListener("change", () => void this.convert());
    this.newPhrase.addEventListener("click", () => void this.changePhrase());
    const now = h("button", { "data-testid": "sync-now" }, "Sync now");
    now.addEventListener("click", () => api.syncNow().catch((e) => toast(asIpcError(e).message, "error")));
    const hist = h("button", {}, "Show history");
    hist.addEventListener("click", () => void this.loadHistory());
    const fileHist = h("button", {}, "History of the open file");
    fileHist.addEventListener("click", () => void this.loadFileHistory());
    const gc = h("button", { title: "Delete stored content no snapshot uses (older than an hour)" }, "Collect garbage");
    gc.addEventListener("click", () => void this.gc());
    const save = h("button", { "data-testid": "sync-save-settings" }, "Save settings");
    save.addEventListener("click", () => void this.saveSettings());
    const test = h("button", { "data-testid": "sync-test" }, "Test connection");
    test.addEventListener("click", () => void this.test());
    const restore = h("button", { "data-testid": "sync-restore-cloud" }, "Restore from cloud…");
    restore.addEventListener("click", () => void this.restoreFromCloud());
    // The switch and the buttons first: the status below them changes height as it updates
    // (an offline message, a retry), and must not move what is about to be clicked.
    host.append(
      h("label", { class: "sb-check" }, this.enabled, " Sync this project to the bucket"),
      h("div", { class: "sb-row" }, h("label", { class: "sb-check", "data-testid": "sync-encrypt-row" }, this.encrypt, this.encryptLabel), this.newPhrase),
      h("div", { class: "sb-buttons" }, now, hist, fileHist),
      this.header,
      this.conflict,
      this.skipped,
      h("div", { class: "sb-section" }, h("div", { class: "sb-label" }, "Activity"), this.events),
      h("div", { class: "sb-section" }, h("div", { class: "sb-label" }, "Snapshots"), this.history),
      h("div", { class: "sb-section" }, h("div", { class: "sb-label" }, "File versions"), this.fileHistory),
      h("details", { class: "sb-section", "data-testid": "sync-settings" }, h("summary", {}, "Bucket settings"),
        h("label", { class: "sb-field" }, "Endpoint", this.endpoint),
        h("label", { class: "sb-field" }, "Bucket", this.bucket),
        h("label", { class: "sb-field" }, "Region", this.region),
        h("label", { class: "sb-check" }, this.pathStyle, " Path-style addressing"),
        h("label", { class: "sb-field" }, "Uploads at once", this.concurrency),
        h("label", { class: "sb-field" }, "Largest file synced (MiB)", this.maxMib),
        h("div", { class: "sb-buttons" }, save, test), this.testResult,
        h("div", { class: "sb-label" }, "Access keys"), this.keysHost),
      h("div", { class: "sb-buttons" }, restore, gc),
    );
  }

  /** A status from the core (pushed, or asked for). */
  setStatus(s: SyncStatus): void {
    this.onStatus(s);
    this.key = s.key ?? "";
    let unlock: HTMLElement | null = null;
    if (s.phrase_needed) {
      unlock = h("button", { class: "primary", "data-testid": "sync-enter-phrase" }, "Enter recovery phrase…");
      unlock.addEventListener("click", () => void this.enterPhrase());
    }
    this.header.replaceChildren(
      h("div", { class: `sync-word sync-${s.state}`, "data-state": s.state }, syncLabel(s)),
      ...[s.message, s.key ? `Project key: ${s.key}` : null, s.snapshot ? `At snapshot ${s.snapshot}` : null]
        .filter((t): t is string => !!t).map((t) => h("div", { class: "hint" }, t)),
      ...(unlock ? [unlock] : []),
    );
    this.header.dataset.state = s.state;
    this.header.dataset.pending = String(s.pending);
    if (s.conflict) {
      const mine = h("button", { class: "primary", "data-testid": "sync-keep-mine" }, "Keep mine");
      const theirs = h("button", { "data-testid": "sync-take-theirs" }, "Take theirs");
      mine.addEventListener("click", () => void this.resolve(true));
      theirs.addEventListener("click", () => void this.resolve(false));
      const who = s.conflict.remote_machine || "another machine";
      this.conflict.replaceChildren(
        h("div", {}, `${who} changed this project (snapshot ${s.conflict.remote_snapshot}${s.conflict.remote_at_ms ? `, ${when(Number(s.conflict.remote_at_ms))}` : ""}).`),
        h("div", { class: "hint" }, "Nothing was overwritten. Keep mine: your files become the latest (theirs stay in the history). Take theirs: their files are written here (yours are kept as a snapshot first)."),
        h("div", { class: "sb-buttons" }, mine, theirs));
      this.conflict.hidden = false;
    } else {
      this.conflict.hidden = true;
    }
    // The activity list follows, a little behind.
    clearTimeout(this.eventsTimer);
    this.eventsTimer = window.setTimeout(() => void this.loadEvents(), 300);
  }

  async start(): Promise<void> {
    try {
      this.setStatus(await api.syncSubscribe((s) => this.setStatus(s)));
    } catch (e) {
      console.warn("sync status unavailable", e);
    }
  }

  async refresh(): Promise<void> {
    this.host.dataset.loaded = "false";
    try {
      const v = await api.syncSettings();
      this.enabled.checked = v.enabled;
      this.showEncryption(v.enabled, v.encrypted);
      this.fill(v.bucket);
      this.testResult.textContent = v.problem ?? (v.keys_set ? "" : "Add the access keys below.");
    } catch (e) {
      this.testResult.textContent = asIpcError(e).message;
    }
    await this.keys.refresh();
    await this.loadEvents();
    this.host.dataset.loaded = "true";
  }

  private fill(b: BucketSettings): void {
    this.endpoint.value = b.endpoint;
    this.bucket.value = b.bucket;
    this.region.value = b.region;
    this.pathStyle.checked = b.path_style;
    this.concurrency.value = String(b.concurrency);
    this.maxMib.value = String(b.max_file_mib);
  }

  private read(): BucketSettings {
    return {
      endpoint: this.endpoint.value.trim(),
      bucket: this.bucket.value.trim(),
      region: this.region.value.trim() || "auto",
      path_style: this.pathStyle.checked,
      concurrency: Number(this.concurrency.value) || 16,
      max_file_mib: Number(this.maxMib.value) || 1024,
    };
  }

  private async saveSettings(): Promise<void> {
    try {
      await api.syncSaveSettings(this.read());
      this.testResult.textContent = "Saved.";
    } catch (e) {
      this.testResult.textContent = asIpcError(e).message;
    }
  }

  private async test(): Promise<void> {
    this.testResult.textContent = "Connecting…";
    try {
      this.testResult.textContent = await api.syncTest(this.read());
    } catch (e) {
      this.testResult.textContent = asIpcError(e).message;
    }
  }

  /** Encrypted: said, with a new phrase on offer. Syncing in plaintext: ticking converts. */
  private showEncryption(enabled: boolean, encrypted: boolean): void {
    this.encrypted = encrypted;
    this.syncing = enabled;
    this.encrypt.disabled = encrypted;
    this.newPhrase.hidden = !encrypted;
    if (encrypted) this.encrypt.checked = true;
    else if (enabled) this.encrypt.checked = false;
    this.encryptLabel.textContent = encrypted
      ? " Encrypted end to end: the bucket holds only ciphertext"
      : enabled
        ? " Not encrypted: tick to encrypt it, history included"
        : " Encrypt end to end (the bucket holds only ciphertext)";
  }

  /** Before the first pass: the project key is made and its recovery phrase shown once. */
  private async setUpEncryption(): Promise<boolean> {
    try {
      const phrase = await api.syncEncrypt();
      await showPhrase(phrase);
      this.showEncryption(false, true);
      return true;
    } catch (e) {
      const plain = "Sync without encryption";
      const choice = await confirmChoice("End-to-end encryption", asIpcError(e).message, [plain, "Cancel"]);
      if (choice !== plain) return false;
      this.encrypt.checked = false;
      return true;
    }
  }

  /** Ticked while syncing in plaintext: the project and its history are converted. */
  private async convert(): Promise<void> {
    if (!this.syncing || this.encrypted || !this.encrypt.checked) return;
    const go = "Encrypt";
    const choice = await confirmChoice("Encrypt this project end to end?",
      "Its whole history is stored again, encrypted, under a new name in the bucket, and the plaintext copy is deleted. Other machines syncing it will ask for the recovery phrase shown next.",
      [go, "Cancel"]);
    if (choice !== go) {
      this.encrypt.checked = false;
      return;
    }
    this.encrypt.disabled = true;
    this.encryptLabel.textContent = " Encrypting the history…";
    try {
      const phrase = await api.syncEncrypt();
      await showPhrase(phrase);
      this.showEncryption(true, true);
    } catch (e) {
      toast(asIpcError(e).message, "error");
      this.showEncryption(true, false);
    }
  }

  /** A new recovery phrase for an encrypted project (the old one stops opening it). */
  private async changePhrase(): Promise<void> {
    const go = "New phrase";
    const choice = await confirmChoice("A new recovery phrase?",
      "The current phrase will no longer open this project. Machines that already have its key keep syncing.",
      [go, "Cancel"]);
    if (choice !== go) return;
    try {
      const phrase = await api.syncChangePhrase();
      await showPhrase(phrase, "Your new recovery phrase: the old one no longer opens this project. Write these 24 words down and keep them safe — Aura keeps them nowhere.");
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  /** The project was made encrypted on another machine: its phrase unlocks it here. */
  private async enterPhrase(): Promise<void> {
    let why: string | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const phrase = await askPhrase(this.key || "this project", why, "Unlock");
      if (phrase === null) return;
      try {
        await api.syncEnterPhrase(phrase);
        toast("Unlocked: this project syncs encrypted from here too.");
        await this.refresh();
        return;
      } catch (e) {
        const err = asIpcError(e);
        if (err.kind === "offline") return void toast(err.message, "error");
        why = err.message;
      }
    }
    toast(why ?? "The recovery phrase was not accepted.", "error");
  }

  private async toggle(): Promise<void> {
    const on = this.enabled.checked;
    if (on && this.encrypt.checked && !this.encrypted && !(await this.setUpEncryption())) {
      this.enabled.checked = false;
      return;
    }
    if (!on) {
      const ok = await confirmChoice("Turn sync off?", "This machine stops syncing this project. Nothing in the bucket is deleted.", ["Turn off", "Cancel"]);
      if (ok !== "Turn off") {
        this.enabled.checked = true;
        return;
      }
    }
    try {
      await api.syncEnable(on);
      this.showEncryption(on, this.encrypted);
    } catch (e) {
      this.enabled.checked = !on;
      toast(asIpcError(e).message, "error");
    }
  }

  private async resolve(keepMine: boolean): Promise<void> {
    try {
      await api.syncResolve(keepMine);
      toast(keepMine ? "Kept your version; theirs is in the history." : "Took their version; yours is kept as a snapshot.");
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  private async loadEvents(): Promise<void> {
    const evs = await api.syncEvents().catch(() => []);
    // What sync leaves out, once per path, with the reason (newest first in the list).
    const skipped = new Map<string, string>();
    for (const e of evs) if (e.kind === "skipped" && e.path && !skipped.has(e.path)) skipped.set(e.path, e.message);
    this.skipped.hidden = skipped.size === 0;
    this.skipped.replaceChildren(
      h("div", { class: "sb-label" }, `Not synced (${skipped.size})`),
      ...[...skipped].map(([p, why]) => h("div", { class: "hint", "data-path": p }, h("code", {}, p), " ", why)),
      h("div", { class: "hint" }, "Right-click a file in the tree → Why Is This Synced or Not? for any other path."));
    this.events.replaceChildren(...evs.slice(0, 60).map((e) => h("div", { class: `sync-event ${e.kind}`, "data-kind": e.kind, title: when(Number(e.at_ms)) },
      h("span", { class: "sync-kind" }, e.kind), " ", e.path ? h("code", {}, e.path) : null, e.path ? " " : null, e.message)));
  }

  private snapshotRow(s: SnapshotInfo, restore: () => void): HTMLElement {
    const b = h("button", {}, "Restore");
    b.addEventListener("click", restore);
    return h("div", { class: "sync-snap", "data-snapshot": s.id },
      h("div", {}, h("code", {}, s.id), s.head ? " (latest)" : "", s.side ? " (kept aside)" : ""),
      h("div", { class: "hint" }, `${when(Number(s.created_at_ms))} · ${s.machine || "?"} · ${s.files} file${s.files === 1 ? "" : "s"} · ${size(Number(s.bytes))}`), b);
  }

  async loadHistory(): Promise<void> {
    this.history.textContent = "Loading…";
    try {
      const snaps = await api.syncSnapshots();
      this.history.replaceChildren(...snaps.map((s) => this.snapshotRow(s, () => void this.restoreSnapshot(s))));
      if (!snaps.length) this.history.textContent = "No snapshots yet.";
    } catch (e) {
      this.history.textContent = asIpcError(e).message;
    }
  }

  private async restoreSnapshot(s: SnapshotInfo): Promise<void> {
    const ok = await confirmChoice("Restore this snapshot?", `The project's files become those of ${s.id} (${when(Number(s.created_at_ms))}). Changes not yet synced are kept as a snapshot first; the result syncs as a new snapshot.`, ["Restore", "Cancel"]);
    if (ok !== "Restore") return;
    try {
      await api.syncRestoreSnapshot(s.id);
      toast(`Restored ${s.id}.`);
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  async loadFileHistory(path = this.activeFile()): Promise<void> {
    if (!path) {
      this.fileHistory.textContent = "Open a file first.";
      return;
    }
    this.fileHistory.textContent = "Loading…";
    try {
      const versions = await api.syncFileHistory(path);
      this.fileHistory.replaceChildren(h("div", { class: "hint" }, path), ...versions.map((v, i) => {
        const b = h("button", { disabled: i === 0 }, i === 0 ? "Latest" : "Restore");
        b.addEventListener("click", async () => {
          try {
            await api.syncRestoreFile(path, v.snapshot);
            toast(`Restored ${path} from ${when(Number(v.created_at_ms))}.`);
          } catch (e) {
            toast(asIpcError(e).message, "error");
          }
        });
        return h("div", { class: "sync-snap", "data-version": v.blake3 },
          h("div", { class: "hint" }, `${when(Number(v.created_at_ms))} · ${v.machine || "?"} · ${size(Number(v.size))}`), b);
      }));
      if (!versions.length) this.fileHistory.textContent = `${path} is not in any snapshot yet.`;
    } catch (e) {
      this.fileHistory.textContent = asIpcError(e).message;
    }
  }

  private async gc(): Promise<void> {
    try {
      toast(await api.syncGc());
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }

  /** Pick a project in the bucket, a snapshot (latest by default) and an empty folder. */
  async restoreFromCloud(): Promise<void> {
    let keys: string[];
    try {
      keys = await api.syncCloudProjects();
    } catch (e) {
      toast(asIpcError(e).message, "error");
      return;
    }
    if (!keys.length) {
      toast("The bucket has no projects yet.", "error");
      return;
    }
    const key = keys.length === 1 ? keys[0] : await confirmChoice("Restore from cloud", "Which project?", [...keys.slice(0, 8), "Cancel"]);
    if (!key || key === "Cancel") return;
    let locked = false;
    const snaps = await api.syncCloudSnapshots(key).catch((e) => {
      locked = asIpcError(e).kind === "phrase_needed";
      return [] as SnapshotInfo[];
    });
    const latest = snaps.find((s) => s.head) ?? snaps[0];
    const labels = snaps.filter((s) => !s.side).slice(0, 6).map((s) => `${s.id}${s.head ? " (latest)" : ""}`);
    const pick = labels.length > 1 ? await confirmChoice("Restore from cloud", `Which snapshot of ${key}?`, [...labels, "Cancel"]) : labels[0];
    if (!locked && (!pick || pick === "Cancel")) return;
    const snapshot = pick?.split(" ")[0] || latest?.id || null;
    const dest = await openDialog({ directory: true, multiple: false, title: "Restore into an empty folder" }).catch(() => null);
    if (typeof dest !== "string") return;
    // An encrypted project: its latest snapshot, once its phrase opens its key.
    let why: string | undefined;
    for (let attempt = 0; attempt < (locked ? 5 : 1); attempt++) {
      const phrase = locked ? await askPhrase(key, why) : null;
      if (locked && phrase === null) return;
      try {
        const root = await api.syncRestoreProject(key, locked ? null : snapshot, dest, phrase);
        toast(`Restored ${key} into ${root}.`);
        await this.openProject(root);
        return;
      } catch (e) {
        const err = asIpcError(e);
        if (!locked || err.kind === "offline") return void toast(err.message, "error");
        why = err.message;
      }
    }
    toast(why ?? "The recovery phrase was not accepted.", "error");
  }
}
