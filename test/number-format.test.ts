/**
 * Number formats (src/formats): the grammar, the storage bits and the float64 reference
 * conversions. Expected values come from the format definitions, never from the code under test:
 * literals worked out by hand in the comments, and an independent enumeration of every code of a
 * ≤16-bit format from the spec formula (value = (−1)^S·(1 + M/2^m)·2^(E − bias), subnormals
 * (−1)^S·(M/2^m)·2^(1 − bias)), whose nearest neighbours give the round-to-nearest-even oracle.
 * fp32 is checked against Math.fround (the engine's own IEEE binary32 rounding).
 */
import { Rng } from '../src/util/random.js';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import {
  BF16,
  FP16,
  FP32,
  FP4_E2M1,
  FP6_E2M3,
  FP6_E3M2,
  FP8_E4M3,
  FP8_E5M2,
  MXFP4,
  MXFP8_E4M3,
  MXFP8_E5M2,
  MXINT8,
  NUMBER_FORMAT_NAMES,
  floatLimits,
  formatBits,
  formatName,
  parseNumberFormat,
  type FloatFormat,
  type IntFormat,
  type NumberFormat,
} from '../src/formats/number-format.js';
import { decodeBits, encodeBits, quantize, quantizeBlock, quantizeFloat, quantizeInt } from '../src/formats/reference.js';

// ---------------------------------------------------------------- the definitions, independently

type Specials = 'ieee' | 'single' | 'none';

/** The value of a code from the spec formula (written here independently of src/formats). */
function specValue(code: number, e: number, m: number, bias: number, specials: Specials): number {
  const sign = code >> (e + m) ? -1 : 1;
  const exp = (code >> m) & ((1 << e) - 1);
  const mant = code & ((1 << m) - 1);
  const top = (1 << e) - 1;
  if (specials === 'ieee' && exp === top) return mant === 0 ? sign * Infinity : NaN;
  if (specials === 'single' && exp === top && mant === (1 << m) - 1) return NaN;
  if (exp === 0) return sign * mant * Math.pow(2, 1 - bias - m);
  return sign * (1 + mant / (1 << m)) * Math.pow(2, exp - bias);
}

interface Table {
  /** Positive finite values, ascending, with their codes. */
  values: number[];
  codes: number[];
}

function positiveTable(e: number, m: number, bias: number, specials: Specials): Table {
  const values: number[] = [];
  const codes: number[] = [];
  for (let c = 0; c < 1 << (e + m); c++) {
    const v = specValue(c, e, m, bias, specials);
    if (Number.isFinite(v)) {
      values.push(v);
      codes.push(c);
    }
  }
  return { values, codes };
}

/**
 * The round-to-nearest-even oracle from a table: the nearer neighbour; on a tie the one with the
 * even code. Beyond the largest value: IEEE formats (overflow 'inf') round as if 2^(emax+1) (an
 * even code) were the next value and that becomes Inf; saturating formats clamp.
 */
