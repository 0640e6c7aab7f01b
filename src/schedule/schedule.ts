/**
 * Precision schedules: pure functions of (iteration, total iterations) → bit-width, in the policy
 * grammar of policy.ts (docs/schedules.md). The specs bitcycle started with keep their meaning and
 * names:
 *   static:B                      constant B bits
 *   cpt:Bmin-Bmax[:cycles=N]      CPT cosine growth within each of N cycles (default 32)
 *   tri:Bmin-Bmax[:cycles=N]      triangular up-down cycle (Bmin → Bmax → Bmin), N cycles (default 32)
 *   ramp:Bmin-Bmax                linear ramp from Bmin at t=0 to Bmax at the last iteration
 * and every other function of the grammar (step, multistep, exp, poly, tri2, exp-range, sine,
 * cosine-anneal, cosine-restarts, one-cycle; any with :warmup=F) maps its level onto [Bmin, Bmax]:
 * B(t) = clamp(rint(Bmin + (Bmax − Bmin)·level(t)), Bmin, Bmax), rint rounding half to even.
 * Bit-widths are integers in 1..32.
 */
import { type NumberFormat, formatName } from '../formats/number-format.js';
import { elementBits, gridFormat, isFormatRange, ladderText, parseLadder } from '../formats/precision.js';
import { ScheduleError, UsageError } from '../errors.js';
import { type ParsedPolicy, formatPolicy, parsePolicy } from './policy.js';
import {
  type CyclicKind,
  type Fraction,
  type Shape,
  firstPeriod,
  isCyclic,
  policyLevel,
  roundHalfEven,
  shapeLevel,
  warmupSteps,
} from './shapes.js';
import { timingWarnings } from './warnings.js';

export { MIN_BITS, MAX_BITS } from './policy.js';
export { DEFAULT_CYCLES, cyclePeriod, roundHalfEven } from './shapes.js';

/**
 * A precision policy: static bits, or a shape over [Bmin, Bmax] (with an optional warm-up). With
 * `formats` (a range written as formats, `cpt:fp8-e4m3..fp16`), the shape moves over the ladder's
 * positions instead: bits 1..n stand for formats[0..n−1].
 */
export type ScheduleSpec =
  | { kind: 'static'; bits: number; formats?: readonly NumberFormat[] }
  | (Exclude<Shape, { kind: 'static' }> & { bitsMin: number; bitsMax: number; warmup?: Fraction | null; formats?: readonly NumberFormat[] });

export interface Schedule {
  /** The spec string in canonical form (e.g. `cpt:3-8:cycles=32` is `cpt:3-8`). */
  readonly name: string;
  readonly spec: ScheduleSpec;
  /** Highest bit-width of the schedule's range: the default evaluation precision. */
  readonly bitsMax: number;
  readonly bitsMin: number;
  /** Bit-width at iteration t (0-based) of a run of `total` iterations (a format's element bits). */
  bitsAt(t: number, total: number): number;
  /** Number format at iteration t: `intB` (fp32 at 32) for bit-width schedules (src/formats/precision.ts). */
  formatAt(t: number, total: number): NumberFormat;
  /** The format of its highest level (the default evaluation precision and baseline). */
  readonly top: NumberFormat;
  /** The ladder of a schedule written with formats (absent for bit-widths). */
  readonly formats?: readonly NumberFormat[];
}

function fromParsed(p: ParsedPolicy): ScheduleSpec {
  const [bitsMin, bitsMax] = p.range!;
  if (p.shape.kind === 'static') return { kind: 'static', bits: bitsMax };
  return { ...p.shape, bitsMin, bitsMax, warmup: p.warmup };
}

function toParsed(spec: ScheduleSpec): ParsedPolicy {
  if (spec.kind === 'static') return { shape: { kind: 'static' }, range: [spec.bits, spec.bits], warmup: null };
  return { shape: spec, range: [spec.bitsMin, spec.bitsMax], warmup: spec.warmup ?? null };
}

