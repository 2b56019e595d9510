// Subsequence matching for the command palette (file quick-open ranks on the Rust side).

/** Score of `query` against `text` (higher is better), or null when it does not match. */
export function fuzzyScore(query: string, text: string): number | null {
  const q = query.toLowerCase().replace(/\s+/g, "");
  if (!q) return 0;
  const t = text.toLowerCase();
  let qi = 0;
  let score = 0;
  let prev = -2;
  for (let i = 0; i < t.length && qi < q.length; i++) {
    if (t[i] === q[qi]) {
      score += 1;
      if (prev === i - 1) score += 4;
      if (i === 0 || " :/-_.".includes(t[i - 1])) score += 3;
      prev = i;
      qi++;
    }
  }
  return qi === q.length ? score : null;
}

export function fuzzyFilter<T>(query: string, items: T[], text: (t: T) => string): T[] {
  const scored: [number, number, T][] = [];
  items.forEach((item, i) => {
    const s = fuzzyScore(query, text(item));
    if (s !== null) scored.push([s, i, item]);
  });
  scored.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return scored.map((s) => s[2]);
}
