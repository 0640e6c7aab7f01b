/** Human-readable numbers with SI prefixes, for CLI and dashboard output. */

const PREFIXES: [number, string][] = [
  [1e24, 'Y'], [1e21, 'Z'], [1e18, 'E'], [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'],
  [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'], [1e-12, 'p'], [1e-15, 'f'], [1e-18, 'a'],
];

/** `formatSI(1234, 'J')` → "1.23 kJ"; three significant digits. */
export function formatSI(value: number, unit: string, digits = 3): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`.trim();
  if (value === 0) return `0 ${unit}`.trim();
  const abs = Math.abs(value);
  const [scale, prefix] = PREFIXES.find(([s]) => abs >= s * 0.9995) ?? PREFIXES[PREFIXES.length - 1]!;
  return `${(value / scale).toPrecision(digits).replace(/\.?0+$/, (m) => (m.includes('.') ? '' : m))} ${prefix}${unit}`.trim();
}

/** Percent with one decimal and a sign only when negative: "36.7 %". */
export function formatPct(value: number): string {
  return `${value.toFixed(1)} %`;
}
