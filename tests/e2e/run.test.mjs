// ▶ Run end to end in the local sandbox: the detected configuration installs a real dependency
// from the npm registry, starts the dev server in a Run terminal, finds the port it opens (not the
// framework's usual one) and shows the page in the preview; a second run skips the install; a dev
// server that exits and an install that fails (a misspelt package) say so in the status bar; Run
// settings are saved in the project. The bundled sample project runs with one click.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Key, eventually, makeSandboxDirs, startReady } from "./harness.mjs";

/** The sample project Aura writes out when there is nothing to open, as it is bundled. */
function sampleFiles() {
  const root = fileURLToPath(new URL("../../src-tauri/core/samples/hello-web", import.meta.url));
  const files = {};
  for (const rel of fs.readdirSync(root, { recursive: true })) {
    const p = path.join(root, rel);
    if (fs.statSync(p).isFile()) files[rel] = fs.readFileSync(p, "utf8");
  }
  return files;
}

const PKG = { name: "run-e2e", private: true, scripts: { dev: "node server.js" }, dependencies: { ms: "2.1.3" } };
const SERVER = `const http = require("http");
const ms = require("ms");
http.createServer((req, res) => res.end("<h1 id=msg>hello from run, " + ms(60000) + "</h1>"))
  .listen(4173, "127.0.0.1", () => console.log("ready"));
`;

async function runStatus(b) {
  return b.execute(() => {
    const el = document.querySelector('[data-testid="run-status"]');
    return { phase: el.dataset.phase ?? "idle", text: el.hidden ? "" : el.textContent };
  });
}

/** Waits until the preview shows `text` in `selector`. */
async function previewShows(b, selector, text, what) {
  await (await b.$(".preview-frame")).waitForDisplayed({ timeout: 20000 });
  await b.switchFrame(await b.$(".preview-frame"));
  try {
    await eventually(async () => (await (await b.$(selector)).getText()) === text, { what, timeout: 30000 });
  } finally {
    await b.switchFrame(null);
  }
}

/** Opens Run settings from the command palette; returns the form. */
async function openRunSettings(b) {
  await b.action("key").down(Key.Ctrl).down(Key.Shift).down("p").up("p").up(Key.Shift).up(Key.Ctrl).perform();
  await (await b.$(".palette-input")).setValue(">Run: Settings");
  await eventually(() => b.execute(() => /Run: Settings/.test(document.querySelector(".palette-item.selected")?.textContent ?? "")), { what: "palette entry" });
  await b.keys(Key.Enter);
  const form = await b.$('[data-testid="run-settings"]');
  await form.waitForDisplayed({ timeout: 10000 });
  return form;
}

/** Records every phase the status bar shows from now on. */
async function recordPhases(b) {
  await b.execute(() => {
    window.__phases = [];
    const el = document.querySelector('[data-testid="run-status"]');
    new MutationObserver(() => window.__phases.push(el.dataset.phase)).observe(el, { attributes: true, attributeFilter: ["data-phase"] });
  });
}