function oracle(x: number, t: Table, overflow: 'inf' | 'saturate'): number {
  if (Number.isNaN(x)) return NaN;
  const sign = x < 0 || Object.is(x, -0) ? -1 : 1;
  const a = Math.abs(x);
  const max = t.values[t.values.length - 1]!;
  if (a >= max) {
    if (a === max) return sign * max;
    if (overflow === 'saturate') return sign * max;
    const next = Math.pow(2, Math.floor(Math.log2(max)) + 1);
    const mid = (max + next) / 2;
    return sign * (a >= mid ? Infinity : max); // max has an odd code (all-ones mantissa), so the tie goes up
  }
  let lo = 0;
  let hi = t.values.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (t.values[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - t.values[lo]!;
  const dHi = t.values[hi]! - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : t.codes[lo]! % 2 === 0 ? lo : hi;
  return sign * t.values[pick]!;
}

const same = (a: number, b: number) => Object.is(a, b);


// ------------------------------------------------------------------------------------- the tests

describe('format definitions', () => {
  it.each<[FloatFormat, number, number, number, number, number, number]>([
    // [format, e, m, bias, max finite, min normal, min subnormal]
    // fp32: (2 − 2^−23)·2^127, 2^−126, 2^−149
    [FP32, 8, 23, 127, 3.4028234663852886e38, 1.1754943508222875e-38, 1.401298464324817e-45],
    // fp16: (2 − 2^−10)·2^15 = 65504, 2^−14, 2^−24
    [FP16, 5, 10, 15, 65504, 6.103515625e-5, 5.960464477539063e-8],
    // bf16: (2 − 2^−7)·2^127, 2^−126, 2^−133
    [BF16, 8, 7, 127, 3.3895313892515355e38, 1.1754943508222875e-38, 9.183549615799121e-41],
    // e4m3: S.1111.110 = 1.75·2^(15−7) = 448, 2^−6, 2^−9
    [FP8_E4M3, 4, 3, 7, 448, 0.015625, 0.001953125],
    // e5m2: S.11110.11 = 1.75·2^(30−15) = 57344, 2^−14, 2^−16
    [FP8_E5M2, 5, 2, 15, 57344, 6.103515625e-5, 1.52587890625e-5],
    // e3m2: S.111.11 = 1.75·2^(7−3) = 28, 2^−2, 2^−4
    [FP6_E3M2, 3, 2, 3, 28, 0.25, 0.0625],
    // e2m3: S.11.111 = 1.875·2^(3−1) = 7.5, 2^0, 2^−3
    [FP6_E2M3, 2, 3, 1, 7.5, 1, 0.125],
    // e2m1: S.11.1 = 1.5·2^(3−1) = 6, 2^0, 2^−1
    [FP4_E2M1, 2, 1, 1, 6, 1, 0.5],
  ])('%# %o', (f, e, m, bias, max, minNormal, minSub) => {
    expect([f.exponentBits, f.mantissaBits, f.bias, f.maxFinite]).toEqual([e, m, bias, max]);
    const limits = floatLimits(f);
    expect([limits.minNormal, limits.minPositive, limits.maxFinite]).toEqual([minNormal, minSub, max]);
  });

  it('records which formats have Inf/NaN and how they overflow', () => {
    expect([FP8_E4M3.nan, FP8_E4M3.overflow]).toEqual(['single', 'saturate']);
    expect([FP8_E5M2.nan, FP8_E5M2.overflow]).toEqual(['ieee', 'inf']);
    expect([FP16.nan, FP16.overflow, BF16.nan, BF16.overflow]).toEqual(['ieee', 'inf', 'ieee', 'inf']);
    for (const f of [FP6_E3M2, FP6_E2M3, FP4_E2M1]) expect([f.nan, f.overflow]).toEqual(['none', 'saturate']);
    // MX elements saturate (OCP MX v1.0 §6.3), e5m2 included
    expect(MXFP8_E5M2.element).toMatchObject({ exponentBits: 5, mantissaBits: 2, overflow: 'saturate', nan: 'ieee' });
    expect(MXINT8.element).toEqual({ kind: 'int', bits: 8, signed: true, fractionBits: 6 });
    expect([MXFP4.blockSize, MXFP4.scale]).toEqual([32, 'e8m0']);
  });
});

describe('grammar', () => {
  const canonical = ['int8', 'int4', 'int1', 'int32', 'uint8', 'fp32', 'fp16', 'bf16', 'tf32', 'fp8-e4m3', 'fp8-e5m2', 'fp6-e3m2', 'fp6-e2m3', 'fp4-e2m1', 'mxfp8-e4m3', 'mxfp8-e5m2', 'mxfp6-e3m2', 'mxfp6-e2m3', 'mxfp4', 'mxint8'];
  it.each(canonical)('%s round-trips', (name) => {
    const f = parseNumberFormat(name);
    expect(formatName(f)).toBe(name);
    expect(parseNumberFormat(formatName(f))).toEqual(f);
  });

  it.each([
    ['float16', 'fp16'],
    ['half', 'fp16'],
    ['bfloat16', 'bf16'],
    ['float32', 'fp32'],
    ['E4M3', 'fp8-e4m3'],
    [' MXFP8-E4M3 ', 'mxfp8-e4m3'],
    ['INT6', 'int6'],
  ])('alias %s → %s', (alias, name) => expect(formatName(parseNumberFormat(alias))).toBe(name));

  it('parses integers', () => {
    expect(parseNumberFormat('int4')).toEqual({ kind: 'int', bits: 4, signed: true });
    expect(parseNumberFormat('uint2')).toEqual({ kind: 'int', bits: 2, signed: false });
  });

  it.each(['int0', 'int33', 'fp12', 'mxfp8', '', 'fp8', 'int-4', 'int8x'])('rejects "%s" in one line that lists what is allowed', (bad) => {
    let error: unknown;
    try {
      parseNumberFormat(bad, '--weights-format');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message.startsWith('--weights-format: ')).toBe(true);
    expect(message).toMatch(/1\.\.32|allowed: .*fp8-e4m3.*mxint8/);
  });

  it('lists its names', () => {
    expect(NUMBER_FORMAT_NAMES).toContain('intN');
    expect(NUMBER_FORMAT_NAMES).toContain('mxfp6-e2m3');
  });

  it.each<[string, number]>([
    ['int8', 8],
    ['int4', 4],
    ['fp32', 32],
    ['fp16', 16],
    ['bf16', 16],
    ['tf32', 19], // 1 + 8 + 10
    ['fp8-e4m3', 8],
    ['fp6-e2m3', 6],
    ['mxfp8-e4m3', 8.25], // 8 + 8/32
    ['mxfp8-e5m2', 8.25],
    ['mxfp6-e3m2', 6.25],
    ['mxfp4', 4.25],
    ['mxint8', 8.25],
  ])('formatBits(%s) = %d', (name, bits) => expect(formatBits(parseNumberFormat(name) as NumberFormat)).toBe(bits));
});

/** The formats of ≤ 16 bits, whose every code the tests enumerate, with their NaN/Inf encoding. */
const ENUMERATED: [FloatFormat, Specials][] = [
  [FP8_E4M3, 'single'],
  [FP8_E5M2, 'ieee'],
  [FP6_E3M2, 'none'],
  [FP6_E2M3, 'none'],
  [FP4_E2M1, 'none'],
  [FP16, 'ieee'],
  [BF16, 'ieee'],
];

describe('codes: every code decodes to the spec formula and encodes back', () => {
  it.each(ENUMERATED)('%# all codes', (f, specials) => {
    const n = 2 ** (1 + f.exponentBits + f.mantissaBits);
    let nans = 0;
    for (let c = 0; c < n; c++) {
      const expected = specValue(c, f.exponentBits, f.mantissaBits, f.bias, specials);
      const got = decodeBits(c, f);
      expect(same(got, expected), `code ${c}: ${got} vs ${expected}`).toBe(true);
      if (Number.isNaN(expected)) nans++;
      else if (encodeBits(got, f) !== c) expect.fail(`code ${c} (${got}) encodes to ${encodeBits(got, f)}`);
    }
    // NaN codes: e4m3 has two (S.1111.111), e5m2 6 (S.11111.{01,10,11}), fp16 2·1023, FP6/FP4 none
    const expectedNans = { single: 2, ieee: 2 * (2 ** f.mantissaBits - 1), none: 0 }[specials];
    expect(nans).toBe(expectedNans);
  });

  it('names the edge codes', () => {
    // e4m3
    expect(decodeBits(0x7e, FP8_E4M3)).toBe(448); // 0.1111.110
    expect(decodeBits(0x7f, FP8_E4M3)).toBeNaN(); // 0.1111.111
    expect(decodeBits(0x78, FP8_E4M3)).toBe(256); // 0.1111.000: finite, no Inf
    expect(decodeBits(0x08, FP8_E4M3)).toBe(0.015625); // min normal 2^−6
    expect(decodeBits(0x07, FP8_E4M3)).toBe(0.013671875); // max subnormal 7/8·2^−6
    expect(decodeBits(0x01, FP8_E4M3)).toBe(0.001953125); // min subnormal 2^−9
    expect(Object.is(decodeBits(0x80, FP8_E4M3), -0)).toBe(true);
    // e5m2
    expect(decodeBits(0x7b, FP8_E5M2)).toBe(57344); // 0.11110.11
    expect(decodeBits(0x7c, FP8_E5M2)).toBe(Infinity);
    expect(decodeBits(0xfc, FP8_E5M2)).toBe(-Infinity);
    expect(decodeBits(0x7d, FP8_E5M2)).toBeNaN();
    // fp16
    expect(decodeBits(0x7bff, FP16)).toBe(65504);
    expect(decodeBits(0x3c00, FP16)).toBe(1);
    expect(decodeBits(0x0001, FP16)).toBe(5.960464477539063e-8);
    // encode: NaN → the canonical quiet NaN; overflow per format
    expect(encodeBits(NaN, FP8_E4M3)).toBe(0x7f);
    expect(encodeBits(NaN, FP8_E5M2)).toBe(0x7e); // 0.11111.10
    expect(encodeBits(NaN, FP16)).toBe(0x7e00);
    expect(encodeBits(1000, FP8_E4M3)).toBe(0x7e); // saturates
    expect(encodeBits(-Infinity, FP8_E4M3)).toBe(0xfe);
    expect(encodeBits(61440, FP8_E5M2)).toBe(0x7c); // the tie above max goes to Inf
    expect(encodeBits(-0, FP16)).toBe(0x8000);
    expect(() => encodeBits(NaN, FP4_E2M1)).toThrow(RangeError);
    expect(() => decodeBits(256, FP8_E4M3)).toThrow(RangeError);
  });
});

describe('round to nearest even', () => {
  it('fp8-e4m3 edge values', () => {
    const q = (x: number) => quantizeFloat(x, FP8_E4M3);
    expect(q(1 + 1 / 16)).toBe(1); // tie between 1 (…000) and 1.125 (…001) → even
    expect(q(1 + 3 / 16)).toBe(1.25); // tie between 1.125 (…001) and 1.25 (…010) → even
    expect(q(1 + 1 / 16 + 2 ** -20)).toBe(1.125); // just above the tie
    expect(q(448)).toBe(448);
    expect(q(449)).toBe(448); // saturation (OFP8 SAT mode)
    expect(q(464)).toBe(448); // half-way to the unused 480
    expect(q(1e9)).toBe(448);
    expect(q(Infinity)).toBe(448);
    expect(q(-Infinity)).toBe(-448);
    expect(q(NaN)).toBeNaN();
    expect(q(0.015625)).toBe(0.015625); // min normal
    expect(q(1.5 * 2 ** -9)).toBe(2 ** -8); // subnormal tie: 1 (odd) and 2 (even) × 2^−9
    expect(q(2.5 * 2 ** -9)).toBe(2 ** -8); // 2 (even) and 3 (odd) × 2^−9
    expect(q(2 ** -10)).toBe(0); // tie between 0 and the min subnormal → 0
    expect(Object.is(q(-(2 ** -10)), -0)).toBe(true); // underflow keeps the sign
    expect(q(2 ** -10 + 2 ** -30)).toBe(2 ** -9);
    expect(Object.is(q(-0), -0)).toBe(true);
    expect(q(-1.1875)).toBe(-1.25);
  });

  it('fp8-e5m2 and fp16 overflow to Inf as IEEE', () => {
    // e5m2: ulp at max = 2^(15−2) = 8192; max + ulp/2 = 61440 is a tie with 2^16 (even) → Inf
    expect(quantizeFloat(61439, FP8_E5M2)).toBe(57344);
    expect(quantizeFloat(61440, FP8_E5M2)).toBe(Infinity);
    expect(quantizeFloat(-61440, FP8_E5M2)).toBe(-Infinity);
    expect(quantizeFloat(Infinity, FP8_E5M2)).toBe(Infinity);
    expect(quantizeFloat(2 ** -17, FP8_E5M2)).toBe(0); // half the min subnormal, tie → 0
    expect(quantizeFloat(3 * 2 ** -17, FP8_E5M2)).toBe(2 ** -15); // 1.5 subnormals → 2 (even)
    // fp16: ulp at max = 2^(15−10) = 32; 65504 + 16 = 65520 → Inf, anything below → 65504
    expect(quantizeFloat(65519.99, FP16)).toBe(65504);
    expect(quantizeFloat(65520, FP16)).toBe(Infinity);
    expect(quantizeFloat(1 + 2 ** -11, FP16)).toBe(1); // tie → even
    expect(quantizeFloat(1 + 3 * 2 ** -11, FP16)).toBe(1 + 2 ** -9);
    expect(quantizeFloat(2 ** -25, FP16)).toBe(0);
    expect(quantizeFloat(2 ** -25 * 3, FP16)).toBe(2 ** -23);
    // bf16: 1 + 2^−8 ties between 1 and 1 + 2^−7 → 1
    expect(quantizeFloat(1 + 2 ** -8, BF16)).toBe(1);
    // bf16 max = (2 − 2^−7)·2^127, half its ulp 2^119 ≈ max·2^−9/(2 − 2^−7): ·(1 + 2^−9) stays, ·(1 + 2^−8) is Inf
    expect(quantizeFloat(3.3895313892515355e38 * (1 + 2 ** -9), BF16)).toBe(3.3895313892515355e38);
    expect(quantizeFloat(3.3895313892515355e38 * (1 + 2 ** -8), BF16)).toBe(Infinity);
  });

  it('MX element formats saturate', () => {
    expect(quantizeFloat(100, FP6_E3M2)).toBe(28);
    expect(quantizeFloat(-8, FP6_E2M3)).toBe(-7.5);
    expect(quantizeFloat(Infinity, FP4_E2M1)).toBe(6);
    // e2m1 grid 0 .5 1 1.5 2 3 4 6: 5 is a tie of 4 (…0) and 6 (…1) → 4; 0.75 of 0.5 (001) and 1 (010) → 1
    expect([5, 0.75, 0.25, 2.5, 1.25].map((x) => quantizeFloat(x, FP4_E2M1))).toEqual([4, 1, 0, 2, 1]);
  });

  it.each(ENUMERATED)('%# every midpoint, its neighbours and random values agree with the table oracle', (f, specials) => {
    const t = positiveTable(f.exponentBits, f.mantissaBits, f.bias, specials);
    const overflow = f.overflow;
    const check = (x: number) => {
      const got = quantizeFloat(x, f);
      const want = oracle(x, t, overflow);
      if (!same(got, want)) expect.fail(`${f.name}(${x}) = ${got}, oracle ${want}`);
    };
    for (let i = 0; i + 1 < t.values.length; i++) {
      const lo = t.values[i]!;
      const hi = t.values[i + 1]!;
      const mid = (lo + hi) / 2;
      for (const x of [lo, mid, mid * (1 - 2 ** -40), mid * (1 + 2 ** -40)]) {
        check(x);
        check(-x);
      }
    }
    const max = t.values[t.values.length - 1]!;
    const next = 2 ** (Math.floor(Math.log2(max)) + 1);
    for (const x of [max, (max + next) / 2, (max + next) / 2 - 1e-9 * max, next, 2 * next]) check(x);
    const draw = rng(13);
    for (let i = 0; i < 2000; i++) {
      // log-uniform over the whole range, from below the min subnormal to above the max
      const x = Math.pow(2, Math.log2(t.values[1]!) - 2 + draw() * (Math.log2(next) - Math.log2(t.values[1]!) + 3));
      check(draw() < 0.5 ? -x : x);
    }
  });

  it('fp32 agrees with Math.fround', () => {
    const draw = rng(7);
    const cases = [3.4028235677973366e38, 3.4028235677973362e38, 2 ** -150, 2 ** -150 * 1.0000001, 2 ** -149 * 1.5, 1 + 2 ** -24, 1 + 3 * 2 ** -24, 1e-45, -1e-46];
    for (let i = 0; i < 3000; i++) cases.push((draw() < 0.5 ? -1 : 1) * Math.pow(2, -155 + draw() * 285));
    for (const x of cases) {
      const got = quantizeFloat(x, FP32);
      if (!same(got, Math.fround(x))) expect.fail(`fp32(${x}) = ${got}, Math.fround ${Math.fround(x)}`);
    }
  });

  it('a format without subnormals flushes to signed zero', () => {
    const noSub: FloatFormat = { ...FP8_E4M3, name: 'e4m3-ftz', subnormals: false };
    expect(quantizeFloat(0.01, noSub)).toBe(0); // below 2^−6
    expect(Object.is(quantizeFloat(-0.01, noSub), -0)).toBe(true);
    expect(quantizeFloat(0.015625, noSub)).toBe(0.015625);
    expect(floatLimits(noSub).minPositive).toBe(0.015625);
  });
});

describe('stochastic rounding', () => {
  it.each<[FloatFormat, number, number, number]>([
    // [format, x, lower neighbour, upper neighbour]
    [FP8_E4M3, 1 + 1 / 32, 1, 1.125], // p(up) = 1/4
    [FP8_E4M3, -(1 + 3 / 32), -1.125, -1], // |x| = 1.09375: p(|up|) = 3/4
    [FP8_E4M3, 0.3 * 2 ** -9, 0, 2 ** -9], // in the subnormals
    [FP4_E2M1, 4.9, 4, 6],
    [FP16, 1 + 2 ** -12, 1, 1 + 2 ** -10],
  ])('%# is unbiased and only returns the two neighbours', (f, x, lo, hi) => {
    const n = 20000;
    const draw = rng(42);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const y = quantizeFloat(x, f, { stochastic: draw() });
      if (y !== lo && y !== hi) expect.fail(`${y} is not a neighbour of ${x}`);
      sum += y;
    }
    // the std of one draw is (hi − lo)·sqrt(p(1 − p)) ≤ (hi − lo)/2; 5 standard errors of the mean
    expect(Math.abs(sum / n - x)).toBeLessThan((5 * (hi - lo)) / 2 / Math.sqrt(n));
    // evenly spaced u: the mean is x up to 1/n of the gap
    let even = 0;
    for (let i = 0; i < n; i++) even += quantizeFloat(x, f, { stochastic: (i + 0.5) / n });
    expect(Math.abs(even / n - x)).toBeLessThanOrEqual((hi - lo) / n);
  });

  it('keeps representable values and checks u', () => {
    for (const u of [0, 0.5, 0.999999]) expect(quantizeFloat(1.125, FP8_E4M3, { stochastic: u })).toBe(1.125);
    expect(quantizeFloat(1.0001, FP8_E4M3, { stochastic: 0 })).toBe(1.125); // u = 0 < p: up
    expect(quantizeFloat(1.0001, FP8_E4M3, { stochastic: 0.999 })).toBe(1);
    expect(() => quantizeFloat(1, FP8_E4M3, { stochastic: 1 })).toThrow(RangeError);
    expect(quantizeFloat(447, FP8_E4M3, { stochastic: 0 })).toBe(448);
    expect(quantizeFloat(470, FP8_E4M3, { stochastic: 0 })).toBe(448); // 480 saturates
    expect(quantizeFloat(60000, FP8_E5M2, { stochastic: 0 })).toBe(Infinity); // up is beyond max
  });
});

describe('integers', () => {
  const int8 = { kind: 'int', bits: 8, signed: true } as const;
  it('round half to even and saturate', () => {
    expect([2.5, 3.5, -2.5, -3.5, 127.4, 127.6, 200, -200, -128.4, Infinity, -Infinity].map((x) => quantizeInt(x, int8))).toEqual([2, 4, -2, -4, 127, 127, 127, -128, -128, 127, -128]);
    expect(quantizeInt(NaN, int8)).toBeNaN();
    expect(Object.is(quantizeInt(-0.3, int8), 0)).toBe(true); // one zero
    const uint4 = { kind: 'int', bits: 4, signed: false } as const;
    expect([-3, 15.6, 7.5].map((x) => quantize(x, uint4))).toEqual([0, 15, 8]);
    expect(quantize(1.5, parseNumberFormat('int1') as IntFormat)).toBe(0); // int1: −1..0
  });
  it('stochastic rounding stays between the neighbours', () => {
    const draw = rng(3);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const y = quantizeInt(-2.3, int8, { stochastic: draw() });
      expect([-3, -2]).toContain(y);
      sum += y;
    }
    expect(Math.abs(sum / 10000 + 2.3)).toBeLessThan(0.025); // 5·0.46/100
  });
});

