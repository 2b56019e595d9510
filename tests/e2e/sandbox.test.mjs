// End to end (local provider): run a command in the bubblewrap sandbox from the UI with
// streamed output, open a terminal inside the sandbox, and see the state in the status bar.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Key, eventually, makeSandboxDirs, startReady, terminalText } from "./harness.mjs";

const dirs = makeSandboxDirs({ "package.json": '{"name":"demo"}\n', "hello.txt": "from the project\n" });

describe("local sandbox", () => {
  let app;
  before(async () => {
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("Run executes in the sandbox and streams its output", async () => {
    const b = app.browser;
    await (await b.$('#sidebar-tabs button[data-view="sandbox"]')).click();
    const input = await b.$(".sb-run-input");
    await input.waitForDisplayed({ timeout: 20000 });
    await input.addValue("echo sandboxed-$((6*7)); pwd; cat hello.txt; cat /proc/1/comm; git init -q . 2>/dev/null || echo no-git-init; mkdir -p sub; git init -q sub 2>/dev/null || echo no-sub-git; echo oops >&2; exit 3");
    await b.keys([Key.Enter]);
    const out = await eventually(async () => {
      const t = await (await b.$('[data-testid="run-output"]')).getText();
      return t.includes("exit code") ? t : null;
    }, { what: "run finished", timeout: 60000 });
    assert.match(out, /sandboxed-42/);
    assert.match(out, /^\/workspace$/m);
    assert.match(out, /from the project/);
    assert.match(out, /^bwrap$/m, "pid 1 inside is the sandbox's init");
    assert.match(out, /oops/);
    assert.match(out, /exit code 3/);
    assert.match(out, /^no-git-init$/m, "a repository cannot be made from inside (its hooks would run on the host)");
    assert.match(out, /^no-sub-git$/m, "nor in a subfolder");
    await eventually(async () => /local: started/.test(await (await b.$(".status-provider")).getText()), { what: "status bar state" });
    // The panel says what is read-only inside, and nothing is unprotected.
    const guard = await eventually(async () => {
      const el = await b.$('[data-testid="sandbox-guard"]');
      return (await el.isExisting()) ? el.getText() : null;
    }, { what: "the guard line" });
    assert.match(guard, /read-only inside: \d+ paths this machine runs/);
    assert.doesNotMatch(guard, /NOT PROTECTED/);
    // ...and what the command was refused is listed.
    await eventually(async () => /blocked: created sub\/\.git/.test(await (await b.$('[data-testid="sandbox-guard"]')).getText()), { what: "the refusal listed" });
    // The execution is in the history (from SQLite).
    await eventually(async () => (await (await b.$(".sb-history")).getHTML()).includes("sandboxed"), { what: "history" });
  });

  test("a terminal opens inside the sandbox", async () => {
    const b = app.browser;
    await (await b.$("button.term-new:nth-of-type(2)")).click();
    await eventually(async () => (await b.$('.term-view[data-sandbox="true"]')).isExisting(), { what: "sandbox terminal" });
    await (await b.$('.term-view[data-sandbox="true"] .xterm')).click();
    await (await b.$('.term-view[data-sandbox="true"] .xterm-helper-textarea')).addValue("echo IN=$AURA_SANDBOX:$(pwd)");
    await b.keys([Key.Enter]);
    await eventually(async () => /IN=local:\/workspace/.test(await terminalText(b)), { what: "sandbox terminal output" });
  });

  test("stopping the sandbox from the panel", async () => {
    const b = app.browser;
    await (await b.$('.sb-buttons button[data-action="stop"]')).click();
    await eventually(async () => (await (await b.$(".sb-state")).getAttribute("data-state")) === "stopped", { what: "stopped" });
    await eventually(async () => /stopped/.test(await (await b.$(".status-provider")).getText()), { what: "stopped in the status bar" });
    // Stopped, its placeholders are gone from the project.
    await eventually(() => !fs.existsSync(path.join(dirs.project, ".git")) && !fs.existsSync(path.join(dirs.project, ".vscode")), { what: "placeholders removed" });
  });

  test("a sandbox terminal starts the sandbox, and a dev-server address it printed is offered by the preview", async () => {
    const b = app.browser;
    await (await b.$("button.term-new:nth-of-type(2)")).click();
    await eventually(async () => /local: started/.test(await (await b.$(".status-provider")).getText()), { what: "started in the status bar" });
    const views = await b.$$('.term-view[data-sandbox="true"]');
    const last = views[views.length - 1];
    await (await last.$(".xterm")).click();
    await (await last.$(".xterm-helper-textarea")).addValue("echo 'Local:   http://localhost:5199/'");
    await b.keys([Key.Enter]);
    await eventually(async () => /Local: {3}http:\/\/localhost:5199/.test(await terminalText(b)), { what: "address printed" });
    // The pane was closed when the address was printed; opening it goes to that address.
    await (await b.$("#toggle-preview")).click();
    await eventually(async () => (await (await b.$(".preview-port")).getValue()) === "5199", { what: "the printed port in the preview" });
  });
});

describe("a protection that cannot be set up", () => {
  let app;
  // An editor folder that is a link: the sandbox cannot make it read-only.
  const d = makeSandboxDirs({ "elsewhere/settings.json": "{}\n", "a.txt": "x\n" });
  fs.symlinkSync("elsewhere", path.join(d.project, ".vscode"));
  before(async () => {
    app = await startReady(d);
  });
  after(async () => {
    await app?.stop();
  });

  test("commands wait until the user chooses to run without it", async () => {
    const b = app.browser;
    await (await b.$('#sidebar-tabs button[data-view="sandbox"]')).click();
    const input = await b.$(".sb-run-input");
    await input.waitForDisplayed({ timeout: 20000 });
    await input.addValue("echo RAN-$((40+2))");
    await b.keys([Key.Enter]);
    // Not run: the panel names what is not protected and offers the choice.
    const button = await b.$('[data-testid="run-unprotected"]');
    await button.waitForExist({ timeout: 30000 });
    assert.match(await (await b.$('[data-testid="sandbox-guard"]')).getText(), /NOT PROTECTED: \.vscode/);
    assert.doesNotMatch(await (await b.$('[data-testid="run-output"]')).getText(), /RAN-42/);
    await button.click();
    const anyway = await (await b.$('[data-testid="confirm"]')).$('button=Run anyway');
    await anyway.waitForDisplayed({ timeout: 10000 });
    await anyway.click();
    await eventually(async () => (await (await b.$('[data-testid="allow-unprotected"]')).isSelected()), { what: "the choice saved" });
    await (await b.$(".sb-run-input")).addValue("echo RAN-$((40+2))");
    await b.keys([Key.Enter]);
    await eventually(async () => /RAN-42/.test(await (await b.$('[data-testid="run-output"]')).getText()), { what: "the command ran", timeout: 60000 });
  });
});

describe("API keys", () => {
  let app;
  const d = makeSandboxDirs({ "a.txt": "x\n" });
  before(async () => {
    app = await startReady(d);
  });
  after(async () => {
    await app?.stop();
  });

  test("a key goes to the OS keychain, never to SQLite or back to the UI", async () => {
    const b = app.browser;
    const value = `e2b_e2etest${Date.now()}`;
    await (await b.$('#sidebar-tabs button[data-view="sandbox"]')).click();
    // The panel loads with its first showing: open its sections once it is there.
    const row = await b.$('.key-row[data-secret="e2b_api_key"]');
    await row.waitForExist({ timeout: 20000 });
    await b.execute(() => document.querySelectorAll("#view-sandbox details").forEach((x) => { x.open = true; }));
    await (await row.$("input")).addValue(value);
    await (await row.$("button=Save")).click();
    // The save is done when the toast says so (another test may have left a key set before).
    await eventually(async () => /E2B_API_KEY saved in the keychain/.test(await b.execute(() => document.body.textContent)), { what: "key saved" });
    await eventually(async () => (await (await b.$('.key-row[data-secret="e2b_api_key"] .key-set')).isExisting()), { what: "key shown as set" });
    const html = await b.execute(() => document.documentElement.outerHTML);
    assert.ok(!html.includes(value), "the value is not in the page after saving");
    const { execFileSync } = await import("node:child_process");
    const stored = execFileSync("secret-tool", ["lookup", "service", "dev.aura.ide", "username", "E2B_API_KEY"]).toString();
    assert.equal(stored, value, "the Secret Service holds it");
    const fs = await import("node:fs");
    const path = await import("node:path");
    const dbDir = path.join(d.home, ".local/share/dev.aura.ide");
    for (const f of fs.readdirSync(dbDir)) {
      if (!fs.statSync(path.join(dbDir, f)).isFile()) continue;
      assert.ok(!fs.readFileSync(path.join(dbDir, f)).includes(value), `${f} must not contain the key`);
    }
    await (await (await b.$('.key-row[data-secret="e2b_api_key"]')).$("button=Remove")).click();
    await eventually(async () => !(await (await b.$('.key-row[data-secret="e2b_api_key"] .key-set')).isExisting()), { what: "key removed" });
  });
});
