/**
 * Integer kernels: a quantized linear layer whose GEMMs run on integer codes (onnxruntime's
 * `MatMulInteger`, uint8 × int8, AVX512-VNNI on this CPU) instead of fp32 on fake-quantized values.
 *
 * Every quantized tensor of a layer is `x̂ = s·k + m` with integer codes k ∈ [0, 2^b − 1] (b ≤ 8):
 * activations per tensor (s_x, m_x scalars), weights per output channel (s_j, m_j over the columns
 * of w [K, N]), errors per tensor with stochastic rounding (s_e, m_e). The codes are computed by
 * `QuantizeLinear`, which rounds the same quotient half to even as the fake quantizer's `Round`
 * (./quantizers.ts), so both paths see the same codes. Operand layout for the u8 × s8 kernel:
 * the left operand holds the codes as uint8 (activations, or their transpose), the right one holds
 * `k − 128` as int8 with the kernel's zero point −128, so it multiplies by k exactly. The offsets m
 * are not integers in units of s, so the kernel cannot take them as zero points; they come back as
 * rank-1 terms built from row and column sums of the codes (small GEMVs on the same kernel):
 *
 *   forward      y_ij  = s_x s_j Σ_k a_ik c_kj + m_j (s_x Σ_k a_ik + K m_x) + m_x s_j Σ_k c_kj
 *   weight-grad  dW_kj = s_x s_e Σ_i a_ik e_ij + m_e (s_x Σ_i a_ik + M m_x) + m_x s_e Σ_i e_ij
 *   bias-grad    db_j  = s_e Σ_i e_ij + M m_e
 *
 * The products are exact in int32 (|Σ| ≤ 255·255·K < 2^31 for K < 33 000); one fp32 epilogue
 * (cast, scale, the rank-1 terms) dequantizes each. The input-gradient product
 * dx = dŷ · ŵᵀ reduces over the output channels, along which the weight scales s_j vary, so it has no
 * exact integer form: it runs in fp32 on the same quantized operands (as in the fake path).
 */
import { type Dim, Graph, ONNX_TYPE, type OpDef, type Value } from '../graph/builder.js';
import { type ConvAttrs, type SlidingWindow, convGradFormulation, forEachTap, inputGradTranspose, mulDim, padSpatial, tapSlice, transpose01 } from '../graph/ops/conv.js';
import type { LayerShape } from '../graph/layers.js';
import { bitsTerms, emitDither, emitGrid, gridScale } from './quantizers.js';

/** The int8 zero point of right operands holding `code − 128`. */
const RIGHT_ZERO = -128;

function u8(g: Graph, v: number): Value {
  return g.constant('uint8', [], [v], 'u8');
}
function s8(g: Graph, v: number): Value {
  return g.constant('int8', [], [v], 's8');
}
function toFloat(g: Graph, v: Value, hint: string): Value {
  return g.emit1('Cast', [v], { to: ONNX_TYPE.float32 }, 'float32', v.shape, hint);
}

/** `codes · code ↦ s8(code − 128)` of v (already in units of the step: QuantizeLinear with scale 1). */
function rightCodes(g: Graph, v: Value, hint: string): Value {
  return g.emit1('QuantizeLinear', [v, g.scalar(1), s8(g, RIGHT_ZERO)], {}, 'int8', v.shape, hint);
}

/** Σ_k a_ik c_kj as int32 for a uint8 [M,K] and an int8 `code − 128` [K,N] operand. */
function integerProduct(g: Graph, a: Value, c: Value, shape: Dim[], hint: string): Value {
  return g.emit1('MatMulInteger', [a, c, null, s8(g, RIGHT_ZERO)], {}, 'int32', shape, hint);
}

/** A [rows, cols] tensor of ones of `dtype`, rows or cols given at run time by `dim` (int64 [1]). */
function ones(g: Graph, dtype: 'uint8' | 'int8', rows: Value | number, cols: Value | number, shape: Dim[]): Value {
  const dim = (d: Value | number) => (typeof d === 'number' ? g.ints([d]) : d);
  const target = g.emit1('Concat', [dim(rows), dim(cols)], { axis: 0 }, 'int64', [2], 'ones_shape');
  return g.emit1('Expand', [g.constant(dtype, [1, 1], [1], 'one'), target], {}, dtype, shape, 'ones');
}

export interface IntLinearAttrs {
  /** Stochastic-rounding noise shaped like its argument (the layer's output): `noise · noiseUnit` ~ U[0,1). */
  noise: (like: Value) => Value;
  noiseUnit: number;
}

