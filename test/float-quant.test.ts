/**
 * The float and MX quantizer graphs (src/quant/float-quant.ts) against the float64 reference
 * (src/formats/reference.ts), bit for bit: results are compared as float32 bit patterns, so −0 vs
 * +0 counts and NaN must stay NaN. Edge values come from the format definitions written down here
 * (IEEE 754, OCP OFP8, OCP MX v1.0), not from the code under test. One session per graph, the
 * format descriptor is an input: every format runs through the same session.
 */
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/util/random.js';
import { Graph, type Value } from '../src/graph/builder.js';
import {
  BF16,
  FP16,
  FP4_E2M1,
  FP6_E2M3,
  FP6_E3M2,
  FP8_E4M3,
  FP8_E5M2,
  MXFP4,
  MXFP6_E2M3,
  MXFP6_E3M2,
  MXFP8_E4M3,
  MXFP8_E5M2,
  MXINT8,
  TF32,
  parseNumberFormat,
  type BlockFormat,
  type FloatFormat,
} from '../src/formats/number-format.js';
import { quantizeBlock, quantizeFloat } from '../src/formats/reference.js';
import { FORMAT_FIELDS, FORMAT_KIND, emitFloatQuantize, formatDescriptor } from '../src/quant/float-quant.js';
import { f32, session } from './helpers/onnx.js';

// ---------------------------------------------------------------- float32 bits

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);
function fromBits(bits: number): number {
  scratchBits[0] = bits >>> 0;
  return scratch[0]!;
}
function toBits(v: number): number {
  scratch[0] = v;
  return scratchBits[0]!;
}
/** The next float32 above / below a positive float32. */
const nextUp = (v: number) => fromBits(toBits(v) + 1);
const nextDown = (v: number) => fromBits(toBits(v) - 1);
const FLT_MAX = fromBits(0x7f7fffff);


/** A random float32: random sign and 23-bit mantissa, binary exponent uniform in [lo, hi] (subnormal below −126). */
function randomFloat(next: () => number, lo: number, hi: number): number {
  const e = lo + (next() % (hi - lo + 1));
  const mantissa = next() & 0x7fffff;
  const sign = next() & 1 ? 0x80000000 : 0;
  if (e >= -126) return fromBits(sign | ((Math.min(e, 127) + 127) << 23) | mantissa);
  return fromBits(sign | (mantissa >>> Math.min(23, -126 - e)) | (1 << Math.max(0, 23 - (-126 - e)))); // a subnormal near 2^e
}

function show(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/**
 * Compares float32 results with float64 reference values bit for bit (any NaN equals any NaN). The
 * reference value itself must be a float32 (every value of these formats is).
 */
function expectBits(got: Float32Array, want: ArrayLike<number>, inputs: ArrayLike<number>, what: string): void {
  expect(got.length).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < got.length; i++) {
    const w = want[i]!;
    if (!Number.isNaN(w) && Math.fround(w) !== w) throw new Error(`${what}: reference value ${w} is not a float32`);
    const same = Number.isNaN(w) ? Number.isNaN(got[i]!) : toBits(got[i]!) === toBits(w);
    if (!same && bad.length < 8) bad.push(`x = ${show(inputs[i]!)} (0x${toBits(inputs[i]!).toString(16)}): got ${show(got[i]!)}, want ${show(w)}`);
  }
  expect(bad, `${what}: mismatches`).toEqual([]);
}

// ---------------------------------------------------------------- the formats, from their specs

interface Spec {
  format: FloatFormat;
  /** exponent bits, mantissa bits, bias and the largest finite value, from the standards */
  e: number;
  m: number;
  bias: number;
  max: number;
  /** what a value beyond max becomes (IEEE: Inf; E4M3, FP6, FP4: saturate, as chosen in docs/number-formats.md) */
  overflow: 'inf' | 'saturate';
}

