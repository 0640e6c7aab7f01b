/**
 * Precision schedules: pure functions of (iteration, total iterations) → bit-width.
 *
 * Spec grammar (one string, as on the command line):
 *   static:B                      constant B bits
 *   cpt:Bmin-Bmax[:cycles=N]      CPT cosine growth within each of N cycles (default 32)
 *   tri:Bmin-Bmax[:cycles=N]      triangular up-down cycle (Bmin → Bmax → Bmin), N cycles (default 32)
 *   ramp:Bmin-Bmax                linear ramp from Bmin at t=0 to Bmax at the last iteration
 * Bit-widths are integers in 1..32.
 */
import { ScheduleError } from '../errors.js';

export const MIN_BITS = 1;
export const MAX_BITS = 32;
export const DEFAULT_CYCLES = 32;

export type ScheduleSpec =
  | { kind: 'static'; bits: number }
  | { kind: 'cpt' | 'tri'; bitsMin: number; bitsMax: number; cycles: number }
  | { kind: 'ramp'; bitsMin: number; bitsMax: number };

export interface Schedule {
  /** The spec string in canonical form (e.g. `cpt:3-8:cycles=32`). */
  readonly name: string;
  readonly spec: ScheduleSpec;
  /** Highest bit-width the schedule reaches: the default evaluation precision. */
  readonly bitsMax: number;
  readonly bitsMin: number;
  /** Bit-width at iteration t (0-based) of a run of `total` iterations. */
  bitsAt(t: number, total: number): number;
}

function parseBits(spec: string, text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new ScheduleError(spec, `${what} must be an integer in ${MIN_BITS}..${MAX_BITS}, got "${text}"`);
  const bits = Number(text);
  if (bits < MIN_BITS || bits > MAX_BITS) {
    throw new ScheduleError(spec, `${what} must be an integer in ${MIN_BITS}..${MAX_BITS}, got ${bits}`);
  }
  return bits;
}

function parseRange(spec: string, text: string | undefined): [number, number] {
  const m = text === undefined ? null : /^(\d+)-(\d+)$/.exec(text);
  if (!m) throw new ScheduleError(spec, `expected a range Bmin-Bmax such as 3-8, got "${text ?? ''}"`);
  const bitsMin = parseBits(spec, m[1]!, 'Bmin');
  const bitsMax = parseBits(spec, m[2]!, 'Bmax');
  if (bitsMin > bitsMax) throw new ScheduleError(spec, `Bmin (${bitsMin}) must not exceed Bmax (${bitsMax})`);
  return [bitsMin, bitsMax];
}

function parseOptions(spec: string, parts: string[], allowed: string[]): Map<string, string> {
  const options = new Map<string, string>();
  for (const part of parts) {
    const m = /^([a-z]+)=(.+)$/.exec(part);
    if (!m || !allowed.includes(m[1]!)) {
      const hint = allowed.length ? `allowed: ${allowed.map((a) => `${a}=N`).join(', ')}` : 'this schedule takes no options';
      throw new ScheduleError(spec, `unknown option "${part}" (${hint})`);
    }
    options.set(m[1]!, m[2]!);
  }
  return options;
}

function parseCycles(spec: string, text: string | undefined): number {
  if (text === undefined) return DEFAULT_CYCLES;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new ScheduleError(spec, `cycles must be a positive integer, got "${text}"`);
  return Number(text);
}

/** Parse a schedule spec string; throws ScheduleError naming the spec and what is allowed. */
export function parseScheduleSpec(spec: string): ScheduleSpec {
  const [kind, range, ...rest] = spec.trim().split(':');
  switch (kind) {
    case 'static': {
      parseOptions(spec, rest, []);
      if (range === undefined) throw new ScheduleError(spec, 'expected static:B, e.g. static:8');
      return { kind: 'static', bits: parseBits(spec, range, 'B') };
    }
    case 'cpt':
    case 'tri': {
      const [bitsMin, bitsMax] = parseRange(spec, range);
      const options = parseOptions(spec, rest, ['cycles']);
      return { kind, bitsMin, bitsMax, cycles: parseCycles(spec, options.get('cycles')) };
    }
    case 'ramp': {
      const [bitsMin, bitsMax] = parseRange(spec, range);
      parseOptions(spec, rest, []);
      return { kind: 'ramp', bitsMin, bitsMax };
    }
    default:
      throw new ScheduleError(spec, `unknown schedule "${kind ?? ''}" (allowed: static:B, cpt:Bmin-Bmax[:cycles=N], tri:Bmin-Bmax[:cycles=N], ramp:Bmin-Bmax)`);
  }
}

/** Period length of a cyclic schedule: T = floor(total / N), at least 1. */
export function cyclePeriod(total: number, cycles: number): number {
  return Math.max(1, Math.floor(total / cycles));
}

