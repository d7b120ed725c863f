/** Summary statistics the benchmark scripts report. */

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

/** The median (the mean of the two middle values for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = sorted(xs), n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** The nearest-rank percentile `p` (0..1); NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  return xs.length ? sorted(xs)[Math.max(0, Math.ceil(p * xs.length) - 1)] : NaN;
}
