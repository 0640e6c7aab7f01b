/** The precision schedule of a stored run, for charts: planned bits from its config, trained bits from steps.csv. */
import type { StepRow } from '../runs/read.js';
import type { RunJson } from '../runs/run-format.js';
import { makeSchedule, type Schedule } from '../schedule/schedule.js';
import { errorSchedule } from '../schedule/precision.js';

/**
 * Bits of every iteration of the whole run, from the config's schedules; rows of steps.csv
 * override the iterations already trained (they are what actually ran).
 */
export function runBits(run: RunJson, steps: readonly StepRow[] = []): { bitsWA: Uint8Array; bitsGrad: Uint8Array } {
  const total = Math.max(run.progress.totalSteps, steps.length);
  const bitsWA = new Uint8Array(total);
  const bitsGrad = new Uint8Array(total);
  let wa: Schedule | null = null;
  let g: Schedule | null = null;
  try {
    wa = makeSchedule(run.config.schedule);
    g = errorSchedule(run.config.gradBits);
  } catch {
    // unknown schedule: only the trained part is shown
  }
  for (let t = 0; t < total; t++) {
    bitsWA[t] = wa ? wa.bitsAt(t, total) : 0;
    bitsGrad[t] = g ? g.bitsAt(t, total) : 0;
  }
  for (const s of steps) {
    if (s.step >= 0 && s.step < total) {
      bitsWA[s.step] = Math.max(s.bitsWeights, s.bitsActivations);
      bitsGrad[s.step] = s.bitsGrad;
    }
  }
  return { bitsWA, bitsGrad };
}
