/**
 * The CIFAR ResNet of He et al. 2016, §4.2: depth 6n+2 — a 3×3 conv with 16 channels, three
 * stages of n basic blocks (two 3×3 convs each, batch norm after every conv) with 16, 32 and 64
 * channels, the first block of stages 2 and 3 striding by 2, global average pooling and a linear
 * classifier. Shortcuts are parameter-free ("option A": identity, or subsample by 2 and zero-pad
 * the new channels), so every GEMM is a conv of the main path or the classifier; `estimate`'s
 * resnet-38 / resnet-74 are this definition built at 32×32×3.
 * Initialisation as the CIFAR ResNet code (and CPT's): conv weights N(0, 2/(k²·Cout)), batch norm
 * γ = 1, β = 0; the classifier keeps PyTorch's default.
 * (CPT's own ResNets use projection shortcuts, a quantized 1×1 conv with batch norm; see docs/models.md.)
 */
import type { Value } from '../graph/builder.js';
import { add, flatten, relu } from '../graph/ops/math.js';
import { padChannels, subsample2d } from '../graph/ops/conv.js';
import { globalAvgPool } from '../graph/ops/pool.js';
import type { FpLayers, ModelDef } from './model.js';
import { type Net, defineModel } from './net.js';

/** Smallest input height/width the ResNet accepts (two stride-2 stages leave ≥ 7×7). */
export const RESNET_MIN_INPUT = 28;

function basicBlock(net: Net, prefix: string, x: Value, channels: number, stride: number): Value {
  const g = net.g;
  const inChannels = x.shape![1] as number;
  let h = relu(g, net.batchNorm(`${prefix}.bn1`, net.conv(`${prefix}.conv1`, x, channels, { kernel: 3, stride, init: 'he-fan-out' })));
  h = net.batchNorm(`${prefix}.bn2`, net.conv(`${prefix}.conv2`, h, channels, { kernel: 3, init: 'he-fan-out' }));
  let shortcut = x;
  if (stride !== 1) shortcut = subsample2d(g, shortcut, stride);
  if (channels !== inChannels) {
    const extra = channels - inChannels;
    shortcut = padChannels(g, shortcut, Math.floor(extra / 2), extra - Math.floor(extra / 2));
  }
  return relu(g, add(g, h, shortcut));
}

export function resnet(depth: number, inputShape: readonly number[], classes: number, fpLayers: FpLayers): ModelDef {
  if ((depth - 2) % 6 !== 0 || depth < 8) throw new Error(`resnet: depth must be 6n+2 with n ≥ 1, got ${depth}`);
  if (inputShape.length !== 3) throw new Error(`resnet: needs [channels, height, width] images, got [${inputShape.join(', ')}]`);
  const blocks = (depth - 2) / 6;
  return defineModel(
    {
      name: 'resnet',
      id: `resnet${depth}-${inputShape.join('x')}-${classes}`,
      description: `ResNet-${depth} (He et al. §4.2: 3 stages × ${blocks} basic blocks, 16/32/64 channels, batch norm, option-A shortcuts)`,
      inputShape,
      classes,
      fpLayers,
    },
    (net, x) => {
      const g = net.g;
      let h = relu(g, net.batchNorm('bn1', net.conv('conv1', x, 16, { kernel: 3, init: 'he-fan-out' })));
      [16, 32, 64].forEach((channels, s) => {
        for (let b = 0; b < blocks; b++) h = basicBlock(net, `layer${s + 1}.${b}`, h, channels, s > 0 && b === 0 ? 2 : 1);
      });
      return net.linear('fc', flatten(g, globalAvgPool(g, h)), classes);
    },
  );
}
