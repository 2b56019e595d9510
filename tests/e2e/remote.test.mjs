// End to end with a remote provider: the real app, an E2B key entered in the UI (kept in
// the keychain), E2B chosen in the sandbox settings, and "Run" executing in an E2B sandbox served
// by the local contract server (which validates every request against the official spec).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { Key, eventually, makeSandboxDirs, startReady, terminalText } from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const KEY = "e2b_e2e_contract_key";

async function startContract(trace) {
  const proc = spawn("python3", [path.join(repo, "tests/contract/e2b_server.py"), path.join(repo, "../shared/specs/e2b"), KEY], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, E2B_TRACE: trace },
  });
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stdout }).once("line", resolve);
    proc.once("exit", (c) => reject(new Error(`contract server exited ${c}`)));
  });
  return { proc, port: Number(line.split(" ")[1]) };
}

describe("E2B provider", () => {
  let app;
  let server;
  const dirs = makeSandboxDirs({
  "hello.txt": "uploaded to e2b\n",
  "web.js": "require('http').createServer((q, s) => s.end('<h1 id=remote>served from the e2b sandbox</h1>')).listen(5175, '127.0.0.1', () => console.log('Local: http://localhost:5175/'));\n",
});
  before(async () => {
    server = await startContract(path.join(dirs.base, "e2b-trace.log"));
    process.env.E2B_DOMAIN = "e2b.test";
    process.env.AURA_E2B_SCHEME = "http";
    process.env.AURA_E2B_RESOLVE = `127.0.0.1:${server.port}`;
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
    server?.proc.kill();
  });

  test("key in the keychain, E2B chosen, Run executes remotely", async () => {
    const b = app.browser;
    await (await b.$('#sidebar-tabs button[data-view="sandbox"]')).click();
    // The panel loads with its first showing: open its sections once it is there.
    const row = await b.$('.key-row[data-secret="e2b_api_key"]');
    await row.waitForExist({ timeout: 20000 });
    await b.execute(() => document.querySelectorAll("#view-sandbox details").forEach((x) => { x.open = true; }));
    await (await row.$("input")).addValue(KEY);
    await (await row.$("button=Save")).click();
    await eventually(async () => (await b.$('.key-row[data-secret="e2b_api_key"] .key-set')).isExisting(), { what: "key set" });

    await (await b.$(".sb-provider")).selectByAttribute("value", "e2b");
    await (await b.$("button=Test connection")).click();
    await eventually(async () => /Connected to e2b/.test(await (await b.$(".sb-test-result")).getText()), { what: "connection test" });
    await (await b.$("button=Save settings")).click();
    await eventually(async () => /e2b/.test(await (await b.$(".status-provider")).getText()), { what: "provider in status bar" });

    await (await b.$(".sb-run-input")).addValue("cat hello.txt; echo host=$(hostname)");
    await b.keys([Key.Enter]);
    const out = await eventually(async () => {
      const t = await (await b.$('[data-testid="run-output"]')).getText();
      return t.includes("exit code") ? t : null;
    }, { what: "remote run", timeout: 60000 });
    assert.match(out, /uploaded to e2b/);
    assert.match(out, /exit code 0/);
    await eventually(async () => /e2b: started/.test(await (await b.$(".status-provider")).getText()), { what: "e2b: started in the status bar" });

    // A terminal on the E2B sandbox's PTY.
    await (await b.$("button.term-new:nth-of-type(2)")).click();
    await eventually(async () => (await b.$('.term-view[data-sandbox="true"]')).isExisting(), { what: "remote terminal" });
    await (await b.$('.term-view[data-sandbox="true"] .xterm')).click();
    await (await b.$('.term-view[data-sandbox="true"] .xterm-helper-textarea')).addValue("cat hello.txt; echo remote-$((20+22))");
    await b.keys([Key.Enter]);
    await eventually(async () => /remote-42/.test(await terminalText(b)), { what: "remote terminal output" }).catch(async (e) => {
      const focus = await b.execute(() => `${document.activeElement?.tagName}.${document.activeElement?.className}`);
      const held = await b.execute(() => [...document.querySelectorAll(".term-view")]
        .map((v) => `[${v.dataset.terminalId} sandbox=${v.dataset.sandbox} hidden=${v.hidden} ${v.offsetWidth}x${v.offsetHeight}] ${v.bufferText?.()}`).join("\n"));
      const tail = (f) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").slice(-40).join("\n") : "(none)");
      throw new Error(`${e.message}\nterminal:\n${await terminalText(b)}\nfocus: ${focus}\nbuffers:\n${held}\n`
        + `contract server's PTY trace:\n${tail(path.join(dirs.base, "e2b-trace.log"))}\napp log:\n${tail(app.log)}`);
    });

    // The preview reaches the sandbox's port at <port>-<id>.<domain> through Aura's proxy.
    await (await b.$('.term-view[data-sandbox="true"] .xterm-helper-textarea')).addValue("node web.js");
    await b.keys([Key.Enter]);
    await eventually(async () => /localhost:5175/.test(await terminalText(b)), { what: "remote dev server started" });
    await (await b.$("#toggle-preview")).click();
    // (Opening the pane may already show the port the terminal printed: set, do not append.)
    await b.execute(() => { document.querySelector(".preview-port").value = "5175"; });
    await b.execute(() => [...document.querySelectorAll(".preview-toolbar button")].find((x) => x.textContent === "Go").click());
    // Read in one script per poll (a looked-up element can be gone by the time it is read).
    const shown = async () => {
      await b.switchFrame(await b.$(".preview-frame"));
      try {
        return await b.execute(() => document.querySelector("#remote")?.textContent ?? null);
      } finally {
        await b.switchFrame(null);
      }
    };
    await eventually(async () => (await shown()) === "served from the e2b sandbox", { what: "remote preview", timeout: 30000 }).catch(async (e) => {
      const pane = await b.execute(() => `${document.querySelector('[data-testid="preview-address"]')?.textContent} | note: ${document.querySelector('[data-testid="preview-message"]')?.textContent}`);
      throw new Error(`${e.message}\npreview pane: ${pane}\nframe shows: ${await shown().catch((x) => x.message)}`);
    });

    const violations = await (await fetch(`http://127.0.0.1:${server.port}/__violations`)).json();
    assert.deepEqual(violations, [], "the app's requests follow the official contract");
  });

  test("the Sandboxes view lists Aura's sandboxes from any machine, deletes one, and usage is priced", async () => {
    const b = app.browser;
    // Made on "another machine" (Aura's labels), and one of the account's that is not Aura's.
    const theirs = await createAtE2b(server.port, { project: "blog", "aura-project": "0123456789abcdef", "aura-machine": "laptop-2" });
    await createAtE2b(server.port, { team: "data" });
    // (Opened with every section by the test before, when there was no key yet: refreshed.)
    await b.execute(() => { document.querySelector('[data-testid="sandboxes-section"]').open = true; });
    // (The section may be below the panel's fold: clicked in the page, not by pointer.)
    await b.execute(() => document.querySelector('[data-testid="sandboxes-refresh"]').click());
    const rows = async () => b.execute(() => [...document.querySelectorAll('[data-testid="sandboxes"] .sb-fleet-row')]
      .map((r) => `${r.dataset.sandbox} | ${r.textContent}`));
    const listed = await eventually(async () => {
      const r = await rows();
      return r.length === 2 ? r : null;
    }, { what: "Aura's two sandboxes listed", timeout: 20000 }).catch(async (e) => {
      const view = await b.execute(() => document.querySelector('[data-testid="sandboxes"]')?.textContent);
      throw new Error(`${e.message}\nrows: ${JSON.stringify(await rows())}\nview: ${view}`);
    });
    const other = listed.find((r) => r.startsWith(theirs));
    assert.match(other, /blog · another machine/);
    assert.match(other, /E2B · started/);
    assert.match(listed.find((r) => !r.startsWith(theirs)), /· this project/);

    await b.execute((id) => [...document.querySelector(`.sb-fleet-row[data-sandbox="${id}"]`).querySelectorAll("button")]
      .find((x) => x.textContent === "Delete").click(), theirs);
    await (await (await b.$('[data-testid="confirm"]')).$('button=Delete')).click();
    await eventually(async () => (await rows()).length === 1, { what: "the deleted sandbox gone from the view" });
    const requests = await (await fetch(`http://127.0.0.1:${server.port}/__requests`)).json();
    assert.ok(requests.some((r) => r.method === "DELETE" && r.path === `/sandboxes/${theirs}`), "deleted at the provider");

    // This month's hours at E2B, priced at the public rates.
    await b.execute(() => [...document.querySelectorAll("#view-sandbox details")].forEach((d) => { d.open = true; }));
    await eventually(async () => /e2b: .* this month [0-9.]+ h ≈ (<\$0\.001|\$[0-9.]+)$/.test(
      await b.execute(() => document.querySelector('.sb-usage[data-provider="e2b"]')?.textContent ?? "")), { what: "usage priced" });
    const violations = await (await fetch(`http://127.0.0.1:${server.port}/__violations`)).json();
    assert.deepEqual(violations, [], "the app's requests follow the official contract");
  });
});

/** Creates a sandbox at the contract server as another client of the account would. */
async function createAtE2b(port, metadata) {
  const body = JSON.stringify({ templateID: "base", metadata, timeout: 3600 });
  const text = await new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/sandboxes",
      headers: { Host: "api.e2b.test", "X-API-Key": KEY, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => {
      let data = "";
      res.on("data", (c) => { data += c; });
      res.on("end", () => (res.statusCode === 201 ? resolve(data) : reject(new Error(`create: ${res.statusCode} ${data}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
  return JSON.parse(text).sandboxID;
}
