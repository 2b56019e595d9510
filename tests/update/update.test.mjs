// The signed self-update on this machine, end to end. Package A (built by build-packages.sh with a
// throwaway key) is installed with dpkg; an update server on 127.0.0.1 offers B. The real installed
// app, driven through WebDriver, refuses every bad offer with A still installed and working, then
// checks, downloads, installs and relaunches as B, with the project, its tabs, a buffer that was
// unsaved (saved first), the keychain keys and a pending sync journal entry all still there.
//
// Run by .ci/test as root (dpkg), with AURA_APP_BIN=/usr/bin/aura and AURA_UPDATE_PACKAGES=OUT_DIR.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { APP, Key, chord, eventually, freePort, invoke, makeSandboxDirs, startReady } from "../e2e/harness.mjs";
import { ACCESS, SECRET, Weed } from "../e2e/weed.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PKG = process.env.AURA_UPDATE_PACKAGES;
const BUCKET = "aura-update";

function pkgFile(dir, ext) {
  const f = fs.readdirSync(path.join(PKG, dir)).find((n) => n.endsWith(ext));
  assert.ok(f, `no ${ext} in ${path.join(PKG, dir)}: run tests/update/build-packages.sh first`);
  return path.join(PKG, dir, f);
}

function asRoot(cmd, args) {
  const [c, a] = process.getuid() === 0 ? [cmd, args] : ["sudo", [cmd, ...args]];
  return execFileSync(c, a, { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

/** The installed aura package's version, or null. */
function installedVersion() {
  try {
    const out = execFileSync("dpkg-query", ["-W", "-f=${Status} ${Version}", "aura"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.startsWith("install ok installed ") ? out.split(" ").pop() : null;
  } catch {
    return null;
  }
}

/** Processes running the installed binary (after dpkg replaces it, the old one's reads "(deleted)"). */
function installedAppPids() {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try { return fs.readlinkSync(`/proc/${pid}/exe`) === APP; } catch { return false; }
  });
}

/** When the app last opened `root` (ms), from its state database. */
function lastOpened(home, root) {
  const db = path.join(home, ".local/share/dev.aura.ide/aura.sqlite3");
  const py = "import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True, timeout=5); " +
    "r=c.execute('SELECT last_opened_at FROM projects WHERE root=?', (sys.argv[2],)).fetchone(); print(r[0] if r else 0)";
  return Number(execFileSync("python3", ["-c", py, db, root], { encoding: "utf8" }).trim());
}

function manifest(version, url, signature, key = `linux-${process.arch === "x64" ? "x86_64" : process.arch}-deb`) {
  const entry = signature === undefined ? { url } : { url, signature };
  return JSON.stringify({ version, notes: `What is new in ${version}`, pub_date: "2026-11-20T10:00:00Z", platforms: { [key]: entry } });
}

/** The update server: one manifest per case under /<case>/latest.json, packages under /pkg/. */
function startServer(versions) {
  const debB = fs.readFileSync(pkgFile("b", ".deb"));
  const sigB = fs.readFileSync(pkgFile("b", ".deb.sig"), "utf8");
  // B signed with a key the app does not trust.
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-update-other-"));
  const otherDeb = path.join(otherDir, "b.deb");
  fs.copyFileSync(pkgFile("b", ".deb"), otherDeb);
  execFileSync(path.join(REPO, "ui/node_modules/.bin/tauri"), ["signer", "sign", "-k", fs.readFileSync(path.join(PKG, "other.key"), "utf8"),
    "-p", "", "--app-version", versions.b, otherDeb], { stdio: "ignore" });
  const otherSig = fs.readFileSync(`${otherDeb}.sig`, "utf8");
  const flipped = Buffer.from(debB);
  flipped[Math.floor(flipped.length / 2)] ^= 0x01;

  let base = "";
  const routes = () => ({
    "/ok/latest.json": manifest(versions.b, `${base}/pkg/b.deb`, sigB),
    "/flipped/latest.json": manifest(versions.b, `${base}/pkg/flipped.deb`, sigB),
    "/otherkey/latest.json": manifest(versions.b, `${base}/pkg/b.deb`, otherSig),
    "/unsigned/latest.json": manifest(versions.b, `${base}/pkg/b.deb`, undefined),
    "/downgrade/latest.json": manifest("0.0.1", `${base}/pkg/b.deb`, sigB),
    "/malformed/latest.json": `{"version": "${versions.b}", "platforms": `,
    "/noplatform/latest.json": manifest(versions.b, `${base}/pkg/b.deb`, sigB, "darwin-aarch64"),
    "/cut/latest.json": manifest(versions.b, `${base}/pkg/cut.deb`, sigB),
  });
  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    const m = routes()[url];
    if (m) return res.writeHead(200, { "content-type": "application/json" }).end(m);
    if (url === "/500/latest.json") return res.writeHead(500).end("internal error");
    if (url === "/pkg/b.deb") return res.writeHead(200, { "content-length": debB.length }).end(debB);
    if (url === "/pkg/flipped.deb") return res.writeHead(200, { "content-length": flipped.length }).end(flipped);
    if (url === "/pkg/cut.deb") {
      // Announces the whole package, sends half, then the connection drops.
      res.writeHead(200, { "content-length": debB.length });
      res.write(debB.subarray(0, debB.length >> 1), () => setTimeout(() => res.destroy(), 100));
      return;
    }
    res.writeHead(404).end("not found");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    base = `http://127.0.0.1:${server.address().port}`;
    resolve({ base, close: () => server.close() });
  }));
}

