/**
 * In-graph stochastic-rounding noise (src/quant/noise.ts): generated inside an ONNX Loop as in the
 * training model, checked bit for bit against the JS reference and statistically. Thresholds are
 * fixed: 4σ for means and correlations, χ² at its 1e-4 upper quantile. The keys are fixed too, so
 * every check is deterministic. The last block runs each check on noise that has the defect the
 * check looks for and shows it fails.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../src/graph/builder.js';
import { NOISE_COUNTER_ZERO, NOISE_UNIT, StepNoise, noiseCoefficients, noiseCounter, noiseReference } from '../src/quant/noise.js';
import { mixSeed } from '../src/util/random.js';
import { session } from './helpers/onnx.js';

type Float = 'float32' | 'float64';
type Then = (body: Graph, like: Value, u: Value) => Value;

/**
 * A Loop over one step per key whose body asks StepNoise for the noise of one tensor per layer
 * (outer inputs `like<l>` of shape [rows, …widths[l]]) and returns it (or `then` of it) per step.
 */
async function noiseSession(widths: readonly number[][], dtype: Float = 'float32', then?: Then): Promise<ort.InferenceSession> {
  const outer = new Graph('noise_test', dtype);
  const keys = outer.input('keys', 'uint32', ['steps']);
  const likes = widths.map((rest, l) => outer.input(`like${l}`, dtype, ['rows', ...rest]));
  const body = new Graph('noise_step', dtype, 'step/');
  const iter = body.input('step/iter', 'int64', []);
  const cond = body.input('step/cond_in', 'bool', []);
  const noise = new StepNoise(outer, keys, body, iter);
  const results = likes.map((like) => {
    const u = noise.emit(like);
    return then ? then(body, like, u) : u;
  });
  body.output(body.emit1('Identity', [cond], {}, 'bool', [], 'cond_out'));
  results.forEach((v) => body.output(v));
  const first = (v: Value) => outer.emit1('Squeeze', [outer.emit1('Shape', [v], { start: 0, end: 1 }, 'int64', [1]), outer.ints([0])], {}, 'int64', []);
  noise.finish(first(likes[0]!));
  const outs = outer.emit(
    'Loop',
    [first(keys), outer.constant('bool', [], [1])],
    { body: { kind: 'graph', value: body.toGraphData() } },
    results.map((v) => ({ dtype, shape: ['steps', ...v.shape!] })),
  );
  outs.forEach((v, l) => outer.output(v, `out${l}`));
  return session(outer);
}

/** Run it: out[layer][step] (values of layer `l` per step: rows·∏widths[l]). */
async function runNoise(
  s: ort.InferenceSession,
  keys: readonly number[],
  rows: number,
  widths: readonly number[][],
  dtype: Float = 'float32',
  likes?: readonly (Float32Array | Float64Array)[],
): Promise<(Float32Array | Float64Array)[][]> {
  const feeds: Record<string, ort.Tensor> = { keys: new ort.Tensor('uint32', Uint32Array.from(keys), [keys.length]) };
  widths.forEach((rest, l) => {
    const n = rows * rest.reduce((a, b) => a * b, 1);
    feeds[`like${l}`] = new ort.Tensor(dtype, likes?.[l] ?? (dtype === 'float32' ? new Float32Array(n) : new Float64Array(n)), [rows, ...rest]);
  });
  const out = await s.run(feeds);
  return widths.map((rest, l) => {
    const n = rows * rest.reduce((a, b) => a * b, 1);
    const data = out[`out${l}`]!.data as Float32Array | Float64Array;
    return keys.map((_, t) => data.subarray(t * n, (t + 1) * n));
  });
}

async function noise(keys: readonly number[], rows: number, widths: readonly number[][]): Promise<Float32Array[][]> {
  return (await runNoise(await noiseSession(widths), keys, rows, widths)) as Float32Array[][];
}

// ---- statistics -------------------------------------------------------------------------------

/** Upper 1e-4 quantile of χ² with 63 degrees of freedom (64 bins). */
const CHI2_64_BINS = 113.5;

function chiSquare(counts: Float64Array): number {
  let total = 0;
  for (const c of counts) total += c;
  const expected = total / counts.length;
  let chi = 0;
  for (const c of counts) chi += (c - expected) ** 2 / expected;
  return chi;
}

/** χ² of values in [0, 1) over 64 equal bins. */
function uniformityChi(values: ArrayLike<number>): number {
  const counts = new Float64Array(64);
  for (let i = 0; i < values.length; i++) counts[Math.floor(values[i]! * 64)]++;
  return chiSquare(counts);
}

