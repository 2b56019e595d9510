// End to end: source control in the window on a real repository (made with git here). The
// status bar shows the branch and the count, the tree marks a changed and a new file and the
// folder holding them, the editor's gutter marks the changed line, the Git view lists them, a
// click opens the side-by-side diff against HEAD, a file is staged and committed from the view, the history shows it and a new branch is made; a planted core.fsmonitor, hook and filter driver never run while Aura reads it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { eventually, makeSandboxDirs, startReady } from "./harness.mjs";

function git(dir, ...args) {
  execFileSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args], {
    cwd: dir, env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", HOME: dir },
  });
}

describe("source control", () => {
  let app;
  const dirs = makeSandboxDirs({ "main.py": "print('one')\nprint('two')\n", "src/util.py": "def f():\n    return 1\n" });
  const marker = path.join(dirs.base, "repository-code-ran");
  before(async () => {
    git(dirs.project, "init", "-q");
    git(dirs.project, "add", "-A");
    git(dirs.project, "commit", "-q", "-m", "first");
    // What code in the sandbox could have written into the repository.
    fs.appendFileSync(path.join(dirs.project, ".git/config"),
      `[core]\n\tfsmonitor = touch ${marker}\n[filter "x"]\n\tclean = touch ${marker}\n\tprocess = touch ${marker}\n`);
    fs.writeFileSync(path.join(dirs.project, ".gitattributes"), "* filter=x\n");
    fs.writeFileSync(path.join(dirs.project, ".git/hooks/post-index-change"), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    // The user's identity for commits, as in their ~/.gitconfig.
    fs.writeFileSync(path.join(dirs.home, ".gitconfig"), "[user]\n\tname = Ada\n\temail = ada@example.com\n");
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("changes marked in the tree and the status bar, listed, and diffed against HEAD", async () => {
    const b = app.browser;
    const gitStatus = () => b.execute(() => {
      const el = document.querySelector('[data-testid="git-status"]');
      return el && !el.hidden ? el.textContent : null;
    });
    // .gitattributes is new too.
    await eventually(async () => /⎇ main · 1/.test((await gitStatus()) ?? ""), { what: "the branch in the status bar" });

    fs.writeFileSync(path.join(dirs.project, "src/util.py"), "def f():\n    return 2\n");
    fs.writeFileSync(path.join(dirs.project, "notes.md"), "# new\n");
    await eventually(async () => /⎇ main · 3/.test((await gitStatus()) ?? ""), { what: "three changes counted" });
    const mark = (p) => b.execute((p) => document.querySelector(`.tree-row[data-path="${p}"]`)?.dataset.git ?? null, p);
    await eventually(async () => (await mark("notes.md")) === "U" && (await mark("src")) === "•", { what: "new file and folder marked" });
    await (await b.$('.tree-row[data-path="src"]')).click();
    await eventually(async () => (await mark("src/util.py")) === "M", { what: "the changed file marked" });

    // Opened in the editor: the changed line is marked in the gutter.
    await (await b.$('.tree-row[data-path="src/util.py"]')).click();
    await eventually(() => b.execute(() => document.querySelectorAll(".cm-editor .cm-git-gutter .cm-git-modified").length === 1), { what: "the changed line in the gutter" });

    // The Git view lists them; a click shows the diff.
    await (await b.$('#sidebar-tabs button[data-view="scm"]')).click();
    const row = await b.$('[data-testid="scm-unstaged"] .scm-row[data-path="src/util.py"]');
    await row.waitForDisplayed({ timeout: 20000 });
    await row.click();
    const view = await b.$('[data-testid="diff-view"]');
    await view.waitForDisplayed({ timeout: 20000 });
    const sides = await b.execute(() => [...document.querySelectorAll('[data-testid="diff-view"] .cm-editor')].map((e) => e.querySelector(".cm-content").textContent));
    assert.equal(sides.length, 2, JSON.stringify(sides));
    assert.match(sides[0], /return 1/);
    assert.match(sides[1], /return 2/);
    assert.ok(await b.execute(() => document.querySelectorAll('[data-testid="diff-view"] .cm-changedLine').length > 0), "the changed line marked");
    await (await view.$("button=Close")).click();
    await view.waitForExist({ reverse: true, timeout: 10000 });

    // Stage one file, commit it with Ctrl+Enter; the log has it and the rest stays changed.
    await (await b.$('[data-testid="scm-unstaged"] .scm-row[data-path="src/util.py"] [data-testid="scm-stage"]')).click();
    await (await b.$('[data-testid="scm-staged"] .scm-row[data-path="src/util.py"]')).waitForDisplayed({ timeout: 20000 });
    await (await b.$('[data-testid="scm-message"]')).setValue("Return two");
    await b.execute(() => document.querySelector('[data-testid="scm-message"]').dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true, bubbles: true })));
    await eventually(async () => /⎇ main · 2/.test((await gitStatus()) ?? ""), { what: "two changes left after the commit" });
    const log = execFileSync("git", ["-c", "core.fsmonitor=false", "log", "--format=%s", "-2"], { cwd: dirs.project, encoding: "utf8" });
    assert.equal(log, "Return two\nfirst\n");
    assert.equal(execFileSync("git", ["-c", "core.fsmonitor=false", "show", "HEAD:src/util.py"], { cwd: dirs.project, encoding: "utf8" }), "def f():\n    return 2\n");
    await eventually(async () => (await mark("src/util.py")) === null, { what: "the committed file no longer marked" });

    // The history shows the commit; a new branch made from the view is the current one.
    await eventually(() => b.execute(() => document.querySelector('[data-testid="scm-log"] .scm-name')?.textContent === "Return two"), { what: "the commit in the history" });
    await (await b.$('[data-testid="scm-switch"]')).click();
    await (await (await b.$('[data-testid="confirm"]')).$("button=New branch…")).click();
    const input = await b.$("#overlay input");
    await input.waitForDisplayed({ timeout: 10000 });
    await input.setValue("topic");
    await b.keys("Enter");
    await eventually(async () => /⎇ topic · 2/.test((await gitStatus()) ?? ""), { what: "on the new branch" });
    assert.equal(execFileSync("git", ["-c", "core.fsmonitor=false", "branch", "--show-current"], { cwd: dirs.project, encoding: "utf8" }), "topic\n");

    assert.ok(!fs.existsSync(marker), "nothing of the repository ran on the host");
  });
});
