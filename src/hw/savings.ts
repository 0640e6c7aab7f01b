/**
 * The two comparisons every report makes, defined once: the baseline counterfactual of a step and
 * the savings of a run against its baseline. Pure.
 */
import type { Schedule } from '../schedule/schedule.js';
import type { BitTuple, Cost, OperandKinds } from './cost.js';

/**
 * The baseline counterfactual of step `step` of a run of `totalSteps`: weights and activations at
 * the baseline schedule's bits, errors at the step's own `bitsGrad` (the baseline changes the
 * forward precision only, as in CPT's comparison with static precision). `kinds` are the
 * counterfactual's operand kinds — the caller passes the step's own (`CostTally` does, unless told
 * the baseline's: a run of floating-point formats is compared with a static run of its widest
 * format, itself floating point) — and are kept only where true, so without flags the tuple is
 * exactly the integer one it always was.
 */
export function baselineBits(baseline: Schedule, step: number, totalSteps: number, bitsGrad: number, kinds?: OperandKinds): BitTuple {
  const b = baseline.bitsAt(step, totalSteps);
  const t: BitTuple = { bitsWeights: b, bitsActivations: b, bitsGrad };
  if (kinds?.floatWeights) t.floatWeights = true;
  if (kinds?.floatActivations) t.floatActivations = true;
  if (kinds?.floatGrad) t.floatGrad = true;
  return t;
}

export interface Savings {
  energyPct: number;
  latencyPct: number;
  bitopsPct: number;
}

/**
 * Saving of `value` relative to `baseline` in percent (positive: cheaper); null when the baseline
 * is not a positive finite number (nothing to compare with yet). Equal costs summed in another
 * order are not a saving: |p| < 1e-9 is 0.
 */
export function savingPct(value: number, baseline: number): number | null {
  if (!(baseline > 0) || !Number.isFinite(baseline) || !Number.isFinite(value)) return null;
  const p = 100 * (1 - value / baseline);
  return Math.abs(p) < 1e-9 ? 0 : p;
}

/** Savings of `run` against `baseline` (0 where there is nothing to compare). */
export function savingsPct(run: Cost, baseline: Cost): Savings {
  return {
    energyPct: savingPct(run.energyJ, baseline.energyJ) ?? 0,
    latencyPct: savingPct(run.latencyS, baseline.latencyS) ?? 0,
    bitopsPct: savingPct(run.bitops, baseline.bitops) ?? 0,
  };
}
