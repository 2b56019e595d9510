// What the Updates dialog says about an offer and an install under way.
import type { Offer, UpdateProgress } from "./ipc";

export function progressText(p: UpdateProgress): string {
  switch (p.phase) {
    case "downloading": {
      const mib = (n: number) => (n / 1048576).toFixed(1);
      return p.total ? `Downloading… ${mib(p.got)} of ${mib(p.total)} MiB` : `Downloading… ${mib(p.got)} MiB`;
    }
    case "waiting_for_sync": return "Waiting for the sync pass under way to finish…";
    case "installing": return "Installing…";
    case "restarting": return "Restarting…";
  }
}

export function offerText(o: Offer): string {
  if (!o.available) return `Aura ${o.current} is up to date (checked ${o.server}).`;
  const date = o.date ? `, published ${o.date.slice(0, 10)}` : "";
  return `Aura ${o.version} is available (you have ${o.current}; from ${o.server}${date}).`;
}
