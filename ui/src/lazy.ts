// A pane whose code loads with its first use, not with the window (the entry chunk holds only
// what the first screen needs).
import { toast } from "./modal";

export class Lazy<T> {
  /** The object, once made; until then callers that only update it can skip it. */
  now: T | null = null;
  private loading: Promise<T> | null = null;

  /** `what` names it in the error a failed load shows ("the sync pane"). */
  constructor(private make: () => Promise<T>, private what: string) {}

  /** Loads the module and makes the object, once; a failed load is shown and tried again at
   *  the next use. */
  get(): Promise<T> {
    this.loading ??= this.make().then(
      (v) => (this.now = v),
      (e) => {
        this.loading = null;
        toast(`Could not load ${this.what}: ${e instanceof Error ? e.message : String(e)}`, "error");
        throw e;
      });
    return this.loading;
  }
}
