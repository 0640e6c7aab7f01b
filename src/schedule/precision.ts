/**
 * A run's precision policy, parsed in one place: the schedule of weights and activations, the
 * schedule of the errors (back-propagated gradients) and the static-precision baseline the cost
 * model compares with. Pure.
 */
import { UsageError } from '../errors.js';
import { MAX_BITS, MIN_BITS, makeSchedule, type Schedule, topStaticSpec } from './schedule.js';

/**
 * An error (gradient) precision spec: a bare bit-width such as `8` means `static:8`, a bare format
 * such as `fp8-e5m2` means `static:fp8-e5m2`; anything else is a schedule spec (`cpt:6-8`, …).
 */
export function errorSchedule(spec: string | number, option = '--grad-bits'): Schedule {
  const text = String(spec).trim();
  if (/^[a-z][a-z0-9.-]*$/i.test(text) && !text.includes(':') && /\d/.test(text) && !/^(static|fixed)$/i.test(text)) return makeSchedule(`static:${text}`);
  if (!/^\d+$/.test(text)) return makeSchedule(text);
  const bits = Number(text);
  if (bits < MIN_BITS || bits > MAX_BITS) throw new UsageError(option, `expected an integer in ${MIN_BITS}..${MAX_BITS} or a schedule spec, got ${bits}`);
  return makeSchedule({ kind: 'static', bits });
}

/** The baseline counterfactual: `static:<Bmax of the schedule>` unless given. */
export function baselineSchedule(weightsActivations: Schedule, spec?: string): Schedule {
  return makeSchedule(spec ?? topStaticSpec(weightsActivations));
}

export interface PrecisionSpecs {
  /** Weights and activations, e.g. `cpt:3-8`. */
  schedule: string;
  /** Errors: a bit-width or a schedule spec, e.g. `8`. */
  gradBits: string;
  /** Baseline of the cost comparison; default static:<Bmax>. */
  baseline?: string;
}

export interface PrecisionPolicy {
  weightsActivations: Schedule;
  errors: Schedule;
  baseline: Schedule;
}

/** Parse the three specs of a run; throws ScheduleError naming the bad spec. */
export function precisionPolicy(specs: PrecisionSpecs): PrecisionPolicy {
  const weightsActivations = makeSchedule(specs.schedule);
  return { weightsActivations, errors: errorSchedule(specs.gradBits), baseline: baselineSchedule(weightsActivations, specs.baseline) };
}