const SPECS: Spec[] = [
  { format: FP16, e: 5, m: 10, bias: 15, max: 65504, overflow: 'inf' }, // IEEE binary16: (2 − 2^−10)·2^15
  { format: BF16, e: 8, m: 7, bias: 127, max: (2 - 2 ** -7) * 2 ** 127, overflow: 'inf' },
  { format: TF32, e: 8, m: 10, bias: 127, max: (2 - 2 ** -10) * 2 ** 127, overflow: 'inf' },
  { format: FP8_E4M3, e: 4, m: 3, bias: 7, max: 448, overflow: 'saturate' }, // OFP8: S.1111.110 = 1.75·2^8
  { format: FP8_E5M2, e: 5, m: 2, bias: 15, max: 57344, overflow: 'inf' }, // OFP8: S.11110.11 = 1.75·2^15
  { format: FP6_E3M2, e: 3, m: 2, bias: 3, max: 28, overflow: 'saturate' }, // MX: 1.75·2^4
  { format: FP6_E2M3, e: 2, m: 3, bias: 1, max: 7.5, overflow: 'saturate' }, // MX: 1.875·2^2
  { format: FP4_E2M1, e: 2, m: 1, bias: 1, max: 6, overflow: 'saturate' }, // MX: 1.5·2^2
];

/** Derived limits (computed here from the spec numbers). */
function limits(s: Spec) {
  const emin = 1 - s.bias;
  let emax = 0;
  while (2 ** (emax + 1) <= s.max) emax++;
  return { emin, emax, minNormal: 2 ** emin, minSub: 2 ** (emin - s.m), topUlp: 2 ** (emax - s.m) };
}

/** Magnitudes at the edges of a format: its limits, ties, the overflow boundary. */
function edgeMagnitudes(s: Spec): number[] {
  const { emax, minNormal, minSub, topUlp } = limits(s);
  const q = 2 ** -s.m; // quantum at 1
  const mid = s.max + topUlp / 2; // overflow boundary: max + half an ulp
  const out = [
    0,
    minSub,
    minSub / 2, // tie between 0 and minSub → 0 (even)
    nextUp(minSub / 2), // just above half → minSub
    nextDown(minSub / 2),
    minSub / 4,
    1.5 * minSub, // subnormal ties → even: 2·minSub
    2.5 * minSub, // → 2·minSub
    3.5 * minSub, // → 4·minSub
    minSub * 3,
    minNormal,
    nextDown(minNormal),
    nextUp(minNormal),
    minNormal - minSub / 2, // tie between the largest subnormal (odd) and minNormal → minNormal
    minNormal - 1.5 * minSub,
    1,
    1 + q / 2, // tie → 1 (even)
    1 + (3 * q) / 2, // tie → 1 + 2q (even)
    2 - q / 2, // tie → 2
    nextDown(2),
    nextUp(1),
    nextDown(1),
    3 + q, // off-tie
    s.max,
    nextDown(s.max),
    nextUp(s.max),
    s.max - topUlp / 2, // tie between max − ulp and max
    mid, // overflow boundary: Inf for IEEE (max is odd), max when saturating
    nextDown(mid),
    nextUp(mid),
    s.max + topUlp, // the next value up beyond the format
    2 ** (emax + 1),
    2 * s.max,
    1e30,
    FLT_MAX,
    Infinity,
  ];
  // every float32 power of two and its neighbours (the whole exponent range: bf16 subnormals down to 2^−133)
  for (let k = -149; k <= 127; k++) {
    const p = 2 ** k;
    out.push(p, nextUp(p));
    if (k > -149) out.push(nextDown(p));
  }
  return out.filter((v) => Math.fround(v) === v);
}

function floatInputs(s: Spec, seed: number): number[] {
  const { emin, emax } = limits(s);
  const next = rng(seed);
  const values: number[] = [];
  for (const a of edgeMagnitudes(s)) values.push(a, -a);
  values.push(NaN, -NaN);
  for (let i = 0; i < 3000; i++) values.push(randomFloat(next, emin - s.m - 4, emax + 2));
  for (let i = 0; i < 300; i++) values.push(randomFloat(next, -150, 127));
  return values;
}

// ---------------------------------------------------------------- graphs

type Sessions = Awaited<ReturnType<typeof session>>;

/** Scalar formats: nearest [n,1], stochastic with u in [0,1) [n,1], stochastic with raw draws (unit 2^−24). */
async function scalarSession(): Promise<Sessions> {
  const g = new Graph('float_quant');
  const desc = g.input('desc', 'float32', [FORMAT_FIELDS]);
  const x = g.input('x', 'float32', ['n', 1]);
  const xs = g.input('xs', 'float32', ['ns', 1]);
  const u = g.input('u', 'float32', ['ns', 1]);
  const xr = g.input('xr', 'float32', ['nr', 1]);
  const raw = g.input('raw', 'float32', ['nr', 1]);
  g.output(emitFloatQuantize(g, x, desc), 'y');
  g.output(emitFloatQuantize(g, xs, desc, { noise: { value: u, unit: 1 } }), 'ys');
  g.output(emitFloatQuantize(g, xr, desc, { noise: { value: raw, unit: 2 ** -24 } }), 'yr');
  return session(g);
}

