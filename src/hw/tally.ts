/**
 * Whole runs: the cost of a step depends only on its bit tuple (bit-widths and operand kinds), so
 * a run is a histogram of bit tuples × per-tuple cost. `CostTally` is the one place a run's cost is
 * accumulated step by step (training session, re-estimate from steps.csv, restore on resume).
 * Histograms keep the kinds in their keys: an fp8 step and an int8 step are counted apart. Pure.
 */
import { type Schedule, makeSchedule, topStaticSpec } from '../schedule/index.js';
import {
  type BitTuple,
  type Cost,
  type CostModel,
  type OperandKinds,
  type PartsCost,
  type Phase,
  PHASES,
  addParts,
  bitTupleKey,
  bitTupleText,
  layerTuplesKey,
  createCostModel,
  normalizeBitTuple,
  preferFormat,
  zeroParts,
} from './cost.js';
import { DEFAULT_BITS_GRAD } from './defaults.js';
import type { OptimizerCost } from './optimizer-cost.js';
import { elementBits, isFloatFormat, operandKinds } from '../formats/precision.js';
import { parseNumberFormat } from '../formats/number-format.js';
import type { LayerShape } from '../models/shapes.js';
import { baselineBits, type Savings, savingsPct } from './savings.js';


export interface BitTupleCount extends BitTuple {
  count: number;
}

/**
 * Count equal bit tuples (equal bit-widths and kinds; an absent flag equals false); the result is
 * sorted by (bitsWeights, bitsActivations, bitsGrad), integer before floating point, and its
 * entries carry only their true flags.
 */
export function bitHistogram(steps: Iterable<BitTuple>): BitTupleCount[] {
  const counts = new Map<number, BitTupleCount>();
  for (const s of steps) bump(counts, s);
  return sortHistogram([...counts.values()]);
}

const kindOrder = (f: boolean | undefined) => (f ? 1 : 0);

function sortHistogram(h: BitTupleCount[]): BitTupleCount[] {
  return h.sort(
    (x, y) =>
      x.bitsWeights - y.bitsWeights ||
      x.bitsActivations - y.bitsActivations ||
      x.bitsGrad - y.bitsGrad ||
      kindOrder(x.floatWeights) - kindOrder(y.floatWeights) ||
      kindOrder(x.floatActivations) - kindOrder(y.floatActivations) ||
      kindOrder(x.floatGrad) - kindOrder(y.floatGrad),
  );
}

/**
 * Histogram of a run whose weights and activations follow `schedule` and whose errors follow
 * `errors` (a schedule or a fixed bit-width), over `iterations` steps; `kinds` says which operands
 * are floating point (absent: all integer).
 */
export function scheduleHistogram(schedule: Schedule | string, iterations: number, errors: Schedule | number, kinds?: OperandKinds): BitTupleCount[] {
  const s = typeof schedule === 'string' ? makeSchedule(schedule) : schedule;
  const g = errorBitsAt(errors);
  const kindsAt = kinds === undefined ? scheduleKinds(s, errors) : () => kinds;
  return histogramOf(iterations, (t) => {
    const bits = s.bitsAt(t, iterations);
    return { bitsWeights: bits, bitsActivations: bits, bitsGrad: g(t, iterations), ...kindsAt(t, iterations) };
  });
}

/** The operand kinds of a step from the schedules' formats (`cpt:fp8-e4m3..fp16` is floating point throughout). */
function scheduleKinds(s: Schedule, errors: Schedule | number): (t: number, total: number) => OperandKinds {
  if (!s.formats && (typeof errors === 'number' || !errors.formats)) return () => ({});
  return (t, total) => ({
    ...(isFloatFormat(s.formatAt(t, total)) ? { floatWeights: true, floatActivations: true } : {}),
    ...(typeof errors !== 'number' && isFloatFormat(errors.formatAt(t, total)) ? { floatGrad: true } : {}),
  });
}

/**
 * Histogram of the baseline counterfactual (`baselineBits`) of a run with these error bits, its
 * operands of the kinds `kinds` says (absent: all integer).
 */
