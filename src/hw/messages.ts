/**
 * Error messages about profiles: always one line. A profile's strings, its file name and the
 * messages of zod and mathjs can hold newlines, escape sequences or bidi overrides; every
 * ProfileError of src/hw is built here, so its message is made safe once (sanitize) and quoted
 * input is cut to a readable length.
 */
import { ProfileError } from '../errors.js';
import { sanitize, sanitizeShort } from '../util/text.js';

/** Longest detail of a profile error; the parts that say what is allowed come before any cut. */
const MAX_DETAIL = 600;

/** A ProfileError whose message is one line: file, JSON path and detail made safe (`sanitize`). */
export function profileError(file: string, jsonPath: string, detail: string): ProfileError {
  return new ProfileError(sanitizeShort(file, 300), sanitizeShort(jsonPath, 200), sanitizeShort(detail, MAX_DETAIL));
}

/** `value` as a JSON string literal, one line, at most `max` characters (`"abc…"`). */
export function quote(value: string, max = 80): string {
  const text = sanitize(JSON.stringify(value));
  return text.length > max ? `${text.slice(0, max - 2)}…"` : text;
}

/** A number for a message: up to 4 significant digits, exponent notation outside 1e-4..1e6 (`1e24`, `4.941e-324`). */
export function num(value: number): string {
  if (!Number.isFinite(value) || value === 0) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-4) {
    const [mantissa, exponent] = value.toExponential(3).split('e') as [string, string];
    return `${mantissa.replace(/\.?0+$/, '')}e${exponent.replace('+', '')}`;
  }
  return String(Number(value.toPrecision(4)));
}
