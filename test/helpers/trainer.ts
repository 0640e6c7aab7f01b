import { loadDataset } from '../../src/data/index.js';
import { type TrainOptions, Trainer } from '../../src/engine/trainer.js';
import { createModel } from '../../src/models/registry.js';
import type { FpLayers } from '../../src/models/model.js';
import { parseModelSpec } from '../../src/models/spec.js';
import { makeSchedule } from '../../src/schedule/index.js';

/**
 * An in-process Trainer on the digits data set with the defaults of `bitcycle train` (MLP, batch
 * 64, lr 0.1, momentum 0.9, weight decay 5e-4, seed 1, 8-bit errors) for `epochs` epochs; the
 * model and schedule given as spec strings.
 */
export function digitsTrainer(o: { model?: string; schedule: string; epochs: number; evalBits?: number; fpLayers?: FpLayers } & Partial<Omit<TrainOptions, 'model' | 'schedule' | 'epochs' | 'evalBits'>>): Trainer {
  const { model = 'mlp', schedule, epochs, evalBits = 8, fpLayers, ...rest } = o;
  const digits = loadDataset('digits');
  return new Trainer({
    runId: 'digits-test',
    model: createModel(parseModelSpec(model), digits.inputShape, digits.classes, fpLayers),
    dataset: digits,
    schedule: makeSchedule(schedule),
    gradSchedule: makeSchedule('static:8'),
    evalBits,
    epochs,
    batchSize: 64,
    lr: 0.1,
    lrSchedule: 'constant',
    momentum: 0.9,
    weightDecay: 5e-4,
    seed: 1,
    ...rest,
  });
}