async function openUpdates(b) {
  await b.action("key").down(Key.Ctrl).down(Key.Shift).down("p").up("p").up(Key.Shift).up(Key.Ctrl).perform();
  const input = await b.$(".palette-input");
  await input.waitForDisplayed({ timeout: 10000 });
  await input.setValue(">Check for Updates");
  await eventually(() => b.execute(() => /Check for Updates/.test(document.querySelector(".palette-item.selected")?.textContent ?? "")), { what: "the palette entry" });
  await b.keys(Key.Enter);
  await (await b.$('[data-testid="updates"]')).waitForDisplayed({ timeout: 10000 });
}

/**
 * Types `endpoint` in the dialog, presses Check now; returns { result, error } when it settles.
 * (The page hands back `refusal`: WebDriver takes a returned object with an `error` key for its own.)
 */
async function checkWith(b, endpoint) {
  const field = await b.$(".upd-endpoint");
  await field.setValue(endpoint);
  await (await b.$(".upd-check")).click();
  return eventually(() => b.execute(() => {
    const result = document.querySelector(".upd-result").textContent;
    const err = document.querySelector(".upd-error");
    if (result === "Checking…") return null;
    if (!err.hidden) return { result, refusal: err.textContent };
    return result ? { result, refusal: null } : null;
  }), { what: `the check of ${endpoint}`, timeout: 30000 }).then(({ result, refusal }) => ({ result, error: refusal }));
}

/** Presses Install on the offer shown; returns the error the dialog shows. */
async function installFails(b) {
  await (await b.$(".upd-install")).click();
  return eventually(() => b.execute(() => {
    const err = document.querySelector(".upd-error");
    return err.hidden ? null : err.textContent;
  }), { what: "the refusal", timeout: 120000 });
}