/**
 * y = x̂ · ŵ (+ bias) on integer codes, with the error flowing back into y quantized (stochastic
 * rounding) inside the op. Inputs: [x [M,K], w [K,N], bits_a, bits_w, bits_e, x_min, x_max (the
 * activation range, scalars), bias [N]?]. Outputs: y, then the saved codes, scales and noise the
 * gradient rule reads. Training graphs only; every bit-width must be ≤ 8 (the engine
 * runs a chunk on this path only then).
 */
export const IntLinearOp: OpDef<IntLinearAttrs> = {
  name: 'IntLinear',
  forward(g, [x, w, bitsA, bitsW, , xMin, xMax, bias], { noise }) {
    const [M, K] = x!.shape as [Dim, number];
    const N = w!.shape![1] as number;
    if (typeof K !== 'number' || w!.shape![0] !== K) throw new Error(`IntLinear: x ${x!.name} and w ${w!.name} do not chain`);
    // activations: per tensor
    const sx = gridScale(g, xMin!, xMax!, bitsTerms(g, bitsA!).levels);
    const a = g.emit1('QuantizeLinear', [g.emit1('Sub', [x!, xMin!], {}, 'float32', [M, K], 'ix_shift'), sx, u8(g, 0)], {}, 'uint8', [M, K], 'ix_codes');
    // weights: per output channel (column)
    const wMin = g.emit1('ReduceMin', [w!], { axes: [0], keepdims: 1 }, 'float32', [1, N], 'iw_min');
    const wMax = g.emit1('ReduceMax', [w!], { axes: [0], keepdims: 1 }, 'float32', [1, N], 'iw_max');
    const sw = gridScale(g, wMin, wMax, bitsTerms(g, bitsW!).levels);
    const v = g.emit1('Div', [g.emit1('Sub', [w!, wMin], {}, 'float32', [K, N], 'iw_shift'), sw], {}, 'float32', [K, N], 'iw_v');
    const c = rightCodes(g, v, 'iw_codes');

    const product = toFloat(g, integerProduct(g, a, c, [M, N], 'i_fwd'), 'i_fwd_f');
    const batchDim = g.emit1('Shape', [x!], { start: 0, end: 1 }, 'int64', [1], 'i_batch');
    const rowSums = toFloat(g, g.emit1('MatMulInteger', [a, ones(g, 'int8', K, 1, [K, 1])], {}, 'int32', [M, 1], 'i_rows'), 'i_rows_f');
    const colSums = toFloat(g, integerProduct(g, ones(g, 'uint8', 1, K, [1, K]), c, [1, N], 'i_cols'), 'i_cols_f');
    // Σ_k x̂_ik = s_x Σ_k a_ik + K m_x
    const xSums = g.emit1('Add', [g.emit1('Mul', [rowSums, sx], {}, 'float32', [M, 1], 'i_xs'), g.emit1('Mul', [xMin!, g.scalar(K)], {}, 'float32', [], 'i_kmin')], {}, 'float32', [M, 1], 'i_xsum');
    let rowTerm = g.emit1('Mul', [g.emit1('Mul', [colSums, sw], {}, 'float32', [1, N], 'i_cs'), xMin!], {}, 'float32', [1, N], 'i_row_term');
    if (bias) rowTerm = g.emit1('Add', [rowTerm, g.emit1('Reshape', [bias, g.ints([1, N])], {}, 'float32', [1, N], 'i_bias')], {}, 'float32', [1, N], 'i_row_bias');
    const scaled = g.emit1('Mul', [product, g.emit1('Mul', [sw, sx], {}, 'float32', [1, N], 'i_scale')], {}, 'float32', [M, N], 'i_scaled');
    const withCols = g.emit1('Add', [scaled, g.emit1('Mul', [xSums, wMin], {}, 'float32', [M, N], 'i_col_term')], {}, 'float32', [M, N], 'i_sum');
    const y = g.emit1('Add', [withCols, rowTerm], {}, 'float32', [M, N], 'int_linear');
    return [y, a, sx, c, sw, wMin, batchDim, noise(y)];
  },
  backward(g, { inputs, outputs: [, a, sx, c, sw, wMin, batchDim, noise], attrs }, [dy], needs) {
    const [x, w, , , bitsE, xMin, , bias] = inputs;
    const grads: (Value | null)[] = inputs.map(() => null);
    if (!dy) return grads;
    const [M, K] = x!.shape as [Dim, number];
    const N = w!.shape![1] as number;
    // errors: per tensor, stochastic rounding (the fake path's formula, ./quantizers.ts)
    const eMin = g.emit1('ReduceMin', [dy], { keepdims: 0 }, 'float32', [], 'ie_min');
    const eMax = g.emit1('ReduceMax', [dy], { keepdims: 0 }, 'float32', [], 'ie_max');
    const se = gridScale(g, eMin, eMax, bitsTerms(g, bitsE!).levels);
    const dithered = emitDither(g, dy, eMin, se, { value: noise!, unit: attrs.noiseUnit });
    const e = g.emit1('QuantizeLinear', [dithered, se, s8(g, RIGHT_ZERO)], {}, 'int8', [M, N], 'ie_codes');
    const batch = toFloat(g, g.emit1('Reshape', [batchDim!, g.ints([])], {}, 'int64', [], 'i_m'), 'i_m_f');
    const colSums = () => toFloat(g, integerProduct(g, ones(g, 'uint8', 1, batchDim!, [1, M]), e, [1, N], 'ie_cols'), 'ie_cols_f');
    const eSums = needs[1] || (bias && needs[7]) ? colSums() : null;

    if (needs[1]) {
      const aT = g.emit1('Transpose', [a!], { perm: [1, 0] }, 'uint8', [K, M], 'ix_codes_t');
      const product = toFloat(g, integerProduct(g, aT, e, [K, N], 'i_wgrad'), 'i_wgrad_f');
      const aSums = toFloat(g, g.emit1('MatMulInteger', [aT, ones(g, 'int8', batchDim!, 1, [M, 1])], {}, 'int32', [K, 1], 'ix_cols'), 'ix_cols_f');
      // m_e (s_x Σ_i a_ik + M m_x)
      const colTerm = g.emit1('Mul', [g.emit1('Add', [g.emit1('Mul', [aSums, sx!], {}, 'float32', [K, 1], 'iw_xs'), g.emit1('Mul', [batch, xMin!], {}, 'float32', [], 'iw_mmin')], {}, 'float32', [K, 1], 'iw_xsum'), eMin], {}, 'float32', [K, 1], 'iw_col_term');
      const rowTerm = g.emit1('Mul', [g.emit1('Mul', [eSums!, se], {}, 'float32', [1, N], 'iw_es'), xMin!], {}, 'float32', [1, N], 'iw_row_term');
      const scaled = g.emit1('Mul', [product, g.emit1('Mul', [sx!, se], {}, 'float32', [], 'iw_scale')], {}, 'float32', [K, N], 'iw_scaled');
      grads[1] = g.emit1('Add', [g.emit1('Add', [scaled, colTerm], {}, 'float32', [K, N], 'iw_sum'), rowTerm], {}, 'float32', [K, N], 'grad_w');
    }
    if (bias && needs[7]) {
      const db = g.emit1('Add', [g.emit1('Mul', [eSums!, se], {}, 'float32', [1, N], 'ib_es'), g.emit1('Mul', [batch, eMin], {}, 'float32', [], 'ib_mmin')], {}, 'float32', [1, N], 'ib_sum');
      grads[7] = g.emit1('Reshape', [db, g.ints([N])], {}, 'float32', [N], 'grad_b');
    }
    if (needs[0]) {
      // fp32 on the quantized operands: ê = k·s_e + m_e, ŵ = k·s_j + m_j (the fake path's values)
      const eHat = g.emit1('Add', [g.emit1('DequantizeLinear', [e, se, s8(g, RIGHT_ZERO)], {}, 'float32', [M, N], 'ie_rescale'), eMin], {}, 'float32', [M, N], 'ie_hat');
      const kw = g.emit1('DequantizeLinear', [c!, g.scalar(1), s8(g, RIGHT_ZERO)], {}, 'float32', [K, N], 'iw_k');
      const wHat = g.emit1('Add', [g.emit1('Mul', [kw, sw!], {}, 'float32', [K, N], 'iw_rescale'), wMin!], {}, 'float32', [K, N], 'iw_hat');
      grads[0] = g.emit1('Gemm', [eHat, wHat], { transB: 1 }, 'float32', [M, K], 'grad_x');
    }
    return grads;
  },
};

