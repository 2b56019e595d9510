import { describe, expect, it } from "vitest";
import { syncLabel } from "./synclabel";
import type { SyncStatus } from "./ipc";

const base: SyncStatus = { state: "synced", pending: 0, failing: 0, message: null, snapshot: null, conflict: null, key: null, progress: null, phrase_needed: false };

describe("syncLabel", () => {
  it("says synced, pending N, offline with the queue, conflict", () => {
    expect(syncLabel(base)).toBe("synced");
    expect(syncLabel({ ...base, state: "pending", pending: 3 })).toBe("pending 3");
    expect(syncLabel({ ...base, state: "pending", pending: 3, failing: 1 })).toBe("pending 3 · 1 failing");
    expect(syncLabel({ ...base, state: "offline", pending: 5 })).toBe("offline · 5 queued");
    expect(syncLabel({ ...base, state: "conflict" })).toBe("sync conflict");
    expect(syncLabel({ ...base, state: "syncing", pending: 900, progress: [350, 1000] })).toBe("syncing 350/1000");
    expect(syncLabel({ ...base, state: "off" })).toBe("sync off");
  });
});
