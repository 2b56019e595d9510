// Save -> committed in the bucket through the whole app: the page saves a file with
// the same IPC call the editor's Ctrl+S makes, and times (inside the page, no WebDriver round
// trips) until the sync panel shows a new snapshot committed. 200 saves, p50/p99, against a real
// SeaweedFS on 127.0.0.1, next to the core figure from `cargo bench -p aura-core --bench sync`.
//
//   AURA_APP_BIN=target/release/aura xvfb-run -a dbus-run-session -- bash .ci/with-keyring.sh \
//     node tests/bench/sync_app_bench.mjs
import { eventually, invoke, makeSandboxDirs, startReady } from "../e2e/harness.mjs";
import { ACCESS, SECRET, Weed } from "../e2e/weed.mjs";

const SAVES = Number(process.env.SAVES || 200);
const FILES = Number(process.env.FILES || 1000);

const files = { "edited.txt": "start\n" };
for (let i = 0; i < FILES; i++) files[`pkg${String(i % 50).padStart(2, "0")}/file${i}.txt`] = `file ${i}\n`;
const dirs = makeSandboxDirs(files);
const weed = new Weed();
await weed.start();
const app = await startReady(dirs);
try {
  const b = app.browser;
  const must = async (cmd, args) => {
    const r = await invoke(b, cmd, args);
    if (!r.ok) throw new Error(`${cmd}: ${JSON.stringify(r.error)}`);
    return r.value;
  };
  await must("secret_set", { name: "r2_access_key_id", value: ACCESS });
  await must("secret_set", { name: "r2_secret_access_key", value: SECRET });
  const bucket = { endpoint: weed.endpoint, bucket: "aura-app-bench", region: "auto", path_style: true, concurrency: 16, max_file_mib: 1024 };
  await eventually(async () => (await invoke(b, "sync_test", { bucket })).ok, { what: "bucket", timeout: 30000 });
  await must("sync_save_settings", { bucket });
  await must("sync_enable", { on: true });
  await (await b.$('[data-testid="sync-status"]')).click(); // the panel shows the snapshot id
  await eventually(() => b.execute(() => document.querySelector('[data-testid="sync-status"]').dataset.state === "synced"), { what: "first sync", timeout: 120000 });

  const result = await b.executeAsync((saves, done) => {
    const header = document.querySelector('[data-testid="sync-state"]');
    const snapshotNow = () => [...header.querySelectorAll(".hint")].map((e) => e.textContent).find((t) => t.startsWith("At snapshot")) ?? "";
    const times = [];
    let i = 0;
    const next = async () => {
      if (i === saves) return done(JSON.stringify(times));
      const before = snapshotNow();
      const t0 = performance.now();
      const committed = new Promise((resolve) => {
        const check = () => {
          if (header.dataset.state === "synced" && snapshotNow() !== before) {
            obs.disconnect();
            resolve(performance.now() - t0);
          }
        };
        const obs = new MutationObserver(check);
        obs.observe(header, { subtree: true, childList: true, characterData: true, attributes: true });
      });
      await window.__TAURI_INTERNALS__.invoke("write_file", { path: "edited.txt", text: `save ${i}\n`, expectedHash: null });
      times.push(await committed);
      i += 1;
      setTimeout(next, 0);
    };
    next();
  }, SAVES);
  const times = JSON.parse(result).sort((a, c) => a - c);
  const p = (q) => times[Math.round((times.length - 1) * q)];
  console.log(`project of ${FILES} files, ${SAVES} saves through the app (IPC save -> sync status shows the new snapshot committed)`);
  console.log(`save -> committed in the bucket: p50 ${p(0.5).toFixed(2)} ms, p99 ${p(0.99).toFixed(2)} ms`);
} finally {
  await app.stop();
  weed.stop();
}