/** The products of a training step the integer-kernel body can compute on integer codes. */
export type IntegerProduct = 'forward' | 'weightGrad';

/**
 * Which products of a layer the integer-kernel body computes on integer codes (the rule
 * src/models/net.ts builds with and bench/predict.ts costs with): a quantized linear layer's
 * forward and weight gradient (input features ≤ MAX_INT_REDUCTION); a quantized dense convolution's
 * weight gradient where it has the per-tap formulation (Cin ≥ 4); nothing else. The input gradient
 * never (its reduction crosses the per-channel weight scales).
 */
export function integerProducts(layer: LayerShape): IntegerProduct[] {
  if (layer.fullPrecision) return [];
  if (layer.kind === 'linear') return layer.inFeatures <= MAX_INT_REDUCTION ? ['forward', 'weightGrad'] : [];
  const groups = layer.groups ?? 1;
  if (groups !== 1 || layer.inChannels === undefined) return [];
  return convGradFormulation({ inChannels: layer.inChannels, groups }).weight === 'im2col' ? ['weightGrad'] : [];
}

/**
 * Longest reduction whose uint8 × int8 code products stay exact in int32: 255·255·n < 2^31.
 * A linear layer with more input features stays on the fp32 path; the engine keeps batches larger
 * than this (the weight gradient reduces over the batch) on the fp32 path too.
 */
