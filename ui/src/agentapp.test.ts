import { describe, expect, it } from "vitest";
import { agentAppLabel } from "./agentapp";

describe("the agent's app in the status bar", () => {
  const app = { install: null, dev: "npm run dev", port: null, ended: null };
  it("says each phase, and nothing once stopped", () => {
    expect(agentAppLabel(null)).toBe("");
    expect(agentAppLabel({ ...app, phase: "installing" })).toBe("agent ▶ installing…");
    expect(agentAppLabel({ ...app, phase: "running" })).toBe("agent ▶ running");
    expect(agentAppLabel({ ...app, phase: "running", port: 5173 })).toBe("agent ▶ running :5173");
    expect(agentAppLabel({ ...app, phase: "exited", ended: "exit code 1 during install" })).toBe("agent ▶ exit code 1 during install");
    expect(agentAppLabel({ ...app, phase: "stopped" })).toBe("");
  });
});
