// Project-wide search panel (ripgrep's crates on the Rust side).
import { h } from "./dom";
import { api, asIpcError, type SearchResults } from "./ipc";

export class SearchPanel {
  private input = h("input", { type: "search", class: "search-input", placeholder: "Search (Enter)", spellcheck: "false", "aria-label": "search text" });
  private regex = this.toggle(".*", "Use regular expression");
  private caseSensitive = this.toggle("Aa", "Match case");
  private word = this.toggle("ab", "Match whole word");
  private summary = h("div", { class: "search-summary" });
  private results = h("div", { class: "search-results" });
  private seq = 0;

  constructor(host: HTMLElement, private openAt: (path: string, line: number, col: number) => void) {
    host.append(
      h("div", { class: "search-box" }, this.input, this.caseSensitive, this.word, this.regex),
      this.summary, this.results,
    );
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.run();
    });
  }

  private toggle(label: string, title: string): HTMLButtonElement {
    const b = h("button", { class: "search-toggle", title, "aria-pressed": "false" }, label);
    b.addEventListener("click", () => {
      b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true"));
      if (this.input.value) this.run();
    });
    return b;
  }

  private on(b: HTMLElement): boolean {
    return b.getAttribute("aria-pressed") === "true";
  }

  focus(initial?: string): void {
    if (initial) this.input.value = initial;
    this.input.focus();
    this.input.select();
  }

  async run(): Promise<void> {
    const pattern = this.input.value;
    if (!pattern) return;
    const seq = ++this.seq;
    this.summary.textContent = "Searching…";
    try {
      const res = await api.searchProject({
        pattern, regex: this.on(this.regex), case_sensitive: this.on(this.caseSensitive),
        whole_word: this.on(this.word), max_results: 2000,
      });
      if (seq === this.seq) this.render(res);
    } catch (e) {
      if (seq === this.seq) {
        this.summary.textContent = asIpcError(e).message;
        this.results.replaceChildren();
      }
    }
  }

  private render(res: SearchResults): void {
    const n = res.matches.length;
    this.summary.textContent = n
      ? `${n}${res.truncated ? "+" : ""} results in ${res.files_with_matches} files${res.truncated ? " (refine to see all)" : ""}`
      : "No results.";
    const groups: HTMLElement[] = [];
    let current = "";
    let list: HTMLElement | null = null;
    for (const m of res.matches) {
      if (m.path !== current) {
        current = m.path;
        list = h("div", { class: "search-file-matches" });
        groups.push(h("div", { class: "search-file" }, h("div", { class: "search-file-name" }, m.path), list));
      }
      const line = h("div", { class: "search-match", "data-path": m.path, "data-line": String(m.line_number) },
        h("span", { class: "line-no" }, String(m.line_number)), this.highlight(m.line, m.ranges));
      const col = (m.ranges[0]?.[0] ?? 0) + 1;
      line.addEventListener("click", () => this.openAt(m.path, m.line_number, col));
      list!.append(line);
    }
    this.results.replaceChildren(...groups);
  }

  private highlight(text: string, ranges: [number, number][]): HTMLElement {
    const span = h("span", { class: "line-text" });
    let at = 0;
    for (const [s, e] of ranges) {
      if (s < at) continue;
      span.append(text.slice(at, s), h("mark", {}, text.slice(s, e)));
      at = e;
    }
    span.append(text.slice(at));
    return span;
  }
}