const MX_SHAPES = {
  x32: { shape: ['r', 32], axis: undefined }, // last axis (default)
  x64: { shape: ['r', 64], axis: 1 },
  x40: { shape: ['r', 40], axis: undefined }, // a short last block (8)
  x0: { shape: [40, 'c'], axis: 0 }, // blocks along axis 0
  x3: { shape: ['r', 40, 3], axis: 1 }, // a middle axis, static trailing dims
  xd: { shape: [2, 70, 'c'], axis: 1 }, // a middle axis, trailing dim read at run time
} as const;
type MxInput = keyof typeof MX_SHAPES;

async function mxSession(): Promise<Sessions> {
  const g = new Graph('mx_quant');
  const desc = g.input('desc', 'float32', [FORMAT_FIELDS]);
  for (const [name, { shape, axis }] of Object.entries(MX_SHAPES)) {
    const x = g.input(name, 'float32', shape);
    g.output(emitFloatQuantize(g, x, desc, { blockAxis: axis }), `y_${name}`);
  }
  const xs = g.input('xs', 'float32', ['r', 40]);
  const u = g.input('u', 'float32', ['r', 40]);
  g.output(emitFloatQuantize(g, xs, desc, { noise: { value: u, unit: 1 } }), 'y_xs');
  return session(g);
}

const descTensor = (d: Float32Array) => new ort.Tensor('float32', d, [FORMAT_FIELDS]);
const column = (v: ArrayLike<number>) => f32([v.length, 1], v);
const DUMMY = column([0]);

let scalar: Sessions;
let mx: Sessions;
beforeAll(async () => {
  [scalar, mx] = await Promise.all([scalarSession(), mxSession()]);
});

async function runScalar(format: FloatFormat, feeds: { x?: number[]; xs?: number[]; u?: number[]; xr?: number[]; raw?: number[] }) {
  const out = await scalar.run({
    desc: descTensor(formatDescriptor(format)),
    x: feeds.x ? column(feeds.x) : DUMMY,
    xs: feeds.xs ? column(feeds.xs) : DUMMY,
    u: feeds.u ? column(feeds.u) : DUMMY,
    xr: feeds.xr ? column(feeds.xr) : DUMMY,
    raw: feeds.raw ? column(feeds.raw) : DUMMY,
  });
  return { y: out.y!.data as Float32Array, ys: out.ys!.data as Float32Array, yr: out.yr!.data as Float32Array };
}

// ---------------------------------------------------------------- descriptors