export function baselineHistogram(baseline: Schedule, iterations: number, errors: Schedule | number, kinds?: OperandKinds): BitTupleCount[] {
  const g = errorBitsAt(errors);
  const kindsAt = kinds === undefined ? scheduleKinds(baseline, errors) : () => kinds;
  return histogramOf(iterations, (t) => baselineBits(baseline, t, iterations, g(t, iterations), kindsAt(t, iterations)));
}

function errorBitsAt(errors: Schedule | number): (t: number, total: number) => number {
  return typeof errors === 'number' ? () => errors : (t, total) => errors.bitsAt(t, total);
}

function histogramOf(iterations: number, tupleAt: (t: number) => BitTuple): BitTupleCount[] {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
  const histogram = new Map<number, BitTupleCount>();
  for (let t = 0; t < iterations; t++) bump(histogram, tupleAt(t));
  return sortHistogram([...histogram.values()]);
}

/** Cost of a histogram of steps, with its per-phase and per-layer parts. */
export interface TalliedCost extends PartsCost {
  steps: number;
  byPhase: Record<Phase, PartsCost>;
  byLayer: ({ layer: string } & PartsCost)[];
  histogram: BitTupleCount[];
}

/** Total cost of a run given as a histogram of bit tuples. */
export function tallyBitTuples(model: CostModel, histogram: readonly BitTupleCount[]): TalliedCost {
  const total = zeroParts();
  const byPhase = { forward: zeroParts(), inputGrad: zeroParts(), weightGrad: zeroParts() };
  const byLayer = model.layers.map((l) => ({ layer: l.name, ...zeroParts() }));
  let steps = 0;
  for (const h of histogram) {
    if (!Number.isInteger(h.count) || h.count < 0) throw new RangeError(`histogram counts must be non-negative integers, got ${h.count}`);
    if (h.count === 0) continue;
    const b = model.breakdown(h.bitsWeights, h.bitsActivations, h.bitsGrad, h);
    steps += h.count;
    addParts(total, b, h.count);
    for (const p of PHASES) addParts(byPhase[p], b.byPhase[p], h.count);
    b.byLayer.forEach((l, i) => addParts(byLayer[i]!, l, h.count));
  }
  return { steps, ...total, byPhase, byLayer, histogram: histogram.filter((h) => h.count > 0).map((h) => ({ ...h })) };
}

/** Total cost of a run given step by step (e.g. rows of steps.csv). */
export function tallyRun(model: CostModel, steps: Iterable<BitTuple>): TalliedCost {
  return tallyBitTuples(model, bitHistogram(steps));
}

export interface EstimateOptions {
  /** Precision schedule of weights and activations. */
  schedule: Schedule | string;
  /** Static (or any) schedule to compare with; default static:<bitsMax of schedule>. */
  baseline?: Schedule | string;
  iterations: number;
  /** Errors (gradients w.r.t. activations): a bit-width or a schedule; default 8 bits. */
  bitsGrad?: number | Schedule;
  /** Which of the run's operands are floating point (default: all integer). */
  kinds?: OperandKinds;
  /**
   * Kinds of the baseline's weights and activations (default: the run's); its errors are the
   * run's, kind included.
   */
  baselineKinds?: Pick<OperandKinds, 'floatWeights' | 'floatActivations'>;
}

export interface ScheduleEstimate {
  schedule: string;
  baselineSchedule: string;
  iterations: number;
  /** Error precision: bits, or a schedule spec. */
  bitsGrad: number | string;
  run: TalliedCost;
  baseline: TalliedCost;
  savings: Savings;
  byPhase: Record<Phase, { run: PartsCost; baseline: PartsCost; savings: Savings }>;
}

export { DEFAULT_BITS_GRAD };

