// End to end: a dev server in the local sandbox, shown in the preview pane through the
// loopback proxy; a change arrives over the page's WebSocket without a reload; the page cannot
// reach the IDE's IPC by any route, and the proxy refuses requests without the preview's secret.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { Key, eventually, makeSandboxDirs, startReady } from "./harness.mjs";

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures/hmr-app");
const files = Object.fromEntries(fs.readdirSync(fixture).map((f) => [f, fs.readFileSync(path.join(fixture, f), "utf8")]));

describe("preview", () => {
  let app;
  const dirs = makeSandboxDirs(files);
  before(async () => {
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("the sandboxed dev server shows in the pane and updates over its WebSocket", async () => {
    const b = app.browser;
    // Start the dev server inside the sandbox.
    await (await b.$("button.term-new:nth-of-type(2)")).click();
    await eventually(async () => (await b.$('.term-view[data-sandbox="true"]')).isExisting(), { what: "sandbox terminal" });
    await (await b.$('.term-view[data-sandbox="true"] .xterm')).click();
    await (await b.$('.term-view[data-sandbox="true"] .xterm-helper-textarea')).addValue("PORT=5174 node server.js");
    await b.keys([Key.Enter]);
    // Open the pane and let it find the port.
    await (await b.$("#toggle-preview")).click();
    const address = () => b.execute(() => document.querySelector('[data-testid="preview-address"]').textContent);
    await eventually(async () => {
      if (/port 5174/.test(await address())) return true;
      await b.execute(() => [...document.querySelectorAll(".preview-toolbar button")].find((x) => x.textContent === "Detect").click());
      await new Promise((r) => setTimeout(r, 700));
      return /port 5174/.test(await address());
    }, { what: "detected port", timeout: 30000, interval: 300 });

    const frame = await b.$(".preview-frame");
    await b.switchFrame(frame);
    try {
      await eventually(async () => (await (await b.$("#msg")).getText()) === "initial", { what: "page through the proxy" });
      await eventually(() => b.execute(() => document.body.dataset.ws === "open"), { what: "page WebSocket open" });
      // The window draws without GL compositing when there is no GPU (src-tauri/src/webview.rs):
      // a previewed page can still use WebGL.
      assert.ok(await b.execute(() => !!document.createElement("canvas").getContext("webgl")), "WebGL in the preview");
      fs.writeFileSync(path.join(dirs.project, "message.txt"), "updated over the websocket\n");
      await eventually(async () => (await (await b.$("#msg")).getText()) === "updated over the websocket", { what: "live update" });

      const attacks = JSON.parse(await eventually(async () => {
        const t = await (await b.$("#attacks")).getText();
        return t.startsWith("{") ? t : null;
      }, { what: "attack results" }));
      assert.equal(attacks.internals, "undefined", JSON.stringify(attacks));
      assert.equal(attacks.tauri, "undefined");
      assert.equal(attacks.parentInternals, "blocked");
      assert.equal(attacks.parentDocument, "blocked");
      assert.notEqual(attacks.invoke, "RAN");
    } finally {
      await b.switchFrame(null);
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const f of ["pwned-postmessage.txt", "pwned-fetch.txt", "pwned-invoke.txt"]) {
      assert.ok(!fs.existsSync(path.join(dirs.project, f)), `${f}: a command ran on behalf of the preview`);
    }
    // The proxy refuses anyone without the secret (here: this test process, no cookie).
    const base = (await address()).split(" ")[0];
    assert.match(base, /^http:\/\/127\.0\.0\.\d+:\d+\/$/, "a loopback host of its own");
    assert.equal((await fetch(base)).status, 403);
  });
});