describe('format descriptors', () => {
  it('are [kind, m, emin, emax, maxFinite, overflowInf] from the format definitions', () => {
    const d = (name: string) => Array.from(formatDescriptor(parseNumberFormat(name)));
    expect(d('int8')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(d('uint4')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(d('fp32')).toEqual([0, 0, 0, 0, 0, 0]);
    expect(d('fp16')).toEqual([FORMAT_KIND.float, 10, -14, 15, 65504, 1]);
    expect(d('bf16')).toEqual([1, 7, -126, 127, Math.fround((2 - 2 ** -7) * 2 ** 127), 1]);
    expect(d('fp8-e4m3')).toEqual([1, 3, -6, 8, 448, 0]);
    expect(d('fp8-e5m2')).toEqual([1, 2, -14, 15, 57344, 1]);
    expect(d('fp6-e3m2')).toEqual([1, 2, -2, 4, 28, 0]);
    expect(d('fp6-e2m3')).toEqual([1, 3, 0, 2, 7.5, 0]);
    expect(d('fp4-e2m1')).toEqual([1, 1, 0, 2, 6, 0]);
    expect(d('mxfp8-e4m3')).toEqual([FORMAT_KIND.block, 3, -6, 8, 448, 0]);
    expect(d('mxfp8-e5m2')).toEqual([2, 2, -14, 15, 57344, 0]); // MX elements saturate
    expect(d('mxfp4')).toEqual([2, 1, 0, 2, 6, 0]);
    expect(d('mxint8')).toEqual([2, 6, 0, 0, 127 / 64, 0]); // fixed point: k/64, |k| ≤ 127
  });

  it('refuse a float format without subnormals, saying so', () => {
    expect(() => formatDescriptor({ ...FP8_E4M3, subnormals: false })).toThrow(/without subnormals/);
  });

  it('the spec table matches the named formats', () => {
    for (const s of SPECS) {
      expect([s.format.exponentBits, s.format.mantissaBits, s.format.bias, s.format.maxFinite, s.format.overflow], s.format.name).toEqual([s.e, s.m, s.bias, s.max, s.overflow]);
    }
  });
});

// ---------------------------------------------------------------- onnxruntime's arithmetic

describe('onnxruntime arithmetic the quantizers rely on', () => {
  it('Pow(2, k) is exact for every k in [−149, 127]; no op flushes subnormals; ulp(p) = (p·(1+2^−23)) − (p·(1+2^−23))·(1−2^−24)', async () => {
    const g = new Graph('ops');
    const k = g.input('k', 'float32', ['n']);
    const x = g.input('x', 'float32', ['m']);
    const p = g.input('p', 'float32', ['q']);
    const op = (type: string, inputs: Value[], hint: string) => g.emit1(type, inputs, {}, 'float32', ['m'], hint);
    g.output(g.emit1('Pow', [g.scalar(2), k], {}, 'float32', ['n'], 'pow'), 'pow');
    g.output(op('Mul', [x, g.scalar(0.5)], 'half'), 'half');
    g.output(op('Div', [x, g.scalar(2 ** -127)], 'div'), 'div');
    g.output(op('Mul', [op('Div', [x, g.scalar(2 ** -127)], 'div2'), g.scalar(2 ** -127)], 'roundtrip'), 'roundtrip');
    g.output(op('Sub', [x, g.scalar(2 ** -149)], 'sub'), 'sub');
    g.output(op('Abs', [x], 'abs'), 'abs');
    g.output(op('Clip', [x, g.scalar(-(2 ** -127)), g.scalar(2 ** -127)], 'clip'), 'clip');
    const q = g.emit1('Mul', [p, g.scalar(1 + 2 ** -23)], {}, 'float32', ['q'], 'q');
    const r = g.emit1('Mul', [q, g.scalar(1 - 2 ** -24)], {}, 'float32', ['q'], 'r');
    g.output(g.emit1('Sub', [q, r], {}, 'float32', ['q'], 'ulp'), 'ulp');
    const s = await session(g);

    const ks = Array.from({ length: 277 }, (_, i) => i - 149);
    const next = rng(7);
    const xs = [2 ** -149, 3 * 2 ** -149, 1.5 * 2 ** -130, -(2 ** -140), 2 ** -126, nextDown(2 ** -126), ...Array.from({ length: 200 }, () => randomFloat(next, -149, -120))];
    const ps: number[] = [];
    // the claim's domain, [2^−126, 2^127] (the quantizers clamp into it)
    for (let e = -126; e < 127; e++) ps.push(2 ** e, nextUp(2 ** e), nextDown(2 ** (e + 1)), ...Array.from({ length: 20 }, () => Math.abs(randomFloat(next, e, e))));
    ps.push(2 ** 127);
    const out = await s.run({ k: f32([ks.length], ks), x: f32([xs.length], xs), p: f32([ps.length], ps) });
    const fx = Float32Array.from(xs);
    expectBits(out.pow!.data as Float32Array, ks.map((e) => 2 ** e), ks, 'Pow(2, k)');
    expectBits(out.half!.data as Float32Array, Array.from(fx, (v) => Math.fround(v * 0.5)), fx, 'Mul');
    expectBits(out.div!.data as Float32Array, Array.from(fx, (v) => v / 2 ** -127), fx, 'Div');
    expectBits(out.roundtrip!.data as Float32Array, fx, fx, 'Div then Mul');
    expectBits(out.sub!.data as Float32Array, Array.from(fx, (v) => Math.fround(v - 2 ** -149)), fx, 'Sub');
    expectBits(out.abs!.data as Float32Array, Array.from(fx, Math.abs), fx, 'Abs');
    expectBits(out.clip!.data as Float32Array, Array.from(fx, (v) => Math.min(2 ** -127, Math.max(-(2 ** -127), v))), fx, 'Clip');
    const ulpOf = (v: number) => {
      let e = -126;
      while (2 ** (e + 1) <= v) e++;
      return 2 ** (e - 23);
    };
    expectBits(out.ulp!.data as Float32Array, ps.map(ulpOf), ps, 'ulp');
  });
});

// ---------------------------------------------------------------- scalar float formats

describe('float formats (kind 1) equal quantizeFloat bit for bit', () => {
  it('round to nearest even: edges, ±0, ±Inf, NaN and random values over a wide exponent range', async () => {
    for (const [i, s] of SPECS.entries()) {
      const x = floatInputs(s, 100 + i);
      const { y } = await runScalar(s.format, { x });
      const fx = Float32Array.from(x);
      expectBits(y, Array.from(fx, (v) => quantizeFloat(v, s.format)), fx, s.format.name);
    }
  });

  it('the hand-worked cases', async () => {
    const cases: [FloatFormat, number, number][] = [
      [FP16, 65519, 65504],
      [FP16, 65520, Infinity], // 65504 + ulp/2, max's mantissa is odd → up → Inf
      [FP16, -65520, -Infinity],
      [FP16, 2 ** -25, 0], // half the min subnormal → 0 (even)
      [FP16, -(2 ** -25), -0],
      [FP16, nextUp(2 ** -25), 2 ** -24],
      [FP16, 1 + 2 ** -11, 1],
      [FP16, 1 + 3 * 2 ** -11, 1 + 2 ** -9],
      [BF16, 2 ** -134, 0],
      [BF16, -(2 ** -134), -0],
      [BF16, 3 * 2 ** -134, 2 ** -132], // 1.5 minSub → 2 minSub
      [BF16, 2 ** -133, 2 ** -133],
      [BF16, Infinity, Infinity],
      [FP8_E4M3, 464, 448], // saturates
      [FP8_E4M3, 480, 448],
      [FP8_E4M3, -Infinity, -448],
      [FP8_E4M3, 2 ** -10, 0],
      [FP8_E4M3, -(2 ** -10), -0],
      [FP8_E5M2, 61440, Infinity],
      [FP8_E5M2, 61439, 57344],
      [FP4_E2M1, 5, 4], // tie between 4 and 6 → 4 (even)
      [FP4_E2M1, 7, 6],
      [FP4_E2M1, 0.25, 0], // tie → 0
      [FP4_E2M1, -0.25, -0],
      [FP4_E2M1, 0.75, 1], // tie between 0.5 and 1 → 1
      [FP6_E2M3, 7.75, 7.5],
      [FP6_E3M2, 1e9, 28],
      [FP16, -0, -0],
      [FP16, NaN, NaN],
    ];
    for (const [format, x, want] of cases) {
      const { y } = await runScalar(format, { x: [x] });
      expectBits(y, [want], [x], `${format.name} hand-worked`);
      expectBits(Float32Array.of(quantizeFloat(x, format)), [want], [x], `${format.name} reference`);
    }
  });

  it('stochastic rounding equals the reference for every draw (24-bit and finer draws, u next to 1, ties u = frac)', async () => {
    for (const [i, s] of SPECS.entries()) {
      const next = rng(300 + i);
      // k/256 (ties with on-grid fractions), a 24-bit draw (the in-graph generator's), or any float32 in [0, 1)
      const draw = () => [(next() % 256) / 256, (next() >>> 8) * 2 ** -24, Math.abs(randomFloat(next, -40, -1))][next() % 3]!;
      const { emin, emax } = limits(s);
      const xs: number[] = [];
      const us: number[] = [];
      const push = (x: number, u: number) => {
        xs.push(x);
        us.push(u);
      };
      for (const a of edgeMagnitudes(s)) for (const u of [0, 0.5, 255 / 256, 1 - 2 ** -24, draw()]) push(next() & 1 ? -a : a, u);
      for (const u of [0, 0.25, 0.75]) push(NaN, u);
      for (let j = 0; j < 3000; j++) push(randomFloat(next, emin - s.m - 4, emax + 2), draw());
      // on-grid fraction j/256 of a quantum with u = j/256 exactly (the reference rounds down at u = frac)
      for (let j = 0; j < 400; j++) {
        const e = emin + (next() % (emax - emin + 1));
        const quantum = 2 ** (e - s.m);
        const frac = (next() % 256) / 256;
        const x = (2 ** s.m + (next() % 2 ** s.m) + frac) * quantum;
        if (Math.fround(x) === x) push(next() & 1 ? -x : x, next() & 1 ? frac : draw());
      }
      // representable values with draws next to 1 stay put (reference: frac = 0 never rounds up)
      for (let j = 0; j < 200; j++) push(quantizeFloat(randomFloat(next, emin - s.m, emax), s.format), 1 - (1 + (next() % 4)) * 2 ** -24);
      const { ys, yr } = await runScalar(s.format, { xs, u: us, xr: xs, raw: us.map((u) => u * 2 ** 24) });
      const fx = Float32Array.from(xs);
      const want = Array.from(fx, (v, j) => quantizeFloat(v, s.format, { stochastic: us[j]! }));
      expectBits(ys, want, fx, `${s.format.name} stochastic`);
      expectBits(yr, want, fx, `${s.format.name} stochastic (raw draws × 2^-24)`);
    }
  });

  it('stochastic rounding is unbiased: the mean of many roundings of one value is the value', async () => {
    const n = 4096;
    const cases: [FloatFormat, number][] = [
      [FP8_E4M3, 0.3],
      [FP8_E4M3, -3.1],
      [FP4_E2M1, 0.3], // subnormal range of fp4 (quantum 0.5)
      [FP4_E2M1, -5.2],
      [FP16, 1e-6],
      [BF16, -1.23456e-3],
      [FP8_E5M2, 2 ** -15 * 1.3], // subnormal
    ];
    const next = rng(11);
    for (const [format, v] of cases) {
      const u = Array.from({ length: n }, () => (next() >>> 8) * 2 ** -24);
      const { ys } = await runScalar(format, { xs: new Array<number>(n).fill(v), u });
      const lo = quantizeFloat(v, format, { stochastic: 0.9999999 });
      const hi = quantizeFloat(v, format, { stochastic: 0 });
      const step = Math.abs(hi - lo);
      const mean = ys.reduce((a, b) => a + b, 0) / n;
      expect(ys.filter((q) => q !== lo && q !== hi), `${format.name}: every result is a neighbour of ${v}`).toEqual(new Float32Array(0));
      // the error of one rounding is within one step: its mean over n draws within 4 standard errors
      expect(Math.abs(mean - Math.fround(v)), `${format.name} mean of ${v}`).toBeLessThan((4 * step) / (2 * Math.sqrt(n)));
    }
  });
});

// ---------------------------------------------------------------- MX block formats

const MX_FORMATS: BlockFormat[] = [MXFP8_E4M3, MXFP8_E5M2, MXFP6_E3M2, MXFP6_E2M3, MXFP4, MXINT8];

/** The largest element value of an MX element format, from the specs (MXINT8: 127/64). */
const ELEMENT_MAX: Record<string, number> = { 'mxfp8-e4m3': 448, 'mxfp8-e5m2': 57344, 'mxfp6-e3m2': 28, 'mxfp6-e2m3': 7.5, mxfp4: 6, mxint8: 127 / 64 };

/** Reference for a tensor of `shape` (row-major) with blocks along `axis`. */
function mxReference(values: Float32Array, shape: number[], axis: number, format: BlockFormat, uniforms?: number[]): Float64Array {
  const out = new Float64Array(values.length);
  const length = shape[axis]!;
  const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < stride; t++) {
      const index = (i: number) => o * length * stride + i * stride + t;
      const line = Float64Array.from({ length }, (_, i) => values[index(i)]!);
      const u = uniforms && Float64Array.from({ length }, (_, i) => uniforms[index(i)]!);
      const q = quantizeBlock(line, format, u).values;
      for (let i = 0; i < length; i++) out[index(i)] = q[i]!;
    }
  }
  return out;
}

