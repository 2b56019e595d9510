// Create → page visible, React + TypeScript, warm npm cache, 3 alternated runs each:
//   Aura: New Project… → Create → (the project opens, ▶ Run installs in the local sandbox and
//         starts Vite) → the React-rendered title is visible in the preview pane;
//   by hand, on the host: `npm create vite@6 <name> -- --template react-ts`, `npm install`,
//         `npm run dev`, until the first page is fetched from Vite.
// AURA_APP_BIN=... xvfb-run -a dbus-run-session -- bash .ci/with-keyring.sh node tests/bench/create_bench.mjs
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { eventually, freePort, makeSandboxDirs, startReady } from "../e2e/harness.mjs";

const RUNS = Number(process.env.RUNS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function inAura(i) {
  const dirs = makeSandboxDirs({ "notes.txt": "bench\n" });
  const where = path.join(dirs.base, "projects");
  fs.mkdirSync(where);
  const app = await startReady(dirs);
  const b = app.browser;
  try {
    await (await b.$("#new-project")).click();
    const form = await b.$('[data-testid="new-project"]');
    await form.waitForDisplayed({ timeout: 10000 });
    await (await form.$('input[name="parent"]')).setValue(where);
    await (await form.$('input[name="name"]')).setValue(`bench-${i}`);
    await (await form.$('select[name="framework"]')).selectByAttribute("value", "react");
    const t0 = Date.now();
    await (await form.$("button=Create")).click();
    await eventually(async () => {
      const frame = await b.$(".preview-frame");
      if (!(await frame.isDisplayed())) return false;
      await b.switchFrame(frame);
      try {
        const t = await b.$("#title");
        return (await t.isExisting()) && (await t.getText()) === `bench-${i}`;
      } finally {
        await b.switchFrame(null);
      }
    }, { what: "the page in the preview", timeout: 300000, interval: 50 });
    return Date.now() - t0;
  } finally {
    await app.stop();
  }
}

async function byHand(i) {
  const dirs = makeSandboxDirs({});
  const port = await freePort();
  const t0 = Date.now();
  const opts = { cwd: dirs.base, stdio: "ignore" };
  execFileSync("npm", ["create", "--yes", "vite@6", `hand-${i}`, "--", "--template", "react-ts"], opts);
  const dir = path.join(dirs.base, `hand-${i}`);
  execFileSync("npm", ["install", "--no-audit", "--no-fund"], { ...opts, cwd: dir });
  const dev = spawn("npm", ["run", "dev", "--", "--port", String(port), "--strictPort"], { cwd: dir, stdio: "ignore", detached: true });
  try {
    await eventually(async () => {
      const ok = await new Promise((res) => { const s = net.connect(port, "127.0.0.1", () => { s.destroy(); res(true); }); s.on("error", () => res(false)); });
      if (!ok) return false;
      const r = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
      return r?.ok && (await r.text()).includes('id="root"');
    }, { what: "the first page", timeout: 300000, interval: 50 });
    return Date.now() - t0;
  } finally {
    try { process.kill(-dev.pid, "SIGKILL"); } catch { /* gone */ }
  }
}

const aura = [];
const hand = [];
for (let i = 0; i < RUNS; i++) {
  aura.push(await inAura(i));
  hand.push(await byHand(i));
  console.log(`run ${i + 1}: Aura ${aura[i]} ms, by hand ${hand[i]} ms`);
}
const a = median(aura);
const h = median(hand);
console.log("\nCreate → page visible, React + TypeScript, warm npm cache");
console.log(`  Aura (wizard, install in the sandbox, Vite, title rendered in the preview): median ${a} ms`);
console.log(`  by hand (npm create vite, npm install, npm run dev, first page fetched):    median ${h} ms`);
console.log(`  ratio Aura / by hand: ${(a / h).toFixed(2)}`);
process.exit(0);
