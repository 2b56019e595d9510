/// <reference types="node" />
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { RestartWatch, RUN_MARK, runLabel, runLine, shellQuote } from "./runtext";

const sh = (line: string) => {
  try {
    return { out: execFileSync("sh", ["-c", line], { encoding: "utf8" }), code: 0 };
  } catch (e) {
    const err = e as { stdout: string; status: number };
    return { out: err.stdout, code: err.status };
  }
};

describe("the Run line", () => {
  it("quotes anything for sh", () => {
    expect(sh(`printf %s ${shellQuote("it's a \"test\" $HOME `x`")}`).out).toBe("it's a \"test\" $HOME `x`");
  });
  it("installs, marks, then runs the dev command; the typed line never holds the mark", () => {
    const line = runLine("echo installing", "echo 'dev server' && exit 3");
    expect(line).not.toContain(RUN_MARK);
    expect(line.endsWith("\n")).toBe(true);
    const r = sh(line);
    expect(r.out).toBe(`installing\n${RUN_MARK}\ndev server\n`);
    expect(r.code).toBe(3);
  });
  it("a failed install stops before the mark, with its exit code", () => {
    const r = sh(runLine("echo broken; exit 7", "echo never"));
    expect(r.out).toBe("broken\n");
    expect(r.code).toBe(7);
  });
  it("without an install only the dev command runs", () => {
    expect(sh(runLine(null, "echo dev")).out).toBe("dev\n");
  });
  it("a saved port reaches the dev command as PORT; npm's update notice is off", () => {
    expect(sh(runLine(null, "echo $PORT $npm_config_update_notifier", 4000)).out).toBe("4000 false\n");
    expect(sh(runLine("echo i", "echo port=$PORT", null)).out).toBe(`i\n${RUN_MARK}\nport=\n`);
  });
  it("says each phase", () => {
    expect(runLabel({ phase: "installing" })).toBe("▶ installing…");
    expect(runLabel({ phase: "installing" }, 12)).toBe("▶ installing… 12 s");
    expect(runLabel({ phase: "starting", port: 5173 })).toBe("▶ starting (waiting for :5173)…");
    expect(runLabel({ phase: "running", port: 5173 })).toBe("▶ running :5173");
    expect(runLabel({ phase: "exited", code: 1, during: "install", why: null })).toBe("▶ install failed (exit 1)");
    expect(runLabel({ phase: "exited", code: 0, during: "run", why: null })).toBe("▶ exited with code 0");
    expect(runLabel({ phase: "exited", code: 1, during: "install", why: "the registry has no package x" })).toBe("▶ install failed (exit 1): the registry has no package x");
    expect(runLabel({ phase: "stuck", port: 8000 })).toBe("▶ running, but nothing listens on :8000 yet");
    expect(runLabel({ phase: "stuck", port: null })).toBe("▶ running, but it opened no port yet");
  });
});

describe("RestartWatch", () => {
  it("says when uvicorn, Flask and node --watch are back after a change", () => {
    const w = new RestartWatch();
    expect(w.feed("INFO:     Application startup complete.\n")).toBe(false); // the first start
    expect(w.feed("WARNING:  WatchFiles detected changes in 'main.py'. Reloading...\n")).toBe(false);
    expect(w.feed("INFO:     Started server process [42]\nINFO:     Application startup complete.\n")).toBe(true);
    expect(w.feed(" * Detected change in '/workspace/app.py', reloading\n * Restarting with stat\n")).toBe(false);
    expect(w.feed(" * Debugger is active!\n")).toBe(true);
    expect(w.feed("Restarting 'index.js'\nlistening on http://localhost:3000\n")).toBe(true);
    expect(w.feed("listening on http://localhost:3000\n")).toBe(false);
  });
});
