/**
 * A stored run on a hardware profile, without retraining: the bit columns of steps.csv go
 * through the same CostTally a training session uses, so a re-estimate on the run's own profile
 * reproduces run.json's cost.
 */
import { type CostModel, createCostModel } from '../hw/cost.js';
import { looksLikePath, loadProfile } from '../hw/load.js';
import type { HardwareProfile } from '../hw/profile.js';
import { RunError } from '../errors.js';
import { loadProfileCopy } from '../runs/resolve.js';
import { type CostBreakdown, CostTally, type RunCost } from '../hw/tally.js';
import type { RunInfo, StepRow } from '../runs/read.js';
import type { RunJson } from '../runs/run-format.js';
import { makeSchedule } from '../schedule/schedule.js';
import { runOptimizerCost } from '../hw/optimizer-cost.js';

export interface Reestimate {
  profile: string;
  cost: RunCost;
  breakdown: CostBreakdown;
}

/** Re-tally `steps` (rows of steps.csv) of `run` on `model`, against the run's baseline. */
export function reestimate(run: RunJson, steps: readonly StepRow[], model: CostModel): Reestimate {
  const total = Math.max(run.progress.totalSteps, steps.length);
  const tally = new CostTally(model, makeSchedule(run.config.baseline), total, undefined, runOptimizerCost(model.profile, model.layers, run.config, run.progress.stepsPerEpoch));
  tally.add(steps);
  return { profile: model.profile.name, cost: tally.totals(), breakdown: tally.breakdown() };
}

const models = new WeakMap<HardwareProfile, Map<string, CostModel>>();

/** Cost model for a run's layers and batch size on a profile (cached per profile object). */
export function costModelFor(run: RunJson, profile: HardwareProfile): CostModel {
  let byRun = models.get(profile);
  if (!byRun) models.set(profile, (byRun = new Map()));
  const key = `${run.config.batchSize}\u0000${JSON.stringify(run.layers)}`;
  let m = byRun.get(key);
  if (!m) {
    m = createCostModel(profile, run.layers, run.config.batchSize);
    byRun.set(key, m);
  }
  return m;
}

/**
 * The profile a stored run was costed with: its own content-addressed copy. A run written before
 * copies were kept falls back to a shipped profile of that name; a path in its config is never
 * read (the run directory may come from someone else, and the file may have changed since).
 */
export function runOwnProfile(entry: RunInfo): HardwareProfile {
  const { run } = entry;
  if (run.profileCopy) return loadProfileCopy({ dir: entry.dir, copy: run.profileCopy });
  const name = run.cost?.profile ?? run.config.profile;
  if (name === 'none') throw new RunError(entry.dir, 'the run has no hardware profile');
  if (looksLikePath(run.config.profile)) throw new RunError(entry.dir, `the run keeps no copy of its profile (${run.config.profile}, written before runs kept one); re-estimate it on a named profile`);
  return loadProfile(name);
}

/**
 * Re-estimate a run read from disk on `profile`: a compiled profile, or a profile *name* looked up
 * in `dirs` and the shipped ones (a path is refused: names come from the list we offer).
 */
export function reestimateRun(entry: RunInfo, steps: readonly StepRow[], profile: HardwareProfile | string, dirs?: string[]): Reestimate {
  if (entry.run.layers.length === 0) throw new RunError(entry.dir, 'run.json has no layers to cost');
  if (typeof profile === 'string' && looksLikePath(profile)) throw new RunError(entry.dir, `re-estimate takes a profile name, not a path ("${profile}")`);
  const p = typeof profile === 'string' ? loadProfile(profile, '--profile', dirs) : profile;
  return reestimate(entry.run, steps, costModelFor(entry.run, p));
}
