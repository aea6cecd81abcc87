/**
 * "Did you mean …?" for names a person typed: configuration keys and command-line options. One rule everywhere, so
 * `GrantScope` in cdk.json and `--evnt` on the command line are corrected the same way.
 */

/**
 * The candidate closest to `typed`, or null when none is close enough to be a likely typo. Letter case is ignored;
 * a candidate that `typed` abbreviates (`--conf` for `--config`) counts as close; otherwise the edit distance
 * (insertions, deletions, substitutions and swaps of two neighbours) may be at most a third of the longer name, and
 * at least 1. Ties go to the earlier candidate, so the answer is deterministic.
 */
export function closestMatch(typed: string, candidates: readonly string[]): string | null {
  const word = typed.toLowerCase();
  if (word === '') return null;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const lower = candidate.toLowerCase();
    if (lower === word) return candidate;
    const distance = word.length >= 3 && lower.startsWith(word) ? 1 : editDistance(word, lower);
    const allowed = Math.max(1, Math.floor(Math.max(word.length, lower.length) / 3));
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal-string-alignment distance: Levenshtein plus the swap of two adjacent characters ("evnet" → "event"). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const d: number[] = new Array<number>(rows * columns).fill(0);
  const at = (i: number, j: number): number => d[i * columns + j] as number;
  for (let i = 0; i < rows; i++) d[i * columns] = i;
  for (let j = 0; j < columns; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, at(i - 2, j - 2) + 1);
      }
      d[i * columns + j] = value;
    }
  }
  return at(a.length, b.length);
}
