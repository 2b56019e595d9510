import { describe, expect, it } from "vitest";
import { ago, details, dollars, storageLine, usageLine, whose } from "./fleettext";
import type { FleetEntry } from "./bindings/FleetEntry";

const now = 1_800_000_000_000;
const entry: FleetEntry = {
  provider: "e2b", id: "i1", state: "started", project: "shop", project_path: "/home/u/shop", this_machine: true, current: false,
  started_ms: now - 2 * 3600_000, active_ms: now - 5 * 60_000, cpu: 2, memory_bytes: 512 * 1024 * 1024, usd: 0.2, idle: false,
};

describe("fleet text", () => {
  it("says how long ago", () => {
    expect(ago(now - 10_000, now)).toBe("just now");
    expect(ago(now - 12 * 60_000, now)).toBe("12 min ago");
    expect(ago(now - 3 * 3600_000, now)).toBe("3 h ago");
    expect(ago(now - 86400_000, now)).toBe("1 day ago");
    expect(ago(null, now)).toBe("unknown");
  });
  it("prices in dollars", () => {
    expect(dollars(0.4213)).toBe("$0.42");
    expect(dollars(0.0031)).toBe("$0.003");
    expect(dollars(0.0002)).toBe("<$0.001");
    expect(dollars(null)).toBe("—");
  });
  it("says whose and what", () => {
    expect(whose({ ...entry, current: true })).toBe("shop · this project");
    expect(whose(entry)).toBe("shop · this machine");
    expect(whose({ ...entry, project_path: null, this_machine: false })).toBe("shop · another machine");
    expect(details(entry, now)).toBe("E2B · started · started 2 h ago · last active 5 min ago · ≈ $0.20");
  });
  it("shows this month's use", () => {
    expect(usageLine({ provider: "e2b", sandboxes: 3, sandbox_hours: 2.5, executions: 14, month_hours: 1.2, month_usd: 0.13 }))
      .toBe("e2b: 3 sandboxes, 2.50 h, 14 runs · this month 1.20 h ≈ $0.13");
    expect(usageLine({ provider: "local", sandboxes: 1, sandbox_hours: 1, executions: 2, month_hours: 1, month_usd: null }))
      .toBe("local: 1 sandboxes, 1.00 h, 2 runs · this month 1.00 h");
  });
  it("says what the bucket holds and costs", () => {
    expect(storageLine({ bytes: 12.3 * 1024 * 1024, objects: 420, project_bytes: 2 * 1024 * 1024, project_objects: 40 }, 0.015))
      .toBe("Bucket: 12.3 MiB in 420 objects (this project: 2.0 MiB) ≈ <$0.001 a month");
    expect(storageLine({ bytes: 3 * 1024 ** 3, objects: 9000, project_bytes: null, project_objects: null }, 0.015))
      .toBe("Bucket: 3.00 GiB in 9000 objects ≈ $0.05 a month");
  });
});