/** A block of `n` values: random signs and mantissas within `spread` binades below 2^top, some zeros. */
function randomBlock(next: () => number, n: number, top: number, spread: number): number[] {
  return Array.from({ length: n }, () => (next() % 16 === 0 ? (next() & 1 ? -0 : 0) : randomFloat(next, Math.max(-149, top - spread), top)));
}

/** Blocks of 32 that exercise the scale: zeros, NaN/Inf, amax at a power of two, tiny and huge amax, element ties. */
function specialBlocks(format: BlockFormat, next: () => number): number[][] {
  const emaxElem = Math.floor(Math.log2(ELEMENT_MAX[format.name]!));
  const blocks: number[][] = [];
  const fill = (head: number[], tail: () => number) => [...head, ...Array.from({ length: 32 - head.length }, tail)];
  blocks.push(new Array<number>(32).fill(0)); // a block of zeros → X = 2^−127, zeros
  blocks.push(fill([-0, 0, -0], () => 0)); // signed zeros
  blocks.push(fill([NaN], () => randomFloat(next, -3, 3))); // NaN → the whole block NaN
  blocks.push(fill([1, -2, 3, 0.5, -0, NaN], () => randomFloat(next, -3, 3))); // (onnxruntime's ReduceMax sees a NaN only at position 0)
  blocks.push([...Array.from({ length: 31 }, () => randomFloat(next, -3, 3)), NaN]);
  blocks.push(fill([1, 2, Infinity], () => randomFloat(next, -3, 3)));
  blocks.push(fill([-Infinity], () => 0));
  blocks.push(fill([8, -8, 7.99, 1, 0.5, 3], () => randomFloat(next, -10, 2))); // amax exactly 2^3
  blocks.push(fill([nextDown(8), 4], () => randomFloat(next, -10, 2))); // amax just below 2^3
  blocks.push(fill([-(2 ** 100), 2 ** 99], () => randomFloat(next, 60, 99)));
  blocks.push(fill([FLT_MAX, -FLT_MAX], () => randomFloat(next, 100, 127))); // the largest scale
  blocks.push(fill([2 ** -130, -(2 ** -140)], () => randomFloat(next, -149, -131))); // tiny amax → X = 2^−127
  blocks.push(fill([nextDown(2 ** -126), 2 ** -127], () => randomFloat(next, -149, -127))); // amax in [2^−127, 2^−126)
  blocks.push(fill([2 ** -126, 2 ** -149], () => randomFloat(next, -149, -126)));
  blocks.push(fill([2 ** (emaxElem + 4)], () => randomFloat(next, -20, emaxElem + 4))); // a wide block: small values underflow (→ ±0)
  // element ties: amax 1 (X = 2^−emax_elem): values k/2^(m+1) in element units
  blocks.push(fill([2 ** emaxElem * 1.5], () => ((next() % 512) - 256) / 64));
  blocks.push(fill([ELEMENT_MAX[format.name]! * 1.03], () => ELEMENT_MAX[format.name]! * (next() & 1 ? 1.02 : -1.01))); // elements beyond the max saturate
  return blocks;
}

