/**
 * The precision schedule of a run, for charts: planned bits from its config, trained bits from
 * steps.csv. Charts never need every iteration, only one value per column, so the schedule is
 * sampled at the columns' positions and steps.csv rows are folded into their column: the memory
 * and time a chart costs depend on its width, never on the run's length (a run.json may claim
 * 10¹² iterations).
 */
import type { StepRow } from '../runs/read.js';
import type { RunJson } from '../runs/run-format.js';
import { makeSchedule, type Schedule } from '../schedule/schedule.js';
import { errorSchedule } from '../schedule/precision.js';

/** Mean bits per chart column (null: nothing known about that column). */
export interface BitsColumns {
  wa: (number | null)[];
  g: (number | null)[];
}

/** Smallest and largest bits of the run (null when nothing is known). */
export interface BitsRange {
  minWA: number | null;
  maxWA: number | null;
  minG: number | null;
  maxG: number | null;
}

/** What a schedule chart draws from: a run's bits per column, and at one iteration. */
export interface BitsSource {
  /** Iterations the chart spans. */
  total: number;
  range: BitsRange;
  /** Mean bits of each of `width` equal slices of the run. */
  columns(width: number): BitsColumns;
  /** Bits at iteration `step` (null when unknown). */
  at(step: number): { wa: number; g: number } | null;
}

/** First and one-past-last iteration of column `c` of `width` over `total` iterations. */
export function columnSpan(c: number, width: number, total: number): [number, number] {
  const from = Math.floor((c * total) / width);
  const to = Math.max(from + 1, Math.floor(((c + 1) * total) / width));
  return [from, Math.min(to, Math.max(total, from + 1))];
}

/** Column of iteration `step` (the inverse of columnSpan). */
function columnOfStep(step: number, total: number, width: number): number {
  return Math.min(width - 1, Math.max(0, Math.floor(((step + 0.5) * width) / total)));
}

/** Samples of a schedule per column: every iteration up to this many, evenly spread beyond. */
export const SAMPLES_PER_COLUMN = 64;

/** Mean of `schedule` over iterations [from, to) of a run of `total`, from at most SAMPLES_PER_COLUMN samples. */
function scheduleMean(schedule: Schedule, from: number, to: number, total: number): number {
  const n = to - from;
  if (n <= 0) return schedule.bitsAt(Math.max(0, Math.min(from, total - 1)), total);
  const k = Math.min(n, SAMPLES_PER_COLUMN);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += schedule.bitsAt(from + Math.floor(((i + 0.5) * n) / k), total);
  return sum / k;
}

function tryMake(make: () => Schedule): Schedule | null {
  try {
    return make();
  } catch {
    return null; // unknown or damaged spec: only the trained part is shown
  }
}

/**
 * The bits of a stored run, for charts: the config's schedules over the whole run, with the rows
 * of steps.csv (what actually ran) in place of the planned bits of the iterations they cover.
 * Nothing here is O(run length): columns sample the schedule, rows are folded per column.
 */
export function runBitsSource(run: RunJson, steps: readonly StepRow[] = []): BitsSource {
  const lastRow = steps.length ? steps[steps.length - 1]!.step + 1 : 0;
  const total = Math.max(run.progress.totalSteps, lastRow, steps.length);
  const wa = tryMake(() => makeSchedule(run.config.schedule));
  const g = tryMake(() => errorSchedule(run.config.gradBits));
  const range: BitsRange = { minWA: wa?.bitsMin ?? null, maxWA: wa?.bitsMax ?? null, minG: g?.bitsMin ?? null, maxG: g?.bitsMax ?? null };
  const widen = (lo: number | null, hi: number | null, v: number): [number, number] => [lo === null ? v : Math.min(lo, v), hi === null ? v : Math.max(hi, v)];
  for (const s of steps) {
    [range.minWA, range.maxWA] = widen(range.minWA, range.maxWA, Math.max(s.bitsWeights, s.bitsActivations));
    [range.minG, range.maxG] = widen(range.minG, range.maxG, s.bitsGrad);
  }
  const rowAt = (step: number): StepRow | undefined => {
    // rows are in step order, usually one per step from 0
    const direct = steps[step];
    if (direct?.step === step) return direct;
    let lo = 0;
    let hi = steps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = steps[mid]!.step;
      if (s === step) return steps[mid];
      if (s < step) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  };
  return {
    total,
    range,
    columns(width) {
      const w = Math.max(0, Math.floor(width));
      const sumWA = new Float64Array(w);
      const sumG = new Float64Array(w);
      const count = new Float64Array(w);
      if (total > 0) {
        for (const s of steps) {
          if (s.step < 0 || s.step >= total) continue;
          const c = columnOfStep(s.step, total, w);
          sumWA[c]! += Math.max(s.bitsWeights, s.bitsActivations);
          sumG[c]! += s.bitsGrad;
          count[c]! += 1;
        }
      }
      const out: BitsColumns = { wa: [], g: [] };
      for (let c = 0; c < w; c++) {
        const [from, to] = columnSpan(c, w, total);
        const planned = Math.max(0, to - from - count[c]!);
        const n = count[c]!;
        const mix = (sum: number, schedule: Schedule | null) => {
          if (!schedule || planned === 0) return n ? sum / n : null;
          return (sum + scheduleMean(schedule, from, to, total) * planned) / (n + planned);
        };
        out.wa.push(total > 0 ? mix(sumWA[c]!, wa) : null);
        out.g.push(total > 0 ? mix(sumG[c]!, g) : null);
      }
      return out;
    },
    at(step) {
      if (step < 0 || step >= total) return null;
      const row = rowAt(step);
      if (row) return { wa: Math.max(row.bitsWeights, row.bitsActivations), g: row.bitsGrad };
      return wa && g ? { wa: wa.bitsAt(step, total), g: g.bitsAt(step, total) } : null;
    },
  };
}

/**
 * Bits given for every iteration (the live view: the session sends the whole schedule). Columns
 * average every iteration of their slice.
 */
export function arrayBitsSource(bitsWA: ArrayLike<number>, bitsGrad: ArrayLike<number>): BitsSource {
  const total = bitsWA.length;
  const minMax = (values: ArrayLike<number>): [number | null, number | null] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return values.length ? [lo, hi] : [null, null];
  };
  const [minWA, maxWA] = minMax(bitsWA);
  const [minG, maxG] = minMax(bitsGrad);
  const mean = (values: ArrayLike<number>, width: number) => {
    const out: (number | null)[] = [];
    for (let c = 0; c < width; c++) {
      if (values.length === 0) {
        out.push(null);
        continue;
      }
      const [from, to] = columnSpan(c, width, values.length);
      let sum = 0;
      let n = 0;
      for (let i = from; i < to && i < values.length; i++) {
        sum += values[i]!;
        n++;
      }
      out.push(n ? sum / n : null);
    }
    return out;
  };
  return {
    total,
    range: { minWA, maxWA, minG, maxG },
    columns: (width) => ({ wa: mean(bitsWA, Math.max(0, Math.floor(width))), g: mean(bitsGrad, Math.max(0, Math.floor(width))) }),
    at: (step) => (step >= 0 && step < total ? { wa: bitsWA[step]!, g: bitsGrad[Math.min(step, bitsGrad.length - 1)] ?? 0 } : null),
  };
}