/**
 * Parse a precision spec string; throws ScheduleError naming the spec and what is allowed. A range
 * written with format names (`static:fp8-e4m3`, `cpt:fp8-e4m3..fp16`, `tri:int4/fp8-e4m3/fp16`) is a
 * ladder (src/formats/precision.ts): the shape is parsed over its positions 1..n.
 */
export function parseScheduleSpec(spec: string): ScheduleSpec {
  const parts = spec.trim().split(':');
  if (parts.length >= 2 && isFormatRange(parts[1]!) && !parts[1]!.includes('=')) {
    let formats: NumberFormat[];
    try {
      formats = parseLadder(parts[1]!, spec);
    } catch (e) {
      if (e instanceof UsageError) throw new ScheduleError(spec, e.message.slice(spec.length + 2)); // the UsageError's detail
      throw e;
    }
    const isStatic = /^(static|fixed)$/i.test(parts[0]!.trim());
    if (isStatic && formats.length > 1) throw new ScheduleError(spec, 'static takes one format, e.g. static:fp8-e4m3');
    const positions = isStatic ? '1' : `1-${formats.length}`;
    const parsed = fromParsed(parsePolicy([parts[0], positions, ...parts.slice(2)].join(':'), 'precision'));
    return { ...parsed, formats };
  }
  return fromParsed(parsePolicy(spec, 'precision'));
}

export function canonicalName(spec: ScheduleSpec): string {
  const name = formatPolicy(toParsed(spec), 'precision');
  if (!spec.formats) return name;
  const parts = name.split(':');
  parts[1] = ladderText(spec.formats);
  return parts.join(':');
}

/** A level in [0, 1] as bits: rint(Bmin + (Bmax − Bmin)·level), clamped to [Bmin, Bmax]. */
function levelBits(bitsMin: number, bitsMax: number, level: number): number {
  return Math.min(bitsMax, Math.max(bitsMin, roundHalfEven(bitsMin + (bitsMax - bitsMin) * level)));
}

/**
 * CPT: B(t) = rint(Bmin + ½(Bmax−Bmin)(1 + cos(π·((t mod T)/T) + π))), evaluated exactly as CPT's
 * `cyclic_adjust_precision` (cpt_cifar/train.py) writes it, so the floating-point rounding of the
 * cosine, and thus every tie, is the same (½ scales exactly, so ½(Bmax−Bmin)·s = (Bmax−Bmin)·(½s)).
 */
export function cptBits(t: number, total: number, bitsMin: number, bitsMax: number, cycles: number): number {
  return levelBits(bitsMin, bitsMax, shapeLevel({ kind: 'cpt', cycles }, t, total));
}

/** Triangular: rises linearly from Bmin to Bmax over the first half of each cycle, falls back over the second. */
export function triangularBits(t: number, total: number, bitsMin: number, bitsMax: number, cycles: number): number {
  return levelBits(bitsMin, bitsMax, shapeLevel({ kind: 'tri', cycles }, t, total));
}

/** Linear ramp from Bmin (t = 0) to Bmax (t = total − 1). */
export function rampBits(t: number, total: number, bitsMin: number, bitsMax: number): number {
  return levelBits(bitsMin, bitsMax, shapeLevel({ kind: 'ramp' }, t, total));
}

export function makeSchedule(specOrText: ScheduleSpec | string): Schedule {
  const spec = typeof specOrText === 'string' ? parseScheduleSpec(specOrText) : specOrText;
  const name = canonicalName(spec);
  const level: (t: number, total: number) => number =
    spec.kind === 'static' ? () => spec.bits : (t, total) => levelBits(spec.bitsMin, spec.bitsMax, policyLevel(spec, spec.warmup ?? null, t, total));
  const formats = spec.formats;
  if (formats) {
    const widths = formats.map(elementBits);
    const top = formats[formats.length - 1]!;
    return {
      name,
      spec,
      formats,
      top,
      bitsMin: Math.min(...widths),
      bitsMax: elementBits(top),
      bitsAt: (t, total) => widths[level(t, total) - 1]!,
      formatAt: (t, total) => formats[level(t, total) - 1]!,
    };
  }
  const bitsMin = spec.kind === 'static' ? spec.bits : spec.bitsMin;
  const bitsMax = spec.kind === 'static' ? spec.bits : spec.bitsMax;
  return { name, spec, bitsMin, bitsMax, top: gridFormat(bitsMax), bitsAt: level, formatAt: (t, total) => gridFormat(level(t, total)) };
}

