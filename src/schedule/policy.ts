/**
 * The policy grammar shared by precision (`--schedule`, `--grad-bits`, `--baseline`) and
 * learning-rate (`--lr-schedule`) policies; docs/schedules.md. One spec string, no commas (sweeps
 * list specs separated by commas):
 *
 *   NAME[:RANGE][:key=value]…          e.g. cpt:3-8:cycles=2, multistep:3-8:at=0.5/0.75, cosine:warmup=0.05
 *
 * - NAME is one function of `FUNCTIONS` (or an alias); each domain has its canonical names
 *   (fixed is `static` for precision and `constant` for learning rates, as they always were).
 * - RANGE is `low-high`: bit-widths `Bmin-Bmax` (integers 1..32, required) for precision, rates
 *   for learning rates (optional: without it the rate runs from a default low to `--lr`). The
 *   fixed function takes one value: `static:B`, `constant[:RATE]`.
 * - Options are `key=value`; a list value uses `/` (`at=0.5/0.75`); positions in time are fractions
 *   of the run (`every=0.3`, `at=…`, `peak=…`, `warmup=…`) and `cycles=N` counts per run, so one
 *   spec means the same over any run length. `warmup=F` prefixes any function but static precision.
 * - A learning-rate spec may start with its options: `warmup=0.05` is `constant:warmup=0.05`.
 *
 * The canonical form (stored in run.json, shown everywhere) drops options at their default.
 */
import { ScheduleError } from '../errors.js';
import { DEFAULT_CYCLES, type Fraction, type Shape, type ShapeKind, parseFraction } from './shapes.js';

export type Domain = 'precision' | 'lr';

export const MIN_BITS = 1;
export const MAX_BITS = 32;

/** How a learning-rate policy without a range places its low rate (the high one is `--lr`). */
export type LowRate = 'zero' | 'third';

interface FunctionDef {
  /** Canonical name per domain. */
  readonly name: Readonly<Record<Domain, string>>;
  /** Other names accepted in both domains. */
  readonly aliases: readonly string[];
  /** Option keys, in canonical order (warmup, allowed for all but static precision, comes last). */
  readonly options: readonly OptionKey[];
  /** Low rate of a learning-rate policy without a range: 0 for what decays, --lr/3 for what rises or cycles. */
  readonly low: LowRate;
}

type OptionKey = 'every' | 'at' | 'gamma' | 'power' | 'cycles' | 'mult' | 'peak' | 'div' | 'final-div' | 'from';

/** Every function, by its precision-domain name (the `kind` of a Shape). */
export const FUNCTIONS: Readonly<Record<ShapeKind, FunctionDef>> = {
  static: { name: { precision: 'static', lr: 'constant' }, aliases: ['fixed', 'static', 'constant'], options: [], low: 'zero' },
  step: { name: { precision: 'step', lr: 'step' }, aliases: [], options: ['every', 'gamma'], low: 'zero' },
  multistep: { name: { precision: 'multistep', lr: 'multistep' }, aliases: [], options: ['at', 'gamma'], low: 'zero' },
  exp: { name: { precision: 'exp', lr: 'exp' }, aliases: ['exponential'], options: ['gamma'], low: 'zero' },
  poly: { name: { precision: 'poly', lr: 'poly' }, aliases: ['polynomial'], options: ['power'], low: 'zero' },
  ramp: { name: { precision: 'ramp', lr: 'ramp' }, aliases: ['linear'], options: [], low: 'third' },
  tri: { name: { precision: 'tri', lr: 'tri' }, aliases: ['triangular'], options: ['cycles'], low: 'third' },
  tri2: { name: { precision: 'tri2', lr: 'tri2' }, aliases: ['triangular2'], options: ['cycles'], low: 'third' },
  'exp-range': { name: { precision: 'exp-range', lr: 'exp-range' }, aliases: ['exp_range'], options: ['cycles', 'gamma'], low: 'third' },
  sine: { name: { precision: 'sine', lr: 'sine' }, aliases: ['sin'], options: ['cycles'], low: 'third' },
  'cosine-anneal': { name: { precision: 'cosine-anneal', lr: 'cosine' }, aliases: ['cosine-annealing'], options: [], low: 'zero' },
  'cosine-restarts': { name: { precision: 'cosine-restarts', lr: 'cosine-restarts' }, aliases: ['sgdr'], options: ['cycles', 'mult'], low: 'zero' },
  'one-cycle': { name: { precision: 'one-cycle', lr: 'one-cycle' }, aliases: ['onecycle', '1cycle'], options: ['peak', 'div', 'final-div'], low: 'zero' },
  cpt: { name: { precision: 'cpt', lr: 'cpt' }, aliases: [], options: ['cycles'], low: 'third' },
  alternate: { name: { precision: 'alternate', lr: 'alternate' }, aliases: ['alt'], options: ['from'], low: 'third' },
};

