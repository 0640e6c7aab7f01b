/**
 * A bit-level view of trained weights, as BSQ reasons about them (Yang et al., "BSQ: Exploring
 * bit-level sparsity for mixed-precision neural network quantization", ICLR 2021; docs/bits.md).
 * Pure: Float32Array weights with their shapes and a bit-width in, numbers out.
 *
 * BSQ's representation of a layer at b bits is sign-magnitude with one scale per layer:
 *
 *   s = max|w| / (2^(b−1) − 1)        m = rint(|w| / s) ∈ 0..2^(b−1)−1     w ≈ sign(w) · s · m
 *
 * and the magnitude codes m, b − 1 bits each, are split into bit-planes: plane p holds bit p of
 * every code. BSQ's precision adjustment drops planes that are all zero at either end: an empty
 * MSB plane halves the codes' range, an empty LSB plane means every code is even, so the codes
 * halve and the scale doubles, exactly. What remains is 1 (sign) + the planes left.
 *
 * With s taken from the layer's own maximum, the largest weight's code is all ones, so no plane of
 * a non-zero layer is ever all zero (BSQ keeps s fixed while its regulariser empties planes; pass
 * `scale` to analyse such a layer). The ones per plane show how close planes are to empty, and the
 * error-bounded suggestion asks what the run's own quantizer needs: the smallest bit-width whose
 * relative error ‖w − q(w)‖/‖w‖ stays within a bound, with q the training graph's weight quantizer
 * (src/quant/quantizers.ts: per output channel min/max, 2^k − 1 steps, round half to even).
 */
import { savingPct } from '../hw/savings.js';
import { roundHalfEven } from '../schedule/shapes.js';

/** Narrowest bit-width BSQ's codes have: a sign and one magnitude bit. */
export const MIN_BSQ_BITS = 2;
/** Widest bit-width analysed (the quantizers pass values through unchanged from 32 bits on). */
export const MAX_BSQ_BITS = 32;
/** Default bound of the error-bounded suggestion (`--max-error`). */
export const DEFAULT_MAX_ERROR = 0.05;

/** The same ε as the training graph's grid scale (src/quant/quantizers.ts). */
const GRID_EPSILON = 1e-12;

/** One GEMM layer's weight. */
export interface WeightLayer {
  name: string;
  /** The weight, row-major. */
  data: Float32Array;
  shape: readonly number[];
  /** Axis of the output channels (linear [in, out]: 1; conv [Cout, Cin/groups, k, k]: 0). */
  outAxis: number;
  /** Kept at full precision by the run: listed, not analysed. */
  fullPrecision?: boolean;
}

/** The bit-planes of a set of magnitude codes. Every per-plane array runs MSB first. */
export interface PlaneStats {
  /** Magnitude planes (b − 1). */
  planes: number;
  /** Ones in each plane, MSB first. */
  ones: number[];
  /** Planes without a single one (at either end or in the middle). */
  zeroPlanes: number;
  /** All-zero planes at the MSB end (all planes when every code is 0). */
  zeroMsb: number;
  /** All-zero planes at the LSB end (0 when every code is 0: counted at the MSB end). */
  zeroLsb: number;
  /** Zero bits over all magnitude bits, 0..1. */
  sparsity: number;
  /** BSQ's precision adjustment: 1 (sign) + the planes left after dropping empty end planes. */
  structuralBits: number;
}

export interface QuantizedLayerBits extends PlaneStats {
  name: string;
  fullPrecision: false;
  weights: number;
  /** The bit-width analysed. */
  bits: number;
  /** BSQ's per-layer scale s (0 for an all-zero layer). */
  scale: number;
  /** `ones` as fractions of the weights. */
  onesFraction: number[];
  /** ‖w − q(w)‖/‖w‖ with the run's weight quantizer at k = 2..bits bits. */
  errors: { bits: number; relativeError: number }[];
  /** Smallest k in 2..bits whose error is within the bound; `bits` when none is. */
  errorBits: number;
  /** Whether `errorBits` meets the bound (false: not even `bits` does). */
  errorBoundMet: boolean;
}

export interface FullPrecisionLayerBits {
  name: string;
  fullPrecision: true;
  weights: number;
}

export type LayerBits = QuantizedLayerBits | FullPrecisionLayerBits;

export interface BitsTotals {
  /** Weights of the quantized layers (full-precision layers are not counted). */
  weights: number;
  /** Weights-weighted mean of the analysed bit-width. */
  bits: number;
  /** Weights-weighted mean of the structural suggestion. */
  structuralBits: number;
  /** Weights-weighted mean of the error-bounded suggestion. */
  errorBits: number;
  /** Zero bits over all magnitude bits of the quantized layers, 0..1. */
  sparsity: number;
  /** Memory of the quantized weights saved at each suggestion, % of Σ weights × bits. */
  structuralSavingPct: number | null;
  errorSavingPct: number | null;
}

