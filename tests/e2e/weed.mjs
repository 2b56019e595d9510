// A real S3 server for the end-to-end tests and app benchmarks: SeaweedFS (`weed mini`) on
// 127.0.0.1 with free ports and one access key; stop() and start() again keep its data.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { eventually, scratch } from "./harness.mjs";

export const ACCESS = "aura-e2e-access";
export const SECRET = "aura-e2e-secret-never-in-sqlite";

/** A free port whose +10000 (SeaweedFS's gRPC port) is free too. */
async function freePair() {
  for (;;) {
    const p = await new Promise((res) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => res(port)); });
    });
    if (p >= 55000) continue;
    const ok = await new Promise((res) => {
      const s = net.createServer().once("error", () => res(false)).listen(p + 10000, "127.0.0.1", () => s.close(() => res(true)));
    });
    if (ok) return p;
  }
}

async function portOpen(port) {
  return new Promise((res) => {
    const s = net.connect(port, "127.0.0.1", () => { s.destroy(); res(true); });
    s.on("error", () => res(false));
  });
}

export class Weed {
  async start() {
    if (!this.dir) {
      this.dir = scratch("aura-e2e-weed-");
      fs.mkdirSync(path.join(this.dir, "data"));
      fs.writeFileSync(path.join(this.dir, "creds.json"), JSON.stringify({
        identities: [{ name: "aura", credentials: [{ accessKey: ACCESS, secretKey: SECRET }], actions: ["Admin", "Read", "Write", "List", "Tagging"] }],
      }));
      const [m, v, f, s] = [await freePair(), await freePair(), await freePair(), await freePair()];
      this.port = s;
      this.args = ["mini", `-dir=${path.join(this.dir, "data")}`, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
        "-webdav=false", "-admin.ui=false", `-s3.config=${path.join(this.dir, "creds.json")}`, `-master.port=${m}`,
        `-volume.port=${v}`, `-filer.port=${f}`, `-s3.port=${s}`, "-s3.port.iceberg=0", "-s3.port.lance=0"];
    }
    this.proc = spawn("weed", this.args, { stdio: "ignore", detached: true });
    await eventually(() => portOpen(this.port), { what: "SeaweedFS", timeout: 30000 });
  }
  stop() {
    try { process.kill(-this.proc.pid, "SIGKILL"); } catch { /* gone */ }
  }
  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }
}

