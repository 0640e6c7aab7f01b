/**
 * Number formats as values (issue 13, first step): integers, floats (IEEE binary formats, the OCP
 * FP8/FP6/FP4 element formats) and OCP MX block formats, named by one grammar:
 *
 *   intN / uintN (N in 1..32)     two's complement / unsigned integers
 *   fp32 fp16 bf16 tf32           IEEE binary32, binary16, bfloat16, TensorFloat-32
 *   fp8-e4m3 fp8-e5m2             OCP 8-bit floating point (OFP8) v1.0
 *   fp6-e3m2 fp6-e2m3 fp4-e2m1    OCP MX v1.0 element formats (no Inf, no NaN)
 *   mxfp8-e4m3 mxfp8-e5m2 mxfp6-e3m2 mxfp6-e2m3 mxfp4 mxint8
 *                                 OCP MX v1.0: blocks of 32 elements sharing an E8M0 scale
 *
 * `parseNumberFormat` and `formatName` round-trip; `formatBits` is the storage per element. The
 * reference conversions (float64, the oracle for the quantizer graphs) are in `reference.ts`; the
 * rules are written down in docs/number-formats.md. Pure.
 */
import { UsageError } from '../errors.js';

/**
 * An integer format: value = integer × 2^−fractionBits, the integer in [−2^(b−1), 2^(b−1) − 1]
 * (signed) or [0, 2^b − 1]. `fractionBits` (default 0) only appears in MXINT8's elements, whose
 * implicit scale is 2^−6.
 */
export interface IntFormat {
  kind: 'int';
  bits: number;
  signed: boolean;
  fractionBits?: number;
}

/**
 * A binary floating-point format with a sign bit, `exponentBits` and `mantissaBits` (trailing
 * significand) fields. Normal values (1 + M/2^m)·2^(E − bias) for E ≥ 1; subnormals
 * (M/2^m)·2^(1 − bias) for E = 0 when `subnormals`. Which codes are special:
 * - `nan: 'ieee'`: the all-ones exponent is special (mantissa 0: ±Inf, else NaN) — fp32, fp16,
 *   bf16, e5m2;
 * - `nan: 'single'`: only S.1…1.1…1 is NaN, no Inf; the rest of the top binade is finite — e4m3;
 * - `nan: 'none'`: every code is a finite number — the MX FP6/FP4 elements.
 * `overflow` says where finite values beyond `maxFinite` go: ±Inf, or ±maxFinite.
 */
export interface FloatFormat {
  kind: 'float';
  name: string;
  exponentBits: number;
  mantissaBits: number;
  bias: number;
  subnormals: boolean;
  overflow: 'saturate' | 'inf';
  nan: 'ieee' | 'single' | 'none';
  maxFinite: number;
}

export type ScalarFormat = IntFormat | FloatFormat;

/** An OCP MX block format: `blockSize` elements share one E8M0 (power-of-two) scale. */
export interface BlockFormat {
  kind: 'block';
  name: string;
  element: ScalarFormat;
  blockSize: 32;
  scale: 'e8m0';
}

export type NumberFormat = ScalarFormat | BlockFormat;

/** The IEEE maximum (2 − 2^−m)·2^emax with emax = 2^e − 2 − bias. */
function ieeeMax(e: number, m: number, bias: number): number {
  return (2 - 2 ** -m) * 2 ** (2 ** e - 2 - bias);
}

function ieee(name: string, exponentBits: number, mantissaBits: number): FloatFormat {
  const bias = 2 ** (exponentBits - 1) - 1;
  return { kind: 'float', name, exponentBits, mantissaBits, bias, subnormals: true, overflow: 'inf', nan: 'ieee', maxFinite: ieeeMax(exponentBits, mantissaBits, bias) };
}

/** An OCP MX element without Inf/NaN (FP6, FP4): every code finite, conversions saturate. */
function finiteOnly(name: string, exponentBits: number, mantissaBits: number, bias: number): FloatFormat {
  const maxFinite = (2 - 2 ** -mantissaBits) * 2 ** (2 ** exponentBits - 1 - bias);
  return { kind: 'float', name, exponentBits, mantissaBits, bias, subnormals: true, overflow: 'saturate', nan: 'none', maxFinite };
}

export const FP32: FloatFormat = ieee('fp32', 8, 23);
export const FP16: FloatFormat = ieee('fp16', 5, 10);
export const BF16: FloatFormat = ieee('bf16', 8, 7);
export const TF32: FloatFormat = ieee('tf32', 8, 10);
/** OFP8 E4M3: bias 7, no Inf, NaN only S.1111.111, max S.1111.110 = 1.75·2^8 = 448; saturating. */
export const FP8_E4M3: FloatFormat = { kind: 'float', name: 'fp8-e4m3', exponentBits: 4, mantissaBits: 3, bias: 7, subnormals: true, overflow: 'saturate', nan: 'single', maxFinite: 448 };
/** OFP8 E5M2: IEEE-like (Inf, NaN), max 1.75·2^15 = 57344; overflow to Inf as IEEE. */
export const FP8_E5M2: FloatFormat = ieee('fp8-e5m2', 5, 2);
export const FP6_E3M2: FloatFormat = finiteOnly('fp6-e3m2', 3, 2, 3);
export const FP6_E2M3: FloatFormat = finiteOnly('fp6-e2m3', 2, 3, 1);
export const FP4_E2M1: FloatFormat = finiteOnly('fp4-e2m1', 2, 1, 1);

