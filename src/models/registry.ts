/** Trainable models: a model spec (src/models/spec.ts) built for a data set's input shape and class count. */
import type { ModelDef } from './model.js';
import { mlp } from './mlp.js';
import type { ModelSpec } from './spec.js';

export function createModel(spec: ModelSpec, inputShape: readonly number[], classes: number): ModelDef {
  switch (spec.name) {
    case 'mlp':
      return mlp(inputShape.reduce((a, b) => a * b, 1), spec.hidden, classes);
  }
}
