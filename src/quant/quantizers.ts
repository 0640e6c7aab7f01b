/**
 * Fake quantizers with run-time bit-widths (the bit-width is a graph input, so one artifact serves
 * every precision). Asymmetric min/max quantization onto 2^b − 1 steps:
 *
 *   scale = max(max − min, ε) / (2^b − 1)
 *   k     = round((x − min) / scale)                        (nearest, half to even)
 *   k     = round((x − (min + scale/2) + scale·u) / scale)  (stochastic, u ~ U[0,1): CPT's
 *                                                            round(v + U(−½, ½)))
 *   q     = k · scale + min
 *
 * The integer codes k are what the integer kernels (./integer.ts) multiply; `QuantizeLinear`
 * computes the same round-half-to-even of the same quotient, so both paths agree code for code.
 * At b ≥ 32 the quantizer is an exact pass-through (an `If` on the step's bit-width: no work);
 * per-tensor codes of ≤ 8 bits are made by `QuantizeLinear` and scaled back by `DequantizeLinear`
 * (one pass less than Div, Round, Mul, with a byte-sized intermediate).
 * - weights: per output channel (min/max over the reduction axes), nearest rounding;
 * - activations: per tensor, nearest rounding;
 * - errors (back-propagated gradients): per tensor, stochastic rounding, own bit-width.
 * Gradients use the straight-through estimator: the quantizer's backward rule is the identity
 * (min/max scaling never clips, so no clipping mask is needed).
 *
 * A quantizer given a format descriptor (src/quant/float-quant.ts, fed per step like the bits)
 * rounds to a float or MX format instead when the descriptor's kind says so (an `If` on it): one
 * artifact serves integer grids, fp8/fp16/bf16 and MX formats, and schedules that move between
 * them (docs/number-formats.md).
 */
import { type Attrs, Graph, ONNX_TYPE, type OpDef, type Value } from '../graph/builder.js';
import { emitFloatQuantize } from './float-quant.js';

const EPSILON = 1e-12;
export const PASS_THROUGH_BITS = 32;

export interface QuantizeOptions {
  /** Axes to reduce min/max over; null = whole tensor (per-tensor). */
  reduceAxes: readonly number[] | null;
  /**
   * Stochastic rounding: noise of x's shape, uniform on [0, 1/unit) (`unit` 1 for U[0,1), 2^-24 for
   * the in-graph generator's raw values); absent = round to nearest.
   */
  noise?: Noise;
  /** A given range (scalars) instead of x's own min/max. */
  range?: { min: Value; max: Value };
  /** Clip values outside the range onto the grid's ends (a running range can be exceeded). */
  clip?: boolean;
  /** The step's format descriptor ([FORMAT_FIELDS]); absent: always the integer grid. */
  format?: Value;
  /** Axis MX blocks run along (default 1; weights: their first reduction axis). */
  blockAxis?: number;
}

/** Stochastic-rounding noise: `value · unit` is uniform on [0, 1). */
export interface Noise {
  value: Value;
  unit: number;
}

/** Widest codes a byte holds: quantizers at ≤ 8 bits use `QuantizeLinear` (./integer.ts too). */
export const BYTE_BITS = 8;

interface BitsTerms {
  /** 2^b − 1 */
  levels: Value;
  /** b ≥ 32: pass-through */
  exact: Value;
  /** b ≤ 8: codes fit a byte */
  byte: Value;
}

/** Terms of a bit-width input, each emitted on first use, once per graph, shared by its quantizers. */
const perBits = new WeakMap<Graph, Map<string, Partial<BitsTerms>>>();
export function bitsTerms(g: Graph, bits: Value): BitsTerms {
  let byName = perBits.get(g);
  if (!byName) perBits.set(g, (byName = new Map()));
  let terms = byName.get(bits.name);
  if (!terms) byName.set(bits.name, (terms = {}));
  const t = terms;
  const dt = bits.dtype;
  return {
    get levels() {
      return (t.levels ??= g.emit1('Sub', [g.emit1('Pow', [g.scalar(2), bits], {}, dt, [], 'q_pow'), g.scalar(1)], {}, dt, [], 'q_levels'));
    },
    get exact() {
      return (t.exact ??= g.emit1('GreaterOrEqual', [bits, g.scalar(PASS_THROUGH_BITS)], {}, 'bool', [], 'q_exact'));
    },
    get byte() {
      return (t.byte ??= g.emit1('LessOrEqual', [bits, g.scalar(BYTE_BITS)], {}, 'bool', [], 'q_byte'));
    },
  };
}

