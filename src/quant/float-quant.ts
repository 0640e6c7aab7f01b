/**
 * ONNX-graph quantizers for float and OCP MX block formats with run-time formats: a format is a
 * float32 descriptor vector fed to the graph like the bit-widths, so one artifact serves every
 * format. The results equal `quantizeFloat` / `quantizeBlock` of ../formats/reference.ts bit for
 * bit on float32 inputs (test/float-quant.test.ts): round-to-nearest-even or stochastic rounding,
 * subnormals, overflow to ±Inf or saturation, NaN kept, the sign of zero kept.
 *
 * Exponents without Log or Pow on the tensor. For a float32 p in [2^−126, 2^127] (normal, and
 * p·(1 + 2^−23) finite):
 *
 *   q = p·(1 + 2^−23),  r = q·(1 − 2^−24),  q − r = 2^(⌊log2 p⌋ − 23)   (every op rounded to nearest)
 *
 * q lies one or two float32 ulps above p (just at 2^(e+1) when p is the binade's largest value),
 * never at a power of two of p's binade, so q·(1 − 2^−24) (q minus half to one ulp) rounds to q's
 * predecessor and the difference is one ulp of p's binade (exact, Sterbenz); at q = 2^(e+1) the
 * product falls into the binade below, where it is exact, and the difference is again 2^(e−23).
 * This is the idea of Rump's `ufp` (Rump, Ogita, Oishi 2008, Algorithm 3.5) scaled so nothing
 * overflows. The magnitude is clamped to [2^emin, 2^emax] first, so
 *
 *   quantum = (q − r)·2^(23 − m) = 2^(clamp(⌊log2 |x|⌋, emin, emax) − m)
 *
 * (the subnormal quantum below 2^emin; ±Inf and huge values get the top binade's quantum) and
 * x rounded is Round(x / quantum)·quantum on the signed x, so IEEE arithmetic keeps −0 and a
 * negative value that rounds to 0 gives −0. Division and multiplication by powers of two are exact
 * (onnxruntime keeps subnormals; the tests check it), ONNX `Round` is half to even.
 *
 * Overflow (scalar float formats; an `If` on the descriptor's rule picks the tail): saturating
 * formats `Clip` to ±maxFinite; for `inf` formats (IEEE-style: maxFinite = (2 − 2^−m)·2^emax) the
 * rounded value is formed with the quantum scaled by S = 2^(127 − emax), so everything that rounds
 * beyond maxFinite (≥ 2^(emax+1)) overflows float32 to ±Inf, and ×1/S scales back exactly. MX
 * elements always saturate.
 *
 * Stochastic rounding (reference: up iff u < frac, on the magnitude): with v = |x|/quantum =
 * lo + frac (lo = Floor(v), frac exact), the result is lo + Ceil(frac − u). frac − u lies in
 * (−1, 1) and rounding keeps its sign (a float32 difference is 0 only when exact), so its Ceil is
 * the reference's decision for every float32 draw, not only for draws with few bits (Ceil(v − u)
 * would round u to v's precision, 24 − (m+1) bits, and a draw next to 1 would move a representable
 * x down a quantum); lo ≥ +0 turns Ceil's −0 into +0. Then times a quantum carrying x's sign:
 * Clip(x + 1/x, −1, 1) is ±1 with x's sign (|x + 1/x| ≥ 2; −0 and −Inf included).
 *
 * MX (OCP MX v1.0 §6.3): blocks of 32 along `blockAxis` are a Reshape of the (end-padded) axis into
 * [nb, 32]; per block amax (ReduceMax of |x|) and a NaN test (ReduceSum of |x|: NaN iff a NaN is
 * in the block; onnxruntime's ReduceMax does not propagate NaN), the shared scale
 * X = max(2^(⌊log2 amax⌋ − emax_elem), 2^−127) (2^−127 for a block of zeros), NaN for a block with
 * NaN or ±Inf; elements quantize(x/X) saturating, times X. The integer element (MXINT8) is a
 * fixed-point "float" (emin = emax); the reference's integers have one zero, so its −0 is made +0.
 *
 * Every op is available at opset 17 (no BitCast). Op counts per tensor: see `docs/number-formats.md`.
 */
