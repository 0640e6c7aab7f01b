/**
 * Paper-scale models defined by layer shapes only, for the cost model (`bitcycle estimate`).
 * Every convolution and fully connected layer is an implicit GEMM (src/models/shapes.ts);
 * batch norm, activations, pooling and residual additions are not GEMMs and are not counted.
 * Shapes come without full-precision marks; `estimate` applies its `--fp-layers` (`withFpLayers`).
 *
 * resnet-38 / resnet-74: the trainable CIFAR ResNet (src/models/resnet.ts, He et al. 2016 §4.2, as
 *   in the CPT paper) built at 32×32×3, depth 6n+2 (n = 6 and 12); shapes read off its graph.
 *   Shortcuts are parameter-free (option A), so the depth counts every GEMM.
 * resnet-18 / resnet-50: ImageNet 224×224 (torchvision layout, stride on the 3×3 conv of the
 *   bottleneck, 1×1 projection shortcuts).
 * mobilenet-v2: the CIFAR-10 variant (stride 1 in the stem and in the second stage), as in the
 *   widely used pytorch-cifar code.
 * mlp: the trainable 64-128-10 digits model.
 */
import { modelLayers } from './layers.js';
import { mlp } from './mlp.js';
import { resnet } from './resnet.js';
import { UsageError } from '../errors.js';
import { DATASETS } from '../data/index.js';
import { createModel } from './registry.js';
import { MODEL_NAMES, type ModelName, parseModelSpec } from './spec.js';
import { type LayerShape, convShape, linearShape, macsPerSample } from './shapes.js';

export interface ShapeModel {
  description: string;
  dataset: string;
  /** Training samples per epoch of the dataset (for --epochs). */
  trainSamples: number;
  /** [channels, height, width] or [features]. */
  inputShape: number[];
  /** Iterations of the reference training run (CPT: 64k for CIFAR-10). */
  defaultIterations: number;
  layers(): LayerShape[];
}

/** Builds a chain of convolutions, tracking the feature map size. */
class ConvChain {
  readonly layers: LayerShape[] = [];
  constructor(public channels: number, public height: number, public width: number) {}

  conv(name: string, outChannels: number, kernel: number, stride = 1, groups = 1): this {
    const c = convShape({ name, inChannels: this.channels, outChannels, kernel, stride, groups, inHeight: this.height, inWidth: this.width });
    const { outHeight, outWidth, ...shape } = c;
    this.layers.push(shape);
    this.channels = outChannels;
    this.height = outHeight;
    this.width = outWidth;
    return this;
  }

  /** A conv on the current input that does not advance the chain (a projection shortcut). */
  side(name: string, inChannels: number, inHeight: number, inWidth: number, outChannels: number, kernel: number, stride: number): void {
    const { outHeight: _h, outWidth: _w, ...shape } = convShape({ name, inChannels, outChannels, kernel, stride, inHeight, inWidth, padding: 0 });
    this.layers.push(shape);
  }

  pool(size: number): this {
    this.height = Math.floor(this.height / size);
    this.width = Math.floor(this.width / size);
    return this;
  }
}

function imagenetResNet(kind: 'basic' | 'bottleneck', blocks: number[]): LayerShape[] {
  const net = new ConvChain(3, 224, 224).conv('conv1', 64, 7, 2).pool(2); // 3×3/2 max pool: 112 → 56
  const expansion = kind === 'basic' ? 1 : 4;
  [64, 128, 256, 512].forEach((width, s) => {
    for (let b = 0; b < blocks[s]!; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const prefix = `layer${s + 1}.${b}`;
      const [inC, inH, inW] = [net.channels, net.height, net.width];
      if (kind === 'basic') {
        net.conv(`${prefix}.conv1`, width, 3, stride).conv(`${prefix}.conv2`, width, 3);
      } else {
        net.conv(`${prefix}.conv1`, width, 1).conv(`${prefix}.conv2`, width, 3, stride).conv(`${prefix}.conv3`, width * expansion, 1);
      }
      if (stride !== 1 || inC !== width * expansion) net.side(`${prefix}.downsample`, inC, inH, inW, width * expansion, 1, stride);
    }
  });
  return [...net.layers, linearShape('fc', 512 * expansion, 1000)];
}

function cifarMobileNetV2(): LayerShape[] {
  // (expansion t, output channels c, blocks n, first stride s); stride 1 in stage 2 for CIFAR.
  const config: [number, number, number, number][] = [
    [1, 16, 1, 1],
    [6, 24, 2, 1],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  const net = new ConvChain(3, 32, 32).conv('conv1', 32, 3);
  let block = 0;
  for (const [t, c, n, s] of config) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const prefix = `block${block++}`;
      const [inC, inH, inW] = [net.channels, net.height, net.width];
      const hidden = inC * t;
      net.conv(`${prefix}.expand`, hidden, 1).conv(`${prefix}.depthwise`, hidden, 3, stride, hidden).conv(`${prefix}.project`, c, 1);
      // pytorch-cifar adds a 1×1 projection shortcut when stride 1 and channels change.
      if (stride === 1 && inC !== c) net.side(`${prefix}.shortcut`, inC, inH, inW, c, 1, 1);
    }
  }
  net.conv('conv2', 1280, 1);
  return [...net.layers, linearShape('fc', 1280, 10)];
}