/** The spec of a schedule's top precision held for a whole run: `static:8`, `static:fp16`. */
export function topStaticSpec(schedule: Schedule): string {
  return schedule.formats ? `static:${formatName(schedule.top)}` : `static:${schedule.bitsMax}`;
}

/** Bit-widths of every iteration of a run, as a compact array. */
export function scheduleBits(schedule: Schedule, total: number): Uint8Array {
  const bits = new Uint8Array(total);
  for (let t = 0; t < total; t++) bits[t] = schedule.bitsAt(t, total);
  return bits;
}

type CyclicSpec = Extract<ScheduleSpec, { kind: CyclicKind }>;

/**
 * The far end a cyclic schedule reaches within its first cycle (after any warm-up) over a run of
 * `total` iterations: the highest bits for those that rise from Bmin, the lowest for
 * cosine-restarts, which falls from Bmax.
 */
function reachedBits(spec: CyclicSpec, total: number): number {
  const schedule = makeSchedule({ ...spec, formats: undefined }); // ladder positions, not element bits
  const start = warmupSteps(spec.warmup ?? null, total);
  const period = firstPeriod(spec, total - start);
  const falling = spec.kind === 'cosine-restarts';
  let reached = falling ? Infinity : 0;
  for (let t = start; t < start + period; t++) {
    const bits = schedule.bitsAt(t, total);
    reached = falling ? Math.min(reached, bits) : Math.max(reached, bits);
  }
  return reached;
}

/** Why a cyclic schedule cannot do what it says (null if it can), with the largest number of cycles that can. */
function cycleWarning(name: string, spec: CyclicSpec, total: number): string | null {
  const falling = spec.kind === 'cosine-restarts';
  const reaches = (s: CyclicSpec) => (falling ? reachedBits(s, total) <= s.bitsMin : reachedBits(s, total) >= s.bitsMax);
  if (reaches(spec)) return null;
  const start = warmupSteps(spec.warmup ?? null, total);
  const span = total - start;
  const period = firstPeriod(spec, span);
  let fits = 1;
  for (let cycles = spec.cycles - 1; cycles >= 1; cycles--) {
    if (reaches({ ...spec, cycles })) {
      fits = cycles;
      break;
    }
  }
  const where = spec.kind === 'cosine-restarts' && spec.mult > 1 ? 'in the first cycle' : 'per cycle';
  const over = `${span} iterations${start > 0 ? ' after the warm-up' : ''}`;
  return (
    `${name}: ${spec.cycles} cycles over ${over} leave ${period} iteration${period === 1 ? '' : 's'} ${where}, ` +
    `so precision only ${falling ? 'falls to' : 'reaches'} ${reachedBits(spec, total)} bits (train longer or use fewer cycles, e.g. ${canonicalName({ ...spec, cycles: fits })})`
  );
}

/**
 * Why a schedule cannot do what it says over a run of `total` iterations (null if it can): a
 * cyclic schedule whose period is too short to reach Bmax (period 1 stays at Bmin; the suggestion
 * is the largest number of cycles that does reach Bmax), or a position in time (every=, at=,
 * peak=, warmup=) that a run this short cannot resolve.
 */
export function scheduleWarning(schedule: Schedule, total: number): string | null {
  const spec = schedule.spec;
  if (spec.kind === 'static') return null;
  const warnings = [...(isCyclic(spec) ? [cycleWarning(schedule.name, spec, total)] : []), ...timingWarnings(schedule.name, spec, spec.warmup ?? null, total)];
  const found = warnings.filter((w): w is string => w !== null);
  return found.length ? found.join('; ') : null;
}