import { type Dim, Graph, ONNX_TYPE, type Value } from '../graph/builder.js';
import { floatLimits, type FloatFormat, type NumberFormat, type ScalarFormat } from '../formats/number-format.js';
import type { Noise } from './quantizers.js';

/** Fields of a format descriptor: a float32 vector fed to the graph at run time (one artifact serves every format). */
export const FORMAT_FIELDS = 6;

/** kind codes */
export const FORMAT_KIND = { grid: 0, float: 1, block: 2 } as const;

/** MX block size (OCP MX v1.0). */
const BLOCK = 32;

/** Descriptor field indices. */
const F = { kind: 0, m: 1, emin: 2, emax: 3, max: 4, inf: 5 } as const;

/** The float32 exponent range the arithmetic above needs: the clamp bounds 2^emin, 2^emax are normal. */
const MIN_EMIN = -126;
const MAX_EMAX = 127;
const MAX_MANTISSA = 23;

/** [m, emin, emax, maxFinite, overflowInf] of a float format, checked to be computable in float32. */
function floatFields(format: FloatFormat): number[] {
  const name = format.name;
  if (!format.subnormals) throw new RangeError(`${name}: float formats without subnormals have no graph quantizer (it rounds into the subnormals; none of the named formats flushes them)`);
  const { emin, emax, maxFinite } = floatLimits(format);
  const m = format.mantissaBits;
  if (m > MAX_MANTISSA || emin < MIN_EMIN || emax > MAX_EMAX || emax < emin) {
    throw new RangeError(`${name}: not quantizable in float32 (needs m ≤ ${MAX_MANTISSA}, emin ≥ ${MIN_EMIN}, emax ≤ ${MAX_EMAX}; got m = ${m}, emin = ${emin}, emax = ${emax})`);
  }
  if (Math.fround(maxFinite) !== maxFinite) throw new RangeError(`${name}: max finite ${maxFinite} is not a float32`);
  const inf = format.overflow === 'inf';
  // Overflow to Inf is made by float32's own overflow at 2^(emax+1): the largest finite value must be the top of its binade.
  if (inf && maxFinite !== (2 - 2 ** -m) * 2 ** emax) throw new RangeError(`${name}: overflow to Inf needs max finite = (2 − 2^−m)·2^emax (IEEE-style), got ${maxFinite}`);
  return [m, emin, emax, maxFinite, inf ? 1 : 0];
}

/** An MX element's fields (always saturating); a signed integer element k·2^−f, |k| ≤ 2^(b−1) − 1, as fixed point: m = b − 2, emin = emax = b − 2 − f. */
function elementFields(element: ScalarFormat): number[] {
  if (element.kind === 'float') {
    const [m, emin, emax, max] = floatFields(element) as [number, number, number, number, number];
    if (emax < 0) throw new RangeError(`${element.name}: MX elements need a largest value ≥ 1 (the shared exponent stays ≤ 127)`);
    return [m, emin, emax, max, 0];
  }
  const f = element.fractionBits ?? 0;
  const b = element.bits;
  if (!element.signed || b < 2 || b - 2 > MAX_MANTISSA) throw new RangeError(`int${b}: MX integer elements must be signed with 2..${MAX_MANTISSA + 2} bits`);
  const e = b - 2 - f;
  if (e < 0 || e > MAX_EMAX) throw new RangeError(`int${b}·2^-${f}: MX integer elements need a largest value in [1, 2^128)`);
  return [b - 2, e, e, (2 ** (b - 1) - 1) * 2 ** -f, 0];
}

