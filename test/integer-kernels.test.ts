/**
 * The integer-kernel path (src/quant/integer.ts) against the fp32 fake-quant path: the same layer,
 * the same quantizers, the same noise; every GEMM equal up to fp32 rounding, every training step's
 * loss within 1e-5 relative, and the engine's per-chunk choice of path.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../src/graph/builder.js';
import type { NodeData } from '../src/graph/proto.js';
import { gradients } from '../src/graph/autodiff.js';
import { add, matmul } from '../src/graph/ops/math.js';
import { IntConvOp, IntLinearOp, integerProducts, tapMasks } from '../src/quant/integer.js';
import { conv2d, windowOf } from '../src/graph/ops/conv.js';
import { FakeQuantOp, quantizeErrors, quantizeWeights } from '../src/quant/quantizers.js';
import { buildArtifacts } from '../src/artifacts/build.js';
import { initialCheckpoint } from '../src/artifacts/checkpoint.js';
import { type Kernels, integerKernelsExact } from '../src/engine/trainer.js';
import { createModel } from '../src/models/registry.js';
import { parseModelSpec } from '../src/models/spec.js';
import { makeSchedule } from '../src/schedule/index.js';
import { scheduleBits } from '../src/schedule/schedule.js';
import { f32, gridFeeds, i64, layerBits, modelBytes, randomValues } from './helpers/onnx.js';
import { digitsTrainer } from './helpers/trainer.js';

const [M, K, N] = [24, 40, 12];

/** y = x̂·ŵ + b with the error into y quantized, and the gradients of x, w, b for an upstream gradient. */
async function layer(kind: 'int' | 'fake', feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const g = new Graph(`layer_${kind}`);
  const x = g.input('x', 'float32', ['batch', K]);
  const w = g.input('w', 'float32', [K, N]);
  const b = g.input('b', 'float32', [N]);
  const up = g.input('up', 'float32', ['batch', N]);
  const noise = g.input('noise', 'float32', ['batch', N]);
  const bits = ['bits_a', 'bits_w', 'bits_e'].map((name) => g.input(name, 'float32', []));
  const [bitsA, bitsW, bitsE] = bits as [Value, Value, Value];
  const mn = g.emit1('ReduceMin', [x], { keepdims: 0 }, 'float32', [], 'x_min');
  const mx = g.emit1('ReduceMax', [x], { keepdims: 0 }, 'float32', [], 'x_max');
  let y: Value;
  if (kind === 'int') {
    y = g.apply1(IntLinearOp, [x, w, bitsA, bitsW, bitsE, mn, mx, b], { noise: () => noise, noiseUnit: 1 });
  } else {
    const xq = g.apply1(FakeQuantOp, [x, bitsA, mn, mx], { reduceAxes: null });
    y = quantizeErrors(g, add(g, matmul(g, xq, quantizeWeights(g, w, bitsW)), b), bitsE, { value: noise, unit: 1 });
  }
  const [dx, dw, db] = gradients(g, y, [x, w, b], { seed: up });
  g.output(y, 'y');
  g.output(dx!, 'dx');
  g.output(dw!, 'dw');
  g.output(db!, 'db');
  const s = await ort.InferenceSession.create(modelBytes(g), { intraOpNumThreads: 1 });
  const out = await s.run(feeds);
  await s.release();
  const ops = new Set(g.nodes.map((n) => n.opType));
  expect(ops.has('MatMulInteger')).toBe(kind === 'int');
  return Object.fromEntries(['y', 'dx', 'dw', 'db'].map((k) => [k, out[k]!.data as Float32Array]));
}

