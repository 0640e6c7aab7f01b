/**
 * Events the engine emits while training. Consumers (run store, cost tally, dashboard) subscribe;
 * the engine knows none of them. Steps arrive in batches (one per ONNX `run()` of K steps) so a
 * consumer in another thread gets one message per batch, not per step.
 */
import type { LayerShape } from '../models/shapes.js';

export interface StepRecord {
  /** Global 0-based iteration. */
  step: number;
  /** 0-based epoch the step belongs to. */
  epoch: number;
  bitsWeights: number;
  bitsActivations: number;
  bitsGrad: number;
  lr: number;
  /** Mean cross-entropy of the batch. */
  loss: number;
  /** Fraction of the batch classified correctly (0..1). */
  trainAcc: number;
  /** Wall time since the run (or resumed session) started, in ms. */
  wallMs: number;
}

export interface EvalRecord {
  /** 0-based epoch just finished. */
  epoch: number;
  /** Global step count at evaluation time (steps done so far). */
  step: number;
  testLoss: number;
  testAcc: number;
  bits: number;
}

/**
 * Cost of one step on the run's hardware profile and of the same step at the baseline (static)
 * precision. Added by the run session (src/runs/session.ts), parallel to `steps`.
 */
export interface StepCostRecord {
  energyJ: number;
  latencyS: number;
  bitops: number;
  baselineEnergyJ: number;
  baselineLatencyS: number;
  baselineBitops: number;
}

/** Running sums of StepCostRecords (the run's cost so far and its baseline counterfactual). */
export interface StepCostTotals extends StepCostRecord {
  steps: number;
}

export function emptyCostTotals(): StepCostTotals {
  return { steps: 0, energyJ: 0, latencyS: 0, bitops: 0, baselineEnergyJ: 0, baselineLatencyS: 0, baselineBitops: 0 };
}

/** Add `costs` into `totals` (mutated) and return it. */
export function addStepCosts(totals: StepCostTotals, costs: readonly StepCostRecord[]): StepCostTotals {
  for (const c of costs) {
    totals.steps++;
    totals.energyJ += c.energyJ;
    totals.latencyS += c.latencyS;
    totals.bitops += c.bitops;
    totals.baselineEnergyJ += c.baselineEnergyJ;
    totals.baselineLatencyS += c.baselineLatencyS;
    totals.baselineBitops += c.baselineBitops;
  }
  return totals;
}

export interface RunSummary {
  testAccuracy: number;
  testLoss: number;
  bestTestAccuracy: number;
  finalTrainLoss: number;
  steps: number;
  stepsPerSecond: number;
  wallS: number;
}

export type EngineEvent =
  | {
      type: 'start';
      runId: string;
      totalSteps: number;
      stepsPerEpoch: number;
      epochs: number;
      /** First step of this session (> 0 when resuming). */
      startStep: number;
      layers: LayerShape[];
      /** Problems worth telling the user (e.g. a schedule too short to cycle). */
      warnings?: string[];
    }
  | { type: 'steps'; steps: StepRecord[]; costs?: StepCostRecord[] }
  | { type: 'eval'; eval: EvalRecord }
  /** A consistent point to checkpoint at (end of an epoch); the session decides whether to write. */
  | { type: 'checkpoint'; step: number }
  | { type: 'paused'; paused: boolean }
  | { type: 'end'; status: 'completed' | 'stopped' | 'failed'; summary: RunSummary | null; error?: string };

export type EngineListener = (event: EngineEvent) => void;
