// The signed self-update on this machine, end to end. Package A (built by build-packages.sh with a
// throwaway key) is installed with dpkg; an update server on 127.0.0.1 offers B. The real installed
// app, driven through WebDriver, refuses every bad offer with A still installed and working, then
// checks, downloads, installs and relaunches as B, with the project, its tabs, a buffer that was
// unsaved (saved first), the keychain keys and a pending sync journal entry all still there.
//
// Run by .ci/test as root (dpkg), with AURA_APP_BIN=/usr/bin/aura and AURA_UPDATE_PACKAGES=OUT_DIR.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { APP, Key, chord, eventually, freePort, invoke, makeSandboxDirs, startReady } from "../e2e/harness.mjs";
import { ACCESS, SECRET, Weed } from "../e2e/weed.mjs";
import { PKG, asRoot, checkWith, installFails, installedAppPids, installedVersion, lastOpened, openUpdates, pkgFile, startServer } from "./updatekit.mjs";

const BUCKET = "aura-update";

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