/** Largest |a − b| relative to the largest |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

describe('integer kernels: one quantized linear layer', () => {
  for (const bits of [2, 3, 4, 5, 6, 7, 8]) {
    it(`${bits}-bit activations and weights, 8- and ${bits}-bit stochastic errors: the fake-quant numbers up to fp32 rounding`, async () => {
      for (const bitsE of [8, bits]) {
        const seed = 100 * bits + bitsE;
        const feeds = {
          // asymmetric ranges: activations mostly positive, weights and errors off-centre
          x: f32([M, K], randomValues(M * K, seed, -0.7, 1.9)),
          w: f32([K, N], randomValues(K * N, seed + 1, -0.3, 0.8)),
          b: f32([N], randomValues(N, seed + 2, -0.1, 0.1)),
          up: f32([M, N], randomValues(M * N, seed + 3, -0.02, 0.05)),
          noise: f32([M, N], randomValues(M * N, seed + 4, 0, 1)),
          bits_a: f32([], [bits]),
          bits_w: f32([], [bits]),
          bits_e: f32([], [bitsE]),
        };
        const int = await layer('int', feeds);
        const fake = await layer('fake', feeds);
        for (const k of ['y', 'dw', 'db']) expect(relativeError(int[k]!, fake[k]!), `${k} at ${bits}/${bitsE} bits`).toBeLessThan(2e-6);
        // the input gradient is fp32 on the same quantized operands: bit for bit
        expect(Array.from(int.dx!), `dx at ${bits}/${bitsE} bits`).toEqual(Array.from(fake.dx!));
      }
    });
  }

  it('the stochastic rounding is live: other noise, other weight gradient', async () => {
    const base = {
      x: f32([M, K], randomValues(M * K, 1, -0.7, 1.9)),
      w: f32([K, N], randomValues(K * N, 2, -0.3, 0.8)),
      b: f32([N], randomValues(N, 3)),
      up: f32([M, N], randomValues(M * N, 4)),
      bits_a: f32([], [4]),
      bits_w: f32([], [4]),
      bits_e: f32([], [3]),
    };
    const one = await layer('int', { ...base, noise: f32([M, N], randomValues(M * N, 5, 0, 1)) });
    const other = await layer('int', { ...base, noise: f32([M, N], randomValues(M * N, 6, 0, 1)) });
    expect(relativeError(one.dw!, other.dw!)).toBeGreaterThan(1e-3);
    expect(Array.from(one.y!)).toEqual(Array.from(other.y!));
  });
});

/** The same for a convolution: y = x̂ ∗ ŵ + b (fp32 Conv either way), dx, and dW on integer codes. */
async function convLayer(kind: 'int' | 'fake', stride: number, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const [, C, H, O, k, pad] = CONV;
  const g = new Graph(`conv_${kind}`);
  const x = g.input('x', 'float32', ['batch', C, H, H]);
  const w = g.input('w', 'float32', [O, C, k, k]);
  const b = g.input('b', 'float32', [O]);
  const win = windowOf(x, k, stride, pad);
  const up = g.input('up', 'float32', ['batch', O, win.outHeight, win.outWidth]);
  const noise = g.input('noise', 'float32', ['batch', O, win.outHeight, win.outWidth]);
  const [bitsA, bitsW, bitsE] = ['bits_a', 'bits_w', 'bits_e'].map((name) => g.input(name, 'float32', [])) as [Value, Value, Value];
  const mn = g.emit1('ReduceMin', [x], { keepdims: 0 }, 'float32', [], 'x_min');
  const mx = g.emit1('ReduceMax', [x], { keepdims: 0 }, 'float32', [], 'x_max');
  let y: Value;
  if (kind === 'int') {
    const grads = { input: 'transpose' as const, weight: 'im2col' as const };
    y = g.apply1(IntConvOp, [x, w, bitsA, bitsW, bitsE, mn, mx, b], { noise: () => noise, noiseUnit: 1, conv: { win, groups: 1, depthwise: false, grads } });
  } else {
    const xq = g.apply1(FakeQuantOp, [x, bitsA, mn, mx], { reduceAxes: null });
    const conv = conv2d(g, xq, quantizeWeights(g, w, bitsW, [1, 2, 3]), b, { stride, pad, groups: 1, formulation: { input: 'transpose', weight: 'im2col' } });
    y = quantizeErrors(g, conv, bitsE, { value: noise, unit: 1 });
  }
  const [dx, dw, db] = gradients(g, y, [x, w, b], { seed: up });
  for (const [v, name] of [[y, 'y'], [dx, 'dx'], [dw, 'dw'], [db, 'db']] as const) g.output(v!, name);
  const s = await ort.InferenceSession.create(modelBytes(g), { intraOpNumThreads: 1 });
  const out = await s.run(feeds);
  await s.release();
  expect(g.nodes.some((n) => n.opType === 'MatMulInteger')).toBe(kind === 'int');
  return Object.fromEntries(['y', 'dx', 'dw', 'db'].map((key) => [key, out[key]!.data as Float32Array]));
}

/** batch, Cin, H = W, Cout, kernel, pad */
const CONV = [3, 5, 7, 6, 3, 1] as const;