/** |mean − ½| in units of the standard error of U[0,1). */
function meanZ(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return Math.abs(sum / values.length - 0.5) / Math.sqrt(1 / 12 / values.length);
}

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * Independence of two equally long noise vectors: Pearson r within 4/√n, and (y − x) mod 1 uniform
 * (χ² over 64 bins), which also catches y = (x + c) mod 1, whose r vanishes for c ≈ 0.21.
 */
function expectIndependent(x: ArrayLike<number>, y: ArrayLike<number>, what: string): void {
  const r = pearson(x, y);
  expect(Math.abs(r), `${what}: r = ${r}`).toBeLessThan(4 / Math.sqrt(x.length));
  const d = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) d[i] = (((y[i]! - x[i]!) % 1) + 1) % 1;
  const chi = uniformityChi(d);
  expect(chi, `${what}: χ² of the differences`).toBeLessThan(CHI2_64_BINS);
}

/** The two slices of `u` at distance d apart, x[i] = u[i], y[i] = u[i + d]. */
function strided(u: Float32Array, d: number): [Float32Array, Float32Array] {
  return [u.subarray(0, u.length - d), u.subarray(d)];
}

/**
 * The largest number of equal values x[i] = y[j] sharing one offset d = j − i, over all offsets.
 * A shifted copy (y[i] = x[i + d] on an overlap) gives the overlap's length; independent 24-bit
 * noise gives a few chance coincidences spread over ~2n offsets.
 */
function maxCoincidencesAtOneOffset(x: Float32Array, y: Float32Array): number {
  const encode = (u: Float32Array, side: number) => Float64Array.from(u, (v, i) => (v / NOISE_UNIT) * 2 ** 21 + i * 2 + side);
  const all = new Float64Array(x.length + y.length);
  all.set(encode(x, 0));
  all.set(encode(y, 1), x.length);
  all.sort();
  const byOffset = new Map<number, number>();
  let best = 0;
  for (let start = 0; start < all.length; ) {
    const value = Math.floor(all[start]! / 2 ** 21);
    let end = start;
    while (end < all.length && Math.floor(all[end]! / 2 ** 21) === value) end++;
    for (let a = start; a < end; a++) {
      for (let b = start; b < end; b++) {
        const ea = all[a]! % 2 ** 21;
        const eb = all[b]! % 2 ** 21;
        if (ea % 2 !== 0 || eb % 2 !== 1) continue;
        const d = (eb - 1) / 2 - ea / 2;
        const c = (byOffset.get(d) ?? 0) + 1;
        byOffset.set(d, c);
        best = Math.max(best, c);
      }
    }
    start = end;
  }
  return best;
}
/** Chance coincidences of n = 2^18 independent 24-bit values: ~n²/2^24 = 4096 over 2^19 offsets (≈ 0.008 each). */
const MAX_CHANCE_COINCIDENCES = 4;

/**
 * Stochastic rounding r = ⌊v + u⌋ of values v whose fractional parts f run over [0, 1): per bucket
 * of f (16 buckets), the z-score of mean(r − v), whose standard error is √(mean f(1−f) / count).
 */
function roundingBiasZ(v: Float32Array, rounded: readonly ArrayLike<number>[]): number[] {
  const buckets = 16;
  const sum = new Float64Array(buckets);
  const variance = new Float64Array(buckets);
  const count = new Float64Array(buckets);
  for (const r of rounded) {
    for (let i = 0; i < v.length; i++) {
      const f = v[i]! - Math.floor(v[i]!);
      const b = Math.floor(f * buckets);
      sum[b] += r[i]! - v[i]!;
      variance[b] += f * (1 - f);
      count[b]++;
    }
  }
  return Array.from(sum, (s, b) => Math.abs(s / count[b]!) / Math.sqrt(variance[b]! / count[b]! / count[b]!));
}

/**
 * Element pairs (i, j), i < j < n, whose hashed counters H(i), H(j) agree in their low 20 bits. For a
 * noise that is a T-function of H (Mul/Add only), u_j − u_i is then a multiple of 2^-12 at every key.
 */
function coupledPairs(n: number): [number, number][] {
  const first = new Map<number, number>();
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const low = noiseCounter(i) % 2 ** 20;
    const j = first.get(low);
    if (j === undefined) first.set(low, i);
    else pairs.push([j, i]);
  }
  return pairs;
}