const KINDS = Object.keys(FUNCTIONS) as ShapeKind[];

/** Defaults of the options that have one (`gamma` depends on the function). */
const DEFAULTS = { cycles: DEFAULT_CYCLES, mult: 1, power: 1, div: 25, finalDiv: 1e4, stepGamma: 0.1, expGamma: 0.01, peak: '0.3' } as const;

const OPTION_HINTS: Record<OptionKey | 'warmup', string> = {
  every: 'F',
  at: 'F/F…',
  gamma: 'G',
  power: 'P',
  cycles: 'N',
  mult: 'M',
  peak: 'F',
  div: 'D',
  'final-div': 'D',
  from: 'F',
  warmup: 'F',
};

/**
 * The function a name means in `domain`: its name in either domain or an alias. `cosine` is a
 * learning-rate name only: for precision it would read as CPT's cosine growth as easily as a decay.
 */
function lookup(name: string, domain: Domain): ShapeKind | undefined {
  if (name === 'cosine' && domain === 'precision') return undefined;
  return KINDS.find((kind) => FUNCTIONS[kind].name.precision === name || FUNCTIONS[kind].name.lr === name || FUNCTIONS[kind].aliases.includes(name));
}

/** The functions a domain accepts, as a one-line list for errors and help. */
export function allowedPolicies(domain: Domain): string {
  const names = KINDS.filter((k) => k !== 'static').map((k) => FUNCTIONS[k].name[domain]);
  return domain === 'precision'
    ? `static:B, or NAME:Bmin-Bmax[:key=value…] with NAME one of ${names.join(', ')}; see docs/schedules.md`
    : `constant[:RATE], or NAME[:LOW-HIGH][:key=value…] with NAME one of ${names.join(', ')}; see docs/schedules.md`;
}

/** A policy as parsed, before its domain reads the range. */
export interface ParsedPolicy {
  shape: Shape;
  /** `[low, high]`; the fixed function's one value is `[value, value]`; null when not given. */
  range: readonly [number, number] | null;
  warmup: Fraction | null;
}

const NUMBER = String.raw`(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?`;

function parseBits(spec: string, text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new ScheduleError(spec, `${what} must be an integer in ${MIN_BITS}..${MAX_BITS}, got "${text}"`);
  const bits = Number(text);
  if (bits < MIN_BITS || bits > MAX_BITS) throw new ScheduleError(spec, `${what} must be an integer in ${MIN_BITS}..${MAX_BITS}, got ${bits}`);
  return bits;
}

function parseRate(spec: string, text: string): number {
  const rate = Number(text);
  if (!new RegExp(`^${NUMBER}$`, 'i').test(text) || !Number.isFinite(rate)) throw new ScheduleError(spec, `expected a learning rate such as 0.1 or 1e-3, got "${text}"`);
  return rate;
}

function parseRange(spec: string, text: string | undefined, domain: Domain, kind: ShapeKind): readonly [number, number] {
  if (domain === 'precision') {
    if (kind === 'static') {
      if (text === undefined) throw new ScheduleError(spec, 'expected static:B, e.g. static:8');
      if (!/^\d+$/.test(text)) throw new ScheduleError(spec, `expected static:B with one bit-width B, e.g. static:8, got "${text}"`);
      const bits = parseBits(spec, text, 'B');
      return [bits, bits];
    }
    const m = text === undefined ? null : /^(\d+)-(\d+)$/.exec(text);
    if (!m) throw new ScheduleError(spec, `expected a range Bmin-Bmax such as 3-8, got "${text ?? ''}"`);
    const bitsMin = parseBits(spec, m[1]!, 'Bmin');
    const bitsMax = parseBits(spec, m[2]!, 'Bmax');
    if (bitsMin > bitsMax) throw new ScheduleError(spec, `Bmin (${bitsMin}) must not exceed Bmax (${bitsMax})`);
    return [bitsMin, bitsMax];
  }
  if (kind === 'static') {
    const rate = parseRate(spec, text!);
    return [rate, rate];
  }
  const m = new RegExp(`^(${NUMBER})-(${NUMBER})$`, 'i').exec(text!);
  if (!m) throw new ScheduleError(spec, `expected a range of rates LOW-HIGH such as 0.01-0.1, got "${text}"`);
  const low = parseRate(spec, m[1]!);
  const high = parseRate(spec, m[2]!);
  if (low > high) throw new ScheduleError(spec, `the low rate (${low}) must not exceed the high one (${high})`);
  return [low, high];
}

