/**
 * Convolutional and residual models: shapes read off their graphs (the ResNets equal the
 * hand-written shapes `estimate` used before), parameters and buffers, training on small synthetic
 * image sets (loss falls, batch-norm statistics and activation ranges move, resume is exact with
 * buffers), evaluation in batches, and the precision layout (--fp-layers) in graph and cost model.
 */
import { describe, expect, it } from 'vitest';
import { type Checkpoint, initialCheckpoint } from '../src/artifacts/checkpoint.js';
import type { Dataset } from '../src/data/index.js';
import { EVAL_BATCH, Trainer, type TrainOptions } from '../src/engine/trainer.js';
import { createCostModel } from '../src/hw/cost.js';
import { loadProfile } from '../src/hw/load.js';
import { modelLayers } from '../src/models/layers.js';
import type { FpLayers } from '../src/models/model.js';
import { getModelLayers } from '../src/models/paper.js';
import { createModel } from '../src/models/registry.js';
import { type LayerShape, convShape, linearShape } from '../src/models/shapes.js';
import { parseModelSpec } from '../src/models/spec.js';
import { makeSchedule } from '../src/schedule/schedule.js';
import { Rng } from '../src/util/random.js';
import { digitsTrainer } from './helpers/trainer.js';

/** The CIFAR ResNet shapes as `estimate` wrote them by hand before they came from the graph. */
function handWrittenCifarResNet(blocksPerStage: number): LayerShape[] {
  const layers: LayerShape[] = [];
  let [channels, size] = [3, 32];
  const conv = (name: string, out: number, stride: number) => {
    const { outHeight, outWidth: _w, ...shape } = convShape({ name, inChannels: channels, outChannels: out, kernel: 3, stride, inHeight: size, inWidth: size });
    layers.push(shape);
    channels = out;
    size = outHeight;
  };
  conv('conv1', 16, 1);
  [16, 32, 64].forEach((width, s) => {
    for (let b = 0; b < blocksPerStage; b++) {
      conv(`layer${s + 1}.${b}.conv1`, width, s > 0 && b === 0 ? 2 : 1);
      conv(`layer${s + 1}.${b}.conv2`, width, 1);
    }
  });
  return [...layers, linearShape('fc', 64, 10)];
}

const model = (spec: string, shape: number[], fp: FpLayers = 'last', classes = 10) => createModel(parseModelSpec(spec), shape, classes, fp);

describe('layer shapes from the graph', () => {
  it('resnet-38 and resnet-74 of estimate are the trainable ResNet at 32×32×3, equal to the hand-written shapes', () => {
    expect(getModelLayers('resnet-38')).toEqual(handWrittenCifarResNet(6));
    expect(getModelLayers('resnet-74')).toEqual(handWrittenCifarResNet(12));
    expect(modelLayers(model('resnet:depth=38', [3, 32, 32], 'none'))).toEqual(handWrittenCifarResNet(6));
  });

  it('cnn adapts its classifier input to the image size', () => {
    const mnist = modelLayers(model('cnn', [1, 28, 28], 'none'));
    expect(mnist.map((l) => [l.name, l.kind, l.inFeatures, l.outFeatures, l.positions])).toEqual([
      ['conv1', 'conv', 9, 32, 784],
      ['conv2', 'conv', 288, 64, 196],
      ['fc1', 'linear', 3136, 128, 1],
      ['fc2', 'linear', 128, 10, 1],
    ]);
    expect(modelLayers(model('cnn', [3, 32, 32], 'none'))[2]).toEqual(linearShape('fc1', 4096, 128));
  });

  it('resnet:depth=20 has 19 convs and a classifier, He et al.’s 0.27 M parameters, and batch-norm and range buffers', () => {
    const m = model('resnet:depth=20', [1, 28, 28]);
    expect(modelLayers(m)).toHaveLength(20);
    const weights = m.params().filter((p) => p.name.endsWith('.weight') && p.shape.length > 1);
    const count = weights.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    expect(count).toBeGreaterThan(0.26e6);
    expect(count).toBeLessThan(0.28e6);
    const buffers = m.buffers().map((b) => b.name);
    expect(buffers.filter((b) => b.endsWith('.running_mean'))).toHaveLength(19);
    expect(buffers.filter((b) => b.endsWith('.input_range'))).toHaveLength(19); // the classifier is at full precision
    expect(m.buffers().find((b) => b.name === 'bn1.running_var')).toEqual({ name: 'bn1.running_var', shape: [16], init: 1 });
  });

  it('--fp-layers marks the layers the cost model counts at 32 bits', () => {
    const names = (fp: FpLayers) => modelLayers(model('cnn', [1, 28, 28], fp)).filter((l) => l.fullPrecision).map((l) => l.name);
    expect(names('none')).toEqual([]);
    expect(names('last')).toEqual(['fc2']);
    expect(names('first,last')).toEqual(['conv1', 'fc2']);
    const profile = loadProfile('bit-fusion-45nm');
    const layers = modelLayers(model('cnn', [1, 28, 28], 'last'));
    const plain = layers.map(({ fullPrecision: _, ...l }) => l);
    const costs = createCostModel(profile, layers, 128).breakdown(2, 2, 8).byLayer;
    const at32 = createCostModel(profile, plain, 128).breakdown(32, 32, 32).byLayer;
    const at2 = createCostModel(profile, plain, 128).breakdown(2, 2, 8).byLayer;
    expect(costs[3]).toEqual(at32[3]);
    expect(costs[0]).toEqual(at2[0]);
  });

  it('a model that needs images says so, naming --model', () => {
    expect(() => model('cnn', [64])).toThrow(/--model: cnn needs image data/);
    expect(() => model('resnet:depth=8', [1, 16, 16])).toThrow(/--model: resnet:depth=8 needs images of at least 28×28/);
  });
});