/**
 * The descriptor of a format: [kind, mantissaBits, emin, emax, maxFinite, overflowInf].
 * - IntFormat and fp32 → zeros (kind 0: the integer min/max grid quantizer with the bits input;
 *   fp32 is fed as 32 bits = pass-through).
 * - FloatFormat → [1, m, emin (= 1 − bias), emax (= ⌊log2 maxFinite⌋), maxFinite, overflow === 'inf' ? 1 : 0].
 * - BlockFormat → [2, …the element's fields…] with overflowInf 0 (MX elements saturate); an integer
 *   element (MXINT8: int8 with fractionBits 6) is a fixed-point "float": m = 6, emin = emax = 0,
 *   maxFinite = 127/64.
 * Throws for a float format without subnormals (none of the named formats) or outside float32's range.
 */
export function formatDescriptor(format: NumberFormat): Float32Array {
  const d = new Float32Array(FORMAT_FIELDS);
  if (format.kind === 'int') return d;
  if (format.kind === 'float') {
    if (format.exponentBits === 8 && format.mantissaBits === 23 && format.bias === 127) return d; // fp32: pass-through
    d[F.kind] = FORMAT_KIND.float;
    d.set(floatFields(format), 1);
    return d;
  }
  d[F.kind] = FORMAT_KIND.block;
  d.set(elementFields(format.element), 1);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Graph emission

const C1 = 1 + 2 ** -23;
const C2 = 1 - 2 ** -24;

/** 2^(⌊log2 p⌋ − 23) for p in [2^−126, 2^127] (see the header): three ops, no Log or Pow. */
function emitUlp(g: Graph, p: Value): Value {
  const s = p.shape;
  const q = g.emit1('Mul', [p, g.scalar(C1)], {}, 'float32', s, 'fq_up');
  const r = g.emit1('Mul', [q, g.scalar(C2)], {}, 'float32', s, 'fq_down');
  return g.emit1('Sub', [q, r], {}, 'float32', s, 'fq_ulp');
}

/**
 * Powers of two of linear forms of the descriptor, 2^(desc · A[:, j]), as [1]-tensors: one MatMul,
 * one Pow, one Split. The kind field (known inside each branch) carries the constant terms.
 */
function emitPowers(g: Graph, desc: Value, kind: number, forms: readonly (Partial<Record<keyof typeof F | 'one', number>>)[]): Value[] {
  const n = forms.length;
  const a = new Array<number>(FORMAT_FIELDS * n).fill(0);
  forms.forEach((form, j) => {
    for (const [field, coefficient] of Object.entries(form)) {
      const row = field === 'one' ? F.kind : F[field as keyof typeof F];
      a[row * n + j] += field === 'one' ? coefficient! / kind : coefficient!;
    }
  });
  const exps = g.emit1('MatMul', [desc, g.constant('float32', [FORMAT_FIELDS, n], a, 'fq_forms')], {}, 'float32', [n], 'fq_exps');
  const pows = g.emit1('Pow', [g.scalar(2), exps], {}, 'float32', [n], 'fq_pows');
  return g.emit('Split', [pows], { axis: 0 }, forms.map(() => ({ dtype: 'float32' as const, shape: [1], hint: 'fq_pow' })));
}

/** The descriptor's fields as [1]-tensors (one Split). */
function emitFields(g: Graph, desc: Value): Value[] {
  return g.emit('Split', [desc], { axis: 0 }, Array.from({ length: FORMAT_FIELDS }, () => ({ dtype: 'float32' as const, shape: [1], hint: 'fq_field' })));
}

/** x ≈ r·quantum on the grid of a float format, before overflow handling (see `emitGridRound`). */
interface Rounded {
  /** The rounded grid position: signed (nearest) or the magnitude, +0 included (stochastic). */
  r: Value;
  /** The quantum: positive (nearest) or carrying x's sign (stochastic). */
  quantum: Value;
}

/**
 * x (`abs` = |x|) rounded to the grid of a float format with clamp bounds lo = 2^emin, hi = 2^emax
 * and k = 2^(23 − m): nearest-even, or stochastic with the draws `uniform` (`top` = 2^(m+1) when x
 * may hold ±Inf).
 */
function emitGridRound(g: Graph, x: Value, abs: Value, lo: Value, hi: Value, k: Value, uniform: Value | undefined, top?: Value): Rounded {
  const s = x.shape;
  const clamped = g.emit1('Clip', [abs, lo, hi], {}, 'float32', s, 'fq_clamped');
  const quantum = g.emit1('Mul', [emitUlp(g, clamped), k], {}, 'float32', s, 'fq_quantum');
  if (!uniform) return { r: g.emit1('Round', [g.emit1('Div', [x, quantum], {}, 'float32', s, 'fq_v')], {}, 'float32', s, 'fq_r'), quantum };
  // the magnitude v = lo + frac goes up iff u < frac: lo + Ceil(frac − u) (frac − u keeps its sign:
  // see the header; v − u would round u to v's precision); lo ≥ +0 turns Ceil's −0 into +0
  let v = g.emit1('Div', [abs, quantum], {}, 'float32', s, 'fq_v');
  // ±Inf (frac would be NaN): v ≥ 2^(m+1) only beyond the top binade, where every result overflows
  if (top) v = g.emit1('Clip', [v, g.scalar(0), top], {}, 'float32', s, 'fq_v_top');
  const below = g.emit1('Floor', [v], {}, 'float32', s, 'fq_below');
  const frac = g.emit1('Sub', [v, below], {}, 'float32', s, 'fq_frac');
  const up = g.emit1('Ceil', [g.emit1('Sub', [frac, uniform], {}, 'float32', s, 'fq_dither')], {}, 'float32', s, 'fq_up');
  const r = g.emit1('Add', [below, up], {}, 'float32', s, 'fq_r');
  // the sign: x + 1/x has x's sign for −0 (−Inf), ±Inf and every other x, and |x + 1/x| ≥ 2, so
  // clipped to [−1, 1] it is ±1 (onnxruntime's Sign is several times slower than Reciprocal, Add, Clip)
  const probe = g.emit1('Add', [x, g.emit1('Reciprocal', [x], {}, 'float32', s, 'fq_recip')], {}, 'float32', s, 'fq_sign_probe');
  const sign = g.emit1('Clip', [probe, g.scalar(-1), g.scalar(1)], {}, 'float32', s, 'fq_sign');
  return { r, quantum: g.emit1('Mul', [quantum, sign], {}, 'float32', s, 'fq_signed_quantum') };
}

/** r·quantum clipped to ±max (saturation; the sign of zero kept). */
function emitSaturated(g: Graph, { r, quantum }: Rounded, max: Value): Value {
  const s = r.shape;
  const q = g.emit1('Mul', [r, quantum], {}, 'float32', s, 'fq_q');
  return g.emit1('Clip', [q, g.emit1('Neg', [max], {}, 'float32', max.shape, 'fq_lower'), max], {}, 'float32', s, 'fq_saturated');
}

/** The uniform draws in [0, 1) (noise.value · unit). */
function emitUniform(g: Graph, noise: Noise): Value {
  const v = noise.value;
  if (v.dtype !== 'float32') throw new Error(`float quantizer: noise ${v.name} must be float32`);
  return noise.unit === 1 ? v : g.emit1('Mul', [v, g.scalar(noise.unit)], {}, 'float32', v.shape, 'fq_uniform');
}

/**
 * Kind 1: x rounded to a scalar float format. The overflow rule picks the tail (an `If`): saturating
 * formats clip r·quantum to ±maxFinite; `inf` formats scale it by S = 2^(127 − emax), where float32's
 * own overflow sends everything ≥ 2^(emax+1) to ±Inf, and scale back by 1/S.
 */
function emitScalarFloat(g: Graph, x: Value, desc: Value, noise: Noise | undefined): Value {
  const [lo, hi, k, scale, invS, top] = emitPowers(g, desc, FORMAT_KIND.float, [
    { emin: 1 },
    { emax: 1 },
    { one: 23, m: -1 },
    { one: MAX_EMAX, emax: -1 },
    { one: -MAX_EMAX, emax: 1 },
    { one: 1, m: 1 },
  ]) as [Value, Value, Value, Value, Value, Value];
  const fields = emitFields(g, desc);
  const abs = g.emit1('Abs', [x], {}, 'float32', x.shape, 'fq_abs');
  const rounded = emitGridRound(g, x, abs, lo, hi, k, noise && emitUniform(g, noise), top);
  const s = x.shape;
  const prefix = `${g.fresh('fq_overflow_if')}/`;
  const inf = new Graph(`${prefix}inf`, 'float32', `${prefix}i/`);
  const scaled = inf.emit1('Mul', [rounded.r, inf.emit1('Mul', [rounded.quantum, scale], {}, 'float32', s, 'fq_quantum_s')], {}, 'float32', s, 'fq_q_s');
  inf.output(inf.emit1('Mul', [scaled, invS], {}, 'float32', s, 'fq_unscaled'));
  const saturate = new Graph(`${prefix}saturate`, 'float32', `${prefix}s/`);
  saturate.output(emitSaturated(saturate, rounded, fields[F.max]!));
  const toInf = g.emit1('Cast', [fields[F.inf]!], { to: ONNX_TYPE.bool }, 'bool', [1], 'fq_to_inf');
  return g.emit1('If', [toInf], { then_branch: branch(inf), else_branch: branch(saturate) }, 'float32', s, 'fq_float');
}

/** A tensor's [pre…, L, post…] viewed as [pre…, nb, 32, post…] (end-padded with zeros), and back. */
interface BlockView {
  toBlocks(v: Value): Value;
  fromBlocks(v: Value): Value;
  /** Shape of the block view and of per-block values (size 1 on the element axis). */
  shape: Dim[];
  blockShape: Dim[];
  /** The element axis within a block. */
  axis: number;
}

function blockView(g: Graph, x: Value, axis: number): BlockView {
  const shape = x.shape!;
  const rank = shape.length;
  const length = shape[axis];
  if (typeof length !== 'number') throw new Error(`MX quantizer: the block axis ${axis} of ${x.name} must have a static length, got ${String(length)}`);
  const blocks = Math.ceil(length / BLOCK);
  const padded = blocks * BLOCK;
  const pre = shape.slice(0, axis);
  const post = shape.slice(axis + 1);
  const viewShape: Dim[] = [...pre, blocks, BLOCK, ...post];
  const blockShape: Dim[] = [...pre, blocks, 1, ...post];
  // Reshape targets: leading dims copied (0), trailing dims static or read at run time.
  const target = (middle: number[]): Value => {
    if (post.every((d) => typeof d === 'number')) return g.ints([...pre.map(() => 0), ...middle, ...(post as number[])]);
    const full = g.emit1('Shape', [x], {}, 'int64', [rank], 'fq_shape');
    const tail = g.emit1('Slice', [full, g.ints([axis + 1]), g.ints([rank])], {}, 'int64', [rank - axis - 1], 'fq_tail');
    return g.emit1('Concat', [g.ints([...pre.map(() => 0), ...middle]), tail], { axis: 0 }, 'int64', [rank + middle.length - 1], 'fq_target');
  };
  let toTarget: Value | undefined;
  let fromTarget: Value | undefined;
  return {
    shape: viewShape,
    blockShape,
    axis: axis + 1,
    toBlocks(v) {
      let p = v;
      if (padded !== length) {
        const pads = new Array<number>(2 * rank).fill(0);
        pads[rank + axis] = padded - length;
        p = g.emit1('Pad', [v, g.ints(pads)], { mode: 'constant' }, 'float32', [...pre, padded, ...post], 'fq_padded');
      }
      return g.emit1('Reshape', [p, (toTarget ??= target([blocks, BLOCK]))], {}, 'float32', viewShape, 'fq_blocks');
    },
    fromBlocks(v) {
      const flat = g.emit1('Reshape', [v, (fromTarget ??= target([padded]))], {}, 'float32', [...pre, padded, ...post], 'fq_unblocked');
      if (padded === length) return flat;
      return g.emit1('Slice', [flat, g.ints([0]), g.ints([length]), g.ints([axis])], {}, 'float32', shape, 'fq_unpadded');
    },
  };
}

/** Kind 2: MX blocks of 32 along `axis`, shared E8M0 scale, saturating elements. */
function emitBlocks(g: Graph, x: Value, desc: Value, axis: number, noise: Noise | undefined): Value {
  const view = blockView(g, x, axis);
  const s = view.shape;
  const xb = view.toBlocks(x);
  const abs = g.emit1('Abs', [xb], {}, 'float32', s, 'fq_abs');
  // Per-block values: [pre…, nb, 1, post…], or [pre…, nb] for blocks along the last axis (onnxruntime's
  // element-wise kernels are slow on an innermost dimension of 1), unsqueezed to broadcast.
  const last = view.axis === s.length - 1;
  const bs = last ? s.slice(0, -1) : view.blockShape;
  const amax = g.emit1('ReduceMax', [abs], { axes: [view.axis], keepdims: last ? 0 : 1 }, 'float32', bs, 'fq_amax');
  const asum = g.emit1('ReduceSum', [abs, g.ints([view.axis])], { keepdims: last ? 0 : 1 }, 'float32', bs, 'fq_asum');

  const [lo, hi, k, toScale] = emitPowers(g, desc, FORMAT_KIND.block, [{ emin: 1 }, { emax: 1 }, { one: 23, m: -1 }, { one: 23, emax: -1 }]) as [Value, Value, Value, Value];
  const fields = emitFields(g, desc);
  // integer elements (emin = emax) have one zero: add +0 (−0 + +0 = +0); float elements add −0 (keeps every
  // value). (emin − emax)·0 is exactly that; not a Where: onnxruntime's Where returned +0 for a selected −0
  const zero = g.emit1('Mul', [g.emit1('Sub', [fields[F.emin]!, fields[F.emax]!], {}, 'float32', [1], 'fq_exponent_span'), g.scalar(0)], {}, 'float32', [1], 'fq_zero');

  // X = max(2^(⌊log2 amax⌋ − emax_elem), 2^−127); amax < 2^−126 (zeros included) → 2^−127; NaN or ±Inf in the block → NaN
  const tiny = g.scalar(2 ** -127);
  const raw = g.emit1('Mul', [emitUlp(g, g.emit1('Clip', [amax, g.scalar(2 ** MIN_EMIN), g.scalar(2 ** MAX_EMAX)], {}, 'float32', bs, 'fq_amax_clamped')), toScale], {}, 'float32', bs, 'fq_scale_raw');
  const floored = g.emit1('Max', [raw, tiny], {}, 'float32', bs, 'fq_scale_min');
  const small = g.emit1('Less', [amax, g.scalar(2 ** MIN_EMIN)], {}, 'bool', bs, 'fq_small');
  const finite = g.emit1('Where', [small, tiny, floored], {}, 'float32', bs, 'fq_scale_finite');
  const special = g.emit1('Or', [g.emit1('IsNaN', [asum], {}, 'bool', bs, 'fq_has_nan'), g.emit1('IsInf', [amax], {}, 'bool', bs, 'fq_has_inf')], {}, 'bool', bs, 'fq_special');
  let scale = g.emit1('Where', [special, g.scalar(NaN), finite], {}, 'float32', bs, 'fq_scale');
  // 1/X is a power of two too: x·(1/X) = x/X exactly
  let inverse = g.emit1('Reciprocal', [scale], {}, 'float32', bs, 'fq_inverse_scale');
  if (last) {
    const unsqueeze = (v: Value, hint: string) => g.emit1('Unsqueeze', [v, g.ints([view.axis])], {}, 'float32', view.blockShape, hint);
    scale = unsqueeze(scale, 'fq_scale_b');
    inverse = unsqueeze(inverse, 'fq_inverse_scale_b');
  }

  const z = g.emit1('Mul', [xb, inverse], {}, 'float32', s, 'fq_elements_in');
  const zabs = g.emit1('Abs', [z], {}, 'float32', s, 'fq_elements_abs');
  const uniform = noise && view.toBlocks(emitUniform(g, noise));
  const elements = emitSaturated(g, emitGridRound(g, z, zabs, lo, hi, k, uniform), fields[F.max]!);
  const values = g.emit1('Add', [g.emit1('Mul', [elements, scale], {}, 'float32', s, 'fq_values'), zero], {}, 'float32', s, 'fq_values_zero');
  return view.fromBlocks(values);
}

const branch = (b: Graph) => ({ kind: 'graph' as const, value: b.toGraphData() });

/**
 * Emit x (float32 tensor of known build-time shape) rounded to the described format (desc: a
 * [FORMAT_FIELDS] float32 Value, fed at run time). Not on the autodiff tape (plain emits). Kind 1:
 * scalar float, kind 2: MX blocks of 32 along `blockAxis` (default the last axis; the axis length
 * need not be a multiple of 32: the last block is shorter, as the reference's; only that axis
 * needs a static length). An `If` on the kind picks the branch; the caller only calls this when
 * the kind is not 0 (a kind-0 descriptor would round to a format with max 0). noise: stochastic
 * rounding, `noise.value · noise.unit` uniform in [0, 1) of x's shape; the graph decides exactly as
 * the reference does for every draw (the product must be exact: unit a power of two).
 */
export function emitFloatQuantize(g: Graph, x: Value, desc: Value, options: { noise?: Noise; blockAxis?: number } = {}): Value {
  if (x.dtype !== 'float32') throw new Error(`float quantizer: ${x.name} is ${x.dtype}, not float32`);
  if (desc.dtype !== 'float32' || desc.shape?.length !== 1 || desc.shape[0] !== FORMAT_FIELDS) throw new Error(`float quantizer: descriptor ${desc.name} must be float32 [${FORMAT_FIELDS}]`);
  if (x.shape === null) throw new Error(`float quantizer: ${x.name} has no build-time shape`);
  const rank = x.shape.length;
  const noise = options.noise;
  const axis = options.blockAxis ?? rank - 1;
  if (rank === 0 || !Number.isInteger(axis) || axis < 0 || axis >= rank) throw new Error(`float quantizer: block axis ${axis} out of range for ${x.name} of rank ${rank}`);
  const prefix = `${g.fresh('fq_if')}/`;
  const scalar = new Graph(`${prefix}float`, 'float32', `${prefix}f/`);
  scalar.output(emitScalarFloat(scalar, x, desc, noise));
  const blocks = new Graph(`${prefix}block`, 'float32', `${prefix}b/`);
  blocks.output(emitBlocks(blocks, x, desc, axis, noise));
  const kind = g.emit1('Gather', [desc, g.constant('int64', [], [F.kind], 'fq_kind_index')], { axis: 0 }, 'float32', [], 'fq_kind');
  const isBlock = g.emit1('Equal', [kind, g.scalar(FORMAT_KIND.block)], {}, 'bool', [], 'fq_is_block');
  return g.emit1('If', [isBlock], { then_branch: branch(blocks), else_branch: branch(scalar) }, 'float32', x.shape, 'fq_quantized');
}
