// Small numeric helpers for the report.
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const median = (xs: readonly number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

export const round = (x: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Rate over a span, or NaN when the span is missing or empty. */
export function rate(count: number, from: number | null, to: number | null): number {
  if (from === null || to === null || to <= from) return NaN;
  return (count / (to - from)) * 1000;
}