describe('integer kernels: one quantized convolution (integer weight gradient)', () => {
  for (const stride of [1, 2]) {
    it(`stride ${stride}, 2…8 bits, asymmetric operands, stochastic errors: the fake-quant numbers up to fp32 rounding`, async () => {
      const [N, C, H, O, k] = CONV;
      const ho = Math.floor((H + 2 - k) / stride) + 1;
      for (const bits of [2, 3, 5, 8]) {
        const seed = 1000 * stride + bits;
        const feeds = {
          x: f32([N, C, H, H], randomValues(N * C * H * H, seed, -0.6, 2.1)),
          w: f32([O, C, k, k], randomValues(O * C * k * k, seed + 1, -0.2, 0.7)),
          b: f32([O], randomValues(O, seed + 2, -0.1, 0.1)),
          up: f32([N, O, ho, ho], randomValues(N * O * ho * ho, seed + 3, -0.03, 0.05)),
          noise: f32([N, O, ho, ho], randomValues(N * O * ho * ho, seed + 4, 0, 1)),
          bits_a: f32([], [bits]),
          bits_w: f32([], [bits]),
          bits_e: f32([], [8]),
        };
        const int = await convLayer('int', stride, feeds);
        const fake = await convLayer('fake', stride, feeds);
        for (const key of ['y', 'dx', 'db']) expect(Array.from(int[key]!), `${key} at ${bits} bits`).toEqual(Array.from(fake[key]!));
        expect(relativeError(int.dw!, fake.dw!), `dw at ${bits} bits`).toBeLessThan(2e-6);
      }
    });
  }

  it("which products run on integer codes: the CNN's conv2 weight gradient, fc1's forward and weight gradient", () => {
    const layers = buildArtifacts(createModel(parseModelSpec('cnn'), [1, 28, 28], 10, 'last')).layers;
    expect(Object.fromEntries(layers.map((l) => [l.name, integerProducts(l)]))).toEqual({
      conv1: [], // Cin = 1: the transposed-Conv weight gradient
      conv2: ['weightGrad'],
      fc1: ['forward', 'weightGrad'],
      fc2: [], // the classifier, kept at full precision
    });
  });

  it('the padding masks: each tap counts the output positions that read inside the image', () => {
    const x: Value = { name: 'x', dtype: 'float32', shape: [1, 1, 4, 5] };
    const { valid, count } = tapMasks(windowOf(x, 3, 2, 1));
    // 4×5 input, stride 2, pad 1 → 2×3 outputs reading rows 2·r + i − 1 and columns 2·c + j − 1:
    // tap row i = 0 is inside for 1 output row, i = 1, 2 for both; tap column j = 0, 2 for 2 output
    // columns (−1 and 5 are padding), j = 1 for all 3
    expect(count).toEqual([1 * 2, 1 * 3, 1 * 2, 2 * 2, 2 * 3, 2 * 2, 2 * 2, 2 * 3, 2 * 2]);
    expect(valid.length).toBe(6 * 9);
  });
});

