import { describe, expect, it } from "vitest";
import type { Offer } from "./ipc";
import { offerText, progressText } from "./updatetext";

const offer: Offer = { current: "0.1.0", version: "0.2.0", available: true, notes: "", date: "2026-11-20T10:00:00Z", package: "linux-x86_64-deb", server: "releases.example.org" };

describe("update texts", () => {
  it("names the versions, the server and the date", () => {
    expect(offerText(offer)).toBe("Aura 0.2.0 is available (you have 0.1.0; from releases.example.org, published 2026-11-20).");
    expect(offerText({ ...offer, date: null })).toBe("Aura 0.2.0 is available (you have 0.1.0; from releases.example.org).");
    expect(offerText({ ...offer, available: false, version: "0.1.0" })).toBe("Aura 0.1.0 is up to date (checked releases.example.org).");
  });
  it("shows each phase, with sizes when the server sends them", () => {
    expect(progressText({ phase: "downloading", got: 3 * 1048576, total: 10 * 1048576 })).toBe("Downloading… 3.0 of 10.0 MiB");
    expect(progressText({ phase: "downloading", got: 1048576, total: null })).toBe("Downloading… 1.0 MiB");
    expect(progressText({ phase: "waiting_for_sync" })).toBe("Waiting for the sync pass under way to finish…");
    expect(progressText({ phase: "installing" })).toBe("Installing…");
    expect(progressText({ phase: "restarting" })).toBe("Restarting…");
  });
});
