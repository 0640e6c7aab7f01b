/**
 * Switchable precision at inference (`bitcycle eval`): one trained checkpoint run at several
 * precisions, each priced as the inference of one batch — the FORWARD GEMMs of every layer only
 * (no input- or weight-gradient GEMM, no per-step overhead of the profile), weights at the
 * precision, activations at the precision or, weights-only, at 32 bits (fp32). Layers the run kept
 * at full precision stay at fp32 (the cost model's `fullPrecision` rule). Latency and energy are
 * also given relative to the highest precision listed, so the rows are an accuracy-vs-latency knob
 * curve once the accuracies are added. Also here: the `--bits` list grammar and a run's default
 * list. Pure: no I/O.
 */
import { UsageError } from '../errors.js';
import { type BitTuple, createCostModel, requireOperandBits } from '../hw/cost.js';
import type { HardwareProfile } from '../hw/profile.js';
import type { LayerShape } from '../models/shapes.js';
import { FP32, MAX_INT_BITS, type NumberFormat, NUMBER_FORMAT_NAMES, formatName, parseNumberFormat } from '../formats/number-format.js';
import { FULL_BITS, elementBits, gridFormat, isFloatFormat } from '../formats/precision.js';
import type { Schedule } from '../schedule/schedule.js';
import { sanitizeShort } from '../util/text.js';

/** At most this many precisions per evaluation (`--bits`). */
export const MAX_KNOB_PRECISIONS = 16;

/** What `--bits` accepts, for help texts and errors. */
export const BITS_ALLOWED = `bit-widths 1..${FULL_BITS} (the integer grid quantizer, intB; 32 = fp32) or number formats (${NUMBER_FORMAT_NAMES.filter((n) => n !== 'uintN').join(', ')})`;

/** The precision of one evaluation: weights and activations (activations at fp32 for weights-only). */
export interface KnobPrecision {
  /** The weights' format, canonical (`int4`, `fp8-e4m3`, `fp32`): the row's name. */
  name: string;
  weights: NumberFormat;
  activations: NumberFormat;
}

/**
 * One item of `--bits` as a format: a bit-width B is the integer grid quantizer `intB` (fp32 at 32),
 * `intB` is the same, any other name is that number format. Throws UsageError naming `option`.
 */
export function parseKnobItem(text: string, option = '--bits'): NumberFormat {
  const item = text.trim();
  const shown = sanitizeShort(item, 40);
  if (item === '') throw new UsageError(option, `empty item in the list; expected comma-separated ${BITS_ALLOWED}`);
  if (/^\d+$/.test(item)) {
    const bits = Number(item);
    if (bits < 1 || bits > FULL_BITS) throw new UsageError(option, `${shown} is not a bit-width in 1..${FULL_BITS}; expected ${BITS_ALLOWED}`);
    return gridFormat(bits);
  }
  let format: NumberFormat;
  try {
    format = parseNumberFormat(item, option);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(option, `"${shown}" is neither a bit-width nor a number format; expected ${BITS_ALLOWED}`);
    throw err;
  }
  if (format.kind === 'int') {
    if (!format.signed) throw new UsageError(option, `"${shown}": the integer grid quantizer is named by its bit-width (${format.bits}) or int${format.bits}, not uint${format.bits}`);
    return gridFormat(Math.min(format.bits, MAX_INT_BITS));
  }
  return format;
}

/** `--bits` as formats, in the order given: every item valid, none twice (`4` and `int4` are one), at most MAX_KNOB_PRECISIONS. */
export function parseKnobList(text: string, option = '--bits'): NumberFormat[] {
  const items = text.split(',');
  if (items.length > MAX_KNOB_PRECISIONS) throw new UsageError(option, `${items.length} precisions, at most ${MAX_KNOB_PRECISIONS}`);
  const formats: NumberFormat[] = [];
  const seen = new Map<string, string>();
  for (const item of items) {
    const format = parseKnobItem(item, option);
    const name = formatName(format);
    const before = seen.get(name);
    if (before !== undefined) throw new UsageError(option, `${name} is listed twice ("${sanitizeShort(before, 40)}", "${sanitizeShort(item.trim(), 40)}"); list each precision once`);
    seen.set(name, item.trim());
    formats.push(format);
  }
  return formats;
}