/**
 * Round half to even, as numpy's `np.rint` (CPT's schedule): 4.5 → 4, 5.5 → 6. `Math.round`
 * rounds halves up, which moves one step per cycle for cpt:3-6, 4-6 and 5-8.
 */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * CPT: B(t) = rint(Bmin + ½(Bmax−Bmin)(1 + cos(π·((t mod T)/T) + π))), evaluated exactly as CPT's
 * `cyclic_adjust_precision` (cpt_cifar/train.py) writes it, so the floating-point rounding of the
 * cosine, and thus every tie, is the same.
 */
export function cptBits(t: number, total: number, bitsMin: number, bitsMax: number, cycles: number): number {
  const period = cyclePeriod(total, cycles);
  return roundHalfEven(bitsMin + 0.5 * (bitsMax - bitsMin) * (1 + Math.cos(Math.PI * ((t % period) / period) + Math.PI)));
}

/** Triangular: rises linearly from Bmin to Bmax over the first half of each cycle, falls back over the second. */
export function triangularBits(t: number, total: number, bitsMin: number, bitsMax: number, cycles: number): number {
  const period = cyclePeriod(total, cycles);
  const phase = (t % period) / period;
  const up = phase < 0.5 ? 2 * phase : 2 * (1 - phase);
  return roundHalfEven(bitsMin + (bitsMax - bitsMin) * up);
}

/** Linear ramp from Bmin (t = 0) to Bmax (t = total − 1). */
export function rampBits(t: number, total: number, bitsMin: number, bitsMax: number): number {
  const fraction = total <= 1 ? 1 : Math.min(1, t / (total - 1));
  return roundHalfEven(bitsMin + (bitsMax - bitsMin) * fraction);
}

export function canonicalName(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case 'static':
      return `static:${spec.bits}`;
    case 'cpt':
    case 'tri':
      return `${spec.kind}:${spec.bitsMin}-${spec.bitsMax}` + (spec.cycles === DEFAULT_CYCLES ? '' : `:cycles=${spec.cycles}`);
    case 'ramp':
      return `ramp:${spec.bitsMin}-${spec.bitsMax}`;
  }
}

export function makeSchedule(specOrText: ScheduleSpec | string): Schedule {
  const spec = typeof specOrText === 'string' ? parseScheduleSpec(specOrText) : specOrText;
  const name = canonicalName(spec);
  switch (spec.kind) {
    case 'static':
      return { name, spec, bitsMin: spec.bits, bitsMax: spec.bits, bitsAt: () => spec.bits };
    case 'cpt':
      return { name, spec, bitsMin: spec.bitsMin, bitsMax: spec.bitsMax, bitsAt: (t, total) => cptBits(t, total, spec.bitsMin, spec.bitsMax, spec.cycles) };
    case 'tri':
      return { name, spec, bitsMin: spec.bitsMin, bitsMax: spec.bitsMax, bitsAt: (t, total) => triangularBits(t, total, spec.bitsMin, spec.bitsMax, spec.cycles) };
    case 'ramp':
      return { name, spec, bitsMin: spec.bitsMin, bitsMax: spec.bitsMax, bitsAt: (t, total) => rampBits(t, total, spec.bitsMin, spec.bitsMax) };
  }
}

/** Bit-widths of every iteration of a run, as a compact array. */
export function scheduleBits(schedule: Schedule, total: number): Uint8Array {
  const bits = new Uint8Array(total);
  for (let t = 0; t < total; t++) bits[t] = schedule.bitsAt(t, total);
  return bits;
}

/** Highest bits a cyclic schedule reaches within one period of a run of `total` iterations. */
function reachedBits(spec: Extract<ScheduleSpec, { kind: 'cpt' | 'tri' }>, total: number): number {
  const schedule = makeSchedule(spec);
  const period = cyclePeriod(total, spec.cycles);
  let reached = 0;
  for (let t = 0; t < period; t++) reached = Math.max(reached, schedule.bitsAt(t, total));
  return reached;
}

/**
 * Why a schedule cannot do what it says over a run of `total` iterations (null if it can): a
 * cyclic schedule whose period is too short to reach Bmax (period 1 stays at Bmin). The
 * suggestion is the largest number of cycles that does reach Bmax.
 */
export function scheduleWarning(schedule: Schedule, total: number): string | null {
  const spec = schedule.spec;
  if (spec.kind !== 'cpt' && spec.kind !== 'tri') return null;
  const reached = reachedBits(spec, total);
  if (reached >= spec.bitsMax) return null;
  const period = cyclePeriod(total, spec.cycles);
  let fits = 1;
  for (let cycles = spec.cycles - 1; cycles >= 1; cycles--) {
    if (reachedBits({ ...spec, cycles }, total) >= spec.bitsMax) {
      fits = cycles;
      break;
    }
  }
  return `${schedule.name}: ${spec.cycles} cycles over ${total} iterations leave ${period} iteration${period === 1 ? '' : 's'} per cycle, so precision only reaches ${reached} bits (train longer or use fewer cycles, e.g. ${spec.kind}:${spec.bitsMin}-${spec.bitsMax}:cycles=${fits})`;
}
