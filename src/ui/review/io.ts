/** The review's file and hardware-model access (the only I/O of the review screens). */
import { createCostModel, type CostModel, loadProfile, shippedProfileNames } from '../../hw/index.js';
import { readRunData, type RunData, type RunInfo } from '../../runs/read.js';
import type { ReviewIO } from './controller.js';
import { reestimate } from './model.js';
import type { LoadedRun } from './state.js';

const models = new Map<string, CostModel>();

/** Cost model for a run's layers and batch size on a profile (cached). */
export function costModelFor(entry: RunInfo, profile: string): CostModel {
  const key = `${profile}\u0000${entry.run.config.batchSize}\u0000${JSON.stringify(entry.run.layers)}`;
  let m = models.get(key);
  if (!m) {
    m = createCostModel(loadProfile(profile), entry.run.layers, entry.run.config.batchSize);
    models.set(key, m);
  }
  return m;
}

export function reestimateRun(entry: RunInfo, data: RunData, profile: string) {
  if (entry.run.layers.length === 0) throw new Error('run.json has no layers to cost');
  return reestimate(entry.run, data.steps, costModelFor(entry, profile));
}

export async function loadRun(entry: RunInfo): Promise<LoadedRun> {
  const data = await readRunData(entry.dir);
  const profile = entry.run.cost?.profile ?? entry.run.config.profile;
  if (profile === 'none') return { ...data, estimate: null, estimateError: 'the run has no hardware profile' };
  try {
    return { ...data, estimate: reestimateRun(entry, data, profile) };
  } catch (err) {
    return { ...data, estimate: null, estimateError: err instanceof Error ? err.message : String(err) };
  }
}

export function defaultReviewIO(quit: () => void): ReviewIO {
  return { loadRun, profiles: shippedProfileNames, reestimate: reestimateRun, quit };
}