function fraction(spec: string, key: string, text: string, open: { zero: boolean; one: boolean }): Fraction {
  const f = parseFraction(text);
  const bad = f === null || (!open.zero && f.numerator === 0n) || (!open.one && f.numerator === f.denominator);
  if (bad) {
    const range = `${open.zero ? '[' : '('}0, 1${open.one ? ']' : ')'}`;
    throw new ScheduleError(spec, `${key} must be a fraction of the run in ${range} written as a decimal (e.g. 0.25), got "${text}"`);
  }
  return f!;
}

function positiveInt(spec: string, key: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1e6) throw new ScheduleError(spec, `${key} must be a positive integer, got "${text}"`);
  return Number(text);
}

function real(spec: string, key: string, text: string, ok: (v: number) => boolean, what: string): number {
  const value = Number(text);
  if (!new RegExp(`^${NUMBER}$`, 'i').test(text) || !Number.isFinite(value) || !ok(value)) throw new ScheduleError(spec, `${key} must be ${what}, got "${text}"`);
  return value;
}

function parseOptions(spec: string, parts: readonly string[], allowed: readonly string[], name: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const part of parts) {
    const m = /^([a-z][a-z-]*)=(.+)$/.exec(part);
    if (!m || !allowed.includes(m[1]!)) {
      const hint = allowed.length ? `allowed for ${name}: ${allowed.map((a) => `${a}=${OPTION_HINTS[a as OptionKey]}`).join(', ')}` : 'this schedule takes no options';
      throw new ScheduleError(spec, `unknown option "${part}" (${hint})`);
    }
    if (options.has(m[1]!)) throw new ScheduleError(spec, `option ${m[1]} is given twice`);
    options.set(m[1]!, m[2]!);
  }
  return options;
}

function buildShape(spec: string, kind: ShapeKind, options: Map<string, string>, name: string): Shape {
  const gamma = (fallback: number) => {
    const text = options.get('gamma');
    return text === undefined ? fallback : real(spec, 'gamma', text, (v) => v > 0 && v <= 1, 'a factor in (0, 1]');
  };
  const cycles = () => {
    const text = options.get('cycles');
    return text === undefined ? DEFAULTS.cycles : positiveInt(spec, 'cycles', text);
  };
  const required = (key: OptionKey, example: string) => {
    const text = options.get(key);
    if (text === undefined) throw new ScheduleError(spec, `${name} needs ${key}=${OPTION_HINTS[key]} (e.g. ${example})`);
    return text;
  };
  switch (kind) {
    case 'static':
    case 'ramp':
    case 'cosine-anneal':
      return { kind };
    case 'step':
      return { kind, every: fraction(spec, 'every', required('every', `${name}:every=0.3`), { zero: false, one: true }), gamma: gamma(DEFAULTS.stepGamma) };
    case 'multistep': {
      const at = required('at', `${name}:at=0.5/0.75`).split('/').map((f) => fraction(spec, 'at', f, { zero: false, one: false }));
      for (let i = 1; i < at.length; i++) {
        if (at[i]!.value <= at[i - 1]!.value) throw new ScheduleError(spec, `at must list increasing fractions separated by / (e.g. at=0.5/0.75), got "${options.get('at')}"`);
      }
      return { kind, at, gamma: gamma(DEFAULTS.stepGamma) };
    }
    case 'exp':
      return { kind, gamma: gamma(DEFAULTS.expGamma) };
    case 'poly': {
      const text = options.get('power');
      return { kind, power: text === undefined ? DEFAULTS.power : real(spec, 'power', text, (v) => v > 0, 'a positive number') };
    }
    case 'tri':
    case 'tri2':
    case 'sine':
    case 'cpt':
      return { kind, cycles: cycles() };
    case 'exp-range':
      return { kind, cycles: cycles(), gamma: gamma(DEFAULTS.expGamma) };
    case 'cosine-restarts': {
      const text = options.get('mult');
      return { kind, cycles: cycles(), mult: text === undefined ? DEFAULTS.mult : positiveInt(spec, 'mult', text) };
    }
    case 'alternate': {
      const from = options.get('from');
      return { kind, from: from === undefined ? null : fraction(spec, 'from', from, { zero: true, one: false }) };
    }
    case 'one-cycle': {
      const div = options.get('div');
      const finalDiv = options.get('final-div');
      return {
        kind,
        peak: fraction(spec, 'peak', options.get('peak') ?? DEFAULTS.peak, { zero: false, one: false }),
        div: div === undefined ? DEFAULTS.div : real(spec, 'div', div, (v) => v >= 1, 'a number ≥ 1'),
        finalDiv: finalDiv === undefined ? DEFAULTS.finalDiv : real(spec, 'final-div', finalDiv, (v) => v >= 1, 'a number ≥ 1'),
      };
    }
  }
}

