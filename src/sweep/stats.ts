/** Statistics over seeds: mean, sample standard deviation and the 95 % confidence interval of the mean. Pure. */

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (t_{0.975, ν}). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064,
  2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, ν}; beyond 30 degrees of freedom the normal 1.96 (within 2 % of t from ν = 31 on). */
export function tQuantile975(dof: number): number {
  if (!Number.isInteger(dof) || dof < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${dof}`);
  return dof <= T975.length ? T975[dof - 1]! : 1.96;
}

export interface SeedStats {
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null for fewer than 2 values. */
  std: number | null;
  /** mean ± t·std/√n; null for fewer than 2 values. */
  ciLow: number | null;
  ciHigh: number | null;
}

/** Statistics of the finite values among `values` (a failed seed has no value and is not counted). */
export function seedStats(values: readonly (number | null | undefined)[]): SeedStats {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: null, std: null, ciLow: null, ciHigh: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, std: null, ciLow: null, ciHigh: null };
  const std = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * std) / Math.sqrt(n);
  return { n, mean, std, ciLow: mean - half, ciHigh: mean + half };
}
