// End to end: the real app syncing to a real S3 server (SeaweedFS on 127.0.0.1). The
// bucket and keys are entered in the sync panel (keys go to the keychain), a save in the editor
// reaches the bucket without being asked (checked by restoring with the `aura-sync` binary), the
// bucket going down shows "offline" with the queue and drains when it is back, and another
// machine moving the project on shows a conflict that "Keep mine" resolves without losing
// either version.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { APP, Key, chord, eventually, invoke, makeSandboxDirs, scratch, startReady } from "./harness.mjs";
import { configureBucket, syncState } from "./syncpanel.mjs";
import { ACCESS, SECRET, Weed } from "./weed.mjs";

const BUCKET = "aura-e2e";
const CLI = APP ? path.join(path.dirname(APP), "aura-sync") : "";

function cli(weed, args) {
  const out = execFileSync(CLI, args, {
    env: { ...process.env, AURA_S3_ENDPOINT: weed.endpoint, AURA_S3_BUCKET: BUCKET, AURA_S3_ACCESS_KEY_ID: ACCESS, AURA_S3_SECRET_ACCESS_KEY: SECRET },
    encoding: "utf8",
  });
  return JSON.parse(out);
}

/** What the bucket's latest snapshot holds for `rel` (restored by the CLI into a new folder). */
function bucketFile(weed, key, rel) {
  const dest = scratch("aura-e2e-restore-");
  fs.rmSync(dest, { recursive: true });
  cli(weed, ["restore", key, dest]);
  const p = path.join(dest, rel);
  return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null;
}

/** Machine B (the aura-sync binary with its own state): restore the project, write main.py, push. */
function otherMachineWrites(weed, key, content) {
  const other = scratch("aura-e2e-b-");
  const dest = path.join(other, "proj");
  const db = path.join(other, "state.sqlite3");
  cli(weed, ["restore", key, dest, "--db", db]);
  fs.writeFileSync(path.join(dest, "main.py"), content);
  const pushed = cli(weed, ["push", dest, "--db", db]);
  assert.ok(pushed.snapshot, JSON.stringify(pushed));
  return pushed;
}

/** Types into the open editor (plain words: no brackets for the editor to auto-close) and saves. */
async function typeAndSave(b, text) {
  await (await b.$(".cm-content")).addValue(text);
  await chord(b, Key.Ctrl, "s");
  await eventually(() => b.execute(() => !document.querySelector(".tab.dirty")), { what: "saved" });
}

