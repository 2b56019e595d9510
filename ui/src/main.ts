// Aura's window: wires the panes to the Rust core and restores each project's session.
import "./style.css";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { open as openDialog } from "@tauri-apps/plugin-dialog";
import { AgentPanel } from "./agent";
import { NetAsks } from "./netasks";
import { $, h } from "./dom";
import { Editors } from "./editors";
import { api, asIpcError, type FsChange, type ProjectInfo, type SyncStatus } from "./ipc";
import { matches } from "./keys";
import { Layout } from "./layout";
import { Lazy } from "./lazy";
import { toast } from "./modal";
import { Palette, type Command } from "./palette";
import { portsInText } from "./ports";
import { RunController } from "./run";
import { runLabel } from "./runtext";
import { SourceControl } from "./scm";
import { SearchPanel } from "./search";
import { StatusBar } from "./statusbar";
import { TerminalPanel } from "./terminal";
import { FileTree } from "./tree";
import { UpdatesDialog } from "./updates";

const status = new StatusBar(() => showSync(), () => showRunTerminal(), () => showScm());
let project: ProjectInfo | null = null;
let restoring = false;

const layout = new Layout(() => scheduleSave(), () => {
  terminals.fitActive();
  loadShownPanes();
});
const editor = new Editors($("#editor-area"), {
  cursor: (l, c) => status.setCursor(l, c),
  language: (lang) => status.setLanguage(lang),
  tabsChanged: () => scheduleSave(),
  status: (m) => status.flash(m),
  opened: (p) => void baseline([p]),
});
/** HEAD's text of open files, for the editor's gutter of changed lines. */
async function baseline(paths: string[]): Promise<void> {
  for (const p of paths) {
    const base = await api.gitHeadText(p).catch(() => null);
    await editor.setBaseline(p, base);
  }
}
let scmHead: string | null = null;
const tree = new FileTree($("#tree"), {
  openFile: (p) => void editor.open(p),
  renamed: (from, to) => editor.renamed(from, to),
  deleted: (p) => editor.deleted(p),
  changed: () => scheduleSave(),
});
const terminals = new TerminalPanel($("#bottom-panel"), (text) => previewHint(text), () => void refreshSandbox());
const scm = new SourceControl($("#view-scm"), {
  marks: (m) => tree.setMarks(m),
  summary: (branch, changes, head) => {
    status.setGit(branch, changes);
    // A commit, a checkout or a new repository: every open file's gutter is measured again.
    if (head !== scmHead) {
      scmHead = head;
      void baseline(editor.openPaths());
    }
  },
});
function showScm(): void {
  layout.show("sidebar", "scm");
  void scm.refresh();
}
const search = new SearchPanel($("#view-search"), (p, l, c) => void editor.open(p, l, c));
const palette = new Palette((p) => void editor.open(p));
const agentPanel = new AgentPanel($("#view-agent"), () => layout.show("sidebar", "agent"));

// ---- the preview, sandbox and sync panes load when first shown ----
const preview = new Lazy(async () => new (await import("./preview")).PreviewPane($("#preview-pane")), "the preview pane");
/** Output of sandbox commands and terminals: dev-server addresses in it are offered by the
 *  preview (which loads for the first one). */
