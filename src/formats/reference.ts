/**
 * Reference conversions in float64: the oracle the quantizer graphs will be tested against.
 * Every result is exact (scaling by powers of two and rounding an integer-valued float64), so a
 * value is either representable in the format or the rule below says where it goes:
 *
 * - rounding: round-to-nearest, ties to even, or stochastic with a given u in [0, 1) (up with
 *   probability (x − lo)/(hi − lo), so the expectation is x);
 * - overflow: a rounded magnitude beyond `maxFinite` becomes ±Inf (`overflow: 'inf'`, the IEEE
 *   rule: the rounding is done with an unbounded exponent, so fp16's 65520 → Inf) or ±maxFinite
 *   (`'saturate'`); ±Inf inputs stay ±Inf or saturate the same way;
 * - NaN in, NaN out (for a format without NaN the number is still NaN: MX carries it in the scale);
 * - subnormals as the format defines them, or flushed to ±0 after rounding when it has none;
 * - the sign of zero is kept (floats); integers have a single zero.
 *
 * Rules and sources: docs/number-formats.md. Pure.
 */
import { exponentOf, floatLimits, type BlockFormat, type FloatFormat, type IntFormat, type ScalarFormat } from './number-format.js';

/** Round-to-nearest-even, or stochastic rounding with this uniform draw u in [0, 1). */
export type Rounding = 'nearest-even' | { stochastic: number };

/** Round an integer-valued grid position q ≥ 0 (an exact float64). */
function roundGrid(q: number, rounding: Rounding): number {
  const lo = Math.floor(q);
  const frac = q - lo; // exact: q and lo share their exponent range
  if (rounding === 'nearest-even') {
    if (frac > 0.5) return lo + 1;
    if (frac < 0.5) return lo;
    return lo % 2 === 0 ? lo : lo + 1;
  }
  const u = rounding.stochastic;
  if (!(u >= 0 && u < 1)) throw new RangeError(`stochastic rounding needs u in [0, 1), got ${u}`);
  return u < frac ? lo + 1 : lo;
}

/** `x` rounded to the float format (a JS number holding a value of the format, ±Inf or NaN). */
export function quantizeFloat(x: number, format: FloatFormat, rounding: Rounding = 'nearest-even'): number {
  if (Number.isNaN(x)) return NaN;
  const negative = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  if (a === 0) return x;
  const { emin, minNormal, maxFinite } = floatLimits(format);
  let magnitude: number;
  if (a === Infinity) {
    magnitude = Infinity;
  } else {
    // The quantum (unit in the last place) at a's binade, no finer than the subnormals'.
    const exponent = Math.max(exponentOf(a), emin);
    const quantum = 2 ** (exponent - format.mantissaBits);
    magnitude = roundGrid(a / quantum, rounding) * quantum;
    if (!format.subnormals && magnitude < minNormal) magnitude = 0;
  }
  if (magnitude > maxFinite) magnitude = format.overflow === 'inf' ? Infinity : maxFinite;
  return negative ? -magnitude : magnitude;
}

/** The integer range of an int format, before its 2^−fractionBits scale. */
export function intRange(format: IntFormat): { min: number; max: number } {
  return format.signed ? { min: -(2 ** (format.bits - 1)), max: 2 ** (format.bits - 1) - 1 } : { min: 0, max: 2 ** format.bits - 1 };
}

/** `x` rounded to the int format and clamped to its range (±Inf saturate; NaN stays NaN). */
export function quantizeInt(x: number, format: IntFormat, rounding: Rounding = 'nearest-even', range = intRange(format)): number {
  if (Number.isNaN(x)) return NaN;
  const scale = 2 ** (format.fractionBits ?? 0);
  const q = x * scale;
  let k: number;
  if (q >= range.max) k = range.max;
  else if (q <= range.min) k = range.min;
  else k = q < 0 ? -roundGrid(-q, rounding) : roundGrid(q, rounding); // on the magnitude, as floats
  return Math.min(range.max, Math.max(range.min, k)) / scale + 0; // + 0: a single zero
}

/** `x` in a scalar format. */
export function quantize(x: number, format: ScalarFormat, rounding: Rounding = 'nearest-even'): number {
  return format.kind === 'float' ? quantizeFloat(x, format, rounding) : quantizeInt(x, format, rounding);
}

function checkEncodable(format: FloatFormat): void {
  if (format.exponentBits + format.mantissaBits + 1 > 32) throw new RangeError(`${format.name}: bit patterns are only defined for formats of at most 32 bits`);
}

/** The bit pattern (sign in the top bit) of the value `x` rounds to (nearest-even); NaN → the canonical quiet NaN. */
export function encodeBits(x: number, format: FloatFormat): number {
  checkEncodable(format);
  const m = format.mantissaBits;
  const e = format.exponentBits;
  const expAllOnes = 2 ** e - 1;
  const signBit = 2 ** (e + m);
  if (Number.isNaN(x)) {
    if (format.nan === 'none') throw new RangeError(`${format.name} has no NaN encoding`);
    // IEEE: quiet NaN (top mantissa bit set); OFP8 E4M3: S.1111.111.
    return format.nan === 'ieee' ? expAllOnes * 2 ** m + (m > 0 ? 2 ** (m - 1) : 0) : expAllOnes * 2 ** m + (2 ** m - 1);
  }
  const v = quantizeFloat(x, format);
  const sign = v < 0 || Object.is(v, -0) ? signBit : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign + expAllOnes * 2 ** m; // only reachable with nan: 'ieee'
  if (a === 0) return sign;
  const { emin, minNormal } = floatLimits(format);
  if (a < minNormal) return sign + a / 2 ** (emin - m); // subnormal: E = 0
  const exponent = exponentOf(a);
  return sign + (exponent + format.bias) * 2 ** m + (a / 2 ** (exponent - m) - 2 ** m);
}