/** MXINT8's element: 8-bit two's complement with the implicit scale 2^−6 (values k/64). */
export const MXINT8_ELEMENT: IntFormat = { kind: 'int', bits: 8, signed: true, fractionBits: 6 };

function mx(name: string, element: ScalarFormat): BlockFormat {
  // OCP MX v1.0 §6.3: conversion into an MX format clamps elements to the element's max normal,
  // also for e5m2, whose standalone conversion overflows to Inf.
  const saturating: ScalarFormat = element.kind === 'float' ? { ...element, overflow: 'saturate' } : element;
  return { kind: 'block', name, element: saturating, blockSize: 32, scale: 'e8m0' };
}

export const MXFP8_E4M3: BlockFormat = mx('mxfp8-e4m3', FP8_E4M3);
export const MXFP8_E5M2: BlockFormat = mx('mxfp8-e5m2', FP8_E5M2);
export const MXFP6_E3M2: BlockFormat = mx('mxfp6-e3m2', FP6_E3M2);
export const MXFP6_E2M3: BlockFormat = mx('mxfp6-e2m3', FP6_E2M3);
export const MXFP4: BlockFormat = mx('mxfp4', FP4_E2M1);
export const MXINT8: BlockFormat = mx('mxint8', MXINT8_ELEMENT);

/** Named float and block formats, canonical names first in each group. */
const NAMED: ReadonlyMap<string, FloatFormat | BlockFormat> = new Map<string, FloatFormat | BlockFormat>(
  [FP32, FP16, BF16, TF32, FP8_E4M3, FP8_E5M2, FP6_E3M2, FP6_E2M3, FP4_E2M1, MXFP8_E4M3, MXFP8_E5M2, MXFP6_E3M2, MXFP6_E2M3, MXFP4, MXINT8].map((f) => [f.name, f]),
);

/** Other spellings accepted on input; `formatName` always prints the canonical name. */
const ALIASES: Readonly<Record<string, string>> = {
  float32: 'fp32',
  float16: 'fp16',
  half: 'fp16',
  bfloat16: 'bf16',
  e4m3: 'fp8-e4m3',
  e5m2: 'fp8-e5m2',
  e3m2: 'fp6-e3m2',
  e2m3: 'fp6-e2m3',
  e2m1: 'fp4-e2m1',
  fp4: 'fp4-e2m1',
  'mxfp4-e2m1': 'mxfp4',
};

/** Widest integer format the grammar accepts. */
export const MAX_INT_BITS = 32;

/** The names `parseNumberFormat` accepts (integers as patterns), for help texts and errors. */
export const NUMBER_FORMAT_NAMES: readonly string[] = ['intN', 'uintN', ...NAMED.keys()];

/**
 * Parses a number format name (case-insensitive, aliases such as `float16` or `e4m3` accepted).
 * Throws a `UsageError` naming `option` and what is allowed.
 */
export function parseNumberFormat(text: string, option = '--format'): NumberFormat {
  const name = text.trim().toLowerCase();
  const int = /^(u?)int(\d+)$/.exec(name);
  if (int) {
    const bits = Number(int[2]);
    if (!(bits >= 1 && bits <= MAX_INT_BITS)) throw new UsageError(option, `integer formats have 1..${MAX_INT_BITS} bits, got "${text}"`);
    return { kind: 'int', bits, signed: int[1] === '' };
  }
  const named = NAMED.get(ALIASES[name] ?? name);
  if (!named) throw new UsageError(option, `unknown number format "${text}" (allowed: int1..int${MAX_INT_BITS}, uint1..uint${MAX_INT_BITS}, ${[...NAMED.keys()].join(', ')})`);
  return named;
}

/** The canonical name of a format (what `parseNumberFormat` reads back to an equal value). */
export function formatName(format: NumberFormat): string {
  if (format.kind === 'int') {
    const base = `${format.signed ? '' : 'u'}int${format.bits}`;
    // Only MXINT8's element carries an implicit scale; it has no name of its own.
    return format.fractionBits ? `${base}·2^-${format.fractionBits}` : base;
  }
  return format.name;
}

/** Storage bits per element: sign + fields for floats, the element plus the shared scale's share for blocks (mxfp8: 8 + 8/32). */
export function formatBits(format: NumberFormat): number {
  switch (format.kind) {
    case 'int':
      return format.bits;
    case 'float':
      return 1 + format.exponentBits + format.mantissaBits;
    case 'block':
      return formatBits(format.element) + 8 / format.blockSize;
  }
}

/** Derived limits of a float format (powers of two computed from the fields). */
export interface FloatLimits {
  /** Exponent of the smallest normal, 1 − bias. */
  emin: number;
  /** Exponent of the largest finite value, ⌊log2 maxFinite⌋. */
  emax: number;
  minNormal: number;
  /** The smallest positive value: 2^(emin − m), or the min normal without subnormals. */
  minPositive: number;
  maxFinite: number;
}

export function floatLimits(format: FloatFormat): FloatLimits {
  const emin = 1 - format.bias;
  const minNormal = 2 ** emin;
  return {
    emin,
    emax: exponentOf(format.maxFinite),
    minNormal,
    minPositive: format.subnormals ? 2 ** (emin - format.mantissaBits) : minNormal,
    maxFinite: format.maxFinite,
  };
}

/** Exact ⌊log2 a⌋ for a finite a > 0 (Math.log2 alone can be off by one next to powers of two). */
export function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  return e;
}