function previewHint(text: string): void {
  if (preview.now) preview.now.hint(text);
  else if (portsInText(text).length) void preview.get().then((p) => p.hint(text));
}
// Made as soon as their code is there (and then filled), so updates meanwhile reach them.
const sandbox = new Lazy(async () => {
  const panel = new (await import("./sandbox")).SandboxPanel($("#view-sandbox"), (s) => status.setSandbox(s), previewHint, (root) => openProject(root));
  void panel.refresh();
  return panel;
}, "the sandbox pane");
/** The sandbox's state for the status bar, and the panel when it is loaded. */
async function refreshSandbox(): Promise<void> {
  if (sandbox.now) return sandbox.now.refresh();
  await api.sandboxStatus().then((s) => status.setSandbox(s), (e) => console.warn("sandbox status", e));
}
let syncStatus: SyncStatus | null = null;
const syncPanel = new Lazy(async () => {
  const panel = new (await import("./sync")).SyncPanel($("#view-sync"), (s) => status.setSync(s), () => editor.activePath(), (root) => openProject(root));
  if (syncStatus) panel.setStatus(syncStatus);
  void panel.refresh();
  return panel;
}, "the sync pane");
/** Sync's state for the status bar from the start; the panel gets it too once loaded. */
async function followSync(): Promise<void> {
  const show = (s: SyncStatus) => {
    syncStatus = s;
    if (syncPanel.now) syncPanel.now.setStatus(s);
    else status.setSync(s);
  };
  try {
    show(await api.syncSubscribe(show));
  } catch (e) {
    console.warn("sync status unavailable", e);
  }
}
/** A remote sandbox kept from an earlier session is resumed now, before the first command
 *  needs it; the status bar counts the seconds when it takes a while. */
async function warmSandbox(): Promise<void> {
  const s = await api.sandboxStatus().catch(() => null);
  if (!s || s.settings.provider === "local" || s.sandbox) return;
  const slow = setTimeout(() => status.resuming(s.settings.provider), 300);
  try {
    await api.sandboxWarm();
  } catch (e) {
    toast(`The project's sandbox could not be resumed: ${asIpcError(e).message}`, "error");
  } finally {
    clearTimeout(slow);
    status.resuming(null);
    void refreshSandbox();
  }
}
/** The Sandboxes view: every sandbox Aura made at the providers. */
function showSandboxes(): void {
  layout.show("sidebar", "sandbox");
  void sandbox.get().then((p) => p.showFleet());
}
function showSync(): Promise<import("./sync").SyncPanel> {
  layout.show("sidebar", "sync");
  return syncPanel.now ? syncPanel.now.refresh().then(() => syncPanel.now!) : syncPanel.get();
}
/** Whatever the layout now shows is loaded (a restored layout, a toggle, a command). */
function loadShownPanes(): void {
  const l = layout.get();
  if (l.preview_visible) void preview.get();
  if (l.sidebar_visible && l.sidebar_view === "sandbox") void sandbox.get();
  if (l.sidebar_visible && l.sidebar_view === "sync") void syncPanel.get();
}

// ---- ▶ Run ----
const runner = new RunController({
  terminals,
  showBottom: () => layout.show("bottom"),
  openPreview: async (port) => {
    layout.show("preview");
    await (await preview.get()).show(port);
  },
  reloadPreview: () => preview.now?.reload(),
  onState: (s, seconds) => {
    status.setRun(runLabel(s, seconds), s.phase);
    const busy = s.phase === "installing" || s.phase === "starting" || s.phase === "running" || s.phase === "stuck";
    $("#run-app").textContent = busy ? "■ Stop" : "▶ Run";
    $("#run-app").title = busy ? "Stop the Run terminal (Shift+F5)" : "Run the project in its sandbox (F5)";
    if (s.phase === "exited" && s.during === "install") toast(`The install failed${s.why ? ` — ${s.why}` : ""}: its output is in the Run terminal.`, "error", showRunTerminal);
  },
  sandboxChanged: () => void refreshSandbox(),
});
function showRunTerminal(): void {
  layout.show("bottom");
  const tab = document.querySelector<HTMLElement>('.term-tab[data-title="Run"]');
  if (tab?.dataset.terminalId) terminals.showId(Number(tab.dataset.terminalId));
}

// ---- session state, saved a moment after any change ----
let saveTimer: number | undefined;
let sessionSaves: Promise<void> = Promise.resolve();
function scheduleSave(): void {
  if (!project || restoring) return;
  clearTimeout(saveTimer);
  saveTimer = window.setTimeout(() => void saveSessionNow(), 400);
}
function saveSessionNow(): Promise<void> {
  clearTimeout(saveTimer);
  // One save at a time, each taking the state when it starts: saves run off the main thread
  // and, behind a slow disk, an older one could otherwise land after a newer one.
  sessionSaves = sessionSaves.then(() => api.saveSession({
    open_tabs: editor.openPaths(), active_tab: editor.activePath(),
    expanded_dirs: tree.expandedDirs(), layout: layout.get(),
  })).catch((e) => console.warn("session not saved", e));
  return sessionSaves;
}

