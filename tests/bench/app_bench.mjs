// App-level benchmarks, run under Xvfb against the real binary:
//   - warm start to interactive (process spawn -> the UI has listed the tree and restored tabs)
//     against an empty Tauri window's start to page loaded (tests/bench/probe), alternating
//   - idle memory: PSS of the app and its WebKit processes, and of the empty window's
//   - terminal throughput: `cat` of 50 MB through the whole pipeline (PTY -> Rust -> IPC ->
//     xterm.js) vs `cat` to a PTY drained by script(1), in the same run
//
//   AURA_APP_BIN=target/release/aura [PROBE_BIN=target/release/tauri-probe] \
//     xvfb-run -a dbus-run-session -- node tests/bench/app_bench.mjs
//   - keystroke echo while the terminal floods (tests/bench/flood_keys.py): p50 / p99 from
//     keydown to the echo on the screen, parsed by xterm
//   (ONLY=startup, ONLY=terminal or ONLY=echo for one part; KEYS=<n> keys for the echo, 30 by
//   default; VERBOSE=1 prints every echo's latency)
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Key, appEnv, eventually, makeSandboxDirs, startApp } from "../e2e/harness.mjs";

const HERE = path.dirname(new URL(import.meta.url).pathname);
const APP = process.env.AURA_APP_BIN;
// The peer: tests/bench/probe (one empty Tauri window, the same Tauri), built by packages.sh.
const PROBE = process.env.PROBE_BIN
  || path.join(process.env.CARGO_TARGET_DIR || path.join(process.env.HOME, ".cache/aura/target"), "release/tauri-probe");
const RUNS = Number(process.env.RUNS || 7);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function descendants(pid) {
  const kids = new Map();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}

function pssKiB(pids) {
  const per = {};
  let total = 0;
  for (const p of pids) {
    try {
      const m = fs.readFileSync(`/proc/${p}/smaps_rollup`, "utf8").match(/^Pss:\s+(\d+)/m);
      const name = fs.readFileSync(`/proc/${p}/comm`, "utf8").trim();
      const kb = Number(m?.[1] ?? 0);
      per[name] = (per[name] ?? 0) + kb;
      total += kb;
    } catch { /* gone */ }
  }
  return { total, per };
}

/** Starts `bin`, waits for the line `ready` matches (its moment of being interactive), and
 * measures the wall time to it and, with `measureMemory`, the idle PSS of its process tree. */
async function startOnce(bin, args, dirs, ready_, measureMemory, env = {}) {
  const t0 = performance.now();
  const child = spawn(bin, args, { env: { ...appEnv(dirs), AURA_LOG: "info", NO_COLOR: "1", ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const ready = new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d;
      const m = out.match(ready_);
      if (m) resolve({ wall: performance.now() - t0, processMs: Number(m[1] ?? 0) });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (c) => reject(new Error(`app exited ${c}: ${out}`)));
    setTimeout(() => reject(new Error(`not ready within 60 s: ${out}`)), 60000);
  });
  const r = await ready;
  if (measureMemory) {
    await new Promise((res) => setTimeout(res, 5000));
    r.memory = pssKiB(descendants(child.pid));
  }
  child.removeAllListeners("exit");
  try { process.kill(-child.pid, "SIGTERM"); } catch { /* gone */ }
  await new Promise((res) => setTimeout(res, 500));
  try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ }
  return r;
}

const AURA_READY = /ui ready.*process_ms\D+(\d+)/;
const PROBE_READY = /probe ready/;