export const MAX_INT_REDUCTION = Math.floor((2 ** 31 - 1) / (255 * 255));

/**
 * A probe of the integer kernel itself, with codes at the extremes: 255 × (code 255, stored 127)
 * makes int16 pair sums of 64 770, which an x86 kernel built on VPMADDUBSW (AVX2 without VNNI)
 * saturates. The engine runs it once per process (`Trainer.init`) and keeps every step on the fp32
 * path when the kernel is not exact on the machine. Returns the graph (output `product`, int32
 * [2, 2]) and the exact products.
 */
export function kernelProbe(): { graph: Graph; expected: number[] } {
  const n = 64;
  const left = [...new Array(n).fill(255), ...Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 255 : i % 7))];
  const codes = Array.from({ length: n * 2 }, (_, i) => (i % 2 === 0 ? 255 : (i * 37) % 256)); // [n, 2] row-major
  const g = new Graph('integer_kernel_probe');
  const a = g.constant('uint8', [2, n], left, 'probe_left');
  const c = g.constant('int8', [n, 2], codes.map((k) => k - 128), 'probe_right');
  g.output(integerProduct(g, a, c, [2, 2], 'probe'), 'product');
  const expected: number[] = [];
  for (let r = 0; r < 2; r++) for (let col = 0; col < 2; col++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += left[r * n + k]! * codes[k * 2 + col]!;
    expected.push(sum);
  }
  return { graph: g, expected };
}

export interface IntConvAttrs extends IntLinearAttrs {
  conv: ConvAttrs;
}

/**
 * A quantized convolution whose weight gradient runs on integer codes; forward and input gradient
 * stay fp32 (`Conv`, `ConvTranspose`) on the same quantized operands as the fake path (see
 * docs/architecture.md for the measurements behind the split). Dense (groups 1) layers with the
 * per-tap im2col weight gradient only. Inputs as IntLinearOp: [x [N,Cin,H,W], w [Cout,Cin,k,k],
 * bits_a, bits_w, bits_e, x_min, x_max, bias [Cout]?].
 *
 * Per kernel tap t, with a_t the tap's block of the zero-padded activation codes and V_t[p] = 1
 * where output position p's tap t reads inside the image (0 in the padding, where x̂ is a true 0):
 *
 *   dW[o,c,t] = s_x s_e Σ_{n,p} a_t e + s_e m_x Σ_p V_t[p] Σ_n e[n,o,p] + m_e s_x Σ_{n,p} a_t
 *             + m_e m_x N Σ_p V_t[p]
 *
 * the first term one uint8 × int8 `MatMulInteger` per tap ([Cin, N·P] × [N·P, Cout]), the others
 * small products with constant masks.
 */
