// Shared by the update test and the update benchmark: the packages build-packages.sh made, the
// dpkg state, an update server on 127.0.0.1 with one manifest per case, and the Updates dialog.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { APP, Key, eventually } from "../e2e/harness.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PKG = process.env.AURA_UPDATE_PACKAGES;

export function pkgFile(dir, ext) {
  const f = fs.readdirSync(path.join(PKG, dir)).find((n) => n.endsWith(ext));
  assert.ok(f, `no ${ext} in ${path.join(PKG, dir)}: run tests/update/build-packages.sh first`);
  return path.join(PKG, dir, f);
}

export function asRoot(cmd, args) {
  const [c, a] = process.getuid() === 0 ? [cmd, args] : ["sudo", [cmd, ...args]];
  return execFileSync(c, a, { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

/** The installed aura package's version, or null. */
export function installedVersion() {
  try {
    const out = execFileSync("dpkg-query", ["-W", "-f=${Status} ${Version}", "aura"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.startsWith("install ok installed ") ? out.split(" ").pop() : null;
  } catch {
    return null;
  }
}

/** Processes running the installed binary (after dpkg replaces it, the old one's reads "(deleted)"). */
export function installedAppPids() {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try { return fs.readlinkSync(`/proc/${pid}/exe`) === APP; } catch { return false; }
  });
}

/** When the app last opened `root` (ms), from its state database. */
export function lastOpened(home, root) {
  const db = path.join(home, ".local/share/dev.aura.ide/aura.sqlite3");
  const py = "import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True, timeout=5); " +
    "r=c.execute('SELECT last_opened_at FROM projects WHERE root=?', (sys.argv[2],)).fetchone(); print(r[0] if r else 0)";
  return Number(execFileSync("python3", ["-c", py, db, root], { encoding: "utf8" }).trim());
}

function manifest(version, url, signature, key = `linux-${process.arch === "x64" ? "x86_64" : process.arch}-deb`) {
  const entry = signature === undefined ? { url } : { url, signature };
  return JSON.stringify({ version, notes: `What is new in ${version}`, pub_date: "2026-11-20T10:00:00Z", platforms: { [key]: entry } });
}

/** The update server: one manifest per case under /<case>/latest.json, packages under /pkg/. */
export function startServer(versions) {
  const debB = fs.readFileSync(pkgFile("b", ".deb"));
  const sigB = fs.readFileSync(pkgFile("b", ".deb.sig"), "utf8");
  // B signed with a key the app does not trust.
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-update-other-"));
  const otherDeb = path.join(otherDir, "b.deb");
  fs.copyFileSync(pkgFile("b", ".deb"), otherDeb);
  execFileSync(path.join(REPO, "ui/node_modules/.bin/tauri"), ["signer", "sign", "-k", fs.readFileSync(path.join(PKG, "other.key"), "utf8"),
    "-p", "", "--app-version", versions.b, otherDeb], { stdio: "ignore" });
  const otherSig = fs.readFileSync(`${otherDeb}.sig`, "utf8");
  const flipped = Buffer.from(debB);
  flipped[Math.floor(flipped.length / 2)] ^= 0x01;

  let base = "";
  const routes = () => ({
    "/ok/latest.json": manifest(versions.b, `${base}/pkg/b.deb`, sigB),
    "/flipped/latest.json": manifest(versions.b, `${base}/pkg/flipped.deb`, sigB),
    "/otherkey/latest.json": manifest(versions.b, `${base}/pkg/b.deb`, otherSig),
    "/unsigned/latest.json": manifest(versions.b, `${base}/pkg/b.deb`, undefined),
    "/downgrade/latest.json": manifest("0.0.1", `${base}/pkg/b.deb`, sigB),
    "/malformed/latest.json": `{"version": "${versions.b}", "platforms": `,
    "/noplatform/latest.json": manifest(versions.b, `${base}/pkg/b.deb`, sigB, "darwin-aarch64"),
    "/cut/latest.json": manifest(versions.b, `${base}/pkg/cut.deb`, sigB),
  });
  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    const m = routes()[url];
    if (m) return res.writeHead(200, { "content-type": "application/json" }).end(m);
    if (url === "/500/latest.json") return res.writeHead(500).end("internal error");
    if (url === "/pkg/b.deb") return res.writeHead(200, { "content-length": debB.length }).end(debB);
    if (url === "/pkg/flipped.deb") return res.writeHead(200, { "content-length": flipped.length }).end(flipped);
    if (url === "/pkg/cut.deb") {
      // Announces the whole package, sends half, then the connection drops.
      res.writeHead(200, { "content-length": debB.length });
      res.write(debB.subarray(0, debB.length >> 1), () => setTimeout(() => res.destroy(), 100));
      return;
    }
    res.writeHead(404).end("not found");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    base = `http://127.0.0.1:${server.address().port}`;
    resolve({ base, close: () => server.close() });
  }));
}

export async function openUpdates(b) {
  await b.action("key").down(Key.Ctrl).down(Key.Shift).down("p").up("p").up(Key.Shift).up(Key.Ctrl).perform();
  const input = await b.$(".palette-input");
  await input.waitForDisplayed({ timeout: 10000 });
  await input.setValue(">Check for Updates");
  await eventually(() => b.execute(() => /Check for Updates/.test(document.querySelector(".palette-item.selected")?.textContent ?? "")), { what: "the palette entry" });
  await b.keys(Key.Enter);
  await (await b.$('[data-testid="updates"]')).waitForDisplayed({ timeout: 10000 });
}

/** Types `endpoint` in the dialog, presses Check now; returns { result, error } once that check settled. */
export async function checkWith(b, endpoint) {
  // The dialog checks once when it opens: wait for that to settle before asking again.
  await eventually(() => b.execute(() => !document.querySelector(".upd-check").disabled), { what: "Check now enabled" });
  const done = await b.execute(() => Number(document.querySelector('[data-testid="updates"]').dataset.checks ?? 0));
  await (await b.$(".upd-endpoint")).setValue(endpoint);
  await (await b.$(".upd-check")).click();
  // (The page hands back `refusal`: WebDriver takes a returned object with an `error` key for its own.)
  const { result, refusal } = await eventually(() => b.execute((done) => {
    const box = document.querySelector('[data-testid="updates"]');
    if (Number(box.dataset.checks ?? 0) <= done) return null;
    const err = box.querySelector(".upd-error");
    return { result: box.querySelector(".upd-result").textContent, refusal: err.hidden ? null : err.textContent };
  }, done), { what: `the check of ${endpoint}`, timeout: 30000 });
  return { result, error: refusal };
}

/** Presses Install on the offer shown; returns the error the dialog shows. */
export async function installFails(b) {
  await (await b.$(".upd-install")).click();
  return eventually(() => b.execute(() => {
    const err = document.querySelector(".upd-error");
    return err.hidden ? null : err.textContent;
  }), { what: "the refusal", timeout: 120000 });
}