export interface BitsReport {
  bits: number;
  maxError: number;
  layers: LayerBits[];
  totals: BitsTotals;
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_BSQ_BITS || bits > MAX_BSQ_BITS) throw new RangeError(`bits must be an integer in ${MIN_BSQ_BITS}..${MAX_BSQ_BITS}, got ${bits}`);
}

/** Largest magnitude code at `bits` bits: 2^(bits−1) − 1. */
export function maxCode(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/**
 * BSQ's magnitude codes of `data` at `bits` bits: rint(|w|/s), s = max|w|/(2^(bits−1)−1) unless
 * `scale` is given (then codes above the largest saturate, as BSQ clips). An all-zero tensor has
 * scale 0 and all codes 0.
 */
export function magnitudeCodes(data: ArrayLike<number>, bits: number, scale?: number): { codes: Uint32Array; scale: number } {
  checkBits(bits);
  const top = maxCode(bits);
  let s = scale;
  if (s === undefined) {
    let maxAbs = 0;
    for (let i = 0; i < data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(data[i]!));
    s = maxAbs / top;
  } else if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`scale must be a positive finite number, got ${s}`);
  const codes = new Uint32Array(data.length);
  if (s > 0) for (let i = 0; i < data.length; i++) codes[i] = Math.min(top, roundHalfEven(Math.abs(data[i]!) / s));
  return { codes, scale: s };
}

/** The bit-planes of magnitude codes of `planes` bits each. */
export function planeStats(codes: ArrayLike<number>, planes: number): PlaneStats {
  if (!Number.isInteger(planes) || planes < 1 || planes > MAX_BSQ_BITS - 1) throw new RangeError(`planes must be an integer in 1..${MAX_BSQ_BITS - 1}, got ${planes}`);
  const onesLsbFirst = new Array<number>(planes).fill(0);
  for (let i = 0; i < codes.length; i++) {
    let c = codes[i]!;
    for (let p = 0; c > 0 && p < planes; p++, c = Math.floor(c / 2)) onesLsbFirst[p]! += c % 2;
  }
  const ones = onesLsbFirst.reverse();
  const zeroPlanes = ones.filter((n) => n === 0).length;
  let zeroMsb = 0;
  while (zeroMsb < planes && ones[zeroMsb] === 0) zeroMsb++;
  let zeroLsb = 0;
  if (zeroMsb < planes) while (ones[planes - 1 - zeroLsb] === 0) zeroLsb++;
  const bitsTotal = codes.length * planes;
  const onesTotal = ones.reduce((a, b) => a + b, 0);
  return { planes, ones, zeroPlanes, zeroMsb, zeroLsb, sparsity: bitsTotal > 0 ? 1 - onesTotal / bitsTotal : 0, structuralBits: 1 + planes - zeroMsb - zeroLsb };
}

/** Per-output-channel min and max of a weight, and the channel of each element. */
function channelRanges(layer: Pick<WeightLayer, 'data' | 'shape' | 'outAxis'>): { channel: (i: number) => number; min: Float64Array; max: Float64Array } {
  const { data, shape, outAxis } = layer;
  if (!Number.isInteger(outAxis) || outAxis < 0 || outAxis >= shape.length) throw new RangeError(`outAxis ${outAxis} is not an axis of [${shape.join(', ')}]`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new RangeError(`shape [${shape.join(', ')}] has ${size} elements, the data ${data.length}`);
  const channels = shape[outAxis]!;
  const inner = shape.slice(outAxis + 1).reduce((a, b) => a * b, 1);
  const channel = (i: number) => Math.floor(i / inner) % channels;
  const min = new Float64Array(channels).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(channels).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < data.length; i++) {
    const c = channel(i);
    const v = data[i]!;
    if (v < min[c]!) min[c] = v;
    if (v > max[c]!) max[c] = v;
  }
  return { channel, min, max };
}

/**
 * ‖w − q(w)‖/‖w‖ for the run's weight quantizer at each of `bitsList` (in float64): per output
 * channel, scale = max(max − min, ε)/(2^k − 1), q = rint((w − min)/scale)·scale + min; from 32
 * bits on the quantizer passes values through (error 0). An all-zero weight has error 0.
 */
