/** The live cost tally of a training run: the run's profile applied to each step's bit tuple. */
import { type Cost, createCostModel } from '../hw/cost.js';
import { loadProfile } from '../hw/load.js';
import type { LayerShape } from '../models/shapes.js';

export interface StepCoster {
  profileName: string;
  stepCost(bitsWeights: number, bitsActivations: number, bitsGrad: number): Cost;
}

/** Null when the run has no profile (`--profile none`). */
export function createStepCoster(profile: string, layers: readonly LayerShape[], batchSize: number): StepCoster | null {
  if (profile === 'none') return null;
  const hw = loadProfile(profile);
  const model = createCostModel(hw, layers, batchSize);
  return { profileName: hw.name, stepCost: (bw, ba, bg) => model.stepCost(bw, ba, bg) };
}