/** The grid's step: max(max − min, ε) / levels (of the shape of min and max). */
export function gridScale(g: Graph, mn: Value, mx: Value, levels: Value): Value {
  const dt = mn.dtype;
  const range = g.emit1('Max', [g.emit1('Sub', [mx, mn], {}, dt, mn.shape, 'q_span'), g.scalar(EPSILON)], {}, dt, mn.shape, 'q_range');
  return g.emit1('Div', [range, levels], {}, dt, mn.shape, 'q_scale');
}

/**
 * The dithered tensor of stochastic rounding, in the units of x: `x − (min + scale/2) + scale·u`,
 * whose quotient by `scale` rounds (half to even) to round(v + U(−½, ½)) = the stochastic code of
 * `v = (x − min)/scale`. The noise is scaled in the pass that would have turned the generator's
 * raw values into [0, 1) anyway. Shared by both kernel paths, so their codes agree.
 */
export function emitDither(g: Graph, x: Value, mn: Value, scale: Value, noise: Noise): Value {
  const dt = x.dtype;
  const origin = g.emit1('Add', [mn, g.emit1('Mul', [scale, g.scalar(0.5)], {}, dt, scale.shape, 'q_half')], {}, dt, mn.shape, 'q_origin');
  const noiseScale = g.emit1('Mul', [scale, g.scalar(noise.unit)], {}, dt, scale.shape, 'q_noise_scale');
  const scaled = g.emit1('Mul', [noise.value, noiseScale], {}, dt, noise.value.shape, 'q_noise');
  return g.emit1('Add', [g.emit1('Sub', [x, origin], {}, dt, x.shape, 'q_shift'), scaled], {}, dt, x.shape, 'q_dither');
}

/**
 * Emit the quantization of `x` at `bits` (a scalar of x's float type). Not on the tape. At b ≥ 32
 * an `If` skips the quantizer (the choice is per step, so no `Where` over the whole tensor).
 */
export function emitQuantize(g: Graph, x: Value, bits: Value, options: QuantizeOptions): Value {
  const dt = x.dtype;
  if (dt !== 'float32' && dt !== 'float64') throw new Error(`quantize ${x.name}: ${dt} is not a float type`);
  if (options.format && dt === 'float32') {
    const format = options.format;
    const blockAxis = options.blockAxis ?? options.reduceAxes?.[0] ?? 1;
    return emitFormatDispatch(g, x, bits, options, (f) => [emitFloatQuantize(f, x, format, { noise: options.noise, blockAxis })], () => [], [{ dtype: dt, shape: x.shape, hint: 'quantized' }])[0]!;
  }
  return emitGridQuantize(g, x, bits, options);
}

type OutputSpec = { dtype: 'float32' | 'float64' | 'bool'; shape: Value['shape']; hint: string };

/**
 * One quantizer with a format descriptor: an `If` on "pass-through or float format" takes the
 * integer grid (the `If` on ≤ 8-bit codes inside `emitGrid`) in its else branch, so an integer
 * step pays the `If`s it always paid; the then branch chooses between the float/MX rounding
 * (`float`, emitted into its branch) and the pass-through of a 32-bit grid. `extras` are further
 * outputs of the grid and pass-through branches (the float branch returns them after its value).
 */
