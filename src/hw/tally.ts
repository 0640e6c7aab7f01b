/**
 * Whole runs: the cost of a step depends only on its bit tuple, so a run is a histogram of bit
 * tuples × per-tuple cost. `CostTally` is the one place a run's cost is accumulated step by step
 * (training session, re-estimate from steps.csv, restore on resume). Pure.
 */
import { type Schedule, makeSchedule } from '../schedule/index.js';
import { type BitTuple, type Cost, type CostModel, type PartsCost, type Phase, PHASES, addParts, zeroParts } from './cost.js';
import { DEFAULT_BITS_GRAD } from './defaults.js';
import { baselineBits, type Savings, savingsPct } from './savings.js';


export interface BitTupleCount extends BitTuple {
  count: number;
}

/** Count equal bit tuples; the result is sorted by (bitsWeights, bitsActivations, bitsGrad). */
export function bitHistogram(steps: Iterable<BitTuple>): BitTupleCount[] {
  const counts = new Map<string, BitTupleCount>();
  for (const s of steps) {
    const key = `${s.bitsWeights}/${s.bitsActivations}/${s.bitsGrad}`;
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { bitsWeights: s.bitsWeights, bitsActivations: s.bitsActivations, bitsGrad: s.bitsGrad, count: 1 });
  }
  return sortHistogram([...counts.values()]);
}

function sortHistogram(h: BitTupleCount[]): BitTupleCount[] {
  return h.sort((x, y) => x.bitsWeights - y.bitsWeights || x.bitsActivations - y.bitsActivations || x.bitsGrad - y.bitsGrad);
}

/**
 * Histogram of a run whose weights and activations follow `schedule` and whose errors follow
 * `errors` (a schedule or a fixed bit-width), over `iterations` steps.
 */
export function scheduleHistogram(schedule: Schedule | string, iterations: number, errors: Schedule | number): BitTupleCount[] {
  const s = typeof schedule === 'string' ? makeSchedule(schedule) : schedule;
  const g = errorBitsAt(errors);
  return histogramOf(iterations, (t) => {
    const bits = s.bitsAt(t, iterations);
    return { bitsWeights: bits, bitsActivations: bits, bitsGrad: g(t, iterations) };
  });
}

/** Histogram of the baseline counterfactual (`baselineBits`) of a run with these error bits. */
export function baselineHistogram(baseline: Schedule, iterations: number, errors: Schedule | number): BitTupleCount[] {
  const g = errorBitsAt(errors);
  return histogramOf(iterations, (t) => baselineBits(baseline, t, iterations, g(t, iterations)));
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
    const b = model.breakdown(h.bitsWeights, h.bitsActivations, h.bitsGrad);
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
    options.baseline === undefined ? makeSchedule(`static:${schedule.bitsMax}`) : typeof options.baseline === 'string' ? makeSchedule(options.baseline) : options.baseline;
  const bitsGrad = options.bitsGrad ?? DEFAULT_BITS_GRAD;
  // the baseline keeps each step's error bits (baselineBits): the same error schedule
  const run = tallyBitTuples(model, scheduleHistogram(schedule, options.iterations, bitsGrad));
  const baseline = tallyBitTuples(model, baselineHistogram(baselineSchedule, options.iterations, bitsGrad));
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

/** Per-phase and per-layer parts of a run's cost so far, and of its baseline. */
export interface CostBreakdown {
  run: Pick<TalliedCost, 'byPhase' | 'byLayer'>;
  baseline: Pick<TalliedCost, 'byPhase' | 'byLayer'>;
}

/** A step as the tally needs it: its index and its bit tuple. */
export interface TallyStep extends BitTuple {
  step: number;
}

/**
 * The running cost of one training run on one profile: each step's cost and its baseline
 * counterfactual (`baselineBits`), the totals (summed in step order, so a run restored from its
 * stored steps sums exactly as an uninterrupted one), and histograms of bit tuples for the
 * per-layer / per-phase breakdown.
 */
export class CostTally {
  private readonly sums = { energyJ: 0, latencyS: 0, bitops: 0, baselineEnergyJ: 0, baselineLatencyS: 0, baselineBitops: 0 };
  private readonly runHistogram = new Map<number, BitTupleCount>();
  private readonly baselineHistogram = new Map<number, BitTupleCount>();
  private count = 0;

  constructor(
    readonly model: CostModel,
    readonly baseline: Schedule,
    readonly totalSteps: number,
  ) {}

  /** Steps tallied so far. */
  get steps(): number {
    return this.count;
  }

  /** Cost every step in `steps` (in order), add it to the totals and return the per-step costs. */
  add(steps: readonly TallyStep[]): StepCost[] {
    const out = new Array<StepCost>(steps.length);
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      const b = baselineBits(this.baseline, s.step, this.totalSteps, s.bitsGrad);
      const c = this.model.stepCost(s.bitsWeights, s.bitsActivations, s.bitsGrad);
      const bc = this.model.stepCost(b.bitsWeights, b.bitsActivations, b.bitsGrad);
      const sc: StepCost = { energyJ: c.energyJ, latencyS: c.latencyS, bitops: c.bitops, baselineEnergyJ: bc.energyJ, baselineLatencyS: bc.latencyS, baselineBitops: bc.bitops };
      const sums = this.sums;
      sums.energyJ += sc.energyJ;
      sums.latencyS += sc.latencyS;
      sums.bitops += sc.bitops;
      sums.baselineEnergyJ += sc.baselineEnergyJ;
      sums.baselineLatencyS += sc.baselineLatencyS;
      sums.baselineBitops += sc.baselineBitops;
      bump(this.runHistogram, s);
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
    return { run: part(this.runHistogram), baseline: part(this.baselineHistogram) };
  }
}

function bump(histogram: Map<number, BitTupleCount>, t: BitTuple): void {
  const key = (t.bitsWeights * 128 + t.bitsActivations) * 128 + t.bitsGrad;
  const entry = histogram.get(key);
  if (entry) entry.count++;
  else histogram.set(key, { bitsWeights: t.bitsWeights, bitsActivations: t.bitsActivations, bitsGrad: t.bitsGrad, count: 1 });
}
