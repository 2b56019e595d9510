// What use costs: the rates estimates are made with, and what the bucket holds.
import type { Rates } from "./bindings/Rates";
import { h } from "./dom";
import { storageLine } from "./fleettext";
import { api, asIpcError } from "./ipc";
import { toast } from "./modal";

/** The rates costs are estimated with ($ per hour, per vCPU and per GiB), editable. */
export class RatesForm {
  readonly host = h("div", { class: "sb-rates", "data-testid": "usage-rates" });
  private inputs: Record<string, HTMLInputElement> = {};

  constructor(private saved: () => void) {
    const field = (key: string, label: string) => {
      const input = h("input", { type: "number", min: 0, step: "0.0001", class: "sb-num", "aria-label": label });
      this.inputs[key] = input;
      return h("label", { class: "sb-field" }, label, input);
    };
    const save = h("button", {}, "Save rates");
    save.addEventListener("click", () => void this.save());
    this.host.append(
      h("div", { class: "hint" }, "Rates in US dollars per hour, storage per GB-month (the providers' public prices unless changed):"),
      field("daytona.cpu", "Daytona, per vCPU"), field("daytona.gib", "Daytona, per GiB of memory"),
      field("e2b.cpu", "E2B, per vCPU"), field("e2b.gib", "E2B, per GiB of memory"),
      field("storage", "Bucket storage, per GB-month"), save);
  }

  async load(): Promise<void> {
    const r = await api.usageRates().catch(() => null);
    if (!r) return;
    this.inputs["daytona.cpu"].value = String(r.daytona.cpu_hour_usd);
    this.inputs["daytona.gib"].value = String(r.daytona.gib_hour_usd);
    this.inputs["e2b.cpu"].value = String(r.e2b.cpu_hour_usd);
    this.inputs["e2b.gib"].value = String(r.e2b.gib_hour_usd);
    this.inputs.storage.value = String(r.storage_gb_month_usd);
  }

  private async save(): Promise<void> {
    const n = (k: string) => Number(this.inputs[k].value);
    const rates: Rates = {
      daytona: { cpu_hour_usd: n("daytona.cpu"), gib_hour_usd: n("daytona.gib") },
      e2b: { cpu_hour_usd: n("e2b.cpu"), gib_hour_usd: n("e2b.gib") },
      storage_gb_month_usd: n("storage"),
    };
    try {
      await api.usageSaveRates(rates);
      toast("Rates saved.");
      this.saved();
    } catch (e) {
      toast(asIpcError(e).message, "error");
    }
  }
}

/** The bucket's size (Aura's objects, the open project's part) and its monthly cost, measured
 *  on request: it lists every object. */
export class StorageLine {
  readonly host = h("div", { class: "sb-usage", "data-testid": "bucket-usage" });
  private line = h("span", {}, "Bucket: not measured yet. ");

  constructor(private rate: () => Promise<number>) {
    const measure = h("button", { "data-testid": "bucket-measure" }, "Measure the bucket");
    measure.addEventListener("click", () => void this.measure());
    this.host.append(this.line, measure);
  }

  private async measure(): Promise<void> {
    this.line.textContent = "Bucket: listing… ";
    try {
      const [use, rate] = await Promise.all([api.syncStorage(), this.rate()]);
      this.line.textContent = `${storageLine(use, rate)} `;
    } catch (e) {
      this.line.textContent = `Bucket: ${asIpcError(e).message} `;
    }
  }
}
