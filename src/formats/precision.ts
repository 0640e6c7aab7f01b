/**
 * A quantizer's precision at one step, as the engine feeds it and the records name it: a number
 * format (src/formats/number-format.ts) plus the bits the graph's `bits_*` input carries.
 *
 * - Integer bit-widths (`static:4`, `cpt:3-8`) are the min/max grid quantizer of src/quant: an
 *   asymmetric grid of 2^b − 1 steps per tensor (activations, errors) or output channel (weights).
 *   Its format is `intB`; 32 bits is a pass-through, named `fp32`.
 * - Float and MX formats (`fp8-e4m3`, `mxfp4`, …) round each value to the format itself (no
 *   per-tensor scale; MX blocks carry their own), and `bits` is the element's storage width
 *   (fp8 → 8, bf16 → 16, mxfp4 → 4, fp32 → 32): what the cost model prices and the charts draw.
 *
 * Ladders order formats for schedules that move through them (`cpt:fp8-e4m3..fp16`). Pure.
 */
import { UsageError } from '../errors.js';
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
  MXFP6_E2M3,
  MXFP6_E3M2,
  MXFP8_E4M3,
  MXFP8_E5M2,
  MXINT8,
  type NumberFormat,
  TF32,
  formatBits,
  formatName,
  parseNumberFormat,
} from './number-format.js';

/** Bits at and above which the grid quantizer is a pass-through. */
export const FULL_BITS = 32;

/** The format of an integer bit-width (the grid quantizer): `intB`, or fp32 at 32 bits and above. */
export function gridFormat(bits: number): NumberFormat {
  return bits >= FULL_BITS ? FP32 : { kind: 'int', bits, signed: true };
}

/** Storage bits of one element: what `bits_*` carries and the cost model prices (MX: the element, the scale is amortised). */
export function elementBits(format: NumberFormat): number {
  return formatBits(format.kind === 'block' ? format.element : format);
}

/** Whether the format's products are floating point (MX blocks of int elements are integer products). */
export function isFloatFormat(format: NumberFormat): boolean {
  return format.kind === 'float' || (format.kind === 'block' && format.element.kind === 'float');
}

/** Whether a format is the grid quantizer's (an integer bit-width, or fp32 = its pass-through). */
export function isGridFormat(format: NumberFormat): boolean {
  return format.kind === 'int' || (format.kind === 'float' && format.name === FP32.name);
}

/**
 * Scalar float formats by precision (mantissa bits, then range): what `A..B` spans. fp6-e3m2 has
 * more range and fewer mantissa bits than fp6-e2m3, likewise e5m2 before e4m3.
 */
export const FLOAT_LADDER: readonly NumberFormat[] = [FP4_E2M1, FP6_E3M2, FP6_E2M3, FP8_E5M2, FP8_E4M3, BF16, FP16, TF32, FP32];
/** MX formats by element precision. */
export const MX_LADDER: readonly NumberFormat[] = [MXFP4, MXFP6_E3M2, MXFP6_E2M3, MXFP8_E5M2, MXFP8_E4M3, MXINT8];

/** Whether a schedule's range is written with format names (`fp8-e4m3..fp16`) rather than bit-widths (`3-8`). */
export function isFormatRange(text: string): boolean {
  return /^[a-z]/i.test(text.trim());
}

/**
 * A ladder of formats from its text: `A..B` (every format of the float or MX ladder from A to B),
 * `A/B/C` (these, in this order: the schedule's low level first) or a single format. Integer
 * formats may appear in lists (`int4/fp8-e4m3`) but not in `..` ranges. Throws a UsageError
 * naming `option`.
 */
export function parseLadder(text: string, option: string): NumberFormat[] {
  const range = text.split('..');
  if (range.length === 2) {
    const [a, b] = range.map((t) => parseNumberFormat(t, option));
    const ladder = [FLOAT_LADDER, MX_LADDER].find((l) => l.some((f) => f === a) && l.some((f) => f === b));
    if (!ladder) throw new UsageError(option, `"${text}": a range A..B needs two formats of one ladder (floats: ${FLOAT_LADDER.map(formatName).join(' < ')}; MX: ${MX_LADDER.map(formatName).join(' < ')}); list others with /`);
    const from = ladder.indexOf(a!);
    const to = ladder.indexOf(b!);
    if (from > to) throw new UsageError(option, `"${text}": ${formatName(a!)} is above ${formatName(b!)} on the ladder (${ladder.map(formatName).join(' < ')})`);
    return ladder.slice(from, to + 1);
  }
  if (range.length > 2) throw new UsageError(option, `"${text}": expected A..B, A/B/… or one format`);
  const list = text.split('/').map((t) => parseNumberFormat(t, option));
  return list.map((f) => (f.kind === 'int' && f.bits >= FULL_BITS ? FP32 : f));
}

/** The canonical text of a ladder: `A..B` when it is a whole span of a ladder, else `A/B/…`. */
export function ladderText(ladder: readonly NumberFormat[]): string {
  if (ladder.length >= 2) {
    for (const l of [FLOAT_LADDER, MX_LADDER]) {
      const from = l.indexOf(ladder[0]!);
      if (from >= 0 && ladder.every((f, i) => l[from + i] === f)) return `${formatName(ladder[0]!)}..${formatName(ladder[ladder.length - 1]!)}`;
    }
  }
  return ladder.map(formatName).join('/');
}

/** The name a step record and steps.csv give a precision (`int6`, `fp8-e4m3`, `fp32`). */
export function precisionName(format: NumberFormat): string {
  return formatName(format);
}

/** A format from a record's name; `intB`/`fp32` for what old records only know as bits. */
export function recordedFormat(name: string | undefined, bits: number): NumberFormat {
  if (name === undefined || name === '') return gridFormat(bits);
  return parseNumberFormat(name, 'format');
}

const kindsByName = new Map<string, boolean>();
/** Whether a recorded format name (`fp8-e4m3`, `int6`) is floating point; unknown names count as integer. */
function isFloatName(name: string | undefined): boolean {
  if (name === undefined) return false;
  let float = kindsByName.get(name);
  if (float === undefined) {
    try {
      float = isFloatFormat(parseNumberFormat(name, 'format'));
    } catch {
      float = false;
    }
    kindsByName.set(name, float);
  }
  return float;
}

/** The operand kinds the cost model prices a step's bits with (src/hw `BitTuple` flags; only true flags). */
export function operandKinds(step: { formatWeights?: string; formatActivations?: string; formatGrad?: string }): { floatWeights?: true; floatActivations?: true; floatGrad?: true } {
  return {
    ...(isFloatName(step.formatWeights) ? { floatWeights: true } : {}),
    ...(isFloatName(step.formatActivations) ? { floatActivations: true } : {}),
    ...(isFloatName(step.formatGrad) ? { floatGrad: true } : {}),
  };
}
