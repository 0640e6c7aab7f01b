/**
 * A small CNN for 28×28 grey (or 32×32 colour) images:
 *   conv3×3(C→32, pad 1)–ReLU–maxpool2 → conv3×3(32→64, pad 1)–ReLU–maxpool2 →
 *   FC(64·H/4·W/4 → 128)–ReLU → FC(128 → classes).
 * Convolutions and linear layers have biases and PyTorch's default initialisation.
 */
import { flatten, relu } from '../graph/ops/math.js';
import { maxPool2d } from '../graph/ops/pool.js';
import type { FpLayers, ModelDef } from './model.js';
import { defineModel } from './net.js';

export function cnn(inputShape: readonly number[], classes: number, fpLayers: FpLayers): ModelDef {
  if (inputShape.length !== 3) throw new Error(`cnn: needs [channels, height, width] images, got [${inputShape.join(', ')}]`);
  return defineModel(
    {
      name: 'cnn',
      id: `cnn-${inputShape.join('x')}-${classes}`,
      description: 'CNN: 2 × (conv3×3 + ReLU + maxpool2) with 32 and 64 channels, FC 128, FC classes',
      inputShape,
      classes,
      fpLayers,
    },
    (net, x) => {
      const g = net.g;
      let h = maxPool2d(g, relu(g, net.conv('conv1', x, 32, { kernel: 3, pad: 1, bias: true })), { kernel: 2, stride: 2 });
      h = maxPool2d(g, relu(g, net.conv('conv2', h, 64, { kernel: 3, pad: 1, bias: true })), { kernel: 2, stride: 2 });
      h = relu(g, net.linear('fc1', flatten(g, h), 128));
      return net.linear('fc2', h, classes);
    },
  );
}