// ---- updates: before the relaunch, every buffer and the session are saved ----
const updates = new UpdatesDialog({
  dirty: () => editor.dirtyPaths(),
  save: async () => {
    if (editor.dirtyPaths().length) await editor.saveAll();
    if (editor.dirtyPaths().length) return false;
    if (project) await saveSessionNow();
    return true;
  },
});

// ---- projects ----
async function onFsChange(change: FsChange): Promise<void> {
  scm.changed();
  await tree.refresh(change.dirs);
  await editor.diskChanged(change.paths);
}

/** The window is laid out and drawn once, with the project in it: until then #app is not
 *  displayed. Its first layout and paint take ~30 ms on the page's thread, which the answers to
 *  the first calls would wait behind, only to be redone when the tree arrives. Shown anyway after
 *  half a second, so a slow open shows the window. */
function reveal(): void {
  $("#app").classList.remove("opening");
}
setTimeout(reveal, 500);

async function openProject(path: string): Promise<void> {
  if (project && editor.dirtyPaths().length) {
    await editor.saveAll();
  }
  try {
    const info = await api.openProject(path, (c) => void onFsChange(c));
    restoring = true;
    project = info;
    document.body.dataset.project = info.root;
    $("#project-name").textContent = info.name;
    status.setProject(info.name, info.root);
    getCurrentWindow().setTitle(`${info.name} — Aura`).catch(() => {});
    for (const p of editor.openPaths()) await editor.close(p);
    if (runner.busy()) runner.stop();
    terminals.closeAll();
    preview.now?.reset();
    // CodeMirror loads beside the tree when there are tabs to restore (and not at all without).
    if (info.session.open_tabs.length) editor.preload();
    layout.apply(info.session.layout);
    await tree.load(info.session.expanded_dirs, info.listings);
    await editor.restore(info.session.open_tabs, info.session.active_tab);
    reveal();
    void scm.refresh();
    if (info.watch_error) toast(info.watch_error, "error");
    // Ready (tree listed, tabs restored) before the terminal: its shell and xterm.js (a third of
    // the window's code) come after the project is on screen.
    if (!document.body.dataset.ready) api.uiReady(performance.now()).catch(() => {});
    document.body.dataset.ready = "true";
    if (layout.get().bottom_visible) await terminals.create();
    await refreshSandbox();
    void warmSandbox();
    if (layout.get().sidebar_view === "sync" && syncPanel.now) void syncPanel.now.refresh();
  } catch (e) {
    toast(asIpcError(e).message, "error");
  } finally {
    restoring = false;
  }
  await refreshRecent();
}

async function refreshRecent(): Promise<void> {
  const select = $("#recent") as HTMLSelectElement;
  const recent = await api.recentProjects().catch(() => []);
  select.replaceChildren(h("option", { value: "" }, "Recent projects"),
    ...recent.filter((r) => r.exists && r.root !== project?.root)
      .map((r) => h("option", { value: r.root, title: r.root }, `${r.name} — ${r.root}`)));
}

async function chooseFolder(): Promise<void> {
  const dir = await openDialog({ directory: true, multiple: false, title: "Open Folder" }).catch((e) => {
    toast(String(e), "error");
    return null;
  });
  if (typeof dir === "string") await openProject(dir);
}

/** The wizard writes the starter; it opens, and ▶ Run installs and starts it. */
async function newProject(): Promise<void> {
  const { showNewProject } = await import("./newproject");
  return showNewProject(async (root) => {
    const before = project;
    await openProject(root);
    if (project && project !== before) await runner.start();
  });
}