async function startupAndMemory() {
  const files = { "src/main.rs": "fn main() {}\n", "README.md": "# bench\n" };
  for (let i = 0; i < 50; i++) files[`src/mod_${i}.rs`] = `pub fn f${i}() {}\n`;
  const dirs = makeSandboxDirs(files);
  const aura = () => startOnce(APP, [dirs.project], dirs, AURA_READY, false);
  const probe = () => startOnce(PROBE, [], dirs, PROBE_READY, false);
  // First starts create the database and warm the page cache; then the two alternate.
  await aura();
  await probe();
  const runs = [];
  const peer = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(await aura());
    peer.push(await probe());
  }
  const mem = (await startOnce(APP, [dirs.project], dirs, AURA_READY, true)).memory;
  const peerMem = (await startOnce(PROBE, [], dirs, PROBE_READY, true)).memory;
  // Aura draws without GL compositing when there is no GPU (src-tauri/src/webview.rs); the
  // empty window drawn the same way, for the like-for-like figure.
  const peerMemOff = (await startOnce(PROBE, [], dirs, PROBE_READY, true, { WEBKIT_DISABLE_COMPOSITING_MODE: "1" })).memory;
  const a = median(runs.map((r) => r.wall));
  const p = median(peer.map((r) => r.wall));
  console.log(`startup: warm start to interactive: median ${a.toFixed(0)} ms wall ` +
    `(median ${median(runs.map((r) => r.processMs))} ms inside the process); empty Tauri window to page loaded: ` +
    `median ${p.toFixed(0)} ms; ratio ${(a / p).toFixed(2)}; ${RUNS} runs each, alternating`);
  const parts = (m) => Object.entries(m.per).sort((x, y) => y[1] - x[1]).map(([n, k]) => `${n} ${(k / 1024).toFixed(0)}`).join(", ");
  console.log(`memory: idle PSS of app + WebKit processes: ${(mem.total / 1024).toFixed(0)} MiB (${parts(mem)} MiB); ` +
    `empty Tauri window: ${(peerMem.total / 1024).toFixed(0)} MiB (${parts(peerMem)} MiB); ratio ${(mem.total / peerMem.total).toFixed(2)}; ` +
    `empty window without GL compositing: ${(peerMemOff.total / 1024).toFixed(0)} MiB (${parts(peerMemOff)} MiB); ratio ${(mem.total / peerMemOff.total).toFixed(2)}`);
  fs.rmSync(dirs.base, { recursive: true, force: true });
}

async function terminalThroughput() {
  const dirs = makeSandboxDirs({ "a.txt": "x\n" });
  const big = path.join(dirs.base, "50mb.txt");
  const line = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456\n";
  fs.writeFileSync(big, line.repeat(Math.ceil((50 * 1024 * 1024) / line.length)).slice(0, 50 * 1024 * 1024));
  // Peer: cat to a PTY drained as fast as script(1) can read it.
  const raw = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    execFileSync("script", ["-qfec", `cat ${big}`, "/dev/null"], { stdio: ["ignore", "ignore", "ignore"] });
    raw.push((performance.now() - t) / 1000);
  }
  const app = await startApp(dirs);
  const b = app.browser;
  let times = [];
  const timesFile = path.join(dirs.project, "times.txt");
  try {
    await eventually(() => b.execute(() => document.body.dataset.ready === "true"), { timeout: 60000 });
    await (await b.$(".term-view:not([hidden]) .xterm")).click();
    // bash's `time` writes each run's figure to a file, so nothing depends on reading the screen.
    await (await b.$(".term-view:not([hidden]) .xterm-helper-textarea"))
      .addValue(`for i in 1 2 3; do { time cat ${big}; } 2>> ${timesFile}; done`);
    await b.keys([Key.Enter]);
    times = await eventually(() => {
      const t = fs.existsSync(timesFile) ? [...fs.readFileSync(timesFile, "utf8").matchAll(/real\s+(\d+)m([\d.]+)s/g)] : [];
      return t.length === 3 ? t.map((m) => Number(m[1]) * 60 + Number(m[2])) : null;
    }, { timeout: 600000, interval: 500, what: "three timed runs" });
  } finally {
    await app.stop();
  }
  const a = median(times);
  const r = median(raw);
  console.log(`terminal: cat 50 MB through the app (PTY -> IPC -> xterm.js): median ${a.toFixed(2)} s (${(50 / a).toFixed(0)} MB/s); ` +
    `raw cat to a PTY (script): median ${r.toFixed(2)} s (${(50 / r).toFixed(0)} MB/s); ratio app/raw = ${(a / r).toFixed(1)}`);
  fs.rmSync(dirs.base, { recursive: true, force: true });
}