/**
 * The precisions a run is evaluated at when `--bits` is not given: its schedule's range Bmin..Bmax
 * in integer steps, or the ladder of a schedule written with formats (`cpt:fp4-e2m1..fp8-e4m3`).
 * Throws UsageError naming `option` when that is more than MAX_KNOB_PRECISIONS.
 */
export function defaultKnobFormats(schedule: Schedule, option = '--bits'): NumberFormat[] {
  const formats = schedule.formats
    ? schedule.formats.map((f) => (f.kind === 'int' ? gridFormat(f.bits) : f))
    : Array.from({ length: schedule.bitsMax - schedule.bitsMin + 1 }, (_, i) => gridFormat(schedule.bitsMin + i));
  if (formats.length > MAX_KNOB_PRECISIONS) {
    throw new UsageError(option, `the run's schedule ${sanitizeShort(schedule.name, 60)} spans ${formats.length} precisions, more than ${MAX_KNOB_PRECISIONS}; choose up to ${MAX_KNOB_PRECISIONS} with --bits`);
  }
  return formats;
}

/** The precision of a row: the format for weights and activations, or for the weights only (activations fp32). */
export function knobPrecision(format: NumberFormat, weightsOnly: boolean): KnobPrecision {
  return { name: formatName(format), weights: format, activations: weightsOnly ? FP32 : format };
}

/**
 * Index of the highest precision of a list: the most element bits of the weights, then of the
 * activations; among equals (int8 and fp8-e4m3) the first listed.
 */
export function topPrecisionIndex(precisions: readonly KnobPrecision[]): number {
  let best = 0;
  for (let i = 1; i < precisions.length; i++) {
    const p = precisions[i]!;
    const b = precisions[best]!;
    const pw = elementBits(p.weights);
    const bw = elementBits(b.weights);
    if (pw > bw || (pw === bw && elementBits(p.activations) > elementBits(b.activations))) best = i;
  }
  return best;
}

/**
 * The bit tuple of an inference at `precision`: element bits and, from the formats, the operand
 * kinds (`isFloatFormat`), which the cost model places in the profile's integer or floating-point
 * formats. The errors take no part in a forward GEMM; they are set to the activations' width and
 * kind, which fits any profile the activations fit.
 */
export function inferenceBitTuple(precision: KnobPrecision): BitTuple {
  const bitsActivations = elementBits(precision.activations);
  const floatActivations = isFloatFormat(precision.activations);
  return {
    bitsWeights: elementBits(precision.weights),
    bitsActivations,
    bitsGrad: bitsActivations,
    floatWeights: isFloatFormat(precision.weights),
    floatActivations,
    floatGrad: floatActivations,
  };
}

/** `fp32 → int16 ×2`: an operand of one kind run in a format of the other, in slices when wider than the format. */
function fallbackText(profile: HardwareProfile, float: boolean, bits: number, format: string): string {
  const width = profile.formats.find((f) => f.name === format)?.bits ?? bits;
  const slices = Math.ceil(bits / width);
  return `${float ? 'fp' : 'int'}${bits} → ${format}${slices > 1 ? ` ×${slices}` : ''}`;
}

/** The forward GEMM of one layer at a precision. */
export interface KnobLayerCost {
  layer: string;
  /** Kept at full precision by the run (`fullPrecision`): fp32 whatever the precision. */
  fullPrecision: boolean;
  bitsWeights: number;
  bitsActivations: number;
  /** The profile formats the operands run in (`int8`, `fp8`, `int16` …). */
  formatWeights: string;
  formatActivations: string;
  energyJ: number;
  latencyS: number;
  bitops: number;
}

/** The inference cost of one batch at one precision. */
export interface KnobCost {
  /** The weights' format (`int4`, `fp8-e4m3`). */
  precision: string;
  weights: string;
  activations: string;
  bitsWeights: number;
  bitsActivations: number;
  floatWeights: boolean;
  floatActivations: boolean;
  /** Forward GEMMs of every layer: energy (J), latency (s), BitOPs (MACs × operand bits). */
  energyJ: number;
  latencyS: number;
  bitops: number;
  computeEnergyJ: number;
  memoryEnergyJ: number;
  /** latencyS and energyJ over those of the reference row (the highest precision listed): 1 there. */
  relativeLatency: number;
  relativeEnergy: number;
  layers: KnobLayerCost[];
  /**
   * Operands the profile has no format of their kind for, and the format they run in instead
   * (`fp32 → int16 ×2`: an fp32 operand on an integer-only bit-serial array, as two int16 slices).
   */
  fallbacks: string[];
}

