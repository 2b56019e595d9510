// The lines a user pastes into an agent to connect it to Aura.

export interface ConnectLine {
  id: string;
  label: string;
  text: string;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `stdioCommand` is "<path to aura> mcp"; `token` is known only right after it is made (else a
 * placeholder stands in its place).
 */
export function agentConnectLines(url: string | null, stdioCommand: string, token: string | null): ConnectLine[] {
  const exe = stdioCommand.replace(/ mcp$/, "");
  const lines: ConnectLine[] = [
    { id: "claude", label: "Claude Code (starts Aura's bridge; no token to paste):", text: `claude mcp add aura -- ${shellQuote(exe)} mcp` },
    { id: "json", label: "Other clients (mcpServers JSON):", text: JSON.stringify({ mcpServers: { aura: { command: exe, args: ["mcp"] } } }, null, 2) },
  ];
  if (url) {
    const bearer = `Authorization: Bearer ${token ?? "<your token>"}`;
    lines.push({ id: "http", label: "Over HTTP (any MCP client):", text: `claude mcp add --transport http aura ${url} --header ${shellQuote(bearer)}` });
  }
  return lines;
}
