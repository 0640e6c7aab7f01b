/**
 * Resolving a run before anything is written: its precision specs, data set, model, length and
 * hardware profile are parsed, loaded and checked, so a bad input fails with one line and leaves
 * no run directory behind.
 */
import { loadDataset } from '../data/index.js';
import type { Dataset } from '../data/dataset.js';
import { RunError, UsageError } from '../errors.js';
import { loadProfile } from '../hw/load.js';
import type { HardwareProfile } from '../hw/profile.js';
import type { ModelDef } from '../models/model.js';
import { createModel } from '../models/registry.js';
import { type PrecisionPolicy, precisionPolicy } from '../schedule/precision.js';
import { processAlive } from '../util/process.js';
import type { RunConfig } from './run-format.js';
import { RunStore } from './store.js';

export interface ResolvedRun {
  config: RunConfig;
  dataset: Dataset;
  model: ModelDef;
  precision: PrecisionPolicy;
  stepsPerEpoch: number;
  totalSteps: number;
  /** Null with `--profile none`. */
  profile: HardwareProfile | null;
}

/** Steps per epoch (the last incomplete batch is dropped) and total steps of a run. */
export function runGeometry(trainCount: number, batchSize: number, epochs: number): { stepsPerEpoch: number; totalSteps: number } {
  const stepsPerEpoch = Math.floor(trainCount / batchSize);
  if (stepsPerEpoch < 1) throw new UsageError('--batch-size', `${batchSize} exceeds the ${trainCount} training samples`);
  return { stepsPerEpoch, totalSteps: stepsPerEpoch * epochs };
}

export function resolveRun(config: RunConfig, options: { dataset?: Dataset } = {}): ResolvedRun {
  if (!Number.isInteger(config.evalBits) || config.evalBits < 1 || config.evalBits > 32) throw new UsageError('--eval-bits', `expected an integer in 1..32, got ${config.evalBits}`);
  const precision = precisionPolicy(config);
  const dataset = options.dataset ?? loadDataset(config.dataset, { dataDir: config.dataDir });
  const model = createModel(config.model, dataset.inputShape, dataset.classes);
  const { stepsPerEpoch, totalSteps } = runGeometry(dataset.train.count, config.batchSize, config.epochs);
  const profile = config.profile === 'none' ? null : loadProfile(config.profile);
  return { config, dataset, model, precision, stepsPerEpoch, totalSteps, profile };
}

/** Open a run for `--resume`: refuses a completed run and one a live process is still training. */
export function openForResume(dir: string): RunStore {
  const store = RunStore.open(dir);
  const { status, pid } = store.run;
  if (status === 'completed') throw new RunError(store.dir, 'run already completed; nothing to resume');
  if (status === 'running' && pid !== null && pid !== process.pid && processAlive(pid)) {
    throw new RunError(store.dir, `run is still being trained by process ${pid}; stop it first (q, Ctrl-C) or wait`);
  }
  return store;
}
