// One figure over several seeds, as the quality benches report it (the targets
// are medians): median, mean, range and count, and its one-cell text.

export interface Summary {
  median: number;
  mean: number;
  min: number;
  max: number;
  n: number;
}

/** Median, mean and range of `xs`; undefined when there is no figure. */
export function summarise(xs: readonly number[]): Summary | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: xs.length };
}

/** `median / mean (min-max)`, three decimals; '-' for no figure. */
export const formatSummary = (s: Summary | undefined): string =>
  s === undefined ? '-' : `${s.median.toFixed(3)} / ${s.mean.toFixed(3)} (${s.min.toFixed(3)}-${s.max.toFixed(3)})`;
