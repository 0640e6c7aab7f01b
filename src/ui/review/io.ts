/** The review's file and hardware-model access (the only I/O of the review screens). */
import { reestimateRun, runOwnProfile } from '../../analysis/reestimate.js';
import { availableProfiles } from '../../hw/load.js';
import { readRunData, type RunData, type RunInfo } from '../../runs/read.js';
import type { ReviewIO } from './controller.js';
import type { LoadedRun } from './state.js';

/** A run with its data and its cost on its own profile (the run's stored copy of it). */
export async function loadRun(entry: RunInfo): Promise<LoadedRun> {
  const data = await readRunData(entry.dir);
  try {
    return { ...data, estimate: reestimateRun(entry, data.steps, runOwnProfile(entry)) };
  } catch (err) {
    return { ...data, estimate: null, estimateError: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * `dirs`: the profile directories (`--profiles-dir`, BITCYCLE_PROFILES, then the shipped ones);
 * re-estimate offers every profile in them by name.
 */
export function defaultReviewIO(quit: () => void, dirs?: string[]): ReviewIO {
  return {
    loadRun,
    profiles: () => availableProfiles(dirs).map((p) => p.name),
    reestimate: (entry: RunInfo, data: RunData, profile: string) => reestimateRun(entry, data.steps, profile, dirs),
    quit,
  };
}