function emitFormatDispatch(g: Graph, x: Value, bits: Value, options: QuantizeOptions, float: (f: Graph) => Value[], extras: (b: Graph) => Value[], outputs: OutputSpec[]): Value[] {
  const dt = x.dtype as 'float32';
  const terms = bitsTerms(g, bits);
  const notGrid = g.emit1('Not', [formatIsGrid(g, options.format!)], {}, 'bool', [], 'format_not_grid');
  const prefix = `${g.fresh('q_fmt_if')}/`;
  const floatBranch = new Graph(`${prefix}float`, dt, `${prefix}f/`);
  float(floatBranch).forEach((v) => floatBranch.output(v));
  const pass = new Graph(`${prefix}exact`, dt, `${prefix}x/`);
  pass.output(pass.emit1('Identity', [x], {}, dt, x.shape, 'pass'));
  extras(pass).forEach((v) => pass.output(v));
  const notGridBranch = new Graph(`${prefix}not_grid`, dt, `${prefix}n/`);
  notGridBranch.emit('If', [notGrid], { then_branch: branch(floatBranch), else_branch: branch(pass) }, outputs).forEach((v) => notGridBranch.output(v));
  const grid = new Graph(`${prefix}grid`, dt, `${prefix}g/`);
  grid.output(emitGrid(grid, x, terms, options));
  extras(grid).forEach((v) => grid.output(v));
  const skipGrid = g.emit1('Or', [terms.exact, notGrid], {}, 'bool', [], 'q_skip_grid');
  return g.emit('If', [skipGrid], { then_branch: branch(notGridBranch), else_branch: branch(grid) }, outputs);
}

/** Whether a format descriptor's kind is the integer grid (0): emitted once per descriptor per graph. */
const gridTests = new WeakMap<Graph, Map<string, Value>>();
function formatIsGrid(g: Graph, format: Value): Value {
  let byName = gridTests.get(g);
  if (!byName) gridTests.set(g, (byName = new Map()));
  let test = byName.get(format.name);
  if (!test) {
    const kind = g.emit1('Gather', [format, g.constant('int64', [], [0], 'kind_index')], { axis: 0 }, format.dtype, [], 'format_kind');
    test = g.emit1('Equal', [kind, g.scalar(0)], {}, 'bool', [], 'format_is_grid');
    byName.set(format.name, test);
  }
  return test;
}

/** The integer grid quantizer (an `If` skips it at b ≥ 32). */
function emitGridQuantize(g: Graph, x: Value, bits: Value, options: QuantizeOptions): Value {
  const dt = x.dtype as 'float32' | 'float64'; // checked by emitQuantize
  const shape = x.shape;
  const terms = bitsTerms(g, bits);
  const exact = terms.exact;
  const prefix = `${g.fresh('q_if')}/`;
  const low = new Graph(`${prefix}quantize`, dt, `${prefix}q/`);
  low.output(emitGrid(low, x, terms, options));
  const exactBranch = new Graph(`${prefix}exact`, dt, `${prefix}x/`);
  exactBranch.output(exactBranch.emit1('Identity', [x], {}, dt, shape, 'pass'));
  return g.emit1('If', [exact], { then_branch: branch(exactBranch), else_branch: branch(low) }, dt, shape, 'quantized');
}

const branch = (b: Graph) => ({ kind: 'graph' as const, value: b.toGraphData() });

/**
 * x on the grid of `levels` steps (emitted into `g`, a branch of an `If`). A per-tensor quantizer
 * without clipping makes its codes with `QuantizeLinear` when they fit a byte (b ≤ 8, another
 * `If`): `QuantizeLinear(x − min, scale)` divides, rounds half to even and saturates in one pass
 * with a uint8 result, `DequantizeLinear` scales back, so the round trip costs one pass less than
 * Div, Round, Mul (and the same codes: ./integer.ts). Per-channel weights, clipped eval activations
 * and wider codes use Div, Round, Mul.
 */
