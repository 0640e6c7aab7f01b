/**
 * Softmax (multinomial logistic) regression: one Linear layer on the flattened input, trained on
 * the mean cross-entropy; with `--weight-decay λ` (weights, not the bias) the objective is
 * λ/2·‖W‖² + mean cross-entropy, strongly convex in W: the convex model of the optimizer checks
 * (docs/optimizers.md). It starts at zero, as convex solvers do (weights of inputs that are always
 * zero then stay zero). Its one layer is the classifier, which `--fp-layers last` (the default)
 * keeps at full precision; `--fp-layers none` quantizes it.
 */
import { flatten } from '../graph/ops/math.js';
import type { FpLayers, ModelDef } from './model.js';
import { defineModel } from './net.js';

const ZERO = { kind: 'constant', value: 0 } as const;

export function logreg(inputShape: readonly number[], classes: number, fpLayers: FpLayers): ModelDef {
  const inputs = inputShape.reduce((a, b) => a * b, 1);
  return defineModel(
    {
      name: 'logreg',
      id: `logreg-${inputs}-${classes}`,
      description: `softmax regression ${inputs}-${classes}`,
      inputShape,
      classes,
      fpLayers,
    },
    (net, x) => net.linear('fc', x.shape!.length > 2 ? flatten(net.g, x) : x, classes, { init: ZERO, biasInit: ZERO }),
  );
}
