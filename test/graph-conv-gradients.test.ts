/**
 * Convolution, pooling and batch-norm ops: gradient rules against central finite differences in
 * float64 graphs (where conv runs as im2col), and both float32 gradient formulations ("transpose",
 * "im2col", with a symbolic batch) against the float64 im2col path on the same inputs.
 */
import { describe, expect, it } from 'vitest';
import type * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../src/graph/builder.js';
import { gradients } from '../src/graph/autodiff.js';
import { type ConvGradFormulation, conv2d, convGradFormulation, padChannels, subsample2d } from '../src/graph/ops/conv.js';
import { avgPool2d, globalAvgPool, maxPool2d } from '../src/graph/ops/pool.js';
import { batchNormEval, batchNormTrain } from '../src/graph/ops/norm.js';
import { type Case, check } from './helpers/gradcheck.js';
import { f32, f64, randomValues, session } from './helpers/onnx.js';

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  bias: boolean;
  stride: number;
  pad: number;
  groups: number;
}

const convCases: ConvCase[] = [
  { name: 'stride 1, pad 1, bias', x: [2, 3, 5, 5], w: [4, 3, 3, 3], bias: true, stride: 1, pad: 1, groups: 1 },
  { name: 'stride 2, pad 0, unused last row/column, no bias', x: [2, 2, 6, 7], w: [3, 2, 3, 3], bias: false, stride: 2, pad: 0, groups: 1 },
  { name: 'stride 2, pad 1, bias', x: [2, 3, 7, 6], w: [4, 3, 3, 3], bias: true, stride: 2, pad: 1, groups: 1 },
  { name: '1×1, stride 2', x: [3, 3, 5, 5], w: [4, 3, 1, 1], bias: false, stride: 2, pad: 0, groups: 1 },
  { name: 'depthwise, stride 1, pad 1, bias', x: [2, 3, 5, 5], w: [3, 1, 3, 3], bias: true, stride: 1, pad: 1, groups: 3 },
  { name: 'depthwise, stride 2, pad 1', x: [2, 4, 6, 7], w: [4, 1, 3, 3], bias: false, stride: 2, pad: 1, groups: 4 },
];

const buildConv = (c: ConvCase, formulation?: ConvGradFormulation) => (g: Graph, [x, w, b]: Value[]) =>
  conv2d(g, x!, w!, c.bias ? b! : null, { stride: c.stride, pad: c.pad, groups: c.groups, formulation });

const convInputs = (c: ConvCase) => [
  { name: 'x', shape: c.x },
  { name: 'w', shape: c.w },
  ...(c.bias ? [{ name: 'b', shape: [c.w[0]!] }] : []),
];

/** Running statistics as constants (not differentiated). */
function bnTrain(g: Graph, x: Value, gamma: Value, beta: Value): Value {
  const c = x.shape![1] as number;
  const mean = g.constant(x.dtype, [c], randomValues(c, 5), 'rm');
  const variance = g.constant(x.dtype, [c], randomValues(c, 6, 0.5, 2), 'rv');
  return batchNormTrain(g, x, gamma, beta, mean, variance, {}).y;
}