export function emitGrid(g: Graph, x: Value, bits: BitsTerms, options: QuantizeOptions): Value {
  const dt = x.dtype;
  const shape = x.shape;
  const reduceAttrs: Attrs = options.reduceAxes === null ? { keepdims: 0 } : { axes: options.reduceAxes, keepdims: 1 };
  const statShape = options.reduceAxes === null ? [] : shape!.map((d, i) => (options.reduceAxes!.includes(i) ? 1 : d));
  const mn = options.range?.min ?? g.emit1('ReduceMin', [x], reduceAttrs, dt, statShape, 'q_min');
  const mx = options.range?.max ?? g.emit1('ReduceMax', [x], reduceAttrs, dt, statShape, 'q_max');
  const scale = gridScale(g, mn, mx, bits.levels);
  const shifted = options.noise ? emitDither(g, x, mn, scale, options.noise) : g.emit1('Sub', [x, mn], {}, dt, shape, 'q_shift');
  const viaRound = (b: Graph) => {
    let v = b.emit1('Div', [shifted, scale], {}, dt, shape, 'q_v');
    if (options.clip) v = b.emit1('Clip', [v, b.scalar(0), bits.levels], {}, dt, shape, 'q_clipped');
    const rounded = b.emit1('Round', [v], {}, dt, shape, 'q_round');
    return b.emit1('Add', [b.emit1('Mul', [rounded, scale], {}, dt, shape, 'q_rescale'), mn], {}, dt, shape, 'q');
  };
  if (options.reduceAxes !== null || options.clip || dt !== 'float32') return viaRound(g);
  const prefix = `${g.fresh('q_byte_if')}/`;
  const byte = new Graph(`${prefix}byte`, dt, `${prefix}b/`);
  const codes = byte.emit1('QuantizeLinear', [shifted, scale, byte.constant('uint8', [], [0], 'zero')], {}, 'uint8', shape, 'q_codes');
  byte.output(byte.emit1('Add', [byte.emit1('DequantizeLinear', [codes, scale], {}, dt, shape, 'q_rescale'), mn], {}, dt, shape, 'q'));
  const wide = new Graph(`${prefix}wide`, dt, `${prefix}w/`);
  wide.output(viaRound(wide));
  return g.emit1('If', [bits.byte], { then_branch: branch(byte), else_branch: branch(wide) }, dt, shape, 'q_grid');
}

/**
 * Fake-quantize in the forward pass; straight-through (identity) gradient. Inputs: [x, bits] or
 * [x, bits, min, max] (a given per-tensor range; `clip` clips values outside it).
 */
export const FakeQuantOp: OpDef<{ reduceAxes: readonly number[] | null; clip?: boolean; format?: Value; blockAxis?: number }> = {
  name: 'FakeQuant',
  forward(g, [x, bits, min, max], { reduceAxes, clip, format, blockAxis }) {
    return [emitQuantize(g, x!, bits!, { reduceAxes, range: min && max ? { min, max } : undefined, clip, format, blockAxis })];
  },
  backward(_g, ctx, [dy], needs) {
    return [needs[0] ? dy! : null, ...ctx.inputs.slice(1).map(() => null)];
  },
};

/**
 * Identity in the forward pass; quantizes the gradient flowing back through it (per tensor,
 * stochastic rounding with the noise input, `noise · unit` ~ U[0,1)). Inputs: [x, bits, noise].
 */
export const ErrorQuantOp: OpDef<{ unit: number; format?: Value; numerics?: ErrorNumerics }> = {
  name: 'ErrorQuant',
  forward(g, [x]) {
    return [g.emit1('Identity', [x!], {}, x!.dtype, x!.shape, 'eq_fwd')];
  },
  backward(g, { inputs: [, bits, noise], attrs: { unit, format, numerics } }, [dy], needs) {
    if (!needs[0]) return [null, null, null];
    const options: QuantizeOptions = { reduceAxes: null, noise: { value: noise!, unit }, format };
    if (!numerics || !format) return [emitQuantize(g, dy!, bits!, options), null, null];
    return [emitCountedErrorQuantize(g, dy!, bits!, options, format, numerics), null, null];
  },
};

/**
 * What the training graph learns from its error quantizers (loss scaling, docs/number-formats.md):
 * `layerwise` (a bool scalar) turns on a per-tensor power-of-two scale; each quantizer pushes its
 * step's underflow and overflow counts, in backward order (last layer first).
 */
export interface ErrorNumerics {
  layerwise: Value;
  counts: { underflow: Value; overflow: Value }[];
}

/**
 * An error quantizer that counts and may scale. Adaptive layer-wise scaling multiplies the tensor by
 * s = 2^(emax − 1 − ⌊log2 max|dy|⌋) (its largest value lands one binade below the format's top, so
 * small errors move up out of the subnormals and nothing overflows), quantizes, and divides by s
 * again (exact: s is a power of two); s = 1 on the integer grid (scale-invariant), for an all-zero
 * or non-finite tensor, or when `layerwise` is off. Counted on the scaled tensor: underflow = nonzero
 * values that round to 0; overflow = values beyond the format's max finite (float formats only).
 */
