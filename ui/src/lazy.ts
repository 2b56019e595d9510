// A pane whose code loads with its first use, not with the window (the entry chunk holds only
// what the first screen needs).

export class Lazy<T> {
  /** The object, once made; until then callers that only update it can skip it. */
  now: T | null = null;
  private loading: Promise<T> | null = null;

  constructor(private make: () => Promise<T>) {}

  /** Loads the module and makes the object, once. */
  get(): Promise<T> {
    this.loading ??= this.make().then((v) => (this.now = v));
    return this.loading;
  }
}
