// End to end: a coding agent works on the open project through MCP. The token is made in the
// Agent panel; a real MCP client (the `mcp` package from PyPI) connects through `aura mcp`, the
// stdio bridge to the running app; its write shows in the open editor; a command set to "ask"
// shows a card in the IDE — approved, it runs and the client gets its output; denied, the client
// gets an error and nothing ran; writing a Git hook asks although writes are allowed; "Undo agent changes" brings the earlier files back; a request
// without the token is refused.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { APP, appEnv, eventually, invoke, makeSandboxDirs, startReady } from "./harness.mjs";

const README = "# demo\noriginal text\n";

/** Runs tests/e2e/mcp_client.py; returns { steps, done } where steps fills as lines arrive. */
function agentClient(dirs, scenario) {
  const steps = [];
  const child = spawn("python3", [path.join(import.meta.dirname, "mcp_client.py"), scenario, "--aura", APP], {
    env: appEnv(dirs),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "", err = "";
  child.stdout.on("data", (d) => {
    out += d;
    let nl;
    while ((nl = out.indexOf("\n")) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try { steps.push(JSON.parse(line)); } catch { err += `(not JSON) ${line}\n`; }
    }
  });
  child.stderr.on("data", (d) => { err += d; });
  const done = new Promise((resolve) => child.on("exit", (code) => resolve({ code, err })));
  return { steps, done, step: (name) => steps.find((s) => s.step === name), kill: () => child.kill("SIGKILL") };
}

async function askCard(b, needle) {
  return eventually(() => b.execute((needle) => {
    const card = [...document.querySelectorAll('[data-testid="agent-ask"]')].find((c) => c.textContent.includes(needle));
    return card ? card.textContent : null;
  }, needle), { what: `an approval card for ${needle}`, timeout: 60000 });
}

async function clickInCard(b, needle, testid) {
  await b.execute((needle, testid) => {
    const card = [...document.querySelectorAll('[data-testid="agent-ask"]')].find((c) => c.textContent.includes(needle));
    card.querySelector(`[data-testid="${testid}"]`).click();
  }, needle, testid);
}

describe("coding agents through MCP", () => {
  let dirs, app, b;
  before(async () => {
    dirs = makeSandboxDirs({ "README.md": README, "src/app.py": "print('hi')\n" });
    fs.writeFileSync(path.join(dirs.base, "outside.txt"), "host secret");
    app = await startReady(dirs);
    b = app.browser;
  });
  after(async () => {
    await app?.stop();
  });

  test("an agent writes, asks, is denied, and its changes are undone", async () => {
    // The user opens README.md in the editor (it must follow the agent's write).
    await (await b.$('.tree-row[data-path="README.md"]')).click();
    await eventually(() => b.execute(() => document.querySelector(".cm-content")?.textContent.includes("original text")), { what: "README open" });

    // Agent panel → Connect an agent → Create token: shown once, with the lines to paste.
    await (await b.$('#sidebar-tabs button[data-view="agent"]')).click();
    await b.execute(() => { document.querySelector('[data-testid="agent-settings"]').open = true; });
    await (await b.$('[data-testid="agent-new-token"]')).click();
    const token = await eventually(() => b.execute(() => document.querySelector('[data-testid="agent-token-value"]')?.value), { what: "the new token" });
    assert.match(token, /^aura_[0-9a-f]{64}$/);
    const lines = await b.execute(() => [...document.querySelectorAll('[data-testid^="agent-line-"]')].map((e) => e.textContent).join("\n"));
    assert.ok(lines.includes(`claude mcp add aura -- ${APP} mcp`), lines);
    assert.ok(lines.includes(`Bearer ${token}`), lines);
    const status = (await invoke(b, "agent_status", {})).value;
    assert.match(status.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.ok(!JSON.stringify(status).includes(token), "the status never carries the token");

    // No token, wrong token: refused.
    assert.equal((await fetch(status.url, { method: "POST", body: "{}" })).status, 401);
    assert.equal((await fetch(status.url, { method: "POST", body: "{}", headers: { authorization: "Bearer aura_wrong" } })).status, 401);

    // The agent, through `aura mcp`.
    const agent = agentClient(dirs, "agent");
    try {
      await askCard(b, "approved.txt");
      assert.ok(agent.step("write") && !agent.step("write").error, JSON.stringify(agent.steps));
      // The open editor shows the agent's write (same path as a save: the watcher reloads it).
      await eventually(() => b.execute(() => document.querySelector(".cm-content")?.textContent.includes("written by the agent")), { what: "editor shows the agent's write" });
      await clickInCard(b, "approved.txt", "agent-approve");
      await askCard(b, "denied.txt");
      await clickInCard(b, "denied.txt", "agent-deny");
      // Writes are allowed, but a Git hook runs on this machine: the card asks, and says why.
      const hookCard = await askCard(b, ".git/hooks/pre-commit");
      assert.ok(hookCard.includes("Git runs the settings and hooks in this folder on your machine"), hookCard);
      await clickInCard(b, ".git/hooks/pre-commit", "agent-deny");
      const { code, err } = await agent.done;
      assert.equal(code, 0, `client failed: ${err}\n${JSON.stringify(agent.steps)}`);
    } finally {
      agent.kill();
    }
    const s = (n) => agent.step(n);
    assert.ok(s("tools").text.includes("execute_command"), s("tools").text);
    assert.equal(s("read").text, README);
    assert.ok(!s("approved").error && s("approved").text.startsWith("exit code 0") && s("approved").text.includes("done-approved"), JSON.stringify(s("approved")));
    assert.ok(s("approved:progress").text.includes("done-approved"), `output streams as progress: ${JSON.stringify(s("approved:progress"))}`);
    assert.ok(s("denied").error && /denied/i.test(s("denied").text), JSON.stringify(s("denied")));
    assert.ok(!fs.existsSync(path.join(dirs.project, "denied.txt")), "a denied command never ran");
    assert.ok(s("hook").error && /denied/i.test(s("hook").text), JSON.stringify(s("hook")));
    assert.ok(!fs.existsSync(path.join(dirs.project, ".git/hooks/pre-commit")), "the hook was not written");
    assert.equal(fs.readFileSync(path.join(dirs.project, "approved.txt"), "utf8"), "approved\n");
    assert.ok(s("outside").error && !s("outside").text.includes("host secret"), JSON.stringify(s("outside")));
    assert.ok(s("unknown").error, JSON.stringify(s("unknown")));

    // The activity panel lists the calls with their outcomes.
    const activity = await eventually(() => b.execute(() => {
      const rows = [...document.querySelectorAll('[data-testid="agent-call"]')].map((r) => r.textContent);
      return rows.some((r) => r.includes("execute_command") && r.includes("denied")) ? rows : null;
    }), { what: "activity rows" });
    assert.ok(activity.some((r) => r.includes("write_file") && r.includes("ok")), activity.join("\n"));

    // Undo agent changes: README comes back, what the agent made goes.
    await (await b.$('[data-testid="agent-undo"]')).click();
    await b.execute(() => document.querySelector('[data-testid="confirm"] button.primary').click());
    await eventually(() => fs.readFileSync(path.join(dirs.project, "README.md"), "utf8") === README, { what: "README restored" });
    assert.ok(!fs.existsSync(path.join(dirs.project, "approved.txt")));
    await eventually(() => b.execute(() => document.querySelector(".cm-content")?.textContent.includes("original text")), { what: "editor shows the restored file" });
    await eventually(() => b.execute(() => !document.querySelector('[data-testid="agent-undo"]')), { what: "nothing left to undo" });
  });

  test("an app an agent starts is the window's ▶ Run: its terminal, its preview, ■ stops it", async () => {
    fs.mkdirSync(path.join(dirs.project, ".aura"), { recursive: true });
    fs.writeFileSync(path.join(dirs.project, ".aura/run.json"), JSON.stringify({ install: null, dev: "python3 -m http.server 8791 --bind 127.0.0.1", port: null, manifests: [] }));
    fs.writeFileSync(path.join(dirs.project, "index.html"), "<h1 id=who>started by the agent</h1>\n");
    const agent = agentClient(dirs, "app");
    try {
      await askCard(b, "http.server 8791");
      await clickInCard(b, "http.server 8791", "agent-approve");
      const { code, err } = await agent.done;
      assert.equal(code, 0, `client failed: ${err}\n${JSON.stringify(agent.steps)}`);
    } finally {
      agent.kill();
    }
    assert.ok(!agent.step("run_app").error && agent.step("run_app").text.includes("(started in the window)"), JSON.stringify(agent.steps));
    // One run: the window's Run terminal, its status, and the preview opened on the app's port.
    await eventually(() => b.execute(() => !!document.querySelector('.term-tab[data-title="Run"]')), { what: "the Run terminal" });
    const status = await b.$('[data-testid="run-status"]');
    await eventually(async () => (await status.getText()) === "▶ running :8791", { what: "▶ Run's status", timeout: 60000 });
    await (await b.$(".preview-frame")).waitForDisplayed({ timeout: 20000 });
    await b.switchFrame(await b.$(".preview-frame"));
    try {
      await eventually(async () => (await (await b.$("#who")).getText()) === "started by the agent", { what: "its page in the preview", timeout: 30000 });
    } finally {
      await b.switchFrame(null);
    }
    assert.equal(await (await b.$("#run-app")).getText(), "■ Stop");
    await (await b.$("#run-app")).click();
    await eventually(() => b.execute(() => document.querySelector('[data-testid="run-status"]').hidden), { what: "the run stopped" });
    assert.equal(await (await b.$("#run-app")).getText(), "▶ Run");
  });
});