/** Cost of a whole run of `schedule` and of a baseline run, with savings overall and per phase. */
export function estimateSchedule(model: CostModel, options: EstimateOptions): ScheduleEstimate {
  const schedule = typeof options.schedule === 'string' ? makeSchedule(options.schedule) : options.schedule;
  const baselineSchedule =
    options.baseline === undefined ? makeSchedule(topStaticSpec(schedule)) : typeof options.baseline === 'string' ? makeSchedule(options.baseline) : options.baseline;
  const bitsGrad = options.bitsGrad ?? DEFAULT_BITS_GRAD;
  // the baseline keeps each step's error bits (baselineBits): the same error schedule
  const kinds = options.kinds;
  // without kinds given, each step's come from the schedules' formats
  const baselineKinds = kinds === undefined && options.baselineKinds === undefined ? undefined : { ...kinds, ...options.baselineKinds };
  const run = tallyBitTuples(model, scheduleHistogram(schedule, options.iterations, bitsGrad, kinds));
  const baseline = tallyBitTuples(model, baselineHistogram(baselineSchedule, options.iterations, bitsGrad, baselineKinds));
  const byPhase = Object.fromEntries(
    PHASES.map((p) => [p, { run: run.byPhase[p], baseline: baseline.byPhase[p], savings: savingsPct(run.byPhase[p], baseline.byPhase[p]) }]),
  ) as ScheduleEstimate['byPhase'];
  return {
    schedule: schedule.name,
    baselineSchedule: baselineSchedule.name,
    iterations: options.iterations,
    bitsGrad: typeof bitsGrad === 'number' ? bitsGrad : bitsGrad.name,
    run,
    baseline,
    savings: savingsPct(run, baseline),
    byPhase,
  };
}

/** Cost of one training step on the run's profile, and of the same step at the baseline precision. */
export interface StepCost {
  energyJ: number;
  latencyS: number;
  bitops: number;
  baselineEnergyJ: number;
  baselineLatencyS: number;
  baselineBitops: number;
}

/** A run's cost so far (run.json `cost`): totals, the baseline counterfactual's totals, savings. */
export interface RunCost extends Cost {
  profile: string;
  /** Steps tallied. */
  steps: number;
  baseline: Cost & { schedule: string };
  savings: Savings;
}

/**
 * Per-phase and per-layer parts of a run's cost so far, and of its baseline: one forward and
 * backward pass per step. `optimizer` holds what the optimizer adds (./optimizer-cost.ts: its
 * state traffic, SVRG's second pass and full passes), so the parts and it sum to the totals.
 */
export interface CostBreakdown {
  run: Pick<TalliedCost, 'byPhase' | 'byLayer'>;
  baseline: Pick<TalliedCost, 'byPhase' | 'byLayer'>;
  optimizer?: { run: PartsCost; baseline: PartsCost };
}

/** A step as the tally needs it: its index and its bit tuple (bit-widths and operand kinds). */
export interface TallyStep extends BitTuple {
  step: number;
  /** The step's number formats as recorded (src/formats/precision.ts names): set the kind flags the step does not set itself. */
  formatWeights?: string;
  formatActivations?: string;
  formatGrad?: string;
  /** With a per-layer precision plan: each quantized layer's `W/G` formats (steps.csv `layers`). */
  layerFormats?: readonly string[];
}

/**
 * A step's tuple per layer of `layers`: the quantized layers (not `fullPrecision`) take theirs from
 * `layerFormats` (`W/G` format names, in order), the others the step's (a full-precision layer's
 * GEMMs are fp32 whatever it is). Throws when the counts differ.
 */
export function layerTuples(layers: readonly LayerShape[], layerFormats: readonly string[], step: BitTuple): BitTuple[] {
  const quantized = layers.filter((l) => !l.fullPrecision).length;
  if (layerFormats.length !== quantized) throw new RangeError(`a step has formats for ${layerFormats.length} layers, the model has ${quantized} quantized layers`);
  let next = 0;
  return layers.map((l) => (l.fullPrecision ? normalizeBitTuple(step) : layerTuple(layerFormats[next++]!)));
}

