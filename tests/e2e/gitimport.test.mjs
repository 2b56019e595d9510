// File: Import from Git… in the real app: a repository served by `git daemon` on 127.0.0.1, one
// subfolder imported as a new project that opens; a missing branch is refused in the dialog with
// nothing created. (Every import case is in src-tauri/core/tests/git_import.rs.)
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Key, eventually, freePort, makeSandboxDirs, startReady } from "./harness.mjs";

function makeRepo(base) {
  const work = path.join(base, "work");
  fs.mkdirSync(path.join(work, "starters/web"), { recursive: true });
  fs.writeFileSync(path.join(work, "README.md"), "starters\n");
  fs.writeFileSync(path.join(work, "starters/web/index.html"), "<h1>imported</h1>\n");
  const git = (...args) => execFileSync("git", ["-c", "user.email=t@example.org", "-c", "user.name=t", "-c", "init.defaultBranch=main", ...args], { cwd: work });
  git("init", "-q");
  git("add", "-A");
  git("commit", "-qm", "starters");
  execFileSync("git", ["clone", "-q", "--bare", "work", "starters.git"], { cwd: base });
}

async function openImport(b) {
  await b.action("key").down(Key.Ctrl).down(Key.Shift).down("p").up("p").up(Key.Shift).up(Key.Ctrl).perform();
  await (await b.$(".palette-input")).setValue(">Import from Git");
  await eventually(() => b.execute(() => /Import from Git/.test(document.querySelector(".palette-item.selected")?.textContent ?? "")), { what: "palette entry" });
  await b.keys(Key.Enter);
  const form = await b.$('[data-testid="git-import"]');
  await form.waitForDisplayed({ timeout: 10000 });
  return form;
}

describe("import from Git", () => {
  let app;
  let daemon;
  let url;
  const dirs = makeSandboxDirs({ "main.py": "print('hi')\n" });
  const repos = path.join(dirs.base, "repos");
  const into = path.join(dirs.base, "projects");
  before(async () => {
    fs.mkdirSync(repos);
    fs.mkdirSync(into);
    makeRepo(repos);
    const port = await freePort();
    daemon = spawn("git", ["daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1", `--port=${port}`, `--base-path=${repos}`, repos], { stdio: "ignore", detached: true });
    url = `git://127.0.0.1:${port}/starters.git`;
    await eventually(() => {
      try { execFileSync("git", ["ls-remote", url], { stdio: "ignore" }); return true; } catch { return false; }
    }, { what: "git daemon", timeout: 20000 });
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
    try { process.kill(-daemon.pid, "SIGKILL"); } catch { /* gone */ }
  });

  test("a missing branch is refused; one subfolder becomes the open project", async () => {
    const b = app.browser;
    const form = await openImport(b);
    await (await form.$('input[name="url"]')).setValue(url);
    await (await form.$('input[name="branch"]')).setValue("no-such-branch");
    await (await form.$('input[name="parent"]')).setValue(into);
    await (await form.$('input[name="name"]')).setValue("site");
    await (await form.$("button=Import")).click();
    await eventually(async () => /no branch or tag "no-such-branch"/.test(await (await form.$(".run-error")).getText()), { what: "the refusal", timeout: 30000 });
    assert.deepEqual(fs.readdirSync(into), [], "nothing created");

    await (await form.$('input[name="branch"]')).clearValue();
    await (await form.$('input[name="subfolder"]')).setValue("starters/web");
    await (await form.$("button=Import")).click();
    await eventually(async () => (await b.execute(() => document.body.dataset.project)) === path.join(into, "site"), { what: "the imported project open", timeout: 30000 });
    await eventually(async () => (await b.$('.tree-row[data-path="index.html"]')).isExisting(), { what: "its files in the tree" });
    assert.deepEqual(fs.readdirSync(path.join(into, "site")), ["index.html"]);
  });
});