/** The value of a bit pattern (NaN codes → NaN). */
export function decodeBits(bits: number, format: FloatFormat): number {
  checkEncodable(format);
  const m = format.mantissaBits;
  const e = format.exponentBits;
  if (!(Number.isInteger(bits) && bits >= 0 && bits < 2 ** (1 + e + m))) throw new RangeError(`${format.name}: not a ${1 + e + m}-bit pattern: ${bits}`);
  const negative = bits >= 2 ** (e + m);
  const field = bits % 2 ** (e + m);
  const exp = Math.floor(field / 2 ** m);
  const mant = field % 2 ** m;
  const expAllOnes = 2 ** e - 1;
  let a: number;
  if (format.nan === 'ieee' && exp === expAllOnes) a = mant === 0 ? Infinity : NaN;
  else if (format.nan === 'single' && exp === expAllOnes && mant === 2 ** m - 1) a = NaN;
  else if (exp === 0) a = format.subnormals ? mant * 2 ** (1 - format.bias - m) : 0;
  else a = (1 + mant / 2 ** m) * 2 ** (exp - format.bias);
  return negative ? -a : a;
}

/** E8M0: 2^(c − 127) for codes 0..254, NaN at 255. */
export const E8M0_MIN_EXPONENT = -127;
export const E8M0_MAX_EXPONENT = 127;
export const E8M0_NAN = 0xff;

/** An MX-quantized tensor: the values it represents (scale × element) and its per-block scales. */
export interface BlockQuantized {
  /** X·P for each input, in input order (NaN for every element of a block whose scale is NaN). */
  values: Float64Array;
  /** The shared scale X of each block: 2^k with k in −127..127, or NaN. */
  scales: Float64Array;
  /** The scales as E8M0 codes (k + 127; 255 = NaN). */
  scaleCodes: Uint8Array;
  /** The element values P = quantize(V/X) (NaN in a NaN block). */
  elements: Float64Array;
}

/** ⌊log2⌋ of the element format's largest value: the `emax_elem` of OCP MX v1.0 §6.3. */
export function elementEmax(format: ScalarFormat): number {
  if (format.kind === 'float') return floatLimits(format).emax;
  const { max } = intRange(format);
  return exponentOf(max / 2 ** (format.fractionBits ?? 0));
}

/**
 * OCP MX v1.0 §6.3, per block of `blockSize` consecutive values (the last block may be shorter):
 * shared_exp = ⌊log2 max|V_i|⌋ − emax_elem, clamped below to E8M0's −127 (a block of zeros gets
 * 2^−127); a block holding NaN or ±Inf, or whose shared_exp exceeds 127, gets a NaN scale and
 * decodes to NaN throughout. Elements P_i = V_i/X rounded (nearest-even unless `uniforms` gives a
 * stochastic draw per value) and clamped to the element's max normal; integer elements are clamped
 * symmetrically to ±(2^(b−1) − 1)·2^−f, as the MX reference code does (MXINT8 never yields −2).
 */
export function quantizeBlock(values: Float64Array, format: BlockFormat, uniforms?: Float64Array): BlockQuantized {
  if (uniforms && uniforms.length !== values.length) throw new RangeError(`quantizeBlock: ${uniforms.length} uniforms for ${values.length} values`);
  const { blockSize, element } = format;
  const blocks = Math.ceil(values.length / blockSize);
  const out: BlockQuantized = {
    values: new Float64Array(values.length),
    scales: new Float64Array(blocks),
    scaleCodes: new Uint8Array(blocks),
    elements: new Float64Array(values.length),
  };
  const emaxElem = elementEmax(element);
  const intClamp = element.kind === 'int' ? { min: -intRange(element).max, max: intRange(element).max } : undefined;
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, values.length);
    let amax = 0;
    let special = false; // NaN or ±Inf in the block
    for (let i = start; i < end; i++) {
      const a = Math.abs(values[i]!);
      if (!Number.isFinite(a)) special = true;
      else if (a > amax) amax = a;
    }
    let shared: number;
    if (special) shared = NaN;
    else if (amax === 0) shared = E8M0_MIN_EXPONENT;
    else shared = Math.max(exponentOf(amax) - emaxElem, E8M0_MIN_EXPONENT);
    if (shared > E8M0_MAX_EXPONENT) shared = NaN;
    if (Number.isNaN(shared)) {
      out.scales[b] = NaN;
      out.scaleCodes[b] = E8M0_NAN;
      out.values.fill(NaN, start, end);
      out.elements.fill(NaN, start, end);
      continue;
    }
    const scale = 2 ** shared;
    out.scales[b] = scale;
    out.scaleCodes[b] = shared + 127;
    for (let i = start; i < end; i++) {
      const rounding: Rounding = uniforms ? { stochastic: uniforms[i]! } : 'nearest-even';
      const v = values[i]! / scale;
      const p = element.kind === 'float' ? quantizeFloat(v, element, rounding) : quantizeInt(v, element, rounding, intClamp);
      out.elements[i] = p;
      out.values[i] = p * scale;
    }
  }
  return out;
}