export interface KnobCosts {
  rows: KnobCost[];
  /** Index of the row the relative figures are relative to (`topPrecisionIndex`). */
  reference: number;
  batchSize: number;
  profile: string;
}

/**
 * Refuse, before any cost is computed, precisions the profile cannot run (aboveMax "reject" and an
 * operand wider than its widest format): throws ProfileError naming the precision, `--weights-only`
 * or the full-precision layers.
 */
export function requireKnobOperands(profile: HardwareProfile, layers: readonly LayerShape[], precisions: readonly KnobPrecision[], option = '--bits'): void {
  const fp = layers.filter((l) => l.fullPrecision).map((l) => l.name);
  requireOperandBits(profile, [
    ...precisions.map((p) => ({ what: `${option} ${p.name}`, bits: elementBits(p.weights) })),
    ...precisions.map((p) => ({ what: p.activations === p.weights ? `${option} ${p.name}` : `--weights-only (activations at ${formatName(p.activations)})`, bits: elementBits(p.activations) })),
    ...(fp.length ? [{ what: `the layers the run keeps at full precision (${fp.map((n) => sanitizeShort(n, 40)).join(', ')}; ${FULL_BITS} bits)`, bits: FULL_BITS }] : []),
  ]);
}

/**
 * The inference cost of one batch of `batchSize` samples through `layers` on `profile` at each
 * precision, in the order given: the forward phase of the cost model's step breakdown (so the same
 * GEMM costs as training's forward GEMMs), and each relative to the highest precision listed.
 */
export function knobCosts(profile: HardwareProfile, layers: readonly LayerShape[], batchSize: number, precisions: readonly KnobPrecision[]): KnobCosts {
  if (precisions.length === 0) throw new RangeError('knobCosts needs at least one precision');
  requireKnobOperands(profile, layers, precisions);
  const model = createCostModel(profile, layers, batchSize);
  const rows = precisions.map((p): KnobCost => {
    const tuple = inferenceBitTuple(p);
    const b = model.breakdown(tuple.bitsWeights, tuple.bitsActivations, tuple.bitsGrad, tuple);
    const forward = b.byPhase.forward;
    const gemms = b.gemms.filter((g) => g.phase === 'forward');
    const fallbacks = new Set<string>();
    for (const g of gemms) {
      if (g.fallbackA) fallbacks.add(fallbackText(profile, g.floatA, g.bitsA, g.formatA));
      if (g.fallbackB) fallbacks.add(fallbackText(profile, g.floatB, g.bitsB, g.formatB));
    }
    return {
      precision: p.name,
      weights: formatName(p.weights),
      activations: formatName(p.activations),
      bitsWeights: tuple.bitsWeights,
      bitsActivations: tuple.bitsActivations,
      floatWeights: tuple.floatWeights === true,
      floatActivations: tuple.floatActivations === true,
      energyJ: forward.energyJ,
      latencyS: forward.latencyS,
      bitops: forward.bitops,
      computeEnergyJ: forward.computeEnergyJ,
      memoryEnergyJ: forward.memoryEnergyJ,
      relativeLatency: Number.NaN,
      relativeEnergy: Number.NaN,
      // forward GEMMs are in layer order: the operands are A = activations, B = weights
      layers: gemms.map((g, i) => ({ layer: g.layer, fullPrecision: layers[i]!.fullPrecision === true, bitsWeights: g.bitsB, bitsActivations: g.bitsA, formatWeights: g.formatB, formatActivations: g.formatA, energyJ: g.energyJ, latencyS: g.latencyS, bitops: g.bitops })),
      fallbacks: [...fallbacks],
    };
  });
  const reference = topPrecisionIndex(precisions);
  const ref = rows[reference]!;
  for (const r of rows) {
    r.relativeLatency = r.latencyS / ref.latencyS;
    r.relativeEnergy = r.energyJ / ref.energyJ;
  }
  return { rows, reference, batchSize, profile: profile.name };
}
