// Edit distance between names, for "did you mean ...?" in errors about unknown keys,
// flags or options: the optimal string alignment distance (insertions, deletions,
// substitutions and swaps of two neighbouring characters each cost 1), so 'rouds' is
// 1 from 'rounds' and 'rnuods' 2.

/** Optimal string alignment distance between `a` and `b` (case-sensitive). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  const w = b.length + 1;
  // Three rows: two back (for swaps), the previous and the current.
  let back = new Array<number>(w).fill(0);
  let prev = Array.from({ length: w }, (_, j) => j);
  let cur = new Array<number>(w).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (back[j - 2] as number) + 1);
      cur[j] = d;
    }
    [back, prev, cur] = [prev, cur, back];
  }
  return prev[b.length] as number;
}

/**
 * The candidate nearest to `name` (case ignored), or undefined when none is close enough to
 * be a plausible typo: at most 2 edits and fewer than half of the name's characters, or
 * else a candidate the name (3 characters or more) begins (`warmup` -> `warmupRounds`).
 * Ties go to the earlier candidate.
 */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  const list = [...candidates];
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of list) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best !== undefined && bestD <= 2 && bestD * 2 < Math.max(name.length, 2)) return best;
  return lower.length >= 3 ? list.find((c) => c.toLowerCase().startsWith(lower)) : undefined;
}
