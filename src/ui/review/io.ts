/** The review's file and hardware-model access (the only I/O of the review screens). */
import { reestimateRun } from '../../analysis/reestimate.js';
import { shippedProfileNames } from '../../hw/load.js';
import { readRunData, type RunData, type RunInfo } from '../../runs/read.js';
import type { ReviewIO } from './controller.js';
import type { LoadedRun } from './state.js';

export async function loadRun(entry: RunInfo): Promise<LoadedRun> {
  const data = await readRunData(entry.dir);
  const profile = entry.run.cost?.profile ?? entry.run.config.profile;
  if (profile === 'none') return { ...data, estimate: null, estimateError: 'the run has no hardware profile' };
  try {
    return { ...data, estimate: reestimateRun(entry, data.steps, profile) };
  } catch (err) {
    return { ...data, estimate: null, estimateError: err instanceof Error ? err.message : String(err) };
  }
}

export function defaultReviewIO(quit: () => void): ReviewIO {
  return { loadRun, profiles: shippedProfileNames, reestimate: (entry: RunInfo, data: RunData, profile: string) => reestimateRun(entry, data.steps, profile), quit };
}