export const paperModels: Record<string, ShapeModel> = {
  'resnet-38': {
    description: 'ResNet-38 for CIFAR-10 (6n+2, n = 6; 16/32/64 channels), as in the CPT paper',
    dataset: 'cifar10',
    trainSamples: 50_000,
    inputShape: [3, 32, 32],
    defaultIterations: 64_000,
    layers: () => modelLayers(resnet(38, [3, 32, 32], 10, 'none')),
  },
  'resnet-74': {
    description: 'ResNet-74 for CIFAR-10 (6n+2, n = 12; 16/32/64 channels), as in the CPT paper',
    dataset: 'cifar10',
    trainSamples: 50_000,
    inputShape: [3, 32, 32],
    defaultIterations: 64_000,
    layers: () => modelLayers(resnet(74, [3, 32, 32], 10, 'none')),
  },
  'resnet-18': {
    description: 'ResNet-18 for ImageNet 224×224 (basic blocks 2-2-2-2, projection shortcuts)',
    dataset: 'imagenet',
    trainSamples: 1_281_167,
    inputShape: [3, 224, 224],
    defaultIterations: 450_000,
    layers: () => imagenetResNet('basic', [2, 2, 2, 2]),
  },
  'resnet-50': {
    description: 'ResNet-50 for ImageNet 224×224 (bottlenecks 3-4-6-3, stride on the 3×3 conv)',
    dataset: 'imagenet',
    trainSamples: 1_281_167,
    inputShape: [3, 224, 224],
    defaultIterations: 450_000,
    layers: () => imagenetResNet('bottleneck', [3, 4, 6, 3]),
  },
  'mobilenet-v2': {
    description: 'MobileNetV2 for CIFAR-10 (stride 1 in the stem and stage 2, width 1.0)',
    dataset: 'cifar10',
    trainSamples: 50_000,
    inputShape: [3, 32, 32],
    defaultIterations: 64_000,
    layers: cifarMobileNetV2,
  },
  mlp: {
    description: 'the trainable MLP 64-128-10 on the digits data set',
    dataset: 'digits',
    trainSamples: 1438,
    inputShape: [64],
    defaultIterations: 660,
    // derived from the trainable definition's graph, so estimate and train tally the same shapes
    layers: () => modelLayers(mlp([64], [128], 10, 'none')),
  },
};

/** Names of every model `estimate` knows. */
export function modelNames(): string[] {
  return Object.keys(paperModels);
}

/** Layer shapes of a model by name; throws UsageError naming the known models. */
export function getModelLayers(name: string, option = '--model'): LayerShape[] {
  return getShapeModel(name, option).layers();
}

/** The data set a trainable model spec is estimated on unless `--dataset` says otherwise. */
const DEFAULT_ESTIMATE_DATASET: Record<ModelName, string> = { mlp: 'digits', cnn: 'fashion-mnist', resnet: 'cifar10', logreg: 'digits' };

/**
 * A model for `estimate`: a shape-only model by name, or any trainable model spec (`cnn`,
 * `resnet:depth=20`, `mlp:hidden=256`) built for a data set's geometry (`dataset`, default by
 * model). Trainable specs default to 64k iterations on CIFAR-10 (CPT's runs), 10 epochs at batch
 * 128 elsewhere. Throws UsageError naming what is allowed.
 */
export function getShapeModel(name: string, option = '--model', dataset?: string): ShapeModel {
  const model = Object.hasOwn(paperModels, name) ? paperModels[name] : undefined;
  if (model) {
    if (dataset !== undefined) throw new UsageError('--dataset', `${name} is defined for ${model.dataset}; --dataset goes with trainable model specs (${MODEL_NAMES.join(', ')})`);
    return model;
  }
  if (!MODEL_NAMES.includes(name.split(':')[0] as ModelName)) throw new UsageError(option, `unknown model "${name}" (known: ${modelNames().join(', ')}, or a trainable spec: ${MODEL_NAMES.join(', ')})`);
  const spec = parseModelSpec(name, option);
  const datasetName = dataset ?? DEFAULT_ESTIMATE_DATASET[spec.name];
  const geometry = Object.hasOwn(DATASETS, datasetName) ? DATASETS[datasetName]!.geometry : undefined;
  if (!geometry) {
    const known = Object.entries(DATASETS).filter(([, d]) => d.geometry).map(([n]) => n);
    throw new UsageError('--dataset', `estimate knows the shapes of ${known.join(', ')}, not "${datasetName}"`);
  }
  const trainable = createModel(spec, geometry.inputShape, geometry.classes, 'none', option);
  return {
    description: `${trainable.description} on ${datasetName}`,
    dataset: datasetName,
    trainSamples: geometry.trainSamples,
    inputShape: geometry.inputShape,
    defaultIterations: datasetName === 'cifar10' ? 64_000 : 10 * Math.floor(geometry.trainSamples / 128),
    layers: () => modelLayers(trainable),
  };
}

/** MACs of one sample's forward pass. */
export function modelMacsPerSample(layers: readonly LayerShape[]): number {
  return layers.reduce((sum, l) => sum + macsPerSample(l), 0);
}