/** A `W/G` cell's tuple (parsed once per distinct cell: a run has a few, its steps many). */
const layerTupleCache = new Map<string, BitTuple>();
function layerTuple(cell: string): BitTuple {
  let t = layerTupleCache.get(cell);
  if (!t) {
    const [w, g] = cell.split('/').map((name) => parseNumberFormat(name, 'layers')) as [ReturnType<typeof parseNumberFormat>, ReturnType<typeof parseNumberFormat>];
    const floatWA = isFloatFormat(w);
    t = normalizeBitTuple({ bitsWeights: elementBits(w), bitsActivations: elementBits(w), bitsGrad: elementBits(g), floatWeights: floatWA, floatActivations: floatWA, floatGrad: isFloatFormat(g) });
    layerTupleCache.set(cell, t);
  }
  return t;
}

/**
 * The running cost of one training run on one profile: each step's cost and its baseline
 * counterfactual (`baselineBits`), the totals (summed in step order, so a run restored from its
 * stored steps sums exactly as an uninterrupted one), and histograms of bit tuples for the
 * per-layer / per-phase breakdown.
 *
 * Operand kinds: each step's own flags price it; the baseline counterfactual keeps the step's
 * error kind and, unless `baselineKinds` says otherwise, the step's weight and activation kinds
 * (a run of floating-point formats against a static run of its widest format, floating point too).
 */
export class CostTally {
  private readonly sums = { energyJ: 0, latencyS: 0, bitops: 0, baselineEnergyJ: 0, baselineLatencyS: 0, baselineBitops: 0 };
  private readonly runHistogram = new Map<number, BitTupleCount>();
  private readonly baselineHistogram = new Map<number, BitTupleCount>();
  /** Steps of a per-layer plan, by their list of per-layer tuples. */
  private readonly layeredHistogram = new Map<string, { tuples: BitTuple[]; count: number }>();
  private count = 0;

  constructor(
    readonly model: CostModel,
    readonly baseline: Schedule,
    readonly totalSteps: number,
    /** Kinds of the baseline's weights and activations (default: each step's own). */
    readonly baselineKinds?: Pick<OperandKinds, 'floatWeights' | 'floatActivations'>,
    /** What the run's optimizer adds to each step (absent: nothing, plain SGD's traffic unpriced as before). */
    readonly optimizer?: OptimizerCost,
  ) {}

  private readonly extraRun = zeroParts();
  private readonly extraBaseline = zeroParts();

  /** Steps tallied so far. */
  get steps(): number {
    return this.count;
  }