describe('MX blocks (OCP MX v1.0 §6.3)', () => {
  const block = (values: number[], length = 32) => {
    const out = new Float64Array(length);
    out.set(values);
    return out;
  };

  it('mxfp8-e4m3: one large outlier sets the scale and flushes the small values', () => {
    // max 1000: ⌊log2 1000⌋ = 9, emax(e4m3) = 8 → X = 2^1; 1000/2 = 500 > 448 → 448 → 896
    // 3/2 = 1.5 exact → 3; 0.01/2 = 0.005 = 2.56·2^−9 → 3·2^−9 → 0.01171875; 0.001/2 < 2^−10 → 0
    const r = quantizeBlock(block([1000, 3, 0.01, 0.001, -1000]), MXFP8_E4M3);
    expect(Array.from(r.scales)).toEqual([2]);
    expect(Array.from(r.scaleCodes)).toEqual([128]); // 1 + 127
    expect(Array.from(r.values.slice(0, 5))).toEqual([896, 3, 0.01171875, 0, -896]);
    expect(Array.from(r.elements.slice(0, 5))).toEqual([448, 1.5, 0.005859375, 0, -448]);
  });

  it('mxfp8-e5m2 elements saturate where standalone e5m2 overflows to Inf', () => {
    // max 65000: ⌊log2⌋ = 15 = emax(e5m2) → X = 1; 65000 ≥ 61440 would be Inf; clamps to 57344
    const r = quantizeBlock(block([65000, 1]), MXFP8_E5M2);
    expect(r.scales[0]).toBe(1);
    expect(Array.from(r.values.slice(0, 2))).toEqual([57344, 1]);
    expect(quantizeFloat(65000, FP8_E5M2)).toBe(Infinity);
  });

  it('a block of zeros gets 2^−127 and keeps signed zeros', () => {
    const r = quantizeBlock(block([0, -0]), MXFP4);
    expect(r.scales[0]).toBe(2 ** -127);
    expect(r.scaleCodes[0]).toBe(0);
    expect(Object.is(r.values[0], 0) && Object.is(r.values[1], -0)).toBe(true);
  });

  it('NaN or Inf in a block makes its scale NaN (E8M0 0xFF), only in that block', () => {
    const values = new Float64Array(96).fill(1);
    values[5] = NaN;
    values[40] = -Infinity;
    const r = quantizeBlock(values, MXFP8_E4M3);
    expect(r.scales[0]).toBeNaN();
    expect(r.scales[1]).toBeNaN();
    expect(Array.from(r.scaleCodes)).toEqual([255, 255, 119]); // −8 + 127
    expect(r.values.slice(0, 64).every(Number.isNaN)).toBe(true);
    // block 2: max 1 → ⌊log2 1⌋ − 8 = −8 → X = 2^−8, element 256 exact
    expect(r.scales[2]).toBe(2 ** -8);
    expect(r.values.slice(64).every((v) => v === 1)).toBe(true);
  });

  it('clamps the scale to E8M0', () => {
    // 2^−120: −120 − 8 = −128 < −127 → X = 2^−127; element 2^7 = 128 exact
    let r = quantizeBlock(block([2 ** -120, 2 ** -130]), MXFP8_E4M3);
    expect(r.scales[0]).toBe(2 ** -127);
    // 2^−130/2^−127 = 2^−3, a normal element: exact
    expect(Array.from(r.values.slice(0, 2))).toEqual([2 ** -120, 2 ** -130]);
    // 2^−140 alone: X = 2^−127, 2^−13 < 2^−10 (half the min subnormal) → 0
    r = quantizeBlock(block([2 ** -140]), MXFP8_E4M3);
    expect([r.scales[0], r.values[0]]).toEqual([2 ** -127, 0]);
    // 2^135: 135 − 8 = 127 → X = 2^127 (code 254), element 256
    r = quantizeBlock(block([2 ** 135]), MXFP8_E4M3);
    expect([r.scales[0], r.scaleCodes[0], r.values[0]]).toEqual([2 ** 127, 254, 2 ** 135]);
    // 2^200: 192 > 127 → NaN scale
    r = quantizeBlock(block([2 ** 200]), MXFP8_E4M3);
    expect(r.scaleCodes[0]).toBe(255);
    expect(r.values[0]).toBeNaN();
  });

  it('mxfp4: ties to even on the e2m1 grid, saturation at 6', () => {
    // max 5 → ⌊log2 5⌋ − 2 = 0 → X = 1: 1.3 → 1.5; −2.6 → −3; 5 → 4 (tie, even); 0.25 → 0 (tie); 0.75 → 1 (tie)
    let r = quantizeBlock(block([1.3, -2.6, 5, 0.2, 0.25, 0.75]), MXFP4);
    expect(r.scales[0]).toBe(1);
    expect(Array.from(r.values.slice(0, 6))).toEqual([1.5, -3, 4, 0, 0, 1]);
    // max 7.9 → X = 1 and 7.9 → 6 (clamped); 40 → ⌊log2 40⌋ − 2 = 3 → X = 8, 40/8 = 5 → 4 → 32
    r = quantizeBlock(block([7.9, 40], 64), MXFP4);
    expect(Array.from(r.scales)).toEqual([8, 2 ** -127]);
    expect(Array.from(r.values.slice(0, 2))).toEqual([8, 32]); // 7.9/8 = 0.9875 → 1 → 8
    r = quantizeBlock(block([7.9]), MXFP4);
    expect(r.values[0]).toBe(6);
  });

  it('mxint8: elements k/64, emax 0, symmetric clamp at ±127/64', () => {
    // max 100: ⌊log2 100⌋ − 0 = 6 → X = 64: element = v/64 rounded to 1/64 → value = round(v)
    // 1 → 1; 0.5 → tie 0; −0.3 → 0; 1.5 → 2; 2.5 → 2 (ties to even)
    let r = quantizeBlock(block([100, 1, 0.5, -0.3, 1.5, 2.5]), MXINT8);
    expect(r.scales[0]).toBe(64);
    expect(Array.from(r.values.slice(0, 6))).toEqual([100, 1, 0, 0, 2, 2]);
    expect(r.elements[0]).toBe(100 / 64);
    // max 255: ⌊log2⌋ = 7 → X = 128; 255/128·64 = 127.5 → 128 → clamped to 127 → 254; −255 → −254 (not −256)
    r = quantizeBlock(block([255, -255, 1]), MXINT8);
    expect(r.scales[0]).toBe(128);
    expect(Array.from(r.values.slice(0, 3))).toEqual([254, -254, 0]); // 1/128·64 = 0.5 → tie → 0
  });

  it('handles several blocks, a short last one, and stochastic draws per value', () => {
    const values = new Float64Array(70).map((_, i) => (i % 7) - 3 + 0.3);
    const r = quantizeBlock(values, MXFP4);
    expect(r.scales.length).toBe(3);
    const draw = rng(9);
    const uniforms = new Float64Array(70).map(() => draw());
    const s = quantizeBlock(values, MXFP4, uniforms);
    // max |v| = 3.3 in every block: ⌊log2 3.3⌋ − 2 = −1 → X = 1/2; elements 2v on the e2m1 grid:
    // 0.6 ∈ (0.5, 1), 2.6 ∈ (2, 3), 4.6 ∈ (4, 6), 6.6 saturates to 6, 5.4 ∈ (4, 6), 3.4 ∈ (3, 4), 1.4 ∈ (1, 1.5)
    expect(Array.from(s.scales)).toEqual([0.5, 0.5, 0.5]);
    expect(Array.from(r.scales)).toEqual([0.5, 0.5, 0.5]);
    const neighbours: Record<string, number[]> = { '-2.7': [-3, -2], '-1.7': [-2, -1.5], '-0.7': [-0.75, -0.5], '0.3': [0.25, 0.5], '1.3': [1, 1.5], '2.3': [2, 3], '3.3': [3] };
    values.forEach((v, i) => expect(neighbours[v.toFixed(1)]).toContain(s.values[i]));
    expect(() => quantizeBlock(values, MXFP4, new Float64Array(3))).toThrow(RangeError);
  });
});

/** Seeded draws in [0, 1) (the project's generator, src/util/random.ts). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