/** `count` random images of `shape` whose class is written into a few pixels (learnable). */
function synthetic(shape: number[], train: number, test: number, classes: number, seed: number): Dataset {
  const width = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  const split = (count: number) => {
    const x = new Float32Array(count * width);
    const y = new BigInt64Array(count);
    for (let i = 0; i < count; i++) {
      const label = i % classes;
      y[i] = BigInt(label);
      for (let j = 0; j < width; j++) x[i * width + j] = rng.next() * 0.5 + (j % classes === label ? 1 : 0);
    }
    return { x, y, count };
  };
  return { name: 'synthetic', source: 'test', inputShape: shape, classes, train: split(train), test: split(test) };
}

function trainer(spec: string, dataset: Dataset, extra: Partial<TrainOptions> = {}): Trainer {
  return new Trainer({
    runId: 'cnn-test',
    model: model(spec, dataset.inputShape, 'last', dataset.classes),
    dataset,
    schedule: makeSchedule('cpt:3-8'),
    gradSchedule: makeSchedule('static:8'),
    evalBits: 8,
    epochs: 2,
    batchSize: 16,
    lr: 0.05,
    lrSchedule: 'constant',
    momentum: 0.9,
    weightDecay: 5e-4,
    seed: 3,
    chunkSteps: 3,
    ...extra,
  });
}

const tensors = (c: Checkpoint) => Object.fromEntries([...c.tensors].map(([k, t]) => [k, Array.from(t.data)]));

