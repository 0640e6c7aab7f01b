/**
 * Number formatting for every human-readable output (CLI text, plain tables, dashboard): one
 * module so every screen shows the same number the same way. Three significant digits; missing
 * or non-finite values print as "—".
 */

const PREFIXES: [number, string][] = [
  [1e24, 'Y'], [1e21, 'Z'], [1e18, 'E'], [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'],
  [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'], [1e-12, 'p'], [1e-15, 'f'], [1e-18, 'a'],
];

export const SIGNIFICANT_DIGITS = 3;

function trimZeros(text: string): string {
  return text.includes('.') && !text.includes('e') ? text.replace(/\.?0+$/, '') : text;
}

/** `formatSI(1234, 'J')` → "1.23 kJ"; three significant digits. */
export function formatSI(value: number, unit: string, digits = SIGNIFICANT_DIGITS): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`.trim();
  if (value === 0) return `0 ${unit}`.trim();
  const abs = Math.abs(value);
  const [scale, prefix] = PREFIXES.find(([s]) => abs >= s * 0.9995) ?? PREFIXES[PREFIXES.length - 1]!;
  return `${trimZeros((value / scale).toPrecision(digits))} ${prefix}${unit}`.trim();
}

const missing = (v: number | null | undefined): v is null | undefined => v === null || v === undefined || !Number.isFinite(v);

/** SI with a unit, or "—". */
export function fmtSI(value: number | null | undefined, unit: string): string {
  return missing(value) ? '—' : formatSI(value, unit);
}

/** Percent with one decimal: "36.7 %", or "—". */
export function fmtPct(value: number | null | undefined, digits = 1): string {
  return missing(value) ? '—' : `${value.toFixed(digits)} %`;
}

/** Accuracy 0..1 → "97.5 %". */
export function fmtAcc(value: number | null | undefined, digits = 1): string {
  return missing(value) ? '—' : `${(100 * value).toFixed(digits)} %`;
}

/** A plain number with three significant digits: 4148.3 → "4150", 0.01234 → "0.0123". */
export function fmtNum(value: number | null | undefined, digits = SIGNIFICANT_DIGITS): string {
  return missing(value) ? '—' : Number(value.toPrecision(digits)).toString();
}

const TIME_UNITS: [number, string][] = [
  [365.25 * 86400, 'years'],
  [86400, 'days'],
  [3600, 'h'],
  [60, 'min'],
];

/**
 * A duration (energy's companion: latency, wall time) in the unit people read: SI below a
 * minute (`4.81 ms`), then minutes, hours, days, years (`55.7 days`), three significant digits.
 */
export function fmtTime(seconds: number | null | undefined): string {
  if (missing(seconds)) return '—';
  const abs = Math.abs(seconds);
  for (const [scale, unit] of TIME_UNITS) if (abs >= scale * 0.9995) return `${trimZeros((seconds / scale).toPrecision(SIGNIFICANT_DIGITS))} ${unit}`;
  return formatSI(seconds, 's');
}

/**
 * A large count (BitOPs, MACs): SI prefixes people read up to tera (`63.7 T`), powers of ten
 * beyond (`6.37e19`).
 */
export function fmtCount(value: number | null | undefined, unit = ''): string {
  if (missing(value)) return '—';
  if (Math.abs(value) < 999.5e12) return formatSI(value, unit);
  const [mantissa, exponent] = value.toExponential(SIGNIFICANT_DIGITS - 1).split('e');
  return `${trimZeros(mantissa!)}e${Number(exponent)}${unit ? ` ${unit}` : ''}`;
}

/** Seconds → "1:02:03" / "2:03" / "—" (clock style, for ETA). */
export function fmtDuration(seconds: number | null | undefined): string {
  if (missing(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Pad or cut to exactly `width` characters (… marks a cut). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? '…' : text.slice(0, width - 1) + '…';
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

/** Columns of text: first column left-aligned, the others right-aligned. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}