const cases: Case[] = [
  ...convCases.map((c) => ({ name: `conv2d ${c.name}`, inputs: convInputs(c), build: buildConv(c) })),
  { name: 'maxPool2d 3×3/2 (overlapping windows)', inputs: [{ name: 'x', shape: [2, 2, 7, 7] }], build: (g: Graph, [x]: Value[]) => maxPool2d(g, x!, { kernel: 3, stride: 2 }) },
  { name: 'maxPool2d 3×3/2, pad 1', inputs: [{ name: 'x', shape: [2, 2, 6, 6] }], build: (g: Graph, [x]: Value[]) => maxPool2d(g, x!, { kernel: 3, stride: 2, pad: 1 }) },
  { name: 'maxPool2d 2×2/2', inputs: [{ name: 'x', shape: [2, 3, 6, 5] }], build: (g: Graph, [x]: Value[]) => maxPool2d(g, x!, { kernel: 2, stride: 2 }) },
  { name: 'avgPool2d 2×2/2', inputs: [{ name: 'x', shape: [2, 2, 6, 6] }], build: (g: Graph, [x]: Value[]) => avgPool2d(g, x!, { kernel: 2, stride: 2 }) },
  { name: 'avgPool2d 3×3/2, pad 1', inputs: [{ name: 'x', shape: [2, 2, 7, 7] }], build: (g: Graph, [x]: Value[]) => avgPool2d(g, x!, { kernel: 3, stride: 2, pad: 1 }) },
  { name: 'globalAvgPool', inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], build: (g: Graph, [x]: Value[]) => globalAvgPool(g, x!) },
  {
    name: 'batchNormTrain [N, C, H, W] (x, gamma, beta)',
    inputs: [{ name: 'x', shape: [3, 2, 3, 3] }, { name: 'gamma', shape: [2] }, { name: 'beta', shape: [2] }],
    build: (g: Graph, [x, gamma, beta]: Value[]) => bnTrain(g, x!, gamma!, beta!),
  },
  {
    name: 'batchNormTrain [N, C] (x, gamma, beta)',
    inputs: [{ name: 'x', shape: [4, 3] }, { name: 'gamma', shape: [3] }, { name: 'beta', shape: [3] }],
    build: (g: Graph, [x, gamma, beta]: Value[]) => bnTrain(g, x!, gamma!, beta!),
  },
  {
    name: 'batchNormEval (x, gamma, beta)',
    inputs: [{ name: 'x', shape: [2, 3, 2, 2] }, { name: 'gamma', shape: [3] }, { name: 'beta', shape: [3] }],
    build: (g: Graph, [x, gamma, beta]: Value[]) =>
      batchNormEval(g, x!, gamma!, beta!, g.constant('float64', [3], [0.1, -0.2, 0.3], 'rm'), g.constant('float64', [3], [0.5, 1, 2], 'rv'), {}),
  },
  { name: 'subsample2d stride 2 (odd size)', inputs: [{ name: 'x', shape: [2, 2, 5, 4] }], build: (g: Graph, [x]: Value[]) => subsample2d(g, x!, 2) },
  { name: 'padChannels', inputs: [{ name: 'x', shape: [2, 2, 3, 3] }], build: (g: Graph, [x]: Value[]) => padChannels(g, x!, 1, 2) },
];

describe('conv, pooling and batch-norm gradients vs central finite differences (float64)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      expect(await check(c)).toBeLessThan(1e-6);
    });
  }
});

interface OpRun {
  inputs: { name: string; shape: number[] }[];
  build(g: Graph, xs: Value[]): Value;
}

/**
 * Forward output and the gradients of Σ op(x…) ⊙ R w.r.t. every input (R fed as the seed), the
 * first input's batch axis symbolic; the same pseudo-random inputs in either float type.
 */
async function forwardAndGradients(dtype: 'float32' | 'float64', c: OpRun): Promise<Float64Array[]> {
  const g = new Graph('op', dtype);
  const xs = c.inputs.map((inp, k) => g.input(inp.name, dtype, k === 0 ? ['batch', ...inp.shape.slice(1)] : inp.shape));
  const y = c.build(g, xs);
  const seed = g.input('seed', dtype, y.shape);
  const grads = gradients(g, y, xs, { seed });
  [y, ...grads].forEach((v, i) => g.output(v, `out_${i}`));
  const tensor = dtype === 'float32' ? f32 : f64;
  const size = (shape: number[]) => shape.reduce((a, d) => a * d, 1);
  const yShape = [c.inputs[0]!.shape[0]!, ...(y.shape!.slice(1) as number[])];
  const feeds: Record<string, ort.Tensor> = { seed: tensor(yShape, randomValues(size(yShape), 10)) };
  c.inputs.forEach((inp, k) => (feeds[inp.name] = tensor(inp.shape, randomValues(size(inp.shape), 11 + k))));
  const s = await session(g);
  const out = await s.run(feeds);
  await s.release();
  return g.outputs.map((o) => Float64Array.from(out[o.name]!.data as Float32Array | Float64Array));
}