/** χ² over 64 bins of ((u_j − u_i)·2^12) mod 1 over the coupled pairs, for each noise vector. */
function couplingChi(pairs: readonly [number, number][], noises: readonly ArrayLike<number>[]): number {
  const counts = new Float64Array(64);
  for (const u of noises) {
    for (const [i, j] of pairs) {
      const d = (u[j]! - u[i]!) * 2 ** 12;
      counts[Math.floor((d - Math.floor(d)) * 64)]++;
    }
  }
  return chiSquare(counts);
}

/** Keys as the trainer makes them: mixSeed(seed, purpose, step). */
const hostKey = (t: number) => mixSeed(7, 0x7015e, t);

// ---- tests ------------------------------------------------------------------------------------

describe('in-graph stochastic-rounding noise', () => {
  it('equals the JS reference bit for bit (several layers and keys, symbolic rows, float32 and float64)', async () => {
    const widths = [[1000], [4, 5, 6], [1]];
    const keys = [0, 1, 0xffffffff, 123456789, hostKey(0), hostKey(1)];
    for (const dtype of ['float32', 'float64'] as const) {
      const s = await noiseSession(widths, dtype);
      for (const rows of [3, 8]) {
        const out = await runNoise(s, keys, rows, widths, dtype);
        widths.forEach((rest, l) => {
          const n = rows * rest.reduce((a, b) => a * b, 1);
          keys.forEach((key, t) => {
            const ref = noiseReference(key, l, n);
            const got = out[l]![t]!;
            let mismatches = 0;
            for (let i = 0; i < n; i++) if (got[i] !== ref[i]) mismatches++;
            expect(mismatches, `${dtype} rows ${rows} layer ${l} key ${key}`).toBe(0);
          });
        });
      }
    }
  });

  it('is a pure function of (key, layer, element): same across runs, chunks, positions and batch sizes; different per key and layer', async () => {
    const widths = [[64, 8], [64, 8]];
    const s = await noiseSession(widths);
    const [k1, k2, k3] = [hostKey(10), hostKey(11), hostKey(12)];
    const a = await runNoise(s, [k1, k2, k3, k1], 16, widths);
    const b = await runNoise(await noiseSession(widths), [k3, k1], 32, widths);
    const n = 16 * 64 * 8;
    for (const l of [0, 1]) {
      expect(a[l]![3]).toEqual(a[l]![0]); // the same key later in the chunk
      expect(b[l]![1]!.subarray(0, n)).toEqual(a[l]![0]); // another session, position and batch size
      expect(b[l]![0]!.subarray(0, n)).toEqual(a[l]![2]);
    }
    const equal = (x: ArrayLike<number>, y: ArrayLike<number>) => {
      let c = 0;
      for (let i = 0; i < x.length; i++) if (x[i] === y[i]) c++;
      return c;
    };
    // independent 24-bit values coincide at n/2^24 ≈ 0.0005 positions here
    expect(equal(a[0]![0]!, a[0]![1]!)).toBeLessThanOrEqual(2); // other key
    expect(equal(a[0]![0]!, a[1]![0]!)).toBeLessThanOrEqual(2); // other layer
    expect(equal(noiseReference(k1, 0, n), noiseReference(k1 + 1, 0, n))).toBeLessThanOrEqual(2);
  });

  it('is uniform on [0, 1): mean within 4σ of ½, χ² over 64 bins, never 1 nor negative (2^20 values)', async () => {
    const [layer] = await noise([0, 1, 2, 3].map(hostKey), 64, [[4096]]);
    const all = new Float32Array(4 * 2 ** 18);
    layer!.forEach((u, t) => all.set(u, t * 2 ** 18));
    expect(meanZ(all)).toBeLessThan(4);
    expect(uniformityChi(all)).toBeLessThan(CHI2_64_BINS);
    for (const u of layer!) expect(uniformityChi(u)).toBeLessThan(CHI2_64_BINS);
    let min = Infinity;
    let max = -Infinity;
    for (const v of all) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(max).toBeLessThanOrEqual(1 - NOISE_UNIT);
  });

  it('pins no element to 0: the one counter hashed to 0 (the quadratics\' only zero) lies beyond 2^31', () => {
    expect(noiseCounter(NOISE_COUNTER_ZERO)).toBe(0);
    expect(NOISE_COUNTER_ZERO).toBeGreaterThanOrEqual(2 ** 31);
  });

  it('makes stochastic rounding ⌊v + u⌋ (in float32, in the graph) unbiased for fractional parts across [0, 1)', async () => {
    const widths = [[256]];
    const rows = 64;
    // v = integer part in [−8, 8) + fractional part (k + ½)/256, as quantizer inputs x/scale are
    const v = Float32Array.from({ length: rows * 256 }, (_, i) => ((i >> 8) % 16) - 8 + ((i % 256) + 0.5) / 256);
    const floor: Then = (g, like, u) => g.emit1('Floor', [g.emit1('Add', [like, u], {}, 'float32', like.shape, 'dither')], {}, 'float32', like.shape, 'rounded');
    const keys = Array.from({ length: 64 }, (_, t) => hostKey(1000 + t));
    const [rounded] = await runNoise(await noiseSession(widths, 'float32', floor), keys, rows, widths, 'float32', [v]);
    for (const [b, z] of roundingBiasZ(v, rounded!).entries()) expect(z, `fractional parts in [${b}/16, ${b + 1}/16)`).toBeLessThan(4);
  });

  it('is uncorrelated across steps (keys t, t+1, t+2^k), layers, and elements at risky strides', async () => {
    const widths = [[4096], [16, 16, 16]]; // 2^18 values per tensor; the second is [rows, C, H, W]
    const t0 = 1000;
    const keys = [t0, ...Array.from({ length: 32 }, (_, k) => t0 + 2 ** k), hostKey(0), hostKey(1), hostKey(2 ** 20)];
    const [u, w] = await noise(keys, 64, widths);
    for (const [t, key] of keys.entries()) {
      if (t === 0) continue;
      expectIndependent(u![0]!, u![t]!, `keys ${t0} and ${key}`);
      expectIndependent(w![0]!, w![t]!, `keys ${t0} and ${key}, rank-4 layer`);
    }
    expectIndependent(u![33]!, u![34]!, 'host keys of steps 0 and 1');
    expectIndependent(u![33]!, u![35]!, 'host keys of steps 0 and 2^20');
    expectIndependent(u![0]!, w![0]!, 'layers 0 and 1, same step');
    // within one tensor: neighbours, powers of two (rot16 works on 16-bit halves), the row stride 4096
    // (next sample, same position) and the channel stride 256 of the [rows, 16, 16, 16] tensor
    for (const d of [1, 2, 3, 4, 7, 16, 256, 4096, 2 ** 15, 2 ** 16, 2 ** 17]) {
      expectIndependent(...strided(u![0]!, d), `elements i and i + ${d}`);
      expectIndependent(...strided(w![0]!, d), `elements i and i + ${d}, rank-4 layer`);
    }
  });

  it('has no shifted copies: no key or layer reuses another one at any offset', async () => {
    const t0 = hostKey(5);
    const [u, w] = await noise([t0, t0 + 1, hostKey(6), hostKey(7)], 64, [[4096], [4096]]);
    const base = u![0]!;
    for (const [what, other] of [
      ['key + 1', u![1]!],
      ['next step', u![2]!],
      ['two steps on', u![3]!],
      ['next layer', w![0]!],
      ['next layer, next step', w![2]!],
    ] as const) {
      expect(maxCoincidencesAtOneOffset(base, other), what).toBeLessThanOrEqual(MAX_CHANCE_COINCIDENCES);
      for (const d of [1, 2, 3, 64, 4096]) {
        expectIndependent(base.subarray(d), other.subarray(0, other.length - d), `${what}, shifted by ${d}`);
        expectIndependent(base.subarray(0, base.length - d), other.subarray(d), `${what}, shifted by −${d}`);
      }
    }
  });

  it('has no coupling between elements whose hashed counters share their low bits', async () => {
    const pairs = coupledPairs(2 ** 20);
    expect(pairs.length).toBeGreaterThan(300_000);
    const [u] = await noise([0, 1, 2, 3].map(hostKey), 256, [[4096]]);
    expect(couplingChi(pairs, u!)).toBeLessThan(CHI2_64_BINS);
  });

  it('takes float tensors of shape [rows, …static dims], and none after finish()', () => {
    const outer = new Graph('noise_api');
    const keys = outer.input('keys', 'uint32', ['steps']);
    const body = new Graph('noise_api_step', 'float32', 'step/');
    const iter = body.input('step/iter', 'int64', []);
    expect(() => new StepNoise(outer, outer.input('keys64', 'int64', ['steps']), body, iter)).toThrow(/uint32/);
    const noise = new StepNoise(outer, keys, body, iter);
    expect(() => noise.emit(body.input('step/a', 'float32', ['rows', 'width']))).toThrow(/static dims/);
    expect(() => noise.emit(body.input('step/b', 'int64', ['rows', 3]))).toThrow(/float/);
    noise.emit(body.input('step/c', 'float32', ['rows', 3]));
    noise.finish(outer.input('rows', 'int64', []));
    expect(noise.layers).toBe(1);
    expect(() => noise.emit(body.input('step/d', 'float32', ['rows', 3]))).toThrow(/finish/);
  });

  describe('the checks fail on noise with the defect they look for', () => {
    const n = 2 ** 18;
    const u = noiseReference(hostKey(0), 0, n);
    const map = (f: (x: number, i: number) => number) => Float32Array.from(u, f);

    it('uniformity: u² and noise that never exceeds 0.98', () => {
      expect(meanZ(map((x) => x * x))).toBeGreaterThan(4);
      expect(uniformityChi(map((x) => x * x))).toBeGreaterThan(CHI2_64_BINS);
      expect(uniformityChi(map((x) => Math.min(x, 0.98)))).toBeGreaterThan(CHI2_64_BINS);
    });

    it('independence: equal, shifted by a constant mod 1, and weakly mixed noise', () => {
      expect(() => expectIndependent(u, u, 'same')).toThrow();
      expect(() => expectIndependent(u, map((x) => (x + 0.2113) % 1), 'rotated')).toThrow(/differences/);
      expect(() => expectIndependent(u, map((x, i) => (i % 50 === 0 ? x : u[(i * 7919) % n]!)), '2% shared')).toThrow();
    });

    it('independence across keys: H(i) + key through a Mul/Add/shift finalizer (lowbias32 with x += x >> s)', () => {
      const finalized = (key: number) =>
        Float32Array.from({ length: n }, (_, i) => {
          let x = (noiseCounter(i) + key) >>> 0;
          x = (x + (x >>> 16)) >>> 0;
          x = Math.imul(x, 0x7feb352d) >>> 0;
          x = (x + (x >>> 15)) >>> 0;
          x = Math.imul(x, 0x846ca68b) >>> 0;
          x = (x + (x >>> 16)) >>> 0;
          return (x >>> 8) * NOISE_UNIT;
        });
      expect(() => expectIndependent(finalized(1000), finalized(1002), 'keys t and t + 2')).toThrow();
    });

    it('shifted copies: a shifted window, and the old design (windows of one table at hashed offsets)', () => {
      const table = noiseReference(hostKey(1), 0, 2 * n);
      const window = (t: number) => table.subarray(hostKey(t) % (n / 2), (hostKey(t) % (n / 2)) + n); // overlapping by ≥ n/2
      expect(maxCoincidencesAtOneOffset(u, map((_, i) => u[(i + 3) % n]!))).toBeGreaterThan(n / 2);
      expect(maxCoincidencesAtOneOffset(window(0), window(1))).toBeGreaterThan(n / 2);
    });

    it('rounding bias: shrunk noise and round-to-nearest (u = ½)', () => {
      const v = Float32Array.from({ length: 4096 }, (_, i) => ((i >> 8) % 16) - 8 + ((i % 256) + 0.5) / 256);
      const draws = Array.from({ length: 64 }, (_, t) => noiseReference(hostKey(t), 0, v.length));
      const round = (f: (x: number) => number) => draws.map((d) => Float32Array.from(v, (x, i) => Math.floor(Math.fround(x + f(d[i]!)))));
      expect(Math.max(...roundingBiasZ(v, round((x) => x)))).toBeLessThan(4);
      expect(Math.max(...roundingBiasZ(v, round((x) => 0.9 * x)))).toBeGreaterThan(4);
      expect(Math.max(...roundingBiasZ(v, round(() => 0.5)))).toBeGreaterThan(4);
    });

    it('coupling: one keyed quadratic of the counter without the rotation and second quadratic', () => {
      const pairs = coupledPairs(2 ** 20);
      const count = 2 ** 20;
      const single = [0, 1].map((t) => {
        const [a, b] = noiseCoefficients(hostKey(t), 0);
        return Float32Array.from({ length: count }, (_, i) => {
          const x = noiseCounter(i);
          return (Math.imul((Math.imul(a, x) + b) >>> 0, x) >>> 8) * NOISE_UNIT;
        });
      });
      expect(couplingChi(pairs, single)).toBeGreaterThan(100 * CHI2_64_BINS);
    });
  });
});
