/**
 * Learning-rate policies: the grammar of policy.ts read with rates (docs/schedules.md). With
 * `--lr 0.1`:
 *   constant                      0.1 throughout (the default)
 *   cosine                        0.1 → 0 along half a cosine over the run (as before policies, bit for bit)
 *   step:every=0.3[:gamma=0.1]    ×0.1 every 30 % of the run
 *   one-cycle                     0.1/25 → 0.1 over 30 % of the run, then → 0.1/25/10⁴
 *   tri:0.01-0.1[:cycles=N]       an explicit range instead of one derived from --lr
 *   cosine:warmup=0.05            any of them after a linear warm-up over the first 5 %
 * Without a range, the high rate is --lr and the low one 0 for the functions that decay (step,
 * multistep, exp, poly, cosine, cosine-restarts, one-cycle, and a warm-up's start) or --lr/3 for
 * those that rise or cycle (ramp, tri, tri2, exp-range, sine, cpt), after Smith's CLR (base_lr = max_lr/3
 * … /4) and PyTorch LinearLR's start_factor 1/3. A rate is low + (high − low)·level(t).
 */
import { ScheduleError, UsageError } from '../errors.js';
import { FUNCTIONS, type ParsedPolicy, formatPolicy, parsePolicy } from './policy.js';
import { firstPeriod, isCyclic, policyLevel, warmupSteps } from './shapes.js';
import { timingWarnings } from './warnings.js';

/** The learning-rate policy of runs that do not say (and of every run before policies existed). */
export const DEFAULT_LR_SCHEDULE = 'constant';

export interface LrPolicy {
  /** The spec in canonical form, as run.json stores it (`cosine`, `step:every=0.3`). */
  readonly name: string;
  readonly spec: ParsedPolicy;
  /** Low and high rate for the base rate `--lr`. */
  range(base: number): readonly [number, number];
  /** The rate at iteration t (0-based) of a run of `total` iterations, for the base rate `--lr`. */
  rateAt(base: number, t: number, total: number): number;
}

/** Parse a learning-rate spec; throws ScheduleError naming the spec and what is allowed. */
export function parseLrSpec(text: string): ParsedPolicy {
  return parsePolicy(text, 'lr');
}

function rangeFor(spec: ParsedPolicy, base: number): readonly [number, number] {
  const { shape, range } = spec;
  // the fixed function's one value is its high rate; its warm-up starts from 0
  if (shape.kind === 'static') return [0, range === null ? base : range[1]];
  if (range !== null) return range;
  return [FUNCTIONS[shape.kind].low === 'zero' ? 0 : base / 3, base];
}

export function makeLrPolicy(specOrText: ParsedPolicy | string): LrPolicy {
  const spec = typeof specOrText === 'string' ? parseLrSpec(specOrText) : specOrText;
  return {
    name: formatPolicy(spec, 'lr'),
    spec,
    range: (base) => rangeFor(spec, base),
    rateAt: (base, t, total) => {
      const [low, high] = rangeFor(spec, base);
      return low + (high - low) * policyLevel(spec.shape, spec.warmup, t, total);
    },
  };
}

/** The rate of every iteration of a run. */
export function lrRates(policy: LrPolicy, base: number, total: number): Float64Array {
  const rates = new Float64Array(total);
  for (let t = 0; t < total; t++) rates[t] = policy.rateAt(base, t, total);
  return rates;
}

/** `--lr-schedule` (or another option) as a policy; a bad spec is a UsageError naming the option. */
export function lrPolicyOption(text: string, option = '--lr-schedule'): LrPolicy {
  try {
    return makeLrPolicy(text);
  } catch (e) {
    if (e instanceof ScheduleError) throw new UsageError(option, e.message);
    throw e;
  }
}

/**
 * Why a learning-rate policy cannot do what it says over a run of `total` iterations (null if it
 * can): a cycle of one iteration (the rate never leaves where each cycle starts), or a position in
 * time (every=, at=, peak=, warmup=) that a run this short cannot resolve.
 */
export function lrWarning(policy: LrPolicy, total: number): string | null {
  const { shape, warmup } = policy.spec;
  const warnings: string[] = [];
  if (isCyclic(shape)) {
    const span = total - warmupSteps(warmup, total);
    if (firstPeriod(shape, span) < 2) {
      const fits = Math.floor(span / 2);
      const suggestion = fits >= 1 ? `use fewer cycles, e.g. ${formatPolicy({ ...policy.spec, shape: { ...shape, cycles: fits } }, 'lr')}` : 'train longer';
      warnings.push(`${policy.name}: ${shape.cycles} cycles over ${span} iteration${span === 1 ? '' : 's'} leave 1 iteration per cycle, so the rate never leaves where a cycle starts (${suggestion})`);
    }
  }
  warnings.push(...timingWarnings(policy.name, shape, warmup, total));
  return warnings.length ? warnings.join('; ') : null;
}