describe("▶ Run", () => {
  let app;
  const dirs = makeSandboxDirs({ "package.json": JSON.stringify(PKG, null, 2), "server.js": SERVER });
  before(async () => {
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("install from the registry, dev server, the port it opens, preview; the second run skips the install", async () => {
    const b = app.browser;
    await recordPhases(b);
    await (await b.$("#run-app")).click();
    await eventually(async () => (await runStatus(b)).text === "▶ running :4173", { what: "running :4173 (Node.js's usual port is 3000)", timeout: 180000, interval: 300 });
    const phases = await b.execute(() => window.__phases);
    assert.deepEqual([...new Set(phases)], ["installing", "starting", "running"], JSON.stringify(phases));
    assert.ok(fs.existsSync(path.join(dirs.project, "node_modules/ms/package.json")), "installed into the project");
    assert.equal(await (await b.$("#run-app")).getText(), "■ Stop");

    await previewShows(b, "#msg", "hello from run, 1m", "the page in the preview");

    // Stop, then run again: nothing changed, so no install.
    await (await b.$("#run-app")).click();
    await eventually(async () => (await runStatus(b)).phase === "idle", { what: "stopped" });
    assert.equal(await b.execute(() => document.querySelector('.term-tab[data-title="Run"]')), null, "the Run terminal is gone");
    await recordPhases(b);
    await b.keys(Key.F5);
    await eventually(async () => (await runStatus(b)).text === "▶ running :4173", { what: "running again", timeout: 60000, interval: 300 });
    assert.deepEqual([...new Set(await b.execute(() => window.__phases))], ["starting", "running"]);
    await (await b.$("#run-app")).click();
    await eventually(async () => (await runStatus(b)).phase === "idle", { what: "stopped again" });
  });

  test("a dev command that exits, set in Run settings; an install that fails", async () => {
    const b = app.browser;
    const form = await openRunSettings(b);
    assert.match(await form.getText(), /detected: package\.json \(Node\.js, npm\)/);
    await (await form.$('input[name="dev"]')).setValue("node missing.js");
    await (await form.$('input[name="port"]')).setValue("80");
    await (await form.$("button=Save")).click();
    await eventually(async () => /1024/.test(await (await form.$(".run-error")).getText()), { what: "the port refused" });
    await (await form.$('input[name="port"]')).setValue("3000");
    await (await form.$("button=Save")).click();
    await eventually(() => fs.existsSync(path.join(dirs.project, ".aura/run.json")), { what: ".aura/run.json" });
    assert.equal(JSON.parse(fs.readFileSync(path.join(dirs.project, ".aura/run.json"), "utf8")).dev, "node missing.js");

    await (await b.$("#run-app")).click();
    await eventually(async () => (await runStatus(b)).text === "▶ exited with code 1", { what: "exited with code 1", timeout: 60000, interval: 300 });
    assert.equal(await (await b.$("#run-app")).getText(), "▶ Run");

    // A misspelt dependency: the manifest changed, so the install runs, and fails.
    const pkg = { ...PKG, dependencies: { ...PKG.dependencies, "aura-e2e-no-such-package-zzz": "1.0.0" } };
    fs.writeFileSync(path.join(dirs.project, "package.json"), JSON.stringify(pkg, null, 2));
    await (await b.$("#run-app")).click();
    await eventually(async () => /^▶ install failed \(exit \d+\): the registry has no package aura-e2e-no-such-package-zzz$/.test((await runStatus(b)).text), { what: "install failed, and why", timeout: 180000, interval: 300 });
    await eventually(() => b.execute(() => [...document.querySelectorAll(".toast.error")].some((t) => /install failed/.test(t.textContent))), { what: "the toast" });
  });
});

describe("▶ Run on the bundled sample", () => {
  let app;
  const dirs = makeSandboxDirs(sampleFiles());
  before(async () => {
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("one click: the port it prints and opens (:5173, not Node.js's usual :3000), and the page", async () => {
    const b = app.browser;
    await (await b.$("#run-app")).click();
    await eventually(async () => (await runStatus(b)).text === "▶ running :5173", { what: "running :5173", timeout: 60000, interval: 300 });
    await previewShows(b, "h1", "Hello, Aura", "the sample's page in the preview");
    await (await b.$("#run-app")).click();
    await eventually(async () => (await runStatus(b)).phase === "idle", { what: "stopped" });
  });
});

describe("▶ Run in a monorepo", () => {
  let app;
  const server = (name, port) => `require("http").createServer((q, s) => s.end("<h1 id=who>${name}</h1>")).listen(${port}, "127.0.0.1", () => console.log("${name} on http://localhost:${port}/"));\n`;
  const dirs = makeSandboxDirs({
    "package.json": JSON.stringify({ name: "shop", private: true, workspaces: ["apps/*", "packages/*"] }, null, 2),
    "apps/web/package.json": JSON.stringify({ name: "web", scripts: { dev: "node server.js" } }),
    "apps/web/server.js": server("web", 4997),
    "packages/api/package.json": JSON.stringify({ name: "api", scripts: { start: "node server.js" } }),
    "packages/api/server.js": server("api", 4998),
    "packages/ui/package.json": JSON.stringify({ name: "ui" }),
  });
  before(async () => {
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("Run settings lists the workspace's apps; the one chosen is installed at the root and started in its folder", async () => {
    const b = app.browser;
    const form = await openRunSettings(b);
    assert.match(await form.getText(), /detected: package\.json workspaces: apps\/web \(Node\.js, npm\)/);
    const options = await b.execute(() => [...document.querySelectorAll('select[name="app"] option')].map((o) => o.textContent));
    assert.deepEqual(options, ["as set below", "apps/web — web (Node.js)", "packages/api — api (Node.js)"]);
    assert.equal(await (await form.$('input[name="dev"]')).getValue(), "cd apps/web && npm run dev");
    await (await form.$('select[name="app"]')).selectByVisibleText("packages/api — api (Node.js)");
    assert.equal(await (await form.$('input[name="dev"]')).getValue(), "cd packages/api && npm run start");
    assert.equal(await (await form.$('input[name="install"]')).getValue(), "npm install");
    await (await form.$("button=Save")).click();
    await eventually(() => fs.existsSync(path.join(dirs.project, ".aura/run.json")), { what: ".aura/run.json" });

    await (await b.$("#run-app")).click();
    await eventually(async () => (await runStatus(b)).text === "▶ running :4998", { what: "the api running", timeout: 120000, interval: 300 });
    assert.ok(fs.existsSync(path.join(dirs.project, "node_modules/api")), "npm linked the workspace at the root");
    await previewShows(b, "#who", "api", "the api's page");
    await (await b.$("#run-app")).click();
    await eventually(async () => (await runStatus(b)).phase === "idle", { what: "stopped" });
  });
});
