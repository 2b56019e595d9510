// The Updates dialog of a build run in place (the install itself is tests/update/): the offer with
// its notes, why this copy cannot install it, the settings kept (and a plain-http server refused),
// and the check at start offering the update in a toast. The server is a manifest on 127.0.0.1.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { Key, eventually, makeSandboxDirs, startReady } from "./harness.mjs";
import { checkWith, openUpdates } from "../update/updatekit.mjs";

const manifest = (version) => JSON.stringify({
  version, notes: `Notes of ${version}`, pub_date: "2026-11-20T10:00:00Z",
  platforms: { "linux-x86_64-deb": { url: "http://127.0.0.1:9/a.deb", signature: "c2lnbmF0dXJl" } },
});

describe("the Updates dialog", () => {
  let app;
  let server;
  let base;
  const dirs = makeSandboxDirs({ "main.py": "print('hi')\n" });
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/new.json") return res.writeHead(200).end(manifest("9.9.9"));
      if (req.url === "/old.json") return res.writeHead(200).end(manifest("0.0.1"));
      res.writeHead(404).end();
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${server.address().port}`;
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
    server?.close();
  });

  test("an offer with notes; this build says why it cannot install; bad servers refused", async () => {
    const b = app.browser;
    await openUpdates(b);
    assert.match(await (await b.$(".upd-version")).getText(), /run from a build \(not installed from a package\)/);
    const { result, error } = await checkWith(b, `${base}/new.json`);
    assert.match(result, /Aura 9\.9\.9 is available \(you have \d+\.\d+\.\d+; from 127\.0\.0\.1, published 2026-11-20\)/);
    assert.match(error, /runs from a build, not from an installed package/);
    assert.equal(await (await b.$(".upd-notes")).getText(), "Notes of 9.9.9");
    assert.equal(await b.execute(() => document.querySelector(".upd-install").hidden), true, "no install button");

    assert.match((await checkWith(b, `${base}/old.json`)).error, /offers version 0\.0\.1, older than the installed/);
    assert.match((await checkWith(b, `${base}/missing.json`)).error, /answered HTTP 404/);
    assert.match((await checkWith(b, "http://example.org/latest.json")).error, /must use https/);

    // Settings: the refused address was not kept; a good one and the unticked box are.
    await checkWith(b, `${base}/new.json`);
    await (await b.$(".upd-at-start")).click();
    await b.keys(Key.Escape);
    await openUpdates(b);
    assert.equal(await (await b.$(".upd-endpoint")).getValue(), `${base}/new.json`);
    assert.equal(await (await b.$(".upd-at-start")).isSelected(), false);
    await (await b.$(".upd-at-start")).click();
    await eventually(async () => {
      await b.keys(Key.Escape);
      await openUpdates(b);
      return (await b.$(".upd-at-start")).isSelected();
    }, { what: "check at start back on" });
    await b.keys(Key.Escape);
  });

  test("the check at start offers the update in a toast that opens the dialog", async () => {
    await app.stop();
    app = await startReady(dirs);
    const b = app.browser;
    const toast = await b.$(".toast=Aura 9.9.9 is available — click to see what's new.");
    await toast.waitForDisplayed({ timeout: 30000 });
    await toast.click();
    await (await b.$('[data-testid="updates"]')).waitForDisplayed({ timeout: 10000 });
  });
});
