/**
 * A stored run on a hardware profile, without retraining: the bit columns of steps.csv go
 * through the same CostTally a training session uses, so a re-estimate on the run's own profile
 * reproduces run.json's cost.
 */
import { type CostModel, createCostModel } from '../hw/cost.js';
import { loadProfile } from '../hw/load.js';
import { type CostBreakdown, CostTally, type RunCost } from '../hw/tally.js';
import type { RunInfo, StepRow } from '../runs/read.js';
import type { RunJson } from '../runs/run-format.js';
import { makeSchedule } from '../schedule/schedule.js';

export interface Reestimate {
  profile: string;
  cost: RunCost;
  breakdown: CostBreakdown;
}

/** Re-tally `steps` (rows of steps.csv) of `run` on `model`, against the run's baseline. */
export function reestimate(run: RunJson, steps: readonly StepRow[], model: CostModel): Reestimate {
  const total = Math.max(run.progress.totalSteps, steps.length);
  const tally = new CostTally(model, makeSchedule(run.config.baseline), total);
  tally.add(steps);
  return { profile: model.profile.name, cost: tally.totals(), breakdown: tally.breakdown() };
}

const models = new Map<string, CostModel>();

/** Cost model for a run's layers and batch size on a profile (cached). */
export function costModelFor(run: RunJson, profile: string): CostModel {
  const key = `${profile}\u0000${run.config.batchSize}\u0000${JSON.stringify(run.layers)}`;
  let m = models.get(key);
  if (!m) {
    m = createCostModel(loadProfile(profile), run.layers, run.config.batchSize);
    models.set(key, m);
  }
  return m;
}

/** Re-estimate a run read from disk on `profile` (a shipped name or a file). */
export function reestimateRun(entry: RunInfo, steps: readonly StepRow[], profile: string): Reestimate {
  if (entry.run.layers.length === 0) throw new Error('run.json has no layers to cost');
  return reestimate(entry.run, steps, costModelFor(entry.run, profile));
}