// ---- commands and shortcuts ----
const commands: Command[] = [
  { id: "file.save", title: "File: Save", shortcut: "Ctrl+S", run: () => void editor.save() },
  { id: "file.saveAll", title: "File: Save All", shortcut: "Ctrl+Alt+S", run: () => void editor.saveAll() },
  { id: "file.close", title: "View: Close Editor", shortcut: "Ctrl+W", run: () => void editor.close() },
  { id: "file.quickOpen", title: "Go to File…", shortcut: "Ctrl+P", run: () => palette.showFiles() },
  { id: "file.openFolder", title: "File: Open Folder…", shortcut: "Ctrl+O", run: () => void chooseFolder() },
  { id: "file.newProject", title: "File: New Project…", run: () => void newProject() },
  { id: "file.importGit", title: "File: Import from Git…", run: () => void import("./gitimport").then((m) => m.showGitImport(openProject)) },
  { id: "file.newFile", title: "File: New File…", shortcut: "Ctrl+Alt+N", run: () => void tree.newFile() },
  { id: "file.newFolder", title: "File: New Folder…", run: () => void tree.newFolder() },
  { id: "file.rename", title: "File: Rename Selected…", shortcut: "F2", run: () => void tree.rename() },
  { id: "file.delete", title: "File: Delete Selected", run: () => void tree.remove() },
  { id: "editor.find", title: "Edit: Find", shortcut: "Ctrl+F", run: () => editor.find() },
  { id: "editor.replace", title: "Edit: Replace", shortcut: "Ctrl+H", run: () => editor.find(true) },
  { id: "search.project", title: "Search: Find in Files", shortcut: "Ctrl+Shift+F", run: () => { layout.show("sidebar", "search"); search.focus(); } },
  { id: "view.palette", title: "View: Command Palette", shortcut: "Ctrl+Shift+P", run: () => palette.showCommands() },
  { id: "view.sidebar", title: "View: Toggle Sidebar", shortcut: "Ctrl+B", run: () => layout.toggle("sidebar") },
  { id: "view.explorer", title: "View: Show Explorer", shortcut: "Ctrl+Shift+E", run: () => layout.show("sidebar", "files") },
  { id: "view.terminal", title: "View: Toggle Terminal", shortcut: "Ctrl+`", run: () => { layout.toggle("bottom"); if (layout.get().bottom_visible) terminals.focus(); } },
  { id: "view.preview", title: "View: Toggle Preview Pane", run: () => layout.toggle("preview") },
  { id: "preview.detect", title: "Preview: Detect Dev Server", run: () => { layout.show("preview"); void preview.get().then((p) => p.detect(true)); } },
  { id: "view.nextTab", title: "View: Next Editor", shortcut: "Ctrl+Tab", run: () => editor.cycle(1) },
  { id: "view.prevTab", title: "View: Previous Editor", shortcut: "Ctrl+Shift+Tab", run: () => editor.cycle(-1) },
  { id: "terminal.new", title: "Terminal: New Terminal", shortcut: "Ctrl+Shift+`", run: () => { layout.show("bottom"); void terminals.create(); } },
  { id: "terminal.newSandbox", title: "Terminal: New Terminal in Sandbox", run: () => { layout.show("bottom"); void terminals.create(true); } },
  { id: "sandbox.show", title: "Sandbox: Show Panel", run: () => { layout.show("sidebar", "sandbox"); void refreshSandbox(); } },
  { id: "sandbox.run", title: "Sandbox: Run Command…", run: () => {
    layout.show("sidebar", "sandbox");
    void sandbox.get().then(() => document.querySelector<HTMLInputElement>(".sb-run-input")?.focus());
  } },
  { id: "scm.show", title: "Git: Show Changes", shortcut: "Ctrl+Shift+G", run: () => showScm() },
  { id: "sync.show", title: "Sync: Show Panel", run: () => showSync() },
  { id: "agent.show", title: "Agent: Show Panel", run: () => { layout.show("sidebar", "agent"); void agentPanel.refresh(); } },
  { id: "agent.undo", title: "Agent: Undo Agent Changes…", run: () => { layout.show("sidebar", "agent"); void agentPanel.refresh(); } },
  { id: "sync.now", title: "Sync: Sync Now", run: () => void api.syncNow().catch((e) => toast(asIpcError(e).message, "error")) },
  { id: "sync.history", title: "Sync: Show Project History", run: () => void showSync().then((p) => p.loadHistory()) },
  { id: "sync.fileHistory", title: "Sync: Show History of This File", run: () => void showSync().then((p) => p.loadFileHistory()) },
  { id: "sync.restoreCloud", title: "Sync: Restore Project from Cloud…", run: () => void syncPanel.get().then((p) => p.restoreFromCloud()) },
  { id: "terminal.kill", title: "Terminal: Kill Active Terminal", run: () => terminals.close() },
  { id: "tree.refresh", title: "Explorer: Refresh", run: () => void tree.reloadAll() },
  { id: "run.start", title: "Run: Start", shortcut: "F5", run: () => void runner.start() },
  { id: "run.stop", title: "Run: Stop", shortcut: "Shift+F5", run: () => runner.stop() },
  { id: "run.configure", title: "Run: Settings…", run: () => void runner.configure() },
  { id: "app.checkUpdates", title: "Aura: Check for Updates…", run: () => void updates.show(true) },
  { id: "app.updateSettings", title: "Aura: Update Settings…", run: () => void updates.show(false) },
];
palette.register(commands);