/** Keystroke echo while output floods: `tests/bench/flood_keys.py` floods a host terminal (as
 *  fast as it takes the lines, like `cat`) and shows each key it reads on the screen's top row,
 *  where the flood cannot scroll it away; meanwhile 30 keys are typed 150 ms apart. Each one's
 *  latency runs from its keydown in the page to the moment xterm has parsed the output that
 *  shows it (`KEY-<n>`), seen through the terminal's output probe. */
async function echoDuringFlood() {
  const dirs = makeSandboxDirs({ "a.txt": "x\n" });
  const app = await startApp(dirs);
  const b = app.browser;
  const KEYS = Number(process.env.KEYS || 30);
  let lat = [];
  try {
    await eventually(() => b.execute(() => document.body.dataset.ready === "true"), { timeout: 60000 });
    await b.execute(() => {
      const st = { recv: 0, keys: [], seen: new Set(), pending: [], lat: [], tail: "" };
      window.echoStats = st;
      window.auraOutputProbe = {
        received(output) {
          // A string or bytes (latin1 keeps one character per byte); the tail joins a token split
          // across chunks.
          const text = st.tail + (typeof output === "string" ? output : new TextDecoder("latin1").decode(output));
          st.tail = text.slice(-16);
          const found = [];
          for (const m of text.matchAll(/KEY-(\d+)(?=\D)/g)) {
            const n = Number(m[1]);
            if (!st.seen.has(n)) { st.seen.add(n); found.push(n); }
          }
          st.pending.push(found);
          st.recv += output.length;
        },
        parsed() {
          const now = performance.now();
          for (const n of st.pending.shift() ?? []) if (st.keys[n - 1] !== undefined) st.lat.push(now - st.keys[n - 1]);
        },
      };
      document.addEventListener("keydown", (e) => { if (e.key === "@") st.keys.push(performance.now()); }, true);
    });
    const before = await b.$$(".term-view");
    await (await b.$("button.term-new[title^='New host terminal']")).click();
    await eventually(async () => (await b.$$(".term-view")).length > before.length, { what: "a new terminal" });
    const input = await b.$(".term-view:not([hidden]) .xterm-helper-textarea");
    await eventually(() => b.execute(() => window.echoStats.recv > 0), { what: "the new shell's prompt" });
    await input.addValue(`python3 ${path.join(HERE, "flood_keys.py")} ${KEYS}`);
    await b.keys([Key.Enter]);
    // Under way: past the first 300 kB (after ~512 kB a widget that lags gets frames, not bytes).
    await eventually(() => b.execute(() => window.echoStats.recv > 3e5), { what: "the flood under way", interval: 50 });
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < KEYS; i++) {
      await b.keys(["@"]);
      await new Promise((r) => setTimeout(r, 150));
    }
    lat = await eventually(async () => {
      const l = await b.execute(() => window.echoStats.lat);
      return l.length >= KEYS ? l : null;
    }, { timeout: 120000, interval: 200, what: "every echo" });
  } finally {
    await app.stop();
  }
  const sorted = [...lat].sort((x, y) => x - y);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  console.log(`echo: a key typed while the terminal floods is on its screen (parsed by xterm) after ` +
    `p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms (${sorted.length} keys)`);
  if (process.env.VERBOSE) console.log(lat.map((x) => x.toFixed(0)).join(" "));
  fs.rmSync(dirs.base, { recursive: true, force: true });
}

if (!APP) throw new Error("set AURA_APP_BIN to the built app");
// ONLY=startup, ONLY=terminal or ONLY=echo runs one part.
const only = process.env.ONLY;
if (!only || only === "startup") await startupAndMemory();
if (!only || only === "terminal") await terminalThroughput();
if (!only || only === "echo") await echoDuringFlood();