export const IntConvOp: OpDef<IntConvAttrs> = {
  name: 'IntConv',
  forward(g, [x, w, bitsA, bitsW, , xMin, xMax, bias], { noise, conv }) {
    const { win } = conv;
    const n = x!.shape![0]!;
    const cout = w!.shape![0] as number;
    // activations: per tensor, the codes kept; x̂ exactly as the fake path's QuantizeLinear route
    const sx = gridScale(g, xMin!, xMax!, bitsTerms(g, bitsA!).levels);
    const a = g.emit1('QuantizeLinear', [g.emit1('Sub', [x!, xMin!], {}, 'float32', x!.shape, 'cx_shift'), sx, u8(g, 0)], {}, 'uint8', x!.shape, 'cx_codes');
    const xHat = g.emit1('Add', [g.emit1('DequantizeLinear', [a, sx], {}, 'float32', x!.shape, 'cx_rescale'), xMin!], {}, 'float32', x!.shape, 'cx_hat');
    // weights: per output channel, the fake path's grid
    const wHat = emitGrid(g, w!, bitsTerms(g, bitsW!), { reduceAxes: [1, 2, 3] });
    const outShape: Dim[] = [n, cout, win.outHeight, win.outWidth];
    const attrs = { kernel_shape: [win.kernel, win.kernel], strides: [win.stride, win.stride], pads: [win.pad, win.pad, win.pad, win.pad], group: 1 };
    const y = g.emit1('Conv', bias ? [xHat, wHat, bias] : [xHat, wHat], attrs, 'float32', outShape, 'int_conv');
    return [y, a, sx, wHat, noise(y)];
  },
  backward(g, { inputs, outputs: [, a, sx, wHat, noise], attrs }, [dy], needs) {
    const [x, w, , , bitsE, xMin, , bias] = inputs;
    const grads: (Value | null)[] = inputs.map(() => null);
    if (!dy) return grads;
    const { win } = attrs.conv;
    const [n, cin] = x!.shape as [Dim, number];
    const cout = w!.shape![0] as number;
    const k2 = win.kernel * win.kernel;
    const positions = win.outHeight * win.outWidth;
    // errors: per tensor, stochastic rounding; codes (int8, k − 128) and values
    const eMin = g.emit1('ReduceMin', [dy], { keepdims: 0 }, 'float32', [], 'ce_min');
    const eMax = g.emit1('ReduceMax', [dy], { keepdims: 0 }, 'float32', [], 'ce_max');
    const se = gridScale(g, eMin, eMax, bitsTerms(g, bitsE!).levels);
    const dithered = emitDither(g, dy, eMin, se, { value: noise!, unit: attrs.noiseUnit });
    const e = g.emit1('QuantizeLinear', [dithered, se, s8(g, RIGHT_ZERO)], {}, 'int8', dy.shape, 'ce_codes');
    const eHat = g.emit1('Add', [g.emit1('DequantizeLinear', [e, se, s8(g, RIGHT_ZERO)], {}, 'float32', dy.shape, 'ce_rescale'), eMin], {}, 'float32', dy.shape, 'ce_hat');
    if (needs[0]) grads[0] = inputGradTranspose(g, x!, wHat!, eHat, attrs.conv);
    if (bias && needs[7]) grads[7] = g.emit1('ReduceSum', [eHat, g.ints([0, 2, 3])], { keepdims: 0 }, 'float32', [cout], 'grad_conv_b');
    if (!needs[1]) return grads;

    const rows = mulDim(n, positions); // N·P, the reduction of every tap's product
    const batch = g.emit1('Shape', [x!], { start: 0, end: 1 }, 'int64', [1], 'c_batch');
    const rowCount = g.emit1('Mul', [batch, g.ints([positions])], {}, 'int64', [1], 'c_rows');
    // errors as the right operand: [N·P, Cout] (NHWC)
    const eRows = g.emit1('Reshape', [g.emit1('Transpose', [e], { perm: [0, 2, 3, 1] }, 'int8', [n, win.outHeight, win.outWidth, cout], 'ce_nhwc'), g.ints([-1, cout])], {}, 'int8', [rows, cout], 'ce_rows');
    // activation codes, channel-major and zero-padded: [Cin, N, H + 2p, W + 2p]
    const padded = padSpatial(g, transpose01(g, a!, 'cx_codes_t'), win.pad);
    const onesRows = ones(g, 'int8', rowCount, 1, [rows, 1]);
    const taps = forEachTap(win, (i, j) => g.emit1('Reshape', [tapSlice(g, padded, win, i, j), g.ints([cin, -1])], {}, 'uint8', [cin, rows], 'cx_tap'));
    const unsq = (v: Value, shape: Dim[]) => g.emit1('Unsqueeze', [v, g.ints([2])], {}, v.dtype, shape, 'c_tap');
    const products = taps.map((tap) => unsq(integerProduct(g, tap, eRows, [cin, cout], 'c_wgrad'), [cin, cout, 1]));
    const tapSums = taps.map((tap) => g.emit1('MatMulInteger', [tap, onesRows], {}, 'int32', [cin, 1], 'cx_tap_sum'));
    const product = toFloat(g, g.emit1('Concat', products, { axis: 2 }, 'int32', [cin, cout, k2], 'c_wgrad_taps'), 'c_wgrad_f'); // [Cin, Cout, k²]
    const aSums = toFloat(g, g.emit1('Concat', tapSums, { axis: 1 }, 'int32', [cin, k2], 'cx_tap_sums'), 'cx_tap_sums_f'); // Σ_{n,p} a_t
    // Σ_n e[n, o, p] (int32 exact), then Σ_p V_t[p]·(…) with the constant masks
    const eByPosition = integerProduct(g, ones(g, 'uint8', 1, batch, [1, n]), g.emit1('Reshape', [e, g.ints([0, -1])], {}, 'int8', [n, cout * positions], 'ce_flat'), [1, cout * positions], 'ce_batch_sum');
    const eSums = g.emit1('Reshape', [toFloat(g, eByPosition, 'ce_batch_sum_f'), g.ints([cout, positions])], {}, 'float32', [cout, positions], 'ce_sums');
    const masks = tapMasks(win);
    const eTaps = g.emit1('MatMul', [eSums, g.constant('float32', [positions, k2], masks.valid, 'c_masks')], {}, 'float32', [cout, k2], 'ce_tap_sums');
    const batchF = toFloat(g, g.emit1('Reshape', [batch, g.ints([])], {}, 'int64', [], 'c_n'), 'c_n_f');
    const scaled = g.emit1('Mul', [product, g.emit1('Mul', [sx!, se], {}, 'float32', [], 'cw_scale')], {}, 'float32', [cin, cout, k2], 'cw_scaled');
    const errTerm = g.emit1('Mul', [g.emit1('Unsqueeze', [eTaps, g.ints([0])], {}, 'float32', [1, cout, k2], 'cw_e'), g.emit1('Mul', [se, xMin!], {}, 'float32', [], 'cw_e_scale')], {}, 'float32', [1, cout, k2], 'cw_e_term');
    const actTerm = g.emit1('Mul', [g.emit1('Unsqueeze', [aSums, g.ints([1])], {}, 'float32', [cin, 1, k2], 'cw_a'), g.emit1('Mul', [sx!, eMin], {}, 'float32', [], 'cw_a_scale')], {}, 'float32', [cin, 1, k2], 'cw_a_term');
    const constTerm = g.emit1('Mul', [g.constant('float32', [k2], masks.count, 'c_mask_counts'), g.emit1('Mul', [g.emit1('Mul', [eMin, xMin!], {}, 'float32', [], 'cw_mm'), batchF], {}, 'float32', [], 'cw_mmn')], {}, 'float32', [k2], 'cw_const');
    const sum = g.emit1('Add', [g.emit1('Add', [g.emit1('Add', [scaled, errTerm], {}, 'float32', [cin, cout, k2], 'cw_sum'), actTerm], {}, 'float32', [cin, cout, k2], 'cw_sum'), constTerm], {}, 'float32', [cin, cout, k2], 'cw_sum');
    const swapped = g.emit1('Transpose', [sum], { perm: [1, 0, 2] }, 'float32', [cout, cin, k2], 'cw_t');
    grads[1] = g.emit1('Reshape', [swapped, g.ints([cout, cin, win.kernel, win.kernel])], {}, 'float32', [cout, cin, win.kernel, win.kernel], 'grad_conv_w');
    return grads;
  },
};

/**
 * V [P, k²]: 1 where output position p's kernel tap t reads inside the image, 0 where it reads the
 * zero padding; and Σ_p V[p, t] per tap.
 */
export function tapMasks(win: SlidingWindow): { valid: number[]; count: number[] } {
  const k2 = win.kernel * win.kernel;
  const valid = new Array<number>(win.outHeight * win.outWidth * k2).fill(0);
  const count = new Array<number>(k2).fill(0);
  for (let ph = 0; ph < win.outHeight; ph++) {
    for (let pw = 0; pw < win.outWidth; pw++) {
      for (let i = 0; i < win.kernel; i++) {
        for (let j = 0; j < win.kernel; j++) {
          const r = ph * win.stride + i - win.pad;
          const c = pw * win.stride + j - win.pad;
          if (r < 0 || c < 0 || r >= win.height || c >= win.width) continue;
          const t = i * win.kernel + j;
          valid[(ph * win.outWidth + pw) * k2 + t] = 1;
          count[t]! += 1;
        }
      }
    }
  }
  return { valid, count };
}