function emitCountedErrorQuantize(g: Graph, dy: Value, bits: Value, options: QuantizeOptions, format: Value, numerics: ErrorNumerics): Value {
  const dt = dy.dtype as 'float32';
  const shape = dy.shape;
  // integer grids count nothing and are scale-invariant: all of it runs in the float branch
  const zeros = (b: Graph) => [b.emit1('Identity', [b.scalar(0)], {}, dt, [], 'no_underflow'), b.emit1('Identity', [b.scalar(0)], {}, dt, [], 'no_overflow')];
  const counted = (f: Graph): Value[] => {
    const field = (i: number, hint: string) => f.emit1('Gather', [format, f.constant('int64', [], [i], 'field')], { axis: 0 }, dt, [], hint);
    const abs = f.emit1('Abs', [dy], {}, dt, shape, 'ls_abs');
    const amax = f.emit1('ReduceMax', [abs], { keepdims: 0 }, dt, [], 'ls_amax');
    const usable = f.emit1('And', [f.emit1('Greater', [amax, f.scalar(0)], {}, 'bool', [], 'ls_nonzero'), f.emit1('Less', [amax, f.scalar(Infinity)], {}, 'bool', [], 'ls_finite')], {}, 'bool', [], 'ls_usable');
    const on = f.emit1('And', [numerics.layerwise, usable], {}, 'bool', [], 'ls_on');
    const safeMax = f.emit1('Where', [usable, amax, f.scalar(1)], {}, dt, [], 'ls_safe_amax');
    // ⌊log2 amax⌋, corrected to the exact power of two (Log may be off by one next to one)
    let e = f.emit1('Floor', [f.emit1('Div', [f.emit1('Log', [safeMax], {}, dt, [], 'ls_ln'), f.scalar(Math.LN2)], {}, dt, [], 'ls_log2')], {}, dt, [], 'ls_e');
    const pow = (v: Value) => f.emit1('Pow', [f.scalar(2), v], {}, dt, [], 'ls_pow');
    e = f.emit1('Sub', [e, f.emit1('Cast', [f.emit1('Greater', [pow(e), safeMax], {}, 'bool', [], 'ls_hi')], { to: ONNX_TYPE[dt] }, dt, [], 'ls_hi_f')], {}, dt, [], 'ls_e_lo');
    e = f.emit1('Add', [e, f.emit1('Cast', [f.emit1('LessOrEqual', [pow(f.emit1('Add', [e, f.scalar(1)], {}, dt, [], 'ls_e1')), safeMax], {}, 'bool', [], 'ls_lo')], { to: ONNX_TYPE[dt] }, dt, [], 'ls_lo_f')], {}, dt, [], 'ls_e_exact');
    const exponent = f.emit1('Sub', [f.emit1('Sub', [field(3, 'fmt_emax'), f.scalar(1)], {}, dt, [], 'ls_top'), e], {}, dt, [], 'ls_shift');
    const scale = f.emit1('Where', [on, pow(exponent), f.scalar(1)], {}, dt, [], 'ls_scale');
    const scaled = f.emit1('Mul', [dy, scale], {}, dt, shape, 'ls_scaled');
    const q = emitFloatQuantize(f, scaled, format, { noise: options.noise, blockAxis: options.blockAxis ?? 1 });
    const count = (mask: Value, hint: string) => f.emit1('ReduceSum', [f.emit1('Cast', [mask], { to: ONNX_TYPE[dt] }, dt, shape, `${hint}_f`)], { keepdims: 0 }, dt, [], hint);
    const zeroQ = f.emit1('Equal', [q, f.scalar(0)], {}, 'bool', shape, 'ls_q_zero');
    const nonzero = f.emit1('Not', [f.emit1('Equal', [dy, f.scalar(0)], {}, 'bool', shape, 'ls_dy_zero')], {}, 'bool', shape, 'ls_dy_nonzero');
    return [
      f.emit1('Div', [q, scale], {}, dt, shape, 'ls_unscaled'),
      count(f.emit1('And', [zeroQ, nonzero], {}, 'bool', shape, 'ls_under'), 'ls_underflow'),
      count(f.emit1('Greater', [f.emit1('Abs', [scaled], {}, dt, shape, 'ls_abs_scaled'), field(4, 'fmt_max')], {}, 'bool', shape, 'ls_beyond'), 'ls_overflow'),
    ];
  };
  const [out, underflow, overflow] = emitFormatDispatch(g, dy, bits, { ...options, format }, counted, zeros, [
    { dtype: dt, shape, hint: 'quantized' },
    { dtype: dt, shape: [], hint: 'underflow' },
    { dtype: dt, shape: [], hint: 'overflow' },
  ]);
  numerics.counts.push({ underflow: underflow!, overflow: overflow! });
  return out!;
}

