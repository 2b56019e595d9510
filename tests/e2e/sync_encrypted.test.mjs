// End to end: a new project synced end-to-end encrypted, as a user does it — encryption is on by
// default, turning sync on shows the 24-word recovery phrase once (Continue only once the user
// says it is written down; it cannot be dismissed), the panel says the project is encrypted,
// another machine without the key is refused (nothing written), and this machine restores a
// copy with the key it keeps. The phrase is not left in the page, SQLite or the log.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { APP, Key, eventually, invoke, makeSandboxDirs, startReady } from "./harness.mjs";
import { acceptPhrase, configureBucket, shownKey, syncState } from "./syncpanel.mjs";
import { ACCESS, SECRET, Weed } from "./weed.mjs";

const BUCKET = "aura-e2e-encrypted";
const SECRET_CODE = "def the_secret_algorithm():\n    return 42\n";

describe("end-to-end encrypted sync", () => {
  let app;
  const weed = new Weed();
  const dirs = makeSandboxDirs({ "algorithm.py": SECRET_CODE });
  before(async () => {
    await weed.start();
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
    weed.stop();
  });

  test("on by default: the phrase shown once, then restored only with it", async () => {
    const b = app.browser;
    await configureBucket(b, weed, BUCKET);
    assert.equal(await (await b.$('[data-testid="sync-encrypt"]')).isSelected(), true, "on by default");
    await (await b.$('[data-testid="sync-enabled"]')).click();

    // The phrase, once: 24 words; Continue waits for the tick; Escape does not dismiss it.
    const box = await b.$('[data-testid="recovery-phrase"]');
    await box.waitForDisplayed({ timeout: 30000 });
    const words = await b.execute(() => [...document.querySelectorAll('[data-testid="recovery-words"] li')].map((li) => li.textContent));
    assert.equal(words.length, 24, JSON.stringify(words));
    assert.equal(await (await b.$('[data-testid="recovery-continue"]')).isEnabled(), false);
    await b.keys(Key.Escape);
    assert.ok(await box.isDisplayed(), "still shown after Escape");
    await (await b.$('[data-testid="recovery-written"]')).click();
    await (await b.$('[data-testid="recovery-continue"]')).click();
    await box.waitForExist({ reverse: true, timeout: 10000 });
    const phrase = words.join(" ");
    assert.ok(!(await b.getPageSource()).includes(words.slice(0, 4).join("")), "the words are gone from the page");

    await eventually(async () => (await syncState(b))?.state === "synced", { what: "first sync", timeout: 60000 });
    await eventually(() => b.execute(() => /Encrypted end to end/.test(document.querySelector('[data-testid="sync-encrypt-row"]').textContent)), { what: "the panel says encrypted" });
    const key = await shownKey(b);
    assert.ok(key);

    // Another machine (the aura-sync binary, no key): refused as encrypted, nothing written.
    const elsewhere = path.join(dirs.base, "elsewhere");
    const cli = spawnSync(path.join(path.dirname(APP), "aura-sync"), ["restore", key, elsewhere], {
      env: { ...process.env, AURA_S3_ENDPOINT: weed.endpoint, AURA_S3_BUCKET: BUCKET, AURA_S3_ACCESS_KEY_ID: ACCESS, AURA_S3_SECRET_ACCESS_KEY: SECRET },
      encoding: "utf8",
    });
    assert.notEqual(cli.status, 0);
    assert.match(cli.stderr, /end-to-end encrypted/, cli.stderr);
    assert.ok(!fs.existsSync(path.join(elsewhere, "algorithm.py")));
    // This machine holds the key: a copy restores without asking (another machine asks for
    // the phrase; the core's tests drive that with two machines).
    const dest = path.join(dirs.base, "restored");
    const ok = await invoke(b, "sync_restore_project", { key, snapshot: null, dest });
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(fs.readFileSync(path.join(dest, "algorithm.py"), "utf8"), SECRET_CODE);

    // The phrase is kept nowhere by Aura.
    const data = path.join(dirs.home, ".local/share/dev.aura.ide");
    const needle = Buffer.from(words.slice(0, 3).join(" "));
    for (const f of ["aura.sqlite3", "aura.sqlite3-wal", "logs/aura.log"].filter((f) => fs.existsSync(path.join(data, f)))) {
      assert.ok(!fs.readFileSync(path.join(data, f)).includes(needle), `the phrase is not in ${f}`);
    }
  });
});

