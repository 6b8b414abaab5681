// Fuzzy matching for the metrics explorer: the query's characters must
// appear in order; contiguous runs and matches at word starts rank higher.

/** fuzzyScore returns a score (higher is better) or null when text does not match. */
export function fuzzyScore(query: string, text: string): number | null {
  const q = query.toLowerCase();
  const t = text.toLowerCase();
  if (q === '') return 0;
  const at = t.indexOf(q);
  // A plain substring beats any scattered match; earlier is better.
  if (at >= 0) return 1000 - at + (at === 0 || /[_:]/.test(t[at - 1]) ? 100 : 0);
  let score = 0;
  let j = 0;
  let prev = -2;
  for (let i = 0; i < t.length && j < q.length; i++) {
    if (t[i] !== q[j]) continue;
    score += i === prev + 1 ? 5 : 1;
    if (i === 0 || /[_:]/.test(t[i - 1])) score += 3;
    prev = i;
    j++;
  }
  return j === q.length ? score : null;
}

/** fuzzyFilter returns the texts that match, best first, at most limit. */
export function fuzzyFilter(query: string, texts: string[], limit = 200): string[] {
  const scored: [string, number][] = [];
  for (const t of texts) {
    const s = fuzzyScore(query, t);
    if (s !== null) scored.push([t, s]);
  }
  return scored
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([t]) => t);
}
