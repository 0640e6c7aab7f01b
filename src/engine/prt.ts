/**
 * Precision range test (CPT's recipe for choosing Bmin): train short bursts at static precisions
 * b = from, from+1, … from the same initialisation, measure the training accuracy at the end of each
 * burst, and take as Bmin the lowest b at which one more bit stops improving training accuracy by
 * more than the threshold. Bmax is the static precision the user would otherwise train at.
 */
import type { Dataset } from '../data/dataset.js';
import type { ModelDef } from '../models/model.js';
import { makeSchedule, type Schedule } from '../schedule/schedule.js';
import { buildArtifacts } from '../artifacts/build.js';
import { optimizerSetup } from '../optim/optimizer.js';
import { Trainer, type TrainingHyperparameters } from './trainer.js';

export interface PrtOptions extends Pick<TrainingHyperparameters, 'batchSize' | 'lr' | 'momentum' | 'weightDecay' | 'optimizer' | 'optimizerPrecision' | 'seed'> {
  model: ModelDef;
  dataset: Dataset;
  gradSchedule: Schedule;
  fromBits: number;
  staticBits: number;
  burstEpochs: number;
  /** Minimum accuracy gain (0..1) of one more bit that still counts as improving. */
  threshold: number;
  onBurst?: (burst: PrtBurst) => void;
}

export interface PrtBurst {
  bits: number;
  /** Mean training accuracy over the last epoch of the burst. */
  trainAccuracy: number;
  trainLoss: number;
}

export interface PrtResult {
  bursts: PrtBurst[];
  bitsMin: number;
  bitsMax: number;
  suggestion: string;
}

/** Lowest b whose successor improves accuracy by no more than `threshold`; Bmax if none. */
export function pickBitsMin(bursts: readonly PrtBurst[], threshold: number, bitsMax: number): number {
  for (let i = 0; i + 1 < bursts.length; i++) {
    if (bursts[i + 1]!.trainAccuracy - bursts[i]!.trainAccuracy <= threshold) return Math.min(bursts[i]!.bits, bitsMax);
  }
  return bitsMax;
}

export async function precisionRangeTest(o: PrtOptions): Promise<PrtResult> {
  const artifacts = buildArtifacts(o.model, optimizerSetup(o.optimizer, o.optimizerPrecision));
  const bursts: PrtBurst[] = [];
  for (let bits = o.fromBits; bits <= o.staticBits; bits++) {
    const trainer = new Trainer({
      runId: `prt-${bits}`,
      model: o.model,
      dataset: o.dataset,
      schedule: makeSchedule(`static:${bits}`),
      gradSchedule: o.gradSchedule,
      evalBits: bits,
      epochs: o.burstEpochs,
      batchSize: o.batchSize,
      lr: o.lr,
      lrSchedule: 'constant',
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      optimizer: o.optimizer,
      optimizerPrecision: o.optimizerPrecision,
      seed: o.seed,
      artifacts,
    });
    await trainer.init();
    let acc = 0;
    let loss = 0;
    let n = 0;
    const lastEpoch = o.burstEpochs - 1;
    trainer.on((e) => {
      if (e.type !== 'steps') return;
      for (const s of e.steps) {
        if (s.epoch !== lastEpoch) continue;
        acc += s.trainAcc;
        loss += s.loss;
        n++;
      }
    });
    await trainer.run();
    await trainer.release();
    const burst = { bits, trainAccuracy: acc / n, trainLoss: loss / n };
    bursts.push(burst);
    o.onBurst?.(burst);
    if (bursts.length >= 2 && pickBitsMin(bursts, o.threshold, o.staticBits) < bits) break;
  }
  const bitsMin = pickBitsMin(bursts, o.threshold, o.staticBits);
  return { bursts, bitsMin, bitsMax: o.staticBits, suggestion: `cpt:${bitsMin}-${o.staticBits}` };
}
