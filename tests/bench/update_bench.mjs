// "Install and restart" to the relaunched window with the project open, against doing the same by
// hand with the package already on disk (`dpkg -i B.deb`, then start Aura), alternated, 3 runs each.
// Both end when the new process has opened the project (its state database says so).
//
//   bash tests/update/build-packages.sh /tmp/aura-pkgs
//   AURA_APP_BIN=/usr/bin/aura AURA_UPDATE_PACKAGES=/tmp/aura-pkgs xvfb-run -a dbus-run-session -- \
//     bash .ci/with-keyring.sh node tests/bench/update_bench.mjs
// Needs root (dpkg) and no aura package installed; it purges its own at the end.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { APP, appEnv, eventually, makeSandboxDirs, startReady } from "../e2e/harness.mjs";
import { PKG, asRoot, checkWith, installedVersion, lastOpened, openUpdates, pkgFile, startServer } from "../update/updatekit.mjs";

const RUNS = Number(process.env.RUNS ?? 3);
const versions = JSON.parse(fs.readFileSync(path.join(PKG, "versions.json"), "utf8"));
assert.equal(installedVersion(), null, "remove the installed aura package first");
const server = await startServer(versions);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const opened = (dirs, after) => eventually(() => lastOpened(dirs.home, dirs.project) > after,
  { what: "the project opened", timeout: 180000, interval: 20 });

async function throughTheApp() {
  asRoot("dpkg", ["-i", pkgFile("a", ".deb")]);
  const dirs = makeSandboxDirs({ "main.py": "print('hi')\n" });
  const app = await startReady(dirs);
  try {
    await openUpdates(app.browser);
    const { error } = await checkWith(app.browser, `${server.base}/ok/latest.json`);
    assert.equal(error, null);
    const t0 = Date.now();
    await (await app.browser.$(".upd-install")).click();
    const seen = [];
    const watch = (async () => {
      for (;;) {
        const t = await app.browser.execute(() => document.querySelector(".upd-phase")?.textContent).catch(() => null);
        if (t === null) return;
        if (seen.at(-1)?.[1] !== t) seen.push([Date.now() - t0, t]);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await opened(dirs, t0);
    await watch;
    if (process.env.PHASES) console.log(JSON.stringify(seen));
    return Date.now() - t0;
  } finally {
    await app.stop();
  }
}

async function byHand() {
  asRoot("dpkg", ["-i", pkgFile("a", ".deb")]);
  const dirs = makeSandboxDirs({ "main.py": "print('hi')\n" });
  // The project is known to Aura already, as in the app path.
  await (await startReady(dirs)).stop();
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  asRoot("dpkg", ["-i", pkgFile("b", ".deb")]);
  const proc = spawn(APP, [dirs.project], { env: appEnv(dirs), stdio: "ignore", detached: true });
  try {
    await opened(dirs, t0);
    return Date.now() - t0;
  } finally {
    try { process.kill(-proc.pid, "SIGTERM"); } catch { /* gone */ }
  }
}

const app = [];
const hand = [];
try {
  for (let i = 0; i < RUNS; i++) {
    app.push(await throughTheApp());
    hand.push(await byHand());
    console.log(`run ${i + 1}: in the app ${app[i]} ms, by hand ${hand[i]} ms`);
  }
} finally {
  server.close();
  if (installedVersion()) asRoot("dpkg", ["--purge", "aura"]);
}
const a = median(app);
const h = median(hand);
console.log(`\nInstall and restart → project open again (${versions.a} → ${versions.b}, debug .deb of ${(fs.statSync(pkgFile("b", ".deb")).size / 1048576).toFixed(1)} MiB)`);
console.log(`  through the app (download from 127.0.0.1, signature check, dpkg -i, relaunch): median ${a} ms`);
console.log(`  by hand (dpkg -i of the file already on disk, then start):                     median ${h} ms`);
console.log(`  ratio app / by hand: ${(a / h).toFixed(2)}`);
process.exit(0);
