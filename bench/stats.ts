/** Order statistics for the benchmark (pure). */

export function quantile(xs: readonly number[], q: number): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  // Linear interpolation between closest ranks (type 7, as numpy's default).
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export function mean(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length === 0 ? Number.NaN : f.reduce((a, b) => a + b, 0) / f.length;
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

export function summary(xs: readonly number[]): Summary {
  const f = xs.filter(Number.isFinite);
  return {
    n: f.length,
    p50: quantile(f, 0.5),
    p90: quantile(f, 0.9),
    p99: quantile(f, 0.99),
    min: f.length ? Math.min(...f) : Number.NaN,
    max: f.length ? Math.max(...f) : Number.NaN,
    mean: mean(f),
  };
}

/** Rounds for the JSON output; NaN/Infinity become null. */
export function round(x: number, digits = 3): number | null {
  if (!Number.isFinite(x)) return null;
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

export function fmt(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}