  /** Cost every step in `steps` (in order), add it to the totals and return the per-step costs. */
  add(steps: readonly TallyStep[]): StepCost[] {
    const out = new Array<StepCost>(steps.length);
    for (let i = 0; i < steps.length; i++) {
      const given = steps[i]!;
      const s = given.formatWeights === undefined && given.formatActivations === undefined && given.formatGrad === undefined ? given : { ...operandKinds(given), ...normalizeBitTuple(given), step: given.step };
      const bk = this.baselineKinds;
      const kinds = bk === undefined ? s : { floatWeights: bk.floatWeights, floatActivations: bk.floatActivations, floatGrad: s.floatGrad };
      const b = baselineBits(this.baseline, s.step, this.totalSteps, s.bitsGrad, kinds);
      const o = this.optimizer;
      // HALP's inner step: one bit-centred pass with weights and activations at its B bits
      const centred: BitTuple | null = o?.stepBits !== undefined ? normalizeBitTuple({ bitsWeights: o.stepBits, bitsActivations: o.stepBits, bitsGrad: s.bitsGrad, floatGrad: s.floatGrad }) : null;
      const tuples = !centred && given.layerFormats ? layerTuples(this.model.layers, given.layerFormats, s) : null;
      const own = centred ?? s;
      const c = tuples ? this.model.layersCost(tuples) : this.model.stepCost(own.bitsWeights, own.bitsActivations, own.bitsGrad, own);
      const bc = this.model.stepCost(b.bitsWeights, b.bitsActivations, b.bitsGrad, b);
      let sc: StepCost = { energyJ: c.energyJ, latencyS: c.latencyS, bitops: c.bitops, baselineEnergyJ: bc.energyJ, baselineLatencyS: bc.latencyS, baselineBitops: bc.bitops };
      if (o) {
        // the passes of the three GEMMs a step runs (SVRG: two; HALP: one bit-centred, its anchor
        // products cached), an epoch's worth at the step's precision at an anchor, the state traffic;
        // the baseline is the same optimizer at full precision (HALP's: SVRG's two passes)
        const anchor = o.anchorEvery > 0 && s.step % o.anchorEvery === 0 ? o.anchorPasses : 0;
        const passes = centred ? 1 : o.gemmPasses;
        const at = centred ? this.model.stepCost(s.bitsWeights, s.bitsActivations, s.bitsGrad, s) : c;
        const basePasses = o.gemmPasses + anchor;
        sc = {
          energyJ: passes * c.energyJ + anchor * at.energyJ + o.perStep.energyJ,
          latencyS: passes * c.latencyS + anchor * at.latencyS + o.perStep.latencyS,
          bitops: passes * c.bitops + anchor * at.bitops,
          baselineEnergyJ: basePasses * bc.energyJ + o.perStep.energyJ,
          baselineLatencyS: basePasses * bc.latencyS + o.perStep.latencyS,
          baselineBitops: basePasses * bc.bitops,
        };
        const runParts = tuples ? this.model.layersBreakdown(tuples) : this.model.breakdown(own.bitsWeights, own.bitsActivations, own.bitsGrad, own);
        addParts(this.extraRun, runParts, passes - 1);
        if (anchor > 0) addParts(this.extraRun, this.model.breakdown(s.bitsWeights, s.bitsActivations, s.bitsGrad, s), anchor);
        addParts(this.extraRun, o.perStep);
        addParts(this.extraBaseline, this.model.breakdown(b.bitsWeights, b.bitsActivations, b.bitsGrad, b), basePasses - 1);
        addParts(this.extraBaseline, o.perStep);
      }
      const sums = this.sums;
      sums.energyJ += sc.energyJ;
      sums.latencyS += sc.latencyS;
      sums.bitops += sc.bitops;
      sums.baselineEnergyJ += sc.baselineEnergyJ;
      sums.baselineLatencyS += sc.baselineLatencyS;
      sums.baselineBitops += sc.baselineBitops;
      if (tuples) {
        const key = layerTuplesKey(tuples);
        const entry = this.layeredHistogram.get(key);
        if (entry) entry.count++;
        else this.layeredHistogram.set(key, { tuples, count: 1 });
      } else bump(this.runHistogram, own);
      bump(this.baselineHistogram, b);
      this.count++;
      out[i] = sc;
    }
    return out;
  }

  /** Totals so far with the baseline and savings (what run.json stores). */
  totals(): RunCost {
    const run = { energyJ: this.sums.energyJ, latencyS: this.sums.latencyS, bitops: this.sums.bitops };
    const baseline = { energyJ: this.sums.baselineEnergyJ, latencyS: this.sums.baselineLatencyS, bitops: this.sums.baselineBitops };
    return { profile: this.model.profile.name, steps: this.count, ...run, baseline: { schedule: this.baseline.name, ...baseline }, savings: savingsPct(run, baseline) };
  }

  /** Per-phase and per-layer parts so far (one cost-model evaluation per distinct bit tuple). */
  breakdown(): CostBreakdown {
    const part = (h: Map<number, BitTupleCount>) => {
      const t = tallyBitTuples(this.model, [...h.values()]);
      return { byPhase: t.byPhase, byLayer: t.byLayer };
    };
    const run = part(this.runHistogram);
    // steps of a per-layer plan: each distinct list of layer tuples evaluated once
    for (const { tuples, count } of this.layeredHistogram.values()) {
      const b = this.model.layersBreakdown(tuples);
      for (const p of PHASES) addParts(run.byPhase[p], b.byPhase[p], count);
      b.byLayer.forEach((l, i) => addParts(run.byLayer[i]!, l, count));
    }
    return { run, baseline: part(this.baselineHistogram), ...(this.optimizer ? { optimizer: { run: { ...this.extraRun }, baseline: { ...this.extraBaseline } } } : {}) };
  }
}

