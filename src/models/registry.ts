/** Trainable models, built for a data set's input shape and class count. */
import { UsageError } from '../errors.js';
import type { ModelDef } from './model.js';
import { mlp } from './mlp.js';

export interface TrainableModelEntry {
  description: string;
  create(inputShape: readonly number[], classes: number, options: { hidden?: number[] }): ModelDef;
}

export const TRAINABLE_MODELS: Record<string, TrainableModelEntry> = {
  mlp: {
    description: 'multi-layer perceptron, one hidden layer of 128 units by default (--hidden 256,128 for more)',
    create: (inputShape, classes, { hidden }) => mlp(inputShape.reduce((a, b) => a * b, 1), hidden ?? [128], classes),
  },
};

export function createModel(name: string, inputShape: readonly number[], classes: number, options: { hidden?: number[] } = {}): ModelDef {
  const entry = TRAINABLE_MODELS[name];
  if (!entry) throw new UsageError('--model', `unknown trainable model "${name}" (allowed: ${Object.keys(TRAINABLE_MODELS).join(', ')})`);
  return entry.create(inputShape, classes, options);
}
