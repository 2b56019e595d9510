// Starts the real Aura binary under tauri-driver (WebKitWebDriver) and hands tests a WebdriverIO
// browser. Everything it starts runs in its own process group and is killed by group at the end.
// HOME and XDG_* point into a temp dir so the app's SQLite file and data never touch the user's.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Key, remote } from "webdriverio";

export { Key };

export const APP = process.env.AURA_APP_BIN;

// The app a test is driving, so a timeout can say what it showed and logged.
let current = null;

/** What the current app shows in toasts and the end of its log: for a failure's message. */
async function diagnostics() {
  if (!current) return "";
  let toasts = "";
  let terminals = "";
  try {
    toasts = await current.browser.execute(() => [...document.querySelectorAll(".toast")].map((t) => t.textContent).join(" | "));
    terminals = await current.browser.execute(() => [...document.querySelectorAll(".term-tab")].map((t) => t.dataset.title).join(", "));
  } catch { /* the page may be gone */ }
  let log = "";
  try {
    log = fs.readFileSync(path.join(current.dirs.home, ".local/share/dev.aura.ide/logs/aura.log"), "utf8").trim().split("\n").slice(-15).join("\n");
  } catch { /* no log yet */ }
  return `\n  toasts: ${toasts || "(none)"}\n  terminals: ${terminals || "(none)"}\n  app log (last lines):\n${log || "(empty)"}`;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function waitForPort(port, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((res) => {
      const s = net.connect(port, "127.0.0.1", () => { s.destroy(); res(true); });
      s.on("error", () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on ${port} within ${ms} ms`);
}

/** Scratch folders of this test process, removed when it exits (set AURA_E2E_KEEP=1 to keep
 *  them for a look after a failure): a run of the suite leaves nothing behind in /tmp (its
 *  npm installs and restored copies were gigabytes per run). */
const scratches = [];
process.on("exit", () => {
  if (process.env.AURA_E2E_KEEP) return;
  for (const d of scratches) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

/** A new folder under the temp dir, removed when this test process exits. */
export function scratch(prefix = "aura-e2e-") {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratches.push(d);
  return d;
}

/** A fresh temp "machine": home, XDG dirs, and a project folder with a few files. */
export function makeSandboxDirs(files = {}) {
  const base = scratch();
  const dirs = {
    base,
    home: path.join(base, "home"),
    project: path.join(base, "project"),
  };
  for (const d of [dirs.home, dirs.project]) fs.mkdirSync(d, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dirs.project, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
  return dirs;
}

export function appEnv(dirs) {
  return {
    ...process.env,
    HOME: dirs.home,
    XDG_DATA_HOME: path.join(dirs.home, ".local/share"),
    XDG_CONFIG_HOME: path.join(dirs.home, ".config"),
    XDG_CACHE_HOME: path.join(dirs.home, ".cache"),
    XDG_STATE_HOME: path.join(dirs.home, ".local/state"),
    SHELL: "/bin/bash",
    TAURI_WEBVIEW_AUTOMATION: "true",
    AURA_LOG: process.env.AURA_LOG || "info",
  };
}

function driverBinary() {
  const candidates = [process.env.TAURI_DRIVER, path.join(os.homedir(), ".cargo/bin/tauri-driver"), "tauri-driver"];
  return candidates.find((c) => c && (c === "tauri-driver" || fs.existsSync(c)));
}

/** Starts tauri-driver and a session on the app with `args`. Returns { browser, stop }. */
export async function startApp(dirs, args = [dirs.project]) {
  if (!APP || !fs.existsSync(APP)) throw new Error(`AURA_APP_BIN must name the built app (got ${APP})`);
  const port = await freePort();
  const nativePort = await freePort();
  const log = fs.openSync(path.join(dirs.base, `driver-${port}.log`), "a");
  const driver = spawn(driverBinary(), ["--port", String(port), "--native-port", String(nativePort)], {
    env: appEnv(dirs),
    stdio: ["ignore", log, log],
    detached: true, // own process group: killed as a whole below
  });
  const stop = async (browser) => {
    try { await browser?.deleteSession(); } catch { /* the app may already be gone */ }
    try { process.kill(-driver.pid, "SIGTERM"); } catch { /* already exited */ }
    await new Promise((r) => setTimeout(r, 300));
    try { process.kill(-driver.pid, "SIGKILL"); } catch { /* already exited */ }
  };
  try {
    await waitForPort(port, 20000);
    const browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "error",
      connectionRetryCount: 5,
      connectionRetryTimeout: 120000,
      capabilities: { "tauri:options": { application: APP, args } },
    });
    current = { browser, dirs };
    return { browser, stop: () => { current = null; return stop(browser); }, log: path.join(dirs.base, `driver-${port}.log`) };
  } catch (e) {
    await stop(null);
    throw e;
  }
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually(fn, { timeout = 20000, interval = 150, what = "condition" } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}${await diagnostics()}`);
}

/** The visible text of the active terminal (xterm's DOM renderer rows). */
export async function terminalText(browser) {
  return browser.execute(() => {
    const view = [...document.querySelectorAll(".term-view")].find((v) => !v.hidden);
    return view ? [...view.querySelectorAll(".xterm-rows > div")].map((r) => r.textContent).join("\n") : "";
  });
}

/** Calls a Tauri command from the page, returning { ok, value } or { ok: false, error }. */
export async function invoke(browser, cmd, args) {
  return browser.executeAsync((cmd, args, done) => {
    // Plain JSON crosses the WebDriver boundary reliably; IPC objects may not.
    window.__TAURI_INTERNALS__.invoke(cmd, args).then(
      (value) => done(JSON.stringify({ ok: true, value })),
      (error) => done(JSON.stringify({ ok: false, error })),
    );
  }, cmd, args).then((s) => JSON.parse(s));
}

/** Presses `key` with `modifier` held (e.g. chord(b, Key.Ctrl, "s")), then releases both. */
export async function chord(browser, modifier, key) {
  await browser.action("key").down(modifier).down(key).up(key).up(modifier).perform();
}

/** Starts the app on `dirs` and waits until it has opened the project. */
export async function startReady(dirs, args) {
  const app = await startApp(dirs, args);
  await eventually(() => app.browser.execute(() => document.body.dataset.ready === "true"), { what: "project opened", timeout: 60000 });
  return app;
}