describe('training convolutional models', () => {
  const data = synthetic([1, 28, 28], 96, 40, 4, 1);

  it('resnet:depth=8 trains: the loss falls, batch-norm statistics and input ranges move, eval uses them', async () => {
    const t = trainer('resnet:depth=8', data, { epochs: 3 });
    const losses: number[] = [];
    t.on((e) => {
      if (e.type === 'steps') losses.push(...e.steps.map((s) => s.loss));
    });
    await t.init();
    const result = await t.run();
    await t.release();
    expect(result.status).toBe('completed');
    expect(losses).toHaveLength(18);
    expect(losses.slice(-3).reduce((a, b) => a + b, 0)).toBeLessThan(losses.slice(0, 3).reduce((a, b) => a + b, 0));
    const state = t.checkpoint();
    const mean = state.tensors.get('layer1.0.bn1.running_mean')!.data;
    expect(Array.from(mean).some((v) => v !== 0)).toBe(true);
    const range = state.tensors.get('conv1.input_range')!.data;
    expect(range[2]).toBeCloseTo(1 - 0.9 ** 18, 5); // the moving average's weight after 18 steps
    expect(range[1]! / range[2]!).toBeGreaterThan(1); // the inputs reach above 1
    expect(result.summary.testAccuracy).toBeGreaterThan(0.25);
  });

  it('resume from a mid-run checkpoint is exact: parameters, velocities and buffers', async () => {
    // 3 steps per epoch; the checkpoint after the first epoch
    const small = synthetic([1, 28, 28], 48, 8, 4, 1);
    const whole = trainer('resnet:depth=8', small);
    await whole.init();
    let mid: Checkpoint | null = null;
    whole.on((e) => {
      if (e.type === 'checkpoint' && e.step === 3) mid = whole.checkpoint();
    });
    await whole.run();
    const end = tensors(whole.checkpoint());
    await whole.release();
    expect(mid).not.toBeNull();
    const resumed = trainer('resnet:depth=8', small, { resumeFrom: mid!, artifacts: whole.artifacts });
    await resumed.init();
    await resumed.run();
    expect(tensors(resumed.checkpoint())).toEqual(end);
    await resumed.release();
  });

  it('cnn on CIFAR-shaped data with augmentation is deterministic under the seed', async () => {
    const colour = synthetic([3, 32, 32], 64, 20, 4, 2);
    const flips: number[] = [];
    colour.augment = (src, dst, key) => {
      flips.push(key);
      for (let i = 0; i < src.length; i++) dst[i] = key % 2 === 0 ? src[i]! : src[src.length - 1 - i]!;
    };
    const once = async () => {
      const t = trainer('cnn', colour, { epochs: 1 });
      await t.init();
      await t.run();
      const state = tensors(t.checkpoint());
      await t.release();
      return state;
    };
    const a = await once();
    const keys = flips.splice(0);
    expect(keys).toHaveLength(64); // every training sample of the epoch, once
    expect(new Set(keys).size).toBe(64);
    expect(await once()).toEqual(a);
    expect(flips).toEqual(keys);
  });

  it('evaluation runs the test split in batches of EVAL_BATCH, weighs each by its size, and does not depend on the batching', async () => {
    const big = synthetic([1, 28, 28], 32, EVAL_BATCH + 37, 4, 3);
    const trained = trainer('cnn', big, { epochs: 1 });
    await trained.init();
    await trained.run();
    const state = trained.checkpoint();
    const whole = await trained.evaluate(8);
    await trained.release();
    const evalOn = async (from: number, to: number) => {
      const test = { x: big.test.x.subarray(784 * from, 784 * to), y: big.test.y.subarray(from, to), count: to - from };
      const t = trainer('cnn', { ...big, test }, { epochs: 1, resumeFrom: state, artifacts: trained.artifacts });
      await t.init();
      const r = await t.evaluate(8);
      await t.release();
      return r;
    };
    const head = await evalOn(0, EVAL_BATCH);
    const tail = await evalOn(EVAL_BATCH, EVAL_BATCH + 37);
    expect(whole.loss).toBeCloseTo((EVAL_BATCH * head.loss + 37 * tail.loss) / (EVAL_BATCH + 37), 5);
    expect(whole.accuracy).toBeCloseTo((EVAL_BATCH * head.accuracy + 37 * tail.accuracy) / (EVAL_BATCH + 37), 9);
    // one sample at a time gives the same as a batch of 5: running batch-norm statistics and ranges
    const five = await evalOn(0, 5);
    const ones = await Promise.all([0, 1, 2, 3, 4].map((i) => evalOn(i, i + 1)));
    expect(five.loss).toBeCloseTo(ones.reduce((sum, r) => sum + r.loss, 0) / 5, 5);
  });
});

describe('precision layout', () => {
  it('digits MLP at static:2 with the classifier at full precision (the default) reaches ≥ 96 %', async () => {
    const t = digitsTrainer({ schedule: 'static:2', evalBits: 2, epochs: 30 });
    await t.init();
    const r = await t.run();
    await t.release();
    expect(r.status).toBe('completed');
    expect(r.summary.testAccuracy).toBeGreaterThanOrEqual(0.96);
  });

  it('the initial checkpoint holds every buffer at its starting value', () => {
    const m = model('resnet:depth=8', [1, 28, 28]);
    const c = initialCheckpoint(m, 1);
    expect(Array.from(c.tensors.get('bn1.running_var')!.data)).toEqual(new Array(16).fill(1));
    expect(Array.from(c.tensors.get('conv1.input_range')!.data)).toEqual([0, 0, 0]);
    const w = c.tensors.get('conv1.weight')!.data;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(Math.sqrt(2 / (9 * 16)) * 0.8); // He et al.: N(0, 2/(k²·Cout))
    expect(std).toBeLessThan(Math.sqrt(2 / (9 * 16)) * 1.2);
  });
});
