// End to end: the real app opens a temp project, shows the tree, edits and saves a file
// (checked on disk), sees a file created outside appear, runs `echo` in a terminal, searches, and
// restores its tabs on the next start.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Key } from "webdriverio";
import { chord, eventually, invoke, makeSandboxDirs, startReady, terminalText } from "./harness.mjs";

const dirs = makeSandboxDirs({
  "main.rs": 'fn main() {\n    println!("hi");\n}\n',
  "src/app.ts": "export const answer: number = 42;\n",
  ".gitignore": "build/\n",
  "build/out.txt": "generated\n",
});
fs.chmodSync(path.join(dirs.project, "main.rs"), 0o640);

describe("foundation", () => {
  let app;
  before(async () => {
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("the tree lists the project lazily, ignored entries flagged", async () => {
    const b = app.browser;
    const rows = await b.execute(() =>
      [...document.querySelectorAll(".tree-row")].map((r) => [r.dataset.path, r.classList.contains("ignored")]));
    const byPath = Object.fromEntries(rows);
    assert.equal(byPath["main.rs"], false);
    assert.equal(byPath["src"], false);
    assert.equal(byPath["build"], true, "build/ is gitignored and shown dimmed");
    assert.equal(byPath["src/app.ts"], undefined, "folders are not listed before they are expanded");
    await (await b.$('.tree-row[data-path="src"]')).click();
    await eventually(async () => (await b.$('.tree-row[data-path="src/app.ts"]')).isExisting(), { what: "src expanded" });
  });

  test("edit and Ctrl+S save atomically, keeping permissions", async () => {
    const b = app.browser;
    await (await b.$('.tree-row[data-path="main.rs"]')).click();
    const content = await b.$(".cm-content");
    await content.waitForExist({ timeout: 20000 });
    assert.equal(await content.getAttribute("data-language"), "rust");
    await content.click();
    await chord(b, Key.Ctrl, Key.Home);
    // Element Send Keys types reliably; per-key actions drop repeated characters in WebKitWebDriver.
    await content.addValue("// edited by e2e");
    await b.keys([Key.Enter]);
    await eventually(() => b.execute(() => document.querySelector('.tab[data-path="main.rs"]')?.classList.contains("dirty")), { what: "dirty marker" });
    await chord(b, Key.Ctrl, "s");
    const file = path.join(dirs.project, "main.rs");
    await eventually(() => /^\/\/ edited by e2e\n\s*fn main\(\)/.test(fs.readFileSync(file, "utf8")), { what: "saved content on disk" });
    assert.equal(fs.statSync(file).mode & 0o777, 0o640, "permissions survive the atomic save");
    await eventually(() => b.execute(() => !document.querySelector('.tab[data-path="main.rs"]')?.classList.contains("dirty")), { what: "clean after save" });
    const leftovers = fs.readdirSync(dirs.project).filter((n) => n.startsWith(".aura-save-"));
    assert.deepEqual(leftovers, []);
  });

  test("a file created outside the app appears in the tree", async () => {
    fs.writeFileSync(path.join(dirs.project, "outside.txt"), "from outside\n");
    fs.mkdirSync(path.join(dirs.project, "src/nested"));
    await eventually(async () => (await app.browser.$('.tree-row[data-path="outside.txt"]')).isExisting(), { what: "outside.txt in tree" });
    await eventually(async () => (await app.browser.$('.tree-row[data-path="src/nested"]')).isExisting(), { what: "new folder in expanded src" });
    fs.rmSync(path.join(dirs.project, "outside.txt"));
    await eventually(async () => !(await (await app.browser.$('.tree-row[data-path="outside.txt"]')).isExisting()), { what: "outside.txt gone" });
  });

  test("a clean open file reloads when it changes on disk", async () => {
    const b = app.browser;
    fs.writeFileSync(path.join(dirs.project, "main.rs"), "fn main() {}\n// changed outside\n");
    await eventually(() => b.execute(() => document.querySelector(".cm-content")?.textContent.includes("changed outside")), { what: "editor reloaded" });
  });

  test("a terminal runs commands in the project folder", async () => {
    const b = app.browser;
    await eventually(async () => (await b.$(".term-view .xterm")).isExisting(), { what: "terminal" });
    await (await b.$(".term-view:not([hidden]) .xterm")).click();
    // The typed line does not contain the word; only the command's output does.
    await (await b.$(".term-view:not([hidden]) .xterm-helper-textarea")).addValue("echo hel''lo; pwd");
    await b.keys([Key.Enter]);
    const text = await eventually(async () => {
      const t = await terminalText(b);
      return /^hello\s*$/m.test(t) && t.includes(dirs.project) ? t : null;
    }, { what: "echo output in the terminal" });
    assert.match(text, /^hello\s*$/m);
  });

  test("after a flood the terminal's scrollback holds the output's last lines, none lost", async () => {
    const b = app.browser;
    await (await b.$(".term-view:not([hidden]) .xterm")).click();
    // ~2 MB: far more than the window parses before it falls behind, so it gets frames of the
    // screen and, once the output is quiet, the whole state (rust: terminal/relay.rs).
    await (await b.$(".term-view:not([hidden]) .xterm-helper-textarea")).addValue("seq 1 300000; echo flood-over");
    await b.keys([Key.Enter]);
    const counted = await eventually(async () => {
      const lines = (await b.execute(() => [...document.querySelectorAll(".term-view")].find((v) => !v.hidden)?.bufferText?.() ?? ""))
        .split("\n").map((l) => l.trimEnd());
      const end = lines.lastIndexOf("flood-over");
      if (end < 0) return null;
      let n = 0;
      for (let i = end - 1, want = 300000; i >= 0 && lines[i] === String(want); i--, want--) n++;
      return n >= 9000 ? n : null; // the scrollback is 10 000 lines; the prompt and command take some
    }, { what: "the flood's last 9000 lines in order before its end marker", timeout: 60000 });
    assert.ok(counted >= 9000);
    // The terminal takes input again at once.
    await (await b.$(".term-view:not([hidden]) .xterm-helper-textarea")).addValue("echo after-''flood");
    await b.keys([Key.Enter]);
    await eventually(async () => /^after-flood\s*$/m.test(await terminalText(b)), { what: "a command after the flood" });
    // The screen (xterm's rows) shows the flood's end whole: drawn at the terminal's width, in order.
    const shown = (await terminalText(b)).split("\n").map((l) => l.trimEnd());
    const end = shown.indexOf("flood-over");
    assert.ok(end > 0, `the end marker is on the screen: ${JSON.stringify(shown)}`);
    assert.equal(shown[end - 1], "300000", JSON.stringify(shown));
  });

  test("project search finds text and opens the match", async () => {
    const b = app.browser;
    await (await b.$('#sidebar-tabs button[data-view="search"]')).click();
    const input = await b.$(".search-input");
    await input.setValue("answer");
    await b.keys([Key.Enter]);
    const match = await b.$('.search-match[data-path="src/app.ts"]');
    await match.waitForExist({ timeout: 20000 });
    await match.click();
    await eventually(() => b.execute(() => document.querySelector(".tab.active")?.dataset.path === "src/app.ts"), { what: "match opened" });
  });

  test("paths outside the project are refused with a clear error", async () => {
    const b = app.browser;
    for (const p of ["../outside", "/etc/passwd", "src/../../x"]) {
      const r = await invoke(b, "read_file", { path: p });
      assert.equal(r.ok, false, `${p} must be refused`);
      assert.equal(r.error.kind, "path_outside_project");
      assert.ok(r.error.message.length > 10);
    }
  });

  test("tabs and layout are restored on the next start", async () => {
    // Let the debounced session save land, then restart the app on the same data dir.
    await new Promise((r) => setTimeout(r, 1200));
    await app.stop();
    app = await startReady(dirs);
    const b = app.browser;
    const tabs = await b.execute(() => [...document.querySelectorAll(".tab")].map((t) => t.dataset.path));
    assert.deepEqual(tabs.sort(), ["main.rs", "src/app.ts"]);
    // The folder expanded before is open again as soon as the window is ready.
    assert.ok(await (await b.$('.tree-row[data-path="src/app.ts"]')).isExisting(), "src is expanded again");
    assert.ok(fs.existsSync(path.join(dirs.home, ".local/share/dev.aura.ide/aura.sqlite3")), "state lives in the real SQLite file");
  });
});
