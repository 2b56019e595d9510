// End to end: the default network lists what the sandbox connected to; then "Registries only".
// With the project's list emptied, a request
// to the npm registry waits on a card: Allow once lets npm finish, Deny fails the request with
// Aura's message, Always adds the host to the project's list. The panel lists what was reached.
// (The only host reached is the npm registry, through the real proxy.)
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Key, eventually, makeSandboxDirs, startReady } from "./harness.mjs";

const dirs = makeSandboxDirs({
  "package.json": '{"name":"net-demo"}\n',
  ".aura/network.json": '{"allow": ["api.example.com"]}\n',
});

/** Runs `cmd` from the Run box and, while it runs, answers each card with `answer`. */
async function runAnswering(b, cmd, answer) {
  const input = await b.$(".sb-run-input");
  await input.setValue(cmd);
  await b.keys([Key.Enter]);
  let cards = 0;
  const out = await eventually(async () => {
    const card = await b.$('[data-testid="net-ask"]');
    if (await card.isExisting()) {
      assert.equal(await card.getAttribute("data-host"), "registry.npmjs.org");
      await (await card.$(`[data-testid="${answer}"]`)).click();
      cards += 1;
      await card.waitForExist({ reverse: true, timeout: 10000 });
    }
    const t = await (await b.$('[data-testid="run-output"]')).getText();
    return t.includes("exit code") ? t : null;
  }, { what: `${cmd} finished`, timeout: 120000 });
  return { out, cards };
}

describe("network: registries only", () => {
  let app;
  before(async () => {
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("on the default network the panel lists what the code connected to", async () => {
    const b = app.browser;
    await (await b.$('#sidebar-tabs button[data-view="sandbox"]')).click();
    await (await b.$(".sb-run-input")).waitForDisplayed({ timeout: 20000 });
    const { out, cards } = await runAnswering(b, "npm view is-number@7.0.0 version --prefer-online --no-update-notifier", "net-deny");
    assert.equal(cards, 0, "nothing is asked on the default network");
    assert.match(out, /^7\.0\.0$/m);
    // The registry's address, as the sandbox's filter logged the connection.
    await eventually(async () => b.execute(() =>
      [...document.querySelectorAll("[data-connection]")].some((e) => / allowed$/.test(e.dataset.connection) && /:443 /.test(e.dataset.connection))),
    { what: "the registry connection listed" });
  });

  test("a host off the list is asked about: once, deny, always", async () => {
    const b = app.browser;
    await (await b.$('#sidebar-tabs button[data-view="sandbox"]')).click();
    const select = await b.$('[data-testid="sandbox-network"]');
    await select.waitForExist({ timeout: 20000 });
    await b.execute(() => document.querySelectorAll("#view-sandbox details").forEach((x) => { x.open = true; }));
    await select.selectByAttribute("value", "registries");
    // Choosing the network saves it; the panel then says so.
    await eventually(async () => (await (await b.$('[data-testid="sandbox-network-state"]')).getAttribute("data-network")) === "registries",
      { what: "registries only in the panel" });
    const list = await b.$('[data-testid="sandbox-network-allow"]');
    await list.waitForDisplayed({ timeout: 10000 });
    assert.match(await list.getValue(), /^registry\.npmjs\.org$/m, "the registries are on the list to begin with");
    await list.setValue(" ");
    await (await b.$("button=Save settings")).click();
    // Saved, the form shows the stored list again: empty.
    await eventually(async () => (await list.getValue()) === "", { what: "the empty list saved" });
    await eventually(async () => /registries only/.test(await (await b.$(".status-provider")).getText()), { what: "status bar" });
    // The project's own file only offers its hosts; the user adds them.
    const offer = await b.$('[data-testid="sandbox-network-suggested"]');
    await offer.waitForExist({ timeout: 10000 });
    assert.match(await offer.getText(), /api\.example\.com/);
    assert.doesNotMatch(await list.getValue(), /api\.example\.com/, "not applied by itself");
    await (await b.$('[data-testid="sandbox-network-add"]')).click();
    await eventually(async () => /^api\.example\.com$/m.test(await list.getValue()), { what: "the offered host on the list" });
    await offer.waitForExist({ reverse: true, timeout: 10000 });

    const once = await runAnswering(b, "npm view is-number@7.0.0 version --prefer-online --no-update-notifier", "net-allow-once");
    assert.ok(once.cards >= 1, "npm's request was asked about");
    assert.match(once.out, /^7\.0\.0$/m);
    assert.match(once.out, /exit code 0/);

    const denied = await runAnswering(b, "curl -sS http://registry.npmjs.org/", "net-deny");
    assert.equal(denied.cards, 1);
    assert.match(denied.out, /blocked by Aura's network policy: registry\.npmjs\.org:80 was denied/);

    const always = await runAnswering(b, "curl -sS -o /dev/null -w 'status=%{http_code}\\n' https://registry.npmjs.org/is-number", "net-allow-always");
    assert.equal(always.cards, 1);
    assert.match(always.out, /status=200/);
    // Kept with the project: the next request goes without a card.
    const again = await runAnswering(b, "curl -sS -o /dev/null -w 'again=%{http_code}\\n' https://registry.npmjs.org/is-number", "net-deny");
    assert.equal(again.cards, 0);
    assert.match(again.out, /again=200/);
    await eventually(async () => /^registry\.npmjs\.org$/m.test(await list.getValue()), { what: "the host on the project's list" });

    const rows = await eventually(async () => {
      const seen = await b.execute(() => [...document.querySelectorAll("[data-connection]")].map((e) => e.dataset.connection));
      const want = ["registry.npmjs.org:80 denied", "registry.npmjs.org:443 allowed_by_user", "registry.npmjs.org:443 allowed"];
      return want.every((w) => seen.includes(w)) ? seen : null;
    }, { what: "the connections list", timeout: 20000 });
    assert.equal(rows.length, 3, `a new sandbox starts a new list: ${rows.join("; ")}`);
  });
});