/** max |a − b| / max |b|. */
function relativeError(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let scale = 0;
  b.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(a[i]! - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return diff / scale;
}

async function expectFloat32MatchesFloat64(float32: OpRun, float64: OpRun = float32): Promise<void> {
  const reference = await forwardAndGradients('float64', float64);
  const got = await forwardAndGradients('float32', float32);
  expect(got).toHaveLength(reference.length);
  got.forEach((v, i) => expect(relativeError(v, reference[i]!)).toBeLessThan(1e-4));
}

describe('conv2d float32 gradient formulations vs the float64 im2col path', () => {
  const transpose: ConvGradFormulation = { input: 'transpose', weight: 'transpose' };
  const im2col: ConvGradFormulation = { input: 'im2col', weight: 'im2col' };
  for (const c of convCases) {
    const formulations = c.groups === 1 ? [transpose, im2col] : [{ input: 'transpose', weight: 'im2col' } as const, im2col];
    for (const f of formulations) {
      it(`${c.name}: input ${f.input}, weight ${f.weight}`, async () => {
        await expectFloat32MatchesFloat64({ inputs: convInputs(c), build: buildConv(c, f) }, { inputs: convInputs(c), build: buildConv(c) });
      });
    }
  }

  it('the default rule: ConvTranspose for the input; per-tap im2col for the weight from 4 input channels on and for depthwise', () => {
    const layer = { outChannels: 16, height: 32, width: 32, kernel: 3, stride: 1, groups: 1 };
    expect(convGradFormulation({ ...layer, inChannels: 3 })).toEqual({ input: 'transpose', weight: 'transpose' });
    expect(convGradFormulation({ ...layer, inChannels: 16 })).toEqual({ input: 'transpose', weight: 'im2col' });
    expect(convGradFormulation({ ...layer, inChannels: 16, groups: 16 })).toEqual({ input: 'transpose', weight: 'im2col' });
  });

  it('float64 graphs refuse the transpose formulation; depthwise refuses a transposed weight gradient', () => {
    const g64 = new Graph('g', 'float64');
    const x64 = g64.input('x', 'float64', ['batch', 2, 4, 4]);
    const w64 = g64.input('w', 'float64', [2, 2, 3, 3]);
    expect(() => conv2d(g64, x64, w64, null, { stride: 1, pad: 1, groups: 1, formulation: { input: 'transpose', weight: 'im2col' } })).toThrow(/im2col/);
    const g32 = new Graph('g', 'float32');
    const x32 = g32.input('x', 'float32', ['batch', 2, 4, 4]);
    const w32 = g32.input('w', 'float32', [2, 1, 3, 3]);
    expect(() => conv2d(g32, x32, w32, null, { stride: 1, pad: 1, groups: 2, formulation: { input: 'im2col', weight: 'transpose' } })).toThrow(/depthwise/);
  });
});

describe('pooling and batch norm: float32 graphs agree with float64', () => {
  const x = [{ name: 'x', shape: [2, 3, 7, 6] }];
  it('maxPool2d 3×3/2, pad 1 (MaxPool indices + ScatterElements in float32)', async () => {
    await expectFloat32MatchesFloat64({ inputs: x, build: (g, [v]) => maxPool2d(g, v!, { kernel: 3, stride: 2, pad: 1 }) });
  });
  it('avgPool2d 3×3/2, pad 1 (AveragePool with count_include_pad = 1 vs the float64 slice sum)', async () => {
    await expectFloat32MatchesFloat64({ inputs: x, build: (g, [v]) => avgPool2d(g, v!, { kernel: 3, stride: 2, pad: 1 }) });
  });
  it('batchNormTrain', async () => {
    await expectFloat32MatchesFloat64({ inputs: [...x, { name: 'gamma', shape: [3] }, { name: 'beta', shape: [3] }], build: (g, [v, gamma, beta]) => bnTrain(g, v!, gamma!, beta!) });
  });
});

describe('batchNormTrain running statistics', () => {
  it('equal (1 − momentum)·running + momentum·batch, the variance unbiased; y uses the biased batch variance', async () => {
    const [n, c, h, w] = [3, 2, 2, 2];
    const xs = randomValues(n * c * h * w, 31, -2, 3);
    const gammaV = [1.5, -0.5];
    const betaV = [0.25, 1];
    const rmV = [0.1, -0.3];
    const rvV = [0.9, 1.7];
    const momentum = 0.2;
    const eps = 1e-3;
    const g = new Graph('bn', 'float64');
    const x = g.input('x', 'float64', ['batch', c, h, w]);
    const [gamma, beta, rm, rv] = ['gamma', 'beta', 'rm', 'rv'].map((name) => g.input(name, 'float64', [c]));
    const r = batchNormTrain(g, x, gamma!, beta!, rm!, rv!, { momentum, eps });
    g.output(r.y, 'y');
    g.output(r.mean, 'mean');
    g.output(r.variance, 'variance');
    const s = await session(g);
    const out = await s.run({ x: f64([n, c, h, w], xs), gamma: f64([c], gammaV), beta: f64([c], betaV), rm: f64([c], rmV), rv: f64([c], rvV) });
    await s.release();
    const m = n * h * w;
    const at = (i: number, ch: number, k: number) => xs[(i * c + ch) * h * w + k]!;
    for (let ch = 0; ch < c; ch++) {
      const vals = Array.from({ length: n }, (_, i) => Array.from({ length: h * w }, (_, k) => at(i, ch, k))).flat();
      const mean = vals.reduce((a, v) => a + v, 0) / m;
      const biased = vals.reduce((a, v) => a + (v - mean) ** 2, 0) / m;
      expect(out.mean!.data[ch]).toBeCloseTo((1 - momentum) * rmV[ch]! + momentum * mean, 12);
      expect(out.variance!.data[ch]).toBeCloseTo((1 - momentum) * rvV[ch]! + momentum * biased * (m / (m - 1)), 12);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < h * w; k++) {
          const expected = (gammaV[ch]! * (at(i, ch, k) - mean)) / Math.sqrt(biased + eps) + betaV[ch]!;
          expect(out.y!.data[(i * c + ch) * h * w + k]).toBeCloseTo(expected, 12);
        }
      }
    }
  });
});

describe('maxPool2d ties', () => {
  it('a window with several maxima passes the gradient to the first in row-major order only', async () => {
    // 1×1×4×4 with tied maxima: window (0,0) all 1; window (0,1) max 5 at (0,3) and (1,2); windows below untied
    const x = [1, 1, 2, 5, 1, 1, 5, 0, 0, 3, 4, 4, 7, 0, 4, 4];
    const expected = [1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0].map((v, i) => v * [10, 10, 20, 20, 10, 10, 20, 20, 30, 30, 40, 40, 30, 30, 40, 40][i]!);
    const g = new Graph('ties', 'float32');
    const xv = g.input('x', 'float32', [1, 1, 4, 4]);
    const up = g.input('up', 'float32', [1, 1, 2, 2]);
    const y = maxPool2d(g, xv, { kernel: 2, stride: 2 });
    const [dx] = gradients(g, y, [xv], { seed: up });
    g.output(y, 'y');
    g.output(dx!, 'dx');
    const out = await (await session(g)).run({ x: f32([1, 1, 4, 4], x), up: f32([1, 1, 2, 2], [10, 20, 30, 40]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 5, 7, 4]);
    expect(Array.from(out.dx!.data as Float32Array)).toEqual(expected);
  });
});