describe("converting a project synced in plaintext", () => {
  let app;
  const weed = new Weed();
  const dirs = makeSandboxDirs({ "algorithm.py": SECRET_CODE });
  before(async () => {
    await weed.start();
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
    weed.stop();
  });

  test("ticked while syncing: history converted, a new phrase on offer, the old place refused", async () => {
    const b = app.browser;
    await configureBucket(b, weed, `${BUCKET}-convert`);
    await (await b.$('[data-testid="sync-encrypt"]')).click();
    await (await b.$('[data-testid="sync-enabled"]')).click();
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "plaintext sync", timeout: 60000 });
    await eventually(() => b.execute(() => /Not encrypted: tick/.test(document.querySelector('[data-testid="sync-encrypt-row"]').textContent)), { what: "conversion offered" });
    const plainKey = await shownKey(b);
    assert.ok(plainKey && !plainKey.startsWith("e-"), plainKey);

    // Ticked: asked first, then the history is stored again sealed and the phrase shown once.
    await (await b.$('[data-testid="sync-encrypt"]')).click();
    await (await (await b.$('[data-testid="confirm"]')).$("button=Encrypt")).click();
    const words = await acceptPhrase(b);
    assert.equal(words.length, 24);
    await eventually(() => b.execute(() => /Encrypted end to end/.test(document.querySelector('[data-testid="sync-encrypt-row"]').textContent)), { what: "the panel says encrypted" });
    await eventually(async () => (await shownKey(b))?.startsWith("e-"), { what: "the new place" });

    // The old place answers that the project moved and is encrypted; nothing restored from it
    // without the phrase.
    const elsewhere = path.join(dirs.base, "elsewhere");
    const cli = spawnSync(path.join(path.dirname(APP), "aura-sync"), ["restore", plainKey, elsewhere], {
      env: { ...process.env, AURA_S3_ENDPOINT: weed.endpoint, AURA_S3_BUCKET: `${BUCKET}-convert`, AURA_S3_ACCESS_KEY_ID: ACCESS, AURA_S3_SECRET_ACCESS_KEY: SECRET },
      encoding: "utf8",
    });
    assert.notEqual(cli.status, 0);
    assert.match(cli.stderr, /end-to-end encrypted/, cli.stderr);
    assert.ok(!fs.existsSync(path.join(elsewhere, "algorithm.py")));

    // A new phrase: different words, shown once.
    await (await b.$('[data-testid="sync-new-phrase"]')).click();
    await (await (await b.$('[data-testid="confirm"]')).$("button=New phrase")).click();
    const again = await acceptPhrase(b);
    assert.equal(again.length, 24);
    assert.notDeepEqual(again, words);
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "still synced", timeout: 60000 });
  });
});

describe("a project converted on another machine", () => {
  let app;
  const weed = new Weed();
  const dirs = makeSandboxDirs({ "algorithm.py": SECRET_CODE });
  const bucket = `${BUCKET}-elsewhere`;
  const cli = (args, extra = {}) => spawnSync(path.join(path.dirname(APP), "aura-sync"), args, {
    env: { ...process.env, AURA_S3_ENDPOINT: weed.endpoint, AURA_S3_BUCKET: bucket, AURA_S3_ACCESS_KEY_ID: ACCESS, AURA_S3_SECRET_ACCESS_KEY: SECRET, ...extra },
    encoding: "utf8",
  });
  before(async () => {
    await weed.start();
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
    weed.stop();
  });

  test("the window stops at the next save, asks for the phrase and follows", async () => {
    const b = app.browser;
    await configureBucket(b, weed, bucket);
    await (await b.$('[data-testid="sync-encrypt"]')).click();
    await (await b.$('[data-testid="sync-enabled"]')).click();
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "plaintext sync", timeout: 60000 });
    const plainKey = await shownKey(b);

    // Another machine converts it (the aura-sync binary; it prints the new phrase).
    const projectKey = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString("base64");
    const conv = cli(["encrypt", plainKey, "e-elsewhere"], { AURA_SYNC_PROJECT_KEY: projectKey });
    assert.equal(conv.status, 0, conv.stderr);
    const phrase = JSON.parse(conv.stdout).recovery_phrase;
    assert.equal(phrase.split(" ").length, 24);

    // A save here: nothing goes to the old place, the panel asks for the phrase.
    fs.writeFileSync(path.join(dirs.project, "later.py"), "print('after the conversion')\n");
    const ask = await b.$('[data-testid="sync-enter-phrase"]');
    await ask.waitForDisplayed({ timeout: 60000 });
    assert.match(await (await b.$('[data-testid="sync-state"]')).getText(), /converted on another machine/);
    await ask.click();
    await (await b.$('[data-testid="recovery-input"]')).setValue("wrong words ".repeat(12).trim());
    await (await b.$('[data-testid="recovery-submit"]')).click();
    await eventually(() => b.execute(() => /not|word/i.test(document.querySelector('[data-testid="recovery-ask"] [role="alert"]')?.textContent ?? "")), { what: "a wrong phrase said" });
    await (await b.$('[data-testid="recovery-input"]')).setValue(phrase);
    await (await b.$('[data-testid="recovery-submit"]')).click();
    await eventually(async () => (await shownKey(b)) === "e-elsewhere", { what: "the window follows to the new place", timeout: 30000 });
    await eventually(async () => (await syncState(b))?.state === "synced", { what: "synced sealed", timeout: 60000 });

    // The save reached the sealed project.
    const dest = path.join(dirs.base, "restored");
    const r = cli(["restore", "e-elsewhere", dest], { AURA_SYNC_PROJECT_KEY: projectKey });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(dest, "later.py"), "utf8"), "print('after the conversion')\n");
  });
});