describe("sync to an S3 bucket", () => {
  let app;
  const weed = new Weed();
  const dirs = makeSandboxDirs({
    "main.py": "print('v1')\n",
    "node_modules/dep/index.js": "installed in the sandbox, not uploaded\n",
    ".gitignore": "*.log\n",
    "debug.log": "left out by the project's rule\n",
  });
  // A link leading out of the project: never followed, listed as not synced.
  fs.writeFileSync(path.join(dirs.base, "outside.txt"), "not the project's\n");
  fs.symlinkSync("../outside.txt", path.join(dirs.project, "escape"));
  let key;
  before(async () => {
    await weed.start();
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
    weed.stop();
  });

  test("settings and keys in the panel, then a save reaches the bucket by itself", async () => {
    const b = app.browser;
    await configureBucket(b, weed, BUCKET);
    // This suite reads the bucket's plaintext with the CLI; encryption has its own test.
    await (await b.$('[data-testid="sync-encrypt"]')).click();
    await (await b.$('[data-testid="sync-enabled"]')).click();
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "first sync", timeout: 60000 });
    key = await b.execute(() => [...document.querySelectorAll('[data-testid="sync-state"] .hint')].map((e) => e.textContent).find((t) => t.startsWith("Project key: "))?.slice(13));
    assert.ok(key, "the panel shows the project key");
    assert.equal(bucketFile(weed, key, "main.py"), "print('v1')\n");
    assert.equal(bucketFile(weed, key, "node_modules/dep/index.js"), null, "node_modules is not uploaded");

    // Edit and save in the editor: no further action, the bucket gets it.
    await (await b.$('#sidebar-tabs button[data-view="files"]')).click();
    // (The tree may re-render while it settles: retry a click on a stale row.)
    await eventually(async () => { await (await b.$('.tree-row[data-path="main.py"]')).click(); return true; }, { what: "open main.py" });
    await eventually(() => b.execute(() => document.querySelector('.tab[data-path="main.py"]') !== null), { what: "editor" });
    await typeAndSave(b, "# v2 ");
    await eventually(() => /# v2/.test(bucketFile(weed, key, "main.py") ?? ""), { what: "the save in the bucket", timeout: 30000 });
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "synced again" });
    await (await b.$('[data-testid="sync-status"]')).click();
    await eventually(() => b.execute(() => /main\.py/.test(document.querySelector('[data-testid="sync-events"]').textContent)), { what: "the upload listed in the panel" });

    // What the bucket holds, measured from the usage section (this project is all of it).
    await (await b.$('#sidebar-tabs button[data-view="sandbox"]')).click();
    await (await b.$('[data-testid="bucket-measure"]')).waitForExist({ timeout: 20000 });
    await b.execute(() => document.querySelectorAll("#view-sandbox details").forEach((x) => { x.open = true; }));
    await b.execute(() => document.querySelector('[data-testid="bucket-measure"]').click());
    const measured = await eventually(async () => {
      const t = await b.execute(() => document.querySelector('[data-testid="bucket-usage"]').textContent);
      return /objects/.test(t) ? t : null;
    }, { what: "the bucket measured" });
    assert.match(measured, /^Bucket: [0-9.]+ (B|KiB|MiB) in [0-9]+ objects \(this project: [0-9.]+ (B|KiB|MiB)\) ≈ (<\$0\.001|\$[0-9.]+) a month/);
    await (await b.$('#sidebar-tabs button[data-view="sync"]')).click();

    // The secret is in the keychain, not in the state database, the log nor the page.
    const data = path.join(dirs.home, ".local/share/dev.aura.ide");
    for (const f of ["aura.sqlite3", "aura.sqlite3-wal"].filter((f) => fs.existsSync(path.join(data, f)))) {
      assert.ok(!fs.readFileSync(path.join(data, f)).includes(Buffer.from(SECRET)), `the secret key is not in SQLite (${f})`);
    }
    const log = fs.readFileSync(path.join(data, "logs/aura.log"), "utf8");
    assert.ok(log.length > 0 && !log.includes(SECRET), "nor in the log");
    assert.ok(!(await b.getPageSource()).includes(SECRET), "nor in the page");
  });

  test("what is not synced is listed with its reason; the tree says why for any path", async () => {
    const b = app.browser;
    await (await b.$('[data-testid="sync-status"]')).click();
    await eventually(() => b.execute(() => {
      const el = document.querySelector('[data-testid="sync-skipped"]');
      return !!el && !el.hidden && /escape.*outside the project/.test(el.textContent) && /node_modules.*dependency or build-output folder/.test(el.textContent);
    }), { what: "the link out of the project and node_modules listed as not synced" });
    await (await b.$('#sidebar-tabs button[data-view="files"]')).click();
    const why = async (rel) => {
      await eventually(async () => { await (await b.$(`.tree-row[data-path="${rel}"]`)).click({ button: "right" }); return true; }, { what: `menu on ${rel}` });
      await (await (await b.$(".context-menu")).$("div=Why Is This Synced or Not?")).click();
      const box = await b.$('[data-testid="confirm"]');
      await box.waitForExist({ timeout: 10000 });
      const text = await box.getText();
      await (await box.$("button=Close")).click();
      await box.waitForExist({ reverse: true, timeout: 10000 });
      return text;
    };
    assert.match(await why("debug.log"), /debug\.log is not synced[\s\S]*'\*\.log' in \.gitignore/);
    assert.match(await why("node_modules"), /not synced[\s\S]*build-output folder/);
    assert.match(await why("main.py"), /main\.py is synced/);
  });

  test("the bucket goes down: offline with a queue; back: it drains", async () => {
    const b = app.browser;
    weed.stop();
    await typeAndSave(b, "# offline one ");
    await eventually(async () => {
      const s = await syncState(b);
      return s?.state === "offline" && s.pending >= 1;
    }, { what: "offline with a pending count", timeout: 60000 });
    assert.match((await syncState(b)).text, /offline · \d+ queued/);
    await typeAndSave(b, "# offline two ");
    await weed.start();
    await (await b.$('[data-testid="sync-status"]')).click();
    await (await b.$('[data-testid="sync-now"]')).click();
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "drained", timeout: 60000 });
    assert.match(bucketFile(weed, key, "main.py"), /offline two/);
  });

  test("another machine moved on: a conflict, 'Keep mine' keeps both versions", async () => {
    const b = app.browser;
    const pushed = otherMachineWrites(weed, key, "print('from machine B')\n");

    await typeAndSave(b, "# from the app ");
    await eventually(async () => (await syncState(b))?.state === "conflict", { what: "conflict", timeout: 30000 });
    await (await b.$('[data-testid="sync-status"]')).click();
    const conflict = await (await b.$('[data-testid="sync-conflict"]')).getText();
    assert.match(conflict, new RegExp(pushed.snapshot));
    // Nothing was overwritten: the bucket still has B's version, the disk has ours.
    assert.match(bucketFile(weed, key, "main.py"), /from machine B/);
    assert.match(fs.readFileSync(path.join(dirs.project, "main.py"), "utf8"), /from the app/);

    await (await b.$('[data-testid="sync-keep-mine"]')).click();
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "resolved", timeout: 30000 });
    assert.match(bucketFile(weed, key, "main.py"), /from the app/);
    // B's version is still in the file's history.
    const history = await invoke(b, "sync_file_history", { path: "main.py" });
    assert.ok(history.ok, JSON.stringify(history));
    const restoredB = scratch("aura-e2e-hist-");
    fs.rmSync(restoredB, { recursive: true });
    const bSnap = history.value.find((v) => v.snapshot === pushed.snapshot);
    assert.ok(bSnap, `B's snapshot is in the history: ${JSON.stringify(history.value)}`);
    cli(weed, ["restore", key, restoredB, "--snapshot", pushed.snapshot]);
    assert.match(fs.readFileSync(path.join(restoredB, "main.py"), "utf8"), /from machine B/);
  });

  test("another conflict: 'Take theirs' writes their files here and keeps ours as a snapshot", async () => {
    const b = app.browser;
    otherMachineWrites(weed, key, "print('machine B again')\n");

    await typeAndSave(b, "# mine, unsynced ");
    await eventually(async () => (await syncState(b))?.state === "conflict", { what: "second conflict", timeout: 30000 });
    await (await b.$('[data-testid="sync-status"]')).click();
    await (await b.$('[data-testid="sync-take-theirs"]')).click();
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "resolved by taking theirs", timeout: 30000 });
    assert.equal(fs.readFileSync(path.join(dirs.project, "main.py"), "utf8"), "print('machine B again')\n");
    // The open editor follows the file on disk.
    await eventually(() => b.execute(() => document.querySelector(".cm-content")?.textContent.includes("machine B again")), { what: "editor reloaded" });
    // Ours is kept aside as a snapshot, with the unsynced edit in it.
    const snaps = await invoke(b, "sync_snapshots", {});
    assert.ok(snaps.ok, JSON.stringify(snaps));
    const side = snaps.value.find((s) => s.side);
    assert.ok(side, `a side snapshot: ${JSON.stringify(snaps.value)}`);
    const kept = scratch("aura-e2e-side-");
    fs.rmSync(kept, { recursive: true });
    cli(weed, ["restore", key, kept, "--snapshot", side.id]);
    assert.match(fs.readFileSync(path.join(kept, "main.py"), "utf8"), /mine, unsynced/);
  });

  test("restore from cloud into a new folder, and refused inputs", async () => {
    const b = app.browser;
    const target = path.join(dirs.base, "restored-here");
    const r = await invoke(b, "sync_restore_project", { key, snapshot: null, dest: target });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(fs.readFileSync(path.join(target, "main.py"), "utf8"), "print('machine B again')\n");
    // Not into a folder that has files, not a key that escapes, not a relative path.
    const busy = await invoke(b, "sync_restore_project", { key, snapshot: null, dest: dirs.project });
    assert.equal(busy.ok, false);
    assert.match(busy.error.message, /not empty/);
    const bad = await invoke(b, "sync_restore_project", { key: "../other", snapshot: null, dest: path.join(dirs.base, "x") });
    assert.match(bad.error.message, /not a project key/);
    const rel = await invoke(b, "sync_restore_project", { key, snapshot: null, dest: "relative/dir" });
    assert.match(rel.error.message, /absolute path/);
    const esc = await invoke(b, "sync_file_history", { path: "../../etc/passwd" });
    assert.equal(esc.ok, false);
  });
});
