// The env-vars editor's text form: one KEY=value per line, # comments and blank lines ignored.

export function parseEnv(text: string): { vars: [string, string][]; errors: string[] } {
  const vars: [string, string][] = [];
  const errors: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      errors.push(`line ${i + 1}: expected NAME=value with a name of letters, digits and _`);
      return;
    }
    vars.push([key, raw.slice(raw.indexOf("=") + 1)]);
  });
  return { vars, errors };
}

export function formatEnv(vars: [string, string][]): string {
  return vars.map(([k, v]) => `${k}=${v}`).join("\n");
}