/**
 * Parse a spec of `domain`; throws ScheduleError naming the spec and what is allowed. A precision
 * policy always has its range (`[B, B]` for static); a learning-rate one may not.
 */
export function parsePolicy(spec: string, domain: Domain): ParsedPolicy {
  const parts = spec.trim().split(':');
  // a learning-rate spec may start with its options: `warmup=0.05` is constant with a warm-up
  if (domain === 'lr' && parts[0]!.includes('=')) parts.unshift('constant');
  const [name = '', ...rest] = parts;
  const kind = lookup(name, domain);
  if (kind === undefined) {
    const hint =
      name === 'cosine' ? '; for precision say cpt (CPT’s cosine growth within each cycle) or cosine-anneal (a cosine decay from Bmax to Bmin)' : '';
    throw new ScheduleError(spec, `unknown schedule "${name}" (allowed: ${allowedPolicies(domain)})${hint}`);
  }
  const canonical = FUNCTIONS[kind].name[domain];
  const hasRange = rest.length > 0 && !rest[0]!.includes('=');
  const rangeText = hasRange ? rest.shift() : undefined;
  // precision always has its range; a learning-rate policy without one follows --lr
  const range = rangeText !== undefined || domain === 'precision' ? parseRange(spec, rangeText, domain, kind) : null;
  const allowed = kind === 'static' && domain === 'precision' ? [] : [...FUNCTIONS[kind].options, 'warmup'];
  const options = parseOptions(spec, rest, allowed, canonical);
  const warmupText = options.get('warmup');
  const warmup = warmupText === undefined ? null : fraction(spec, 'warmup', warmupText, { zero: true, one: false });
  return { shape: buildShape(spec, kind, options, canonical), range, warmup: warmup?.numerator === 0n ? null : warmup };
}

/** A rate as canonical text: JavaScript's shortest round-trip form (`0.1`, `1e-7`). */
function rateText(rate: number): string {
  return String(rate);
}

/** The options of a shape in canonical order, those at their default left out. */
function optionTexts(shape: Shape): string[] {
  switch (shape.kind) {
    case 'static':
    case 'ramp':
    case 'cosine-anneal':
      return [];
    case 'step':
      return [`every=${shape.every.text}`, ...(shape.gamma === DEFAULTS.stepGamma ? [] : [`gamma=${shape.gamma}`])];
    case 'multistep':
      return [`at=${shape.at.map((f) => f.text).join('/')}`, ...(shape.gamma === DEFAULTS.stepGamma ? [] : [`gamma=${shape.gamma}`])];
    case 'exp':
      return shape.gamma === DEFAULTS.expGamma ? [] : [`gamma=${shape.gamma}`];
    case 'poly':
      return shape.power === DEFAULTS.power ? [] : [`power=${shape.power}`];
    case 'tri':
    case 'tri2':
    case 'sine':
    case 'cpt':
      return shape.cycles === DEFAULTS.cycles ? [] : [`cycles=${shape.cycles}`];
    case 'exp-range':
      return [...(shape.cycles === DEFAULTS.cycles ? [] : [`cycles=${shape.cycles}`]), ...(shape.gamma === DEFAULTS.expGamma ? [] : [`gamma=${shape.gamma}`])];
    case 'cosine-restarts':
      return [...(shape.cycles === DEFAULTS.cycles ? [] : [`cycles=${shape.cycles}`]), ...(shape.mult === DEFAULTS.mult ? [] : [`mult=${shape.mult}`])];
    case 'alternate':
      return shape.from === null || shape.from.numerator === 0n ? [] : [`from=${shape.from.text}`];
    case 'one-cycle':
      return [
        ...(shape.peak.text === DEFAULTS.peak ? [] : [`peak=${shape.peak.text}`]),
        ...(shape.div === DEFAULTS.div ? [] : [`div=${shape.div}`]),
        ...(shape.finalDiv === DEFAULTS.finalDiv ? [] : [`final-div=${shape.finalDiv}`]),
      ];
  }
}

/** The canonical spec string of a policy (parsing it gives the same policy back). */
export function formatPolicy(policy: ParsedPolicy, domain: Domain): string {
  const { shape, range, warmup } = policy;
  const parts = [FUNCTIONS[shape.kind].name[domain]];
  if (range !== null) {
    if (shape.kind === 'static') parts.push(domain === 'precision' ? String(range[1]) : rateText(range[1]));
    else parts.push(domain === 'precision' ? `${range[0]}-${range[1]}` : `${rateText(range[0])}-${rateText(range[1])}`);
  }
  parts.push(...optionTexts(shape));
  if (warmup !== null) parts.push(`warmup=${warmup.text}`);
  return parts.join(':');
}
