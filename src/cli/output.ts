/** Helpers shared by commands: option parsing that fails with UsageError, JSON output. */
import { UsageError } from '../errors.js';

export function parseIntOption(option: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(option, `expected an integer in ${min}..${max}, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(option, `expected an integer in ${min}..${max}, got ${value}`);
  return value;
}

export function parseFloatOption(option: string, text: string, min: number, max = Number.POSITIVE_INFINITY): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(option, `expected a number, got "${text}"`);
  if (value < min || value > max) throw new UsageError(option, `expected a number in ${min}..${max}, got ${value}`);
  return value;
}

/** Print exactly one JSON object (one line) on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
