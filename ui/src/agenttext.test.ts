import { describe, expect, it } from "vitest";
import { agentConnectLines } from "./agenttext";

describe("agentConnectLines", () => {
  it("gives the stdio line, the JSON and the HTTP line with the token once known", () => {
    const lines = agentConnectLines("http://127.0.0.1:4321/mcp", "/opt/My Apps/aura mcp", "aura_abc");
    expect(lines.find((l) => l.id === "claude")!.text).toBe("claude mcp add aura -- '/opt/My Apps/aura' mcp");
    expect(JSON.parse(lines.find((l) => l.id === "json")!.text)).toEqual({ mcpServers: { aura: { command: "/opt/My Apps/aura", args: ["mcp"] } } });
    expect(lines.find((l) => l.id === "http")!.text).toBe("claude mcp add --transport http aura http://127.0.0.1:4321/mcp --header 'Authorization: Bearer aura_abc'");
  });
  it("never shows a token it does not have, and no HTTP line without a server", () => {
    expect(agentConnectLines("http://127.0.0.1:1/mcp", "/usr/bin/aura mcp", null).find((l) => l.id === "http")!.text).toContain("<your token>");
    expect(agentConnectLines(null, "/usr/bin/aura mcp", null).map((l) => l.id)).toEqual(["claude", "json"]);
  });
});