export function quantizerErrors(layer: Pick<WeightLayer, 'data' | 'shape' | 'outAxis'>, bitsList: readonly number[]): number[] {
  const { channel, min, max } = channelRanges(layer);
  const { data } = layer;
  let norm2 = 0;
  for (let i = 0; i < data.length; i++) norm2 += data[i]! * data[i]!;
  const channelOf = Uint32Array.from({ length: data.length }, (_, i) => channel(i));
  return bitsList.map((k) => {
    if (norm2 === 0 || k >= MAX_BSQ_BITS) return 0;
    const steps = 2 ** k - 1;
    const scale = Float64Array.from(min, (mn, c) => Math.max(max[c]! - mn, GRID_EPSILON) / steps);
    let err2 = 0;
    for (let i = 0; i < data.length; i++) {
      const c = channelOf[i]!;
      const x = data[i]!;
      const q = roundHalfEven((x - min[c]!) / scale[c]!) * scale[c]! + min[c]!;
      err2 += (x - q) * (x - q);
    }
    return Math.sqrt(err2 / norm2);
  });
}

/** Smallest k in 2..bits whose error is ≤ maxError; `bits` (not met) when none is. */
export function errorBoundedBits(errors: readonly { bits: number; relativeError: number }[], maxError: number, bits: number): { bits: number; met: boolean } {
  const hit = errors.find((e) => e.relativeError <= maxError);
  return hit ? { bits: hit.bits, met: true } : { bits, met: false };
}

/** One layer at `bits` bits: bit-planes, sparsity and both suggestions. */
export function analyseLayer(layer: WeightLayer, bits: number, options: { maxError?: number; scale?: number } = {}): LayerBits {
  const weights = layer.data.length;
  if (layer.fullPrecision) return { name: layer.name, fullPrecision: true, weights };
  checkBits(bits);
  const maxError = options.maxError ?? DEFAULT_MAX_ERROR;
  const { codes, scale } = magnitudeCodes(layer.data, bits, options.scale);
  const stats = planeStats(codes, bits - 1);
  const bitsList = Array.from({ length: bits - 1 }, (_, i) => i + MIN_BSQ_BITS);
  const errors = quantizerErrors(layer, bitsList).map((relativeError, i) => ({ bits: bitsList[i]!, relativeError }));
  const chosen = errorBoundedBits(errors, maxError, bits);
  return {
    name: layer.name,
    fullPrecision: false,
    weights,
    bits,
    scale,
    ...stats,
    onesFraction: stats.ones.map((n) => (weights > 0 ? n / weights : 0)),
    errors,
    errorBits: chosen.bits,
    errorBoundMet: chosen.met,
  };
}

/** Weights-weighted means and memory savings over the quantized layers. */
export function bitsTotals(layers: readonly LayerBits[]): BitsTotals {
  const q = layers.filter((l): l is QuantizedLayerBits => !l.fullPrecision);
  const weights = q.reduce((a, l) => a + l.weights, 0);
  const sum = (f: (l: QuantizedLayerBits) => number) => q.reduce((a, l) => a + l.weights * f(l), 0);
  const memory = sum((l) => l.bits);
  const structural = sum((l) => l.structuralBits);
  const error = sum((l) => l.errorBits);
  const mean = (total: number) => (weights > 0 ? total / weights : 0);
  const magnitudeBits = sum((l) => l.planes);
  return {
    weights,
    bits: mean(memory),
    structuralBits: mean(structural),
    errorBits: mean(error),
    sparsity: magnitudeBits > 0 ? sum((l) => l.planes * l.sparsity) / magnitudeBits : 0,
    structuralSavingPct: savingPct(structural, memory),
    errorSavingPct: savingPct(error, memory),
  };
}

/** Every layer of a model at `bits` bits (full-precision layers listed as such), with totals. */
export function analyseWeights(layers: readonly WeightLayer[], bits: number, options: { maxError?: number } = {}): BitsReport {
  checkBits(bits);
  const maxError = options.maxError ?? DEFAULT_MAX_ERROR;
  const analysed = layers.map((l) => analyseLayer(l, bits, { maxError }));
  return { bits, maxError, layers: analysed, totals: bitsTotals(analysed) };
}

/**
 * The weight bit-width a run ended with: the bits of the last step its checkpoint includes (rows
 * with step < the checkpoint's step; all rows when the checkpoint names no step), else the
 * schedule's value at the run's end.
 */
export function finalWeightBits(rows: readonly { step: number; bitsWeights: number }[], checkpointStep: number | null, scheduleEnd: () => number): { bits: number; source: 'steps.csv' | 'schedule'; step: number | null } {
  let last: { step: number; bitsWeights: number } | null = null;
  for (const row of rows) if ((checkpointStep === null || row.step < checkpointStep) && (last === null || row.step >= last.step)) last = row;
  return last ? { bits: last.bitsWeights, source: 'steps.csv', step: last.step } : { bits: scheduleEnd(), source: 'schedule', step: null };
}
