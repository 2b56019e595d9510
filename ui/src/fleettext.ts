// Words for the Sandboxes view: how long ago, what it cost, what a row says.
import type { FleetEntry } from "./bindings/FleetEntry";
import type { StorageUse } from "./bindings/StorageUse";
import type { Usage } from "./bindings/Usage";

/** "just now", "12 min ago", "3 h ago", "4 days ago". */
export function ago(ms: number | null, now: number): string {
  if (ms === null) return "unknown";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86400);
  return `${d} day${d === 1 ? "" : "s"} ago`;
}

/** "$0.42"; small amounts keep their cents' fraction ("$0.003", "<$0.001"), none is "—". */
export function dollars(usd: number | null): string {
  if (usd === null) return "—";
  if (usd > 0 && usd < 0.001) return "<$0.001";
  if (usd > 0 && usd < 0.01) return `$${usd.toFixed(3)}`;
  return `$${usd.toFixed(2)}`;
}

const PROVIDER: Record<string, string> = { daytona: "Daytona", e2b: "E2B", local: "Local" };

/** Whose and which: "shop (this project)", "blog · another machine". */
export function whose(e: FleetEntry): string {
  const where = e.current ? "this project" : e.project_path ? "this machine" : e.this_machine ? "this machine, project not in the list" : "another machine";
  return `${e.project} · ${where}`;
}

/** "E2B · started · started 2 h ago · last active 5 min ago · ≈ $0.12". */
export function details(e: FleetEntry, now: number): string {
  return [
    PROVIDER[e.provider] ?? e.provider,
    e.state,
    `started ${ago(e.started_ms, now)}`,
    `last active ${ago(e.active_ms, now)}`,
    `≈ ${dollars(e.usd)}`,
  ].join(" · ");
}

/** "e2b: 3 sandboxes, 2.50 h, 14 runs · this month 1.20 h ≈ $0.13". */
export function usageLine(u: Usage): string {
  const all = `${u.provider}: ${u.sandboxes} sandboxes, ${u.sandbox_hours.toFixed(2)} h, ${u.executions} runs`;
  const month = `this month ${u.month_hours.toFixed(2)} h${u.month_usd === null ? "" : ` ≈ ${dollars(u.month_usd)}`}`;
  return `${all} · ${month}`;
}

/** "12.3 MiB", "1.50 GiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** "Bucket: 12.3 MiB in 420 objects (this project: 2.0 MiB) ≈ $0.000 a month". */
export function storageLine(u: StorageUse, gbMonthUsd: number): string {
  const mine = u.project_bytes === null ? "" : ` (this project: ${bytes(u.project_bytes)})`;
  return `Bucket: ${bytes(u.bytes)} in ${u.objects} objects${mine} ≈ ${dollars((u.bytes / 1e9) * gbMonthUsd)} a month`;
}