function bump(histogram: Map<number, BitTupleCount>, t: BitTuple): void {
  const key = bitTupleKey(t.bitsWeights, t.bitsActivations, t.bitsGrad, t);
  const entry = histogram.get(key);
  if (entry) entry.count++;
  else histogram.set(key, { ...normalizeBitTuple(t), count: 1 });
}

/**
 * An operand kind the profile has no format for at its width: the operand runs in a format of
 * the other kind (`OperandPlacement.fallbackA/B`), e.g. fp32 operands of full-precision layers on
 * an integer-only array, or int16 on a GPU without int16.
 */
export interface KindFallback {
  /** `fp32`, `int16`: the operand's kind and bits. */
  operand: string;
  float: boolean;
  bits: number;
  /** The format it runs in (its slices', when wider than the widest format). */
  format: string;
  /** Slices of the operand (1 unless wider than the widest format: aboveMax "multipass"). */
  slices: number;
}

/** The distinct kind fallbacks in the GEMMs of a histogram's steps, integer operands first, by bits. */
export function kindFallbacks(model: CostModel, histogram: readonly BitTuple[]): KindFallback[] {
  const seen = new Map<string, KindFallback>();
  const formats = model.profile.formats;
  const widest = formats[formats.length - 1]!.bits;
  const add = (float: boolean, bits: number, format: string) => {
    const operand = `${float ? 'fp' : 'int'}${bits}`;
    const key = `${operand}>${format}`;
    if (!seen.has(key)) seen.set(key, { operand, float, bits, format, slices: bits > widest ? Math.ceil(bits / widest) : 1 });
  };
  for (const h of histogram) {
    for (const g of model.breakdown(h.bitsWeights, h.bitsActivations, h.bitsGrad, h).gemms) {
      if (g.fallbackA) add(g.floatA, g.bitsA, g.formatA);
      if (g.fallbackB) add(g.floatB, g.bitsB, g.formatB);
    }
  }
  return [...seen.values()].sort((x, y) => Number(x.float) - Number(y.float) || x.bits - y.bits || x.slices - y.slices || (x.format < y.format ? -1 : x.format > y.format ? 1 : 0));
}

/** One compute format of a profile, and what a training step costs with its operands in it. */
export interface FormatTier {
  /** Index into the profile's formats. */
  index: number;
  name: string;
  bits: number;
  float: boolean;
  /** Energy (J) and rate (MAC/s) of one MAC with both operands in this format. */
  macEnergyJ: number;
  macsPerS: number;
  /**
   * One training step with weights, activations and errors in this format (tuple `bits/bits/bits`
   * of its kind, placed in it even where another format of the same kind and width is listed
   * first); full-precision layers and the fp32 weight gradient as in every step.
   */
  step: Cost;
}

/** Every format of the model's profile as a tier: its MAC costs and the cost of one step in it. */
export function formatTiers(model: CostModel): FormatTier[] {
  const profile = model.profile;
  const n = profile.formats.length;
  return profile.formats.map((f, i) => {
    const tier = createCostModel(preferFormat(profile, i), model.layers, model.batchSize);
    const kinds = f.float ? { floatWeights: true, floatActivations: true, floatGrad: true } : undefined;
    const c = tier.stepCost(f.bits, f.bits, f.bits, kinds);
    return {
      index: i,
      name: f.name,
      bits: f.bits,
      float: f.float,
      macEnergyJ: profile.macEnergyJ[i * n + i]!,
      macsPerS: profile.macThroughputPerS[i * n + i]!,
      step: { energyJ: c.energyJ, latencyS: c.latencyS, bitops: c.bitops },
    };
  });
}

/** `8/8/8×120 f8/f8/8×40`: a histogram as `estimate` prints it (floating-point operands marked f). */
export function histogramText(histogram: readonly BitTupleCount[]): string {
  return histogram.map((h) => `${bitTupleText(h)}×${h.count}`).join(' ');
}
