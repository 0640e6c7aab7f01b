/** Number formatting shared by the dashboard screens and the plain-text twins. */
import { formatSI } from '../hw/format.js';

export { formatSI };

export function fmtPct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(digits)} %`;
}

/** Accuracy 0..1 → "97.5 %". */
export function fmtAcc(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${(100 * value).toFixed(1)} %`;
}

export function fmtSI(value: number | null | undefined, unit: string): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : formatSI(value, unit);
}

/** Seconds → "1:02:03" / "2:03" / "—". */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function fmtNum(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : Number(value.toPrecision(digits)).toString();
}

/** Pad or cut to exactly `width` characters (… marks a cut). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? '…' : text.slice(0, width - 1) + '…';
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}