describe("signed self-update from an installed package", () => {
  let versions;
  let server;
  let app;
  const weed = new Weed();
  const dirs = makeSandboxDirs({ "main.py": "print('v1')\n", "notes.md": "# notes\n" });

  before(async () => {
    assert.ok(PKG, "AURA_UPDATE_PACKAGES must name the folder build-packages.sh filled");
    assert.equal(APP, "/usr/bin/aura", "AURA_APP_BIN must be the installed /usr/bin/aura");
    const already = installedVersion();
    assert.equal(already, null, `an aura package (${already}) is already installed here; this test installs and removes its own — remove it first (dpkg -r aura)`);
    versions = JSON.parse(fs.readFileSync(path.join(PKG, "versions.json"), "utf8"));
    asRoot("dpkg", ["-i", pkgFile("a", ".deb")]);
    assert.equal(installedVersion(), versions.a);
    server = await startServer(versions);
  });
  after(async () => {
    await app?.stop();
    server?.close();
    weed.stop();
    if (installedVersion()) asRoot("dpkg", ["--purge", "aura"]);
  });

  test("every bad offer is refused with its cause; A stays installed and starts", async () => {
    app = await startReady(dirs);
    const b = app.browser;
    await openUpdates(b);
    assert.match(await (await b.$(".upd-version")).getText(), new RegExp(`Aura ${versions.a.replace(/\./g, "\\.")} · installed from the \\.deb package`));
    const dead = await freePort();
    const atCheck = [
      [`http://127.0.0.1:${dead}/latest.json`, /Could not reach the update server at http:\/\/127\.0\.0\.1:\d+\/latest\.json: .*refused/i],
      [`${server.base}/404/latest.json`, /answered HTTP 404/],
      [`${server.base}/500/latest.json`, /answered HTTP 500/],
      [`${server.base}/malformed/latest.json`, /not a valid update manifest/],
      [`${server.base}/noplatform/latest.json`, /lists no package for this system \(linux-x86_64-deb or linux-x86_64\); it lists: darwin-aarch64/],
      [`${server.base}/unsigned/latest.json`, /no signature for the linux-x86_64-deb package/],
      [`${server.base}/downgrade/latest.json`, new RegExp(`offers version 0\\.0\\.1, older than the installed ${versions.a.replace(/\./g, "\\.")}`)],
      ["http://example.org/latest.json", /must use https/],
    ];
    for (const [endpoint, want] of atCheck) {
      const { error } = await checkWith(b, endpoint);
      assert.match(error ?? "(no error)", want, endpoint);
      assert.equal(await b.execute(() => document.querySelector(".upd-install").hidden), true, `${endpoint}: nothing to install`);
    }
    const atDownload = [
      ["flipped", /signature does not verify.*nothing was installed/s],
      ["otherkey", /signature does not verify.*nothing was installed/s],
      ["cut", /download stopped after \d+ of \d+ bytes.*nothing was installed/s],
    ];
    for (const [name, want] of atDownload) {
      const { result, error } = await checkWith(b, `${server.base}/${name}/latest.json`);
      assert.equal(error, null, `${name}: the offer itself is fine`);
      assert.match(result, new RegExp(`Aura ${versions.b.replace(/\./g, "\\.")} is available`));
      assert.match(await installFails(b), want, name);
      assert.equal(installedVersion(), versions.a, `${name}: A is still installed`);
    }
    await b.keys(Key.Escape);
    await app.stop();
    app = await startReady(dirs);
    assert.equal((await invoke(app.browser, "update_info")).value.current, versions.a, "A starts afterwards");
  });

  test("B installs and relaunches: project, tabs, saved buffer, keys and the sync queue survive", async () => {
    const b = app.browser;
    // Sync on, then the bucket goes away: a saved change waits in the journal.
    await weed.start();
    for (const [name, value] of [["r2_access_key_id", ACCESS], ["r2_secret_access_key", SECRET]]) {
      assert.equal((await invoke(b, "secret_set", { name, value })).ok, true);
    }
    const bucket = { endpoint: weed.endpoint, bucket: BUCKET, region: "us-east-1", path_style: true, concurrency: 4, max_file_mib: 64 };
    assert.deepEqual(await invoke(b, "sync_save_settings", { bucket }), { ok: true, value: null });
    assert.deepEqual(await invoke(b, "sync_enable", { on: true }), { ok: true, value: null });
    const syncState = () => b.execute(() => {
      const el = document.querySelector('[data-testid="sync-status"]');
      return el ? { state: el.dataset.state, pending: Number(el.dataset.pending) } : null;
    });
    await eventually(async () => (await syncState())?.state === "synced", { what: "first sync", timeout: 60000 });
    weed.stop();
    const open = async (p) => {
      await eventually(async () => { await (await b.$(`.tree-row[data-path="${p}"]`)).click(); return true; }, { what: `open ${p}` });
      await eventually(() => b.execute((p) => document.querySelector(`.tab[data-path="${p}"]`) !== null, p), { what: `${p} tab` });
    };
    await open("main.py");
    await (await b.$(".cm-content")).addValue("# queued while offline ");
    await chord(b, Key.Ctrl, "s");
    await eventually(async () => (await syncState())?.pending >= 1, { what: "a pending journal entry", timeout: 60000 });
    await open("notes.md");
    await (await b.$(".cm-content")).addValue("unsaved when the update came ");
    assert.equal(await b.execute(() => document.querySelectorAll(".tab.dirty").length), 1);

    await openUpdates(b);
    const { result, error } = await checkWith(b, `${server.base}/ok/latest.json`);
    assert.equal(error, null);
    assert.match(result, new RegExp(`Aura ${versions.b.replace(/\./g, "\\.")} is available \\(you have ${versions.a.replace(/\./g, "\\.")}`));
    assert.match(await (await b.$(".upd-notes")).getText(), /What is new in/);
    assert.equal(await (await b.$(".upd-install")).getText(), "Save 1 unsaved file, install and restart");
    const [oldPid] = installedAppPids();
    assert.ok(oldPid, "A runs from /usr/bin/aura");
    const clicked = Date.now();
    await (await b.$(".upd-install")).click();

    // The old process installs B and relaunches; the new one opens the project again.
    await eventually(async () => {
      const failed = await b.execute(() => document.querySelector(".upd-error:not([hidden])")?.textContent).catch(() => null);
      if (failed) throw new Error(`the install was refused: ${failed}`);
      const now = installedAppPids();
      return now.length === 1 && now[0] !== oldPid && lastOpened(dirs.home, dirs.project) > clicked;
    }, { what: "the relaunched app to open the project", timeout: 180000 });
    assert.equal(installedVersion(), versions.b, "B is installed");
    assert.ok(!fs.existsSync(`/proc/${oldPid}`) || fs.readFileSync(`/proc/${oldPid}/stat`, "utf8").split(" ")[2] === "Z", "A has exited");
    assert.match(fs.readFileSync(path.join(dirs.project, "notes.md"), "utf8"), /unsaved when the update came/, "the buffer was saved first");
    await app.stop(); // ends the relaunched process too (same process group)

    app = await startReady(dirs);
    const b2 = app.browser;
    assert.equal((await invoke(b2, "update_info")).value.current, versions.b, "the window is B's");
    const tabs = await b2.execute(() => [...document.querySelectorAll(".tab")].map((t) => t.dataset.path).sort());
    assert.deepEqual(tabs, ["main.py", "notes.md"], "the tabs are restored");
    const keys = (await invoke(b2, "secrets_status")).value.filter((s) => s.set).map((s) => s.name).sort();
    assert.deepEqual(keys, ["r2_access_key_id", "r2_secret_access_key"], "the keychain kept the keys");
    const syncState2 = () => b2.execute(() => {
      const el = document.querySelector('[data-testid="sync-status"]');
      return el ? { state: el.dataset.state, pending: Number(el.dataset.pending) } : null;
    });
    await eventually(async () => (await syncState2())?.pending >= 1, { what: "the journal entry still queued", timeout: 30000 });
    await weed.start();
    assert.equal((await invoke(b2, "sync_now")).ok, true);
    await eventually(async () => (await syncState2())?.state === "synced", { what: "the queue drained after the update", timeout: 60000 });
  });
});