/**
 * Weights [in, out] (MatMul layout) quantized per output channel: min/max over axis 0 (MX blocks
 * along the first reduction axis).
 */
export function quantizeWeights(g: Graph, w: Value, bits: Value, reduceAxes: readonly number[] = [0], format?: Value): Value {
  return g.apply1(FakeQuantOp, [w, bits], { reduceAxes, format });
}

/** Momentum of the running activation ranges (CPT's QuantMeasure: r ← 0.9·r + 0.1·batch). */
export const RANGE_MOMENTUM = 0.9;

/** Shape of a running activation range: [Σ min, Σ max, Σ weight] of the moving averages. */
export const RANGE_SHAPE = [3];

/**
 * Activations quantized per tensor with a running range, as CPT's QuantMeasure: the training
 * graph quantizes with the batch's own min/max and moves the running range towards it
 * (momentum 0.9), returning the new range; the eval graph quantizes with the running range,
 * clipping values outside it. The range keeps [m·min, m·max, m·1] averages started from zero, so
 * the eval range is their ratio to the weight (the moving average without its start-up bias,
 * equal to CPT's after a few hundred steps); before any training step (weight 0) the eval graph
 * falls back to the batch's min/max.
 */
export function quantizeActivations(g: Graph, x: Value, bits: Value, mode: 'train' | 'eval', running: Value, format?: Value): { y: Value; running?: Value } {
  const range = activationRange(g, x, mode, running);
  return { y: g.apply1(FakeQuantOp, [x, bits, range.min, range.max], { reduceAxes: null, clip: range.clip, format }), running: range.running };
}

/** The per-tensor range `quantizeActivations` quantizes with (and, training, the new running range). */
export interface ActivationRange {
  min: Value;
  max: Value;
  /** The eval range may be exceeded: values outside are clipped onto the grid's ends. */
  clip: boolean;
  running?: Value;
}

export function activationRange(g: Graph, x: Value, mode: 'train' | 'eval', running: Value): ActivationRange {
  const dt = x.dtype;
  const mn = g.emit1('ReduceMin', [x], { keepdims: 0 }, dt, [], 'act_min');
  const mx = g.emit1('ReduceMax', [x], { keepdims: 0 }, dt, [], 'act_max');
  if (mode === 'train') {
    const unsq = (v: Value) => g.emit1('Unsqueeze', [v, g.ints([0])], {}, dt, [1], 'act_stat');
    const batch = g.emit1('Concat', [unsq(mn), unsq(mx), g.constant(dt, [1], [1], 'one')], { axis: 0 }, dt, RANGE_SHAPE, 'act_stats');
    const kept = g.emit1('Mul', [running, g.scalar(RANGE_MOMENTUM)], {}, dt, RANGE_SHAPE, 'range_kept');
    const added = g.emit1('Mul', [batch, g.scalar(1 - RANGE_MOMENTUM)], {}, dt, RANGE_SHAPE, 'range_added');
    const next = g.emit1('Add', [kept, added], {}, dt, RANGE_SHAPE, 'range_new');
    return { min: mn, max: mx, clip: false, running: next };
  }
  const part = (i: number) => g.emit1('Gather', [running, g.constant('int64', [], [i], 'index')], { axis: 0 }, dt, [], 'range_part');
  const weight = part(2);
  const seen = g.emit1('Greater', [weight, g.scalar(0)], {}, 'bool', [], 'range_seen');
  const safeWeight = g.emit1('Max', [weight, g.scalar(EPSILON)], {}, dt, [], 'range_weight');
  const pick = (sum: Value, batch: Value) => g.emit1('Where', [seen, g.emit1('Div', [sum, safeWeight], {}, dt, [], 'range_avg'), batch], {}, dt, [], 'range_end');
  return { min: pick(part(0), mn), max: pick(part(1), mx), clip: true };
}

export function quantizeErrors(g: Graph, x: Value, bits: Value, noise: Noise, format?: Value, numerics?: ErrorNumerics): Value {
  return g.apply1(ErrorQuantOp, [x, bits, noise.value], { unit: noise.unit, format, numerics });
}