async function runMx(format: BlockFormat, feeds: Record<string, { data: number[]; shape: number[] }>) {
  const inputs: Record<string, ort.Tensor> = { desc: descTensor(formatDescriptor(format)) };
  for (const [name, { data, shape }] of Object.entries(feeds)) inputs[name] = f32(shape, data);
  const out = await mx.run(inputs);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

describe('MX block formats (kind 2) equal quantizeBlock bit for bit', () => {
  it('blocks along the last axis (32, 64, 40), axis 0 and a middle axis; zeros, NaN/Inf blocks, scale edges; stochastic elements', async () => {
    for (const [fi, format] of MX_FORMATS.entries()) {
      const next = rng(500 + fi);
      const special = specialBlocks(format, next);
      const rows = (n: number, width: number, extra: number[][]) => {
        const data: number[] = [];
        for (let r = 0; r < n; r++) {
          if (r < extra.length) data.push(...extra[r]!.slice(0, width), ...randomBlock(next, Math.max(0, width - extra[r]!.length), -2, 6));
          else {
            const top = (next() % 260) - 135;
            data.push(...randomBlock(next, width, Math.min(127, top), 1 + (next() % 30)));
          }
        }
        return data;
      };
      const feeds: Record<MxInput | 'xs' | 'u', { data: number[]; shape: number[] }> = {
        x32: { data: rows(special.length + 40, 32, special), shape: [special.length + 40, 32] },
        x64: { data: rows(special.length + 20, 64, special.map((b, i) => [...b, ...(special[(i + 3) % special.length] ?? [])])), shape: [special.length + 20, 64] },
        x40: { data: rows(special.length + 20, 40, special.map((b, i) => [...b, ...special[(i + 1) % special.length]!.slice(0, 8)])), shape: [special.length + 20, 40] },
        x0: { data: [], shape: [40, 7] },
        x3: { data: [], shape: [9, 40, 3] },
        xd: { data: [], shape: [2, 70, 5] },
        xs: { data: [], shape: [30, 40] },
        u: { data: [], shape: [30, 40] },
      };
      // axis 0 / middle axes: special blocks laid along the axis
      const along = (shape: number[], axis: number) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const data = rows(1, size, []).map((v) => v);
        const length = shape[axis]!;
        const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
        const outer = size / (length * stride);
        let line = 0;
        for (let o = 0; o < outer; o++) {
          for (let t = 0; t < stride; t++, line++) {
            const block = special[line % special.length]!;
            for (let i = 0; i < Math.min(length, 32); i++) data[o * length * stride + i * stride + t] = block[i]!;
            if (line % 3 === 0) for (let i = 32; i < length; i++) data[o * length * stride + i * stride + t] = block[(i - 32) % 32]!;
          }
        }
        return data;
      };
      feeds.x0.data = along(feeds.x0.shape, 0);
      feeds.x3.data = along(feeds.x3.shape, 1);
      feeds.xd.data = along(feeds.xd.shape, 1);
      feeds.xs.data = rows(30, 40, special);
      feeds.u.data = feeds.xs.data.map((_, j) => (j % 3 === 0 ? 1 - 2 ** -24 : j % 3 === 1 ? (next() % 256) / 256 : (next() >>> 8) * 2 ** -24));

      const out = await runMx(format, feeds);
      for (const name of Object.keys(MX_SHAPES) as MxInput[]) {
        const { data, shape } = feeds[name];
        const axis = MX_SHAPES[name].axis ?? shape.length - 1;
        const fx = Float32Array.from(data);
        expectBits(out[`y_${name}`]!, mxReference(fx, shape, axis, format), fx, `${format.name} ${name} [${shape.join(', ')}] axis ${axis}`);
      }
      const fx = Float32Array.from(feeds.xs.data);
      expectBits(out.y_xs!, mxReference(fx, feeds.xs.shape, 1, format, feeds.u.data), fx, `${format.name} stochastic`);
    }
  });

  it('hand-worked blocks: a scale from amax at a power of two, saturation, zeros and NaN', async () => {
    const block = (head: number[]) => [...head, ...new Array<number>(32 - head.length).fill(0)];
    const x32 = [
      block([1000, 1]), // e4m3: X = 2^(9 − 8) = 2; 1000/2 = 500 → 448 → 896; 1/2 = 0.5 → 1
      block([8, 0.3]), // amax 2^3: X = 2^(3 − 8) = 1/32; 0.3·32 = 9.6 → 10 (quantum 1 in [8, 16)) → 0.3125
      block([-0]), // zeros, −0 kept (float elements)
      block([NaN, 1]),
    ].flat();
    const none = (shape: number[]) => ({ data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0), shape });
    const feeds = { x32: { data: x32, shape: [4, 32] }, x64: none([1, 64]), x40: none([1, 40]), x0: none([40, 1]), x3: none([1, 40, 3]), xd: none([2, 70, 1]), xs: none([1, 40]), u: none([1, 40]) };
    const out = await runMx(MXFP8_E4M3, feeds);
    const y = out.y_x32!;
    expect([y[0], y[1], y[32], y[33]]).toEqual([896, 1, 8, 0.3125]);
    expect(Object.is(y[64], -0) && Object.is(y[65], 0)).toBe(true);
    expect(Array.from(y.slice(96, 128)).every(Number.isNaN)).toBe(true);
    // MXINT8: the integers have one zero (−0 → +0); 1.5/64 rounds to 2/64 (even), −127.6/64 saturates at −127/64
    const outInt = await runMx(MXINT8, { ...feeds, x32: { data: block([-0, -0.001, 1, 1.5 / 64, -127.6 / 64]).concat(new Array<number>(96).fill(0)), shape: [4, 32] } });
    const yi = outInt.y_x32!;
    expect(Object.is(yi[0], 0) && Object.is(yi[1], 0)).toBe(true);
    expect([yi[2], yi[3], yi[4]]).toEqual([1, 2 / 64, -127 / 64]);
  });
});

/** Seeded uint32 draws (the project's generator, src/util/random.ts). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextUint32();
}
