import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../src/graph/builder.js';
import { gradients } from '../src/graph/autodiff.js';
import { FakeQuantOp, quantizeErrors, quantizeWeights } from '../src/quant/quantizers.js';

/** Per-tensor activation quantization with the tensor's own min/max (the training graph's). */
const quantizeActivations = (g: Graph, x: Value, bits: Value) => g.apply1(FakeQuantOp, [x, bits], { reduceAxes: null });
import { f32, randomValues, session } from './helpers/onnx.js';

async function forward(kind: 'weights' | 'activations', shape: number[], values: number[], bits: number): Promise<Float32Array> {
  const g = new Graph('q');
  const x = g.input('x', 'float32', shape);
  const b = g.input('bits', 'float32', []);
  const y = kind === 'weights' ? quantizeWeights(g, x, b) : quantizeActivations(g, x, b);
  g.output(y, 'y');
  const s = await session(g);
  const out = await s.run({ x: f32(shape, values), bits: f32([], [bits]) });
  return out.y!.data as Float32Array;
}

/** The quantized gradient that flows back through an error quantizer, and the incoming gradient. */
async function backward(values: number[], noise: number[], bits: number): Promise<{ grad: Float32Array }> {
  const g = new Graph('eq');
  const shape = [values.length / 4, 4];
  const x = g.input('x', 'float32', shape);
  const up = g.input('upstream', 'float32', shape);
  const b = g.input('bits', 'float32', []);
  const u = g.input('noise', 'float32', shape);
  const y = quantizeErrors(g, x, b, { value: u, unit: 1 });
  const [grad] = gradients(g, y, [x], { seed: up });
  g.output(grad!, 'grad');
  const s = await session(g);
  const out = await s.run({ x: f32(shape, values.map(() => 0)), upstream: f32(shape, values), bits: f32([], [bits]), noise: f32(shape, noise) });
  return { grad: out.grad!.data as Float32Array };
}

describe('fake quantizers with run-time bit-widths', () => {
  const values = randomValues(24, 5, -3, 2);

  it('are exact pass-throughs at 32 bits', async () => {
    const expected = Float32Array.from(values);
    expect(Array.from(await forward('activations', [4, 6], values, 32))).toEqual(Array.from(expected));
    expect(Array.from(await forward('weights', [4, 6], values, 32))).toEqual(Array.from(expected));
    const noise = randomValues(24, 6, 0, 1);
    expect(Array.from((await backward(values, noise, 32)).grad)).toEqual(Array.from(expected));
  });

  it('activations: per-tensor grid of 2^b − 1 steps between min and max, nearest rounding', async () => {
    for (const bits of [2, 3, 4, 8, 12]) { // ≤ 8: QuantizeLinear codes; 12: Div, Round
      const q = await forward('activations', [4, 6], values, bits);
      const mn = Math.min(...values);
      const mx = Math.max(...values);
      const scale = (mx - mn) / (2 ** bits - 1);
      const levels = new Set<number>();
      q.forEach((v, i) => {
        const k = (v - mn) / scale;
        expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-3);
        expect(Math.abs(v - values[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-5);
        levels.add(Math.round(k));
      });
      expect(Math.max(...levels)).toBeLessThanOrEqual(2 ** bits - 1);
      expect(q[values.indexOf(mn)]).toBeCloseTo(mn, 5);
      expect(q[values.indexOf(mx)]).toBeCloseTo(mx, 5);
    }
  });

  it('weights: per output channel (column of a [in, out] matrix)', async () => {
    const shape = [6, 4];
    const bits = 2;
    const q = await forward('weights', shape, values, bits);
    for (let c = 0; c < 4; c++) {
      const col = [0, 1, 2, 3, 4, 5].map((r) => values[r * 4 + c]!);
      const mn = Math.min(...col);
      const scale = (Math.max(...col) - mn) / 3;
      for (let r = 0; r < 6; r++) {
        const expected = Math.round((col[r]! - mn) / scale) * scale + mn;
        expect(q[r * 4 + c]).toBeCloseTo(expected, 5);
      }
    }
  });

  it('errors: stochastic rounding picks the neighbour below or above according to the noise', async () => {
    const bits = 3;
    const mn = Math.min(...values);
    const scale = (Math.max(...values) - mn) / 7;
    const low = await backward(values, values.map(() => 0), bits);
    const high = await backward(values, values.map(() => 0.999999), bits);
    const onGrid = (q: number) => {
      const k = (q - mn) / scale;
      expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-3);
    };
    values.forEach((v, i) => {
      // noise 0 rounds down to the grid point at or below v; noise → 1 rounds up to the one at or above
      onGrid(low.grad[i]!);
      onGrid(high.grad[i]!);
      expect(low.grad[i]!).toBeLessThanOrEqual(v + 1e-5);
      expect(v - low.grad[i]!).toBeLessThan(scale + 1e-5);
      expect(high.grad[i]!).toBeGreaterThanOrEqual(v - 1e-5);
      expect(high.grad[i]! - v).toBeLessThan(scale + 1e-5);
    });
    expect(values.some((v, i) => high.grad[i]! - low.grad[i]! > scale / 2)).toBe(true);
  });

  it('errors: stochastic rounding is unbiased over the noise', async () => {
    const n = 400;
    const v = [0.3, -0.2, 0.71, 1, -1, 0.05, 0.5, 0.9];
    const shape = v.length;
    let sums = new Array(shape).fill(0);
    for (let t = 0; t < n; t++) {
      const noise = randomValues(shape, 1000 + t, 0, 1);
      const { grad } = await backward(v, noise, 2);
      sums = sums.map((s, i) => s + grad[i]!);
    }
    sums.forEach((s, i) => expect(s / n).toBeCloseTo(v[i]!, 1));
  });

  it('straight-through estimator: the forward quantizer passes the gradient unchanged', async () => {
    const g = new Graph('ste');
    const x = g.input('x', 'float32', [2, 3]);
    const b = g.input('bits', 'float32', []);
    const up = g.input('up', 'float32', [2, 3]);
    const y = quantizeActivations(g, x, b);
    const [grad] = gradients(g, y, [x], { seed: up });
    g.output(grad!, 'grad');
    const s = await session(g);
    const upstream = randomValues(6, 3);
    const out = await s.run({ x: f32([2, 3], randomValues(6, 4)), bits: f32([], [2]), up: f32([2, 3], upstream) });
    expect(Array.from(out.grad!.data as Float32Array)).toEqual(Array.from(Float32Array.from(upstream)));
  });
});
