/**
 * Multi-layer perceptron: Linear → ReLU → … → Linear on the flattened input. Every Linear layer
 * quantizes its input activations (per tensor, running range), its weights (per output channel)
 * and the error flowing back into its output, unless `fpLayers` keeps it at full precision.
 */
import { flatten, relu } from '../graph/ops/math.js';
import type { FpLayers, ModelDef } from './model.js';
import { defineModel } from './net.js';

export function mlp(inputShape: readonly number[], hidden: readonly number[], classes: number, fpLayers: FpLayers): ModelDef {
  const inputs = inputShape.reduce((a, b) => a * b, 1);
  const widths = [inputs, ...hidden, classes];
  return defineModel(
    {
      name: 'mlp',
      id: `mlp-${widths.join('-')}`,
      description: `MLP ${widths.join('-')} with ReLU`,
      inputShape,
      classes,
      fpLayers,
    },
    (net, x) => {
      let h = x.shape!.length > 2 ? flatten(net.g, x) : x;
      widths.slice(1).forEach((width, i) => {
        h = net.linear(`fc${i + 1}`, h, width);
        if (i < widths.length - 2) h = relu(net.g, h);
      });
      return h;
    },
  );
}
