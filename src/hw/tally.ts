/**
 * Whole runs: the cost of a step depends only on its bit tuple, so a run is a histogram of bit
 * tuples × per-tuple cost. Pure.
 */
import { type Schedule, makeSchedule } from '../schedule/index.js';
import { type BitTuple, type Cost, type CostModel, type PartsCost, type Phase, PHASES, addParts, zeroParts } from './cost.js';

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
 * Histogram of a run whose weights and activations follow `schedule` and whose errors stay at
 * `bitsGrad` bits, over `iterations` steps.
 */
export function scheduleHistogram(schedule: Schedule | string, iterations: number, bitsGrad: number): BitTupleCount[] {
  const s = typeof schedule === 'string' ? makeSchedule(schedule) : schedule;
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
  const counts = new Float64Array(s.bitsMax + 1);
  for (let t = 0; t < iterations; t++) counts[s.bitsAt(t, iterations)]!++;
  const out: BitTupleCount[] = [];
  counts.forEach((count, bits) => {
    if (count > 0) out.push({ bitsWeights: bits, bitsActivations: bits, bitsGrad, count });
  });
  return sortHistogram(out);
}

export interface RunCost extends PartsCost {
  steps: number;
  byPhase: Record<Phase, PartsCost>;
  byLayer: ({ layer: string } & PartsCost)[];
  histogram: BitTupleCount[];
}

/** Total cost of a run given as a histogram of bit tuples. */
export function tallyBitTuples(model: CostModel, histogram: readonly BitTupleCount[]): RunCost {
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
export function tallyRun(model: CostModel, steps: Iterable<BitTuple>): RunCost {
  return tallyBitTuples(model, bitHistogram(steps));
}

export interface Savings {
  energyPct: number;
  latencyPct: number;
  bitopsPct: number;
}

function pct(value: number, baseline: number): number {
  if (baseline === 0) return 0;
  const p = 100 * (1 - value / baseline);
  return Math.abs(p) < 1e-9 ? 0 : p; // equal costs summed in another order are not a saving
}

/** Savings of `run` relative to `baseline` in percent (positive: the run is cheaper). */
export function savingsPct(run: Cost, baseline: Cost): Savings {
  return { energyPct: pct(run.energyJ, baseline.energyJ), latencyPct: pct(run.latencyS, baseline.latencyS), bitopsPct: pct(run.bitops, baseline.bitops) };
}

export interface EstimateOptions {
  /** Precision schedule of weights and activations. */
  schedule: Schedule | string;
  /** Static (or any) schedule to compare with; default static:<bitsMax of schedule>. */
  baseline?: Schedule | string;
  iterations: number;
  /** Bits of the errors (gradients w.r.t. activations); default 8. */
  bitsGrad?: number;
  /** Bits of the errors in the baseline run; default bitsGrad. */
  baselineBitsGrad?: number;
}

export interface ScheduleEstimate {
  schedule: string;
  baselineSchedule: string;
  iterations: number;
  bitsGrad: number;
  run: RunCost;
  baseline: RunCost;
  savings: Savings;
  byPhase: Record<Phase, { run: PartsCost; baseline: PartsCost; savings: Savings }>;
}

export const DEFAULT_BITS_GRAD = 8;

/** Cost of a whole run of `schedule` and of a baseline run, with savings overall and per phase. */
export function estimateSchedule(model: CostModel, options: EstimateOptions): ScheduleEstimate {
  const schedule = typeof options.schedule === 'string' ? makeSchedule(options.schedule) : options.schedule;
  const baselineSchedule =
    options.baseline === undefined ? makeSchedule(`static:${schedule.bitsMax}`) : typeof options.baseline === 'string' ? makeSchedule(options.baseline) : options.baseline;
  const bitsGrad = options.bitsGrad ?? DEFAULT_BITS_GRAD;
  const run = tallyBitTuples(model, scheduleHistogram(schedule, options.iterations, bitsGrad));
  const baseline = tallyBitTuples(model, scheduleHistogram(baselineSchedule, options.iterations, options.baselineBitsGrad ?? bitsGrad));
  const byPhase = Object.fromEntries(
    PHASES.map((p) => [p, { run: run.byPhase[p], baseline: baseline.byPhase[p], savings: savingsPct(run.byPhase[p], baseline.byPhase[p]) }]),
  ) as ScheduleEstimate['byPhase'];
  return {
    schedule: schedule.name,
    baselineSchedule: baselineSchedule.name,
    iterations: options.iterations,
    bitsGrad,
    run,
    baseline,
    savings: savingsPct(run, baseline),
    byPhase,
  };
}