describe('integer kernels: training steps', () => {
  const cases = [
    // MLP: both hidden layers integer; CNN: conv2 (integer weight gradient) and fc1, not conv1 (Cin = 1)
    { spec: 'mlp:hidden=48,32', shape: [64], integerLayers: 2, rowsPerSample: 1 },
    { spec: 'cnn', shape: [1, 12, 12], integerLayers: 2, rowsPerSample: 36 },
  ];
  it.each(cases)(
    '$spec: every step, from the same state, gives the same loss (1e-5 relative) and update on either path',
    async ({ spec, shape, integerLayers, rowsPerSample }) => {
      const model = createModel(parseModelSpec(spec), shape, 10, 'last');
      const artifacts = buildArtifacts(model);
      expect(artifacts.manifest.training.integerLayers).toBe(integerLayers);
      const quantized = artifacts.manifest.quantizedLayers.length;
      // the integer body has one integer layer op per layer the rule names
      const outputs = (nodes: readonly NodeData[]): string[] =>
        nodes.flatMap((n) => [...n.outputs, ...Object.values(n.attributes).flatMap((a) => (a.kind === 'graph' ? outputs(a.value.nodes) : []))]);
      const built = outputs(artifacts.training.graph.nodes).filter((o) => /^int\/step\/int_(linear|conv)/.test(o));
      expect(built).toHaveLength(integerLayers);
      expect(artifacts.manifest.training.integerRowsPerSample).toBe(rowsPerSample);
      const session = await ort.InferenceSession.create(artifacts.training.bytes, { intraOpNumThreads: 1 });
      const B = 32;
      const size = shape.reduce((m, d) => m * d, 1);
      const bits = [[2, 8], [3, 8], [4, 6], [6, 8], [8, 8], [8, 4]]; // [weights and activations, errors] per step
      let state = new Map<string, ort.Tensor>(Array.from(initialCheckpoint(model, 3).tensors, ([name, t]) => [name, new ort.Tensor('float32', t.data, t.shape)]));
      const stateNames = [...state.keys()];
      for (const [t, [bitsWA, bitsG]] of bits.entries()) {
        const feeds: Record<string, ort.Tensor> = {
          x: f32([1, B, ...shape], randomValues(B * size, 7 + t, 0, 1)),
          labels: i64([1, B], randomValues(B, 80 + t, 0, 10).map(Math.floor)),
          bits_w: layerBits([bitsWA!], quantized),
          bits_a: layerBits([bitsWA!], quantized),
          bits_g: layerBits([bitsG!], quantized),
          ...gridFeeds(1, 'float32', quantized),
          lr: f32([1], [0.1]),
          noise_key: new ort.Tensor('uint32', Uint32Array.of(1000 + t), [1]),
          momentum: f32([], [0.9]),
          weight_decay: f32([], [5e-4]),
          ...Object.fromEntries(state),
        };
        const int = await session.run({ ...feeds, int_kernels: i64([], [1]) });
        const fake = await session.run({ ...feeds, int_kernels: i64([], [0]) });
        const [li, lf] = [int.loss!.data[0] as number, fake.loss!.data[0] as number];
        expect(Math.abs(li - lf) / lf, `loss of step ${t}`).toBeLessThan(1e-5);
        // The updates differ by fp32 rounding (the fake path's fp32 sums against the integer path's
        // epilogue), and where such a difference moves a value across a rounding boundary of a later
        // quantizer (stochastic errors at 8 bits), by that code's quantum: ~1e-5…1e-3 of the largest
        // value here. A wrong gradient would be off by its own size.
        for (const name of stateNames) {
          const [a, b] = [int[`${name}.new`]!.data as Float32Array, fake[`${name}.new`]!.data as Float32Array];
          expect(relativeError(a, b), `${name} after step ${t}`).toBeLessThan(1e-2);
        }
        state = new Map(stateNames.map((name) => [name, fake[`${name}.new`]!]));
      }
      await session.release();
    },
  );

  const train = async (schedule: string, kernels: Kernels) => {
    const t = digitsTrainer({ model: 'mlp:hidden=32', schedule, epochs: 1, kernels });
    const losses: number[] = [];
    const warnings: string[] = [];
    t.on((e) => {
      if (e.type === 'steps') for (const s of e.steps) losses.push(s.loss);
      if (e.type === 'start') warnings.push(...(e.warnings ?? []));
    });
    await t.init();
    const r = await t.run();
    await t.release();
    return { losses, warnings, accuracy: r.summary.testAccuracy! };
  };

  it('the engine runs steps above 8 bits on the fp32 path: static:16 is bit for bit the same with either --kernels', async () => {
    const int = await train('static:16', 'int');
    const fake = await train('static:16', 'fake');
    expect(int.losses).toEqual(fake.losses);
  });

  it('a schedule crossing 8 bits (cpt:5-12:cycles=2) splits chunks by path and trains to the same losses', async () => {
    const int = await train('cpt:5-12:cycles=2', 'int');
    const fake = await train('cpt:5-12:cycles=2', 'fake');
    const bits = Array.from(scheduleBits(makeSchedule('cpt:5-12:cycles=2'), int.losses.length));
    expect(bits.some((b) => b <= 8) && bits.some((b) => b > 8)).toBe(true);
    expect(int.losses.length).toBe(fake.losses.length);
    int.losses.forEach((l, i) => expect(Math.abs(l - fake.losses[i]!) / fake.losses[i]!, `step ${i}`).toBeLessThan(1e-3));
    if (await integerKernelsExact()) {
      // the integer path really ran: fp32 rounding differs somewhere
      expect(int.warnings).toEqual([]);
      expect(int.losses).not.toEqual(fake.losses);
    } else {
      expect(int.warnings.join('\n')).toMatch(/not exact on this CPU/);
      expect(int.losses).toEqual(fake.losses);
    }
    expect(Math.abs(int.accuracy - fake.accuracy)).toBeLessThan(0.02);
  });
});
