import { describe, expect, it } from "vitest";
import { RestartWatch, runLabel } from "./runtext";

describe("the Run line's words", () => {
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
