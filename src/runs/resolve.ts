/**
 * Resolving a run before anything is written: its precision specs, data set, model, length and
 * hardware profile are parsed, loaded and checked, so a bad input fails with one line and leaves
 * no run directory behind.
 */
import { parseNumberFormat } from '../formats/number-format.js';
import { parseLossScale } from '../formats/loss-scale.js';
import { loadDataset } from '../data/index.js';
import type { Dataset } from '../data/dataset.js';
import { UsageError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { fullPrecisionUses, requireOperandBits } from '../hw/cost.js';
import { compileProfileText, profileDigest, readProfileSource } from '../hw/load.js';
import type { HardwareProfile } from '../hw/profile.js';
import type { ModelDef } from '../models/model.js';
import { type OptimizerSpec, optimizerSetup } from '../optim/optimizer.js';
import { modelLayers } from '../models/layers.js';
import { type PlannedLayer, parseLayerPlan, resolveLayerPlan } from '../formats/layer-plan.js';
import { createModel } from '../models/registry.js';
import { DEFAULT_FP_LAYERS } from '../models/model.js';
import { DEFAULT_KERNELS } from '../engine/kernels.js';
import { type PrecisionPolicy, precisionPolicy } from '../schedule/precision.js';
import type { ProfileCopy, RunConfig } from './run-format.js';

export interface ResolvedRun {
  config: RunConfig;
  dataset: Dataset;
  model: ModelDef;
  precision: PrecisionPolicy;
  /** The run's optimizer (`config.optimizer`, default SGD). */
  optimizer: OptimizerSpec;
  /** Each quantized layer's schedules under the run's `layerPrecision` plan; absent without one. */
  layerPlan?: PlannedLayer[];
  stepsPerEpoch: number;
  totalSteps: number;
  /** Null with `--profile none`. */
  profile: HardwareProfile | null;
  /** The profile file's exact text and digest, for the run's copy (null with `none`, or read from the copy). */
  profileSource: { text: string; sha256: string; name: string } | null;
}

/** Where a stored run keeps its profile: its own copy (checked against its digest). */
export interface StoredProfile {
  dir: string;
  copy: ProfileCopy;
}

/** Load a run's copy of its profile; a missing or altered copy is a RunError naming the file. */
export function loadProfileCopy(stored: StoredProfile): HardwareProfile {
  const file = join(stored.dir, stored.copy.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new RunError(file, `the run's copy of its profile is missing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const sha256 = profileDigest(bytes);
  if (sha256 !== stored.copy.sha256) throw new RunError(file, `the run's copy of its profile was altered (sha256 ${sha256.slice(0, 12)}…, run.json records ${stored.copy.sha256.slice(0, 12)}…)`);
  return compileProfileText(bytes.toString('utf8'), file);
}

/** Steps per epoch (the last incomplete batch is dropped) and total steps of a run. */
export function runGeometry(trainCount: number, batchSize: number, epochs: number): { stepsPerEpoch: number; totalSteps: number } {
  const stepsPerEpoch = Math.floor(trainCount / batchSize);
  if (stepsPerEpoch < 1) throw new UsageError('--batch-size', `${batchSize} exceeds the ${trainCount} training samples`);
  return { stepsPerEpoch, totalSteps: stepsPerEpoch * epochs };
}

/**
 * `options.storedProfile`: a resumed run uses its own copy of the profile, never the name or path in
 * its config (the file there may have changed, or the run directory came from someone else).
 */
export function resolveRun(given: RunConfig, options: { dataset?: Dataset; storedProfile?: StoredProfile; profileDirs?: string[] } = {}): ResolvedRun {
  // the config as stored: every choice spelled out (a config without fpLayers or kernels is a new run's)
  const config: RunConfig = { ...given, fpLayers: given.fpLayers ?? DEFAULT_FP_LAYERS, kernels: given.kernels ?? DEFAULT_KERNELS };
  if (!Number.isInteger(config.evalBits) || config.evalBits < 1 || config.evalBits > 32) throw new UsageError('--eval-bits', `expected an integer in 1..32, got ${config.evalBits}`);
  if (config.evalFormat !== undefined) parseNumberFormat(config.evalFormat, '--eval-bits');
  if (config.lossScale !== undefined) parseLossScale(config.lossScale);
  const precision = precisionPolicy(config);
  const optimizer = optimizerSetup(config.optimizer, config.optimizerPrecision);
  if (optimizer.kind === 'halp' && optimizer.mu === undefined && !(config.weightDecay > 0)) {
    throw new UsageError('--optimizer', 'halp sets its grid from the strong-convexity constant μ: give halp:mu=M or a positive --weight-decay (μ defaults to it)');
  }
  if (optimizer.kind === 'halp' && precision.weightsActivations.name !== 'static:32') {
    throw new UsageError('--schedule', `halp computes its linear layers bit-centred at its own ${optimizer.bits} bits; give --schedule static:32 (got ${config.schedule})`);
  }
  const dataset = options.dataset ?? loadDataset(config.dataset, { dataDir: config.dataDir });
  const fpLayers = config.fpLayers!;
  const model = createModel(config.model, dataset.inputShape, dataset.classes, fpLayers);
  const { stepsPerEpoch, totalSteps } = runGeometry(dataset.train.count, config.batchSize, config.epochs);
  const layerPlan = config.layerPrecision === undefined ? undefined : resolveLayerPlan(parseLayerPlan(config.layerPrecision), modelLayers(model), { schedule: precision.weightsActivations, errors: precision.errors });
  const planned = { optimizer, ...(layerPlan ? { layerPlan } : {}) };
  if (config.profile === 'none') return { config, dataset, model, precision, ...planned, stepsPerEpoch, totalSteps, profile: null, profileSource: null };
  const source = options.storedProfile ? null : readProfileSource(config.profile, '--profile', options.profileDirs);
  const profile = source ? source.profile : loadProfileCopy(options.storedProfile!);
  // A profile that rejects operands wider than its formats: refuse the run before anything is written.
  requireOperandBits(profile, [
    { what: `--schedule ${config.schedule}`, bits: precision.weightsActivations.bitsMax },
    { what: `the baseline ${config.baseline}`, bits: precision.baseline.bitsMax },
    { what: `--grad-bits ${config.gradBits}`, bits: precision.errors.bitsMax },
    ...(layerPlan ?? []).flatMap((l) => [
      { what: `--layer-precision (${l.name}) ${l.schedule.name}`, bits: l.schedule.bitsMax },
      { what: `--layer-precision (${l.name}) errors ${l.errors.name}`, bits: l.errors.bitsMax },
    ]),
    ...fullPrecisionUses(fpLayers),
  ]);
  return { config, dataset, model, precision, ...planned, stepsPerEpoch, totalSteps, profile, profileSource: source ? { text: source.text, sha256: source.digest, name: source.profile.name } : null };
}
