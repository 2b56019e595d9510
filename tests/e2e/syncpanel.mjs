// The sync panel, as a user fills it: the bucket's keys (to the keychain), endpoint and bucket,
// a connection test, saved. Shared by the sync suites.
import { eventually } from "./harness.mjs";
import { ACCESS, SECRET } from "./weed.mjs";

/** The status bar's sync item: state, pending count, words. */
export async function syncState(b) {
  return b.execute(() => {
    const el = document.querySelector('[data-testid="sync-status"]');
    return el ? { state: el.dataset.state, pending: Number(el.dataset.pending), text: el.textContent } : null;
  });
}

/** Opens the sync panel and sets the bucket up (keys, endpoint, bucket), tested and saved. */
export async function configureBucket(b, weed, bucket) {
  await (await b.$('[data-testid="sync-status"]')).click();
  // The pane loads with its first showing; if it never fills, say what is there.
  await eventually(() => b.execute(() => document.querySelector("#view-sync").dataset.loaded === "true"), { what: "sync panel" })
    .catch(async (e) => {
      const seen = await b.execute(() => ({
        hidden: document.querySelector("#view-sync").hidden,
        loaded: document.querySelector("#view-sync").dataset.loaded,
        children: document.querySelector("#view-sync").children.length,
        toasts: document.querySelector("#toasts")?.textContent,
      }));
      throw new Error(`${e.message}; the pane: ${JSON.stringify(seen)}`);
    });
  await b.execute(() => document.querySelectorAll("#view-sync details").forEach((x) => { x.open = true; }));
  for (const [secret, value] of [["r2_access_key_id", ACCESS], ["r2_secret_access_key", SECRET]]) {
    // Saving a key re-renders the list: wait for it to settle before the next one.
    await new Promise((r) => setTimeout(r, 300));
    const row = await b.$(`#view-sync .key-row[data-secret="${secret}"]`);
    await row.waitForExist({ timeout: 20000 });
    await (await row.$("input")).addValue(value);
    await (await row.$("button=Save")).click();
    await eventually(async () => (await b.$(`#view-sync .key-row[data-secret="${secret}"] .key-set`)).isExisting(), { what: `${secret} set` });
  }
  await (await b.$('#view-sync input[aria-label="endpoint"]')).addValue(weed.endpoint);
  await (await b.$('#view-sync input[aria-label="bucket"]')).addValue(bucket);
  await (await b.$('[data-testid="sync-test"]')).click();
  await eventually(async () => new RegExp(`connected to ${bucket}`).test(await (await b.$('[data-testid="sync-test-result"]')).getText()), { what: "connection test", timeout: 40000 });
  await (await b.$('[data-testid="sync-save-settings"]')).click();
  await eventually(async () => (await (await b.$('[data-testid="sync-test-result"]')).getText()) === "Saved.", { what: "settings saved" });
}

/** Reads the recovery phrase the window shows, ticks "written down" and continues; returns
 * the 24 words. */
export async function acceptPhrase(b) {
  const box = await b.$('[data-testid="recovery-phrase"]');
  await box.waitForDisplayed({ timeout: 60000 });
  const words = await b.execute(() => [...document.querySelectorAll('[data-testid="recovery-words"] li')].map((li) => li.textContent));
  await (await b.$('[data-testid="recovery-written"]')).click();
  await (await b.$('[data-testid="recovery-continue"]')).click();
  await box.waitForExist({ reverse: true, timeout: 10000 });
  return words;
}

/** The project key the sync panel shows. */
export async function shownKey(b) {
  return b.execute(() => [...document.querySelectorAll('[data-testid="sync-state"] .hint')].map((e) => e.textContent).find((t) => t.startsWith("Project key: "))?.slice(13));
}
