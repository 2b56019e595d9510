// Questions from a Registries-only sandbox: a connection to a host that is not on the project's
// list waits until the user answers on a card, which stays in the corner of the window (the
// user is usually in a terminal watching an install when it comes) until answered.
import { h } from "./dom";
import { api, type NetAnswer, type NetAsk, type NetEvent } from "./ipc";
import { toast } from "./modal";

export class NetAsks {
  private host = h("div", { class: "net-asks", "data-testid": "net-asks" });
  private pending = new Map<number, NetAsk>();

  /** `changed`: something the Sandbox panel shows changed (its connection list). */
  constructor(private changed: () => void) {
    document.body.append(this.host);
  }

  async start(): Promise<void> {
    try {
      const waiting = await api.netSubscribe((e) => this.onEvent(e));
      for (const a of waiting) this.pending.set(Number(a.id), a);
      this.render();
    } catch (e) {
      console.warn("network questions", e);
    }
  }

  private onEvent(e: NetEvent): void {
    if (e.kind === "ask") this.pending.set(Number(e.data.id), e.data);
    else this.pending.delete(Number(e.data));
    this.render();
    this.changed();
  }

  private render(): void {
    this.host.replaceChildren(...[...this.pending.values()].map((a) => {
      const where = a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
      return h("div", { class: "net-ask", "data-testid": "net-ask", "data-host": a.host },
        h("div", { class: "sb-label" }, "The sandbox wants to reach"),
        h("code", { class: "net-ask-host" }, where),
        h("div", { class: "hint" }, "It is not on this project's list (network: Registries only). Until you answer, the connection waits."),
        h("div", { class: "sb-buttons" },
          h("button", { class: "primary", "data-testid": "net-allow-once", onclick: () => void this.answer(a, "once") }, "Allow once"),
          h("button", { "data-testid": "net-allow-always", onclick: () => void this.answer(a, "always") }, "Always for this project"),
          h("button", { "data-testid": "net-deny", onclick: () => void this.answer(a, "deny") }, "Deny")));
    }));
  }

  private async answer(a: NetAsk, answer: NetAnswer): Promise<void> {
    this.pending.delete(Number(a.id));
    this.render();
    const still = await api.netAnswer(Number(a.id), answer).catch(() => false);
    if (!still) toast(`The connection to ${a.host} stopped waiting for an answer.`, "info");
    this.changed();
  }
}