// Shortcuts that CodeMirror handles itself inside the editor (find, replace) are left to it.
const GLOBAL = commands.filter((c) => c.shortcut && !["editor.find", "editor.replace", "file.rename"].includes(c.id));
document.addEventListener("keydown", (e) => {
  if (!$("#overlay").hidden) return;
  for (const c of GLOBAL) {
    if (matches(c.shortcut!, e)) {
      e.preventDefault();
      e.stopPropagation();
      c.run();
      return;
    }
  }
}, true);

// ---- chrome ----
$("#open-folder").addEventListener("click", () => void chooseFolder());
$("#new-project").addEventListener("click", () => void newProject());
$("#open-palette").addEventListener("click", () => palette.showCommands());
$("#run-app").addEventListener("click", () => (runner.busy() ? runner.stop() : void runner.start()));
$("#toggle-preview").addEventListener("click", () => {
  layout.toggle("preview");
  if (layout.get().preview_visible) void preview.get().then((p) => p.opened());
});
$("#tree-new-file").addEventListener("click", () => void tree.newFile());
$("#tree-new-folder").addEventListener("click", () => void tree.newFolder());
$("#tree-refresh").addEventListener("click", () => void tree.reloadAll());
($("#recent") as HTMLSelectElement).addEventListener("change", (e) => {
  const v = (e.target as HTMLSelectElement).value;
  if (v) void openProject(v);
});
for (const b of document.querySelectorAll<HTMLElement>("#sidebar-tabs button")) {
  b.addEventListener("click", () => {
    layout.show("sidebar", b.dataset.view);
    if (b.dataset.view === "search") search.focus();
    if (b.dataset.view === "scm") void scm.refresh();
    if (b.dataset.view === "sandbox") void refreshSandbox();
    if (b.dataset.view === "sync" && syncPanel.now) void syncPanel.now.refresh();
    if (b.dataset.view === "agent") void agentPanel.refresh();
  });
}
window.addEventListener("beforeunload", (e) => {
  if (editor.dirtyPaths().length) e.preventDefault();
});

// ---- start ----
(async () => {
  layout.apply({});
  void followSync();
  void agentPanel.start();
  void new NetAsks(() => void refreshSandbox()).start();
  // An agent's run_app presses ▶ Run: one run, in the Run terminal and the preview.
  void api.runSubscribe(() => {
    if (!runner.busy()) void runner.start();
  }).catch((e) => console.warn("run button for agents", e));
  try {
    await openProject(await api.startupProject());
  } catch (e) {
    toast(asIpcError(e).message, "error");
  }
  reveal();
  void updates.checkAtStart();
  // Sandboxes left running with no open project (kept at close, a crash, another machine).
  void import("./fleet").then((f) => f.noticeForgotten(showSandboxes)).catch(() => {});
})();
