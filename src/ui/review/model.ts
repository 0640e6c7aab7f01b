/**
 * Pure data logic of the review screens: table rows from run entries, sorting and filtering,
 * the Pareto front, curves over steps, and re-estimating a run's cost on another profile.
 */
import type { CostModel, PartsCost, Phase } from '../../hw/cost.js';
import { savingsPct, tallyRun } from '../../hw/tally.js';
import type { EvalRow, RunEntry, StepRow } from '../../runs/read.js';
import type { RunJson } from '../../runs/store.js';
import { makeSchedule, type Schedule } from '../../schedule/schedule.js';

export interface RunRow {
  /** Run directory (unique key). */
  dir: string;
  name: string;
  damaged: boolean;
  reason?: string;
  model: string;
  dataset: string;
  schedule: string;
  profile: string;
  status: string;
  testAcc: number | null;
  energyJ: number | null;
  savingsPct: number | null;
  createdAt: string;
}

export function toRow(entry: RunEntry): RunRow {
  if (entry.damaged) {
    return { dir: entry.dir, name: entry.name, damaged: true, reason: entry.reason, model: '', dataset: '', schedule: '', profile: '', status: 'damaged', testAcc: null, energyJ: null, savingsPct: null, createdAt: '' };
  }
  const r = entry.run;
  return {
    dir: entry.dir,
    name: entry.name,
    damaged: false,
    model: r.config.model,
    dataset: r.config.dataset,
    schedule: r.config.schedule,
    profile: r.cost?.profile ?? r.config.profile,
    status: entry.status,
    testAcc: r.summary?.testAccuracy ?? null,
    energyJ: r.cost?.energyJ ?? null,
    savingsPct: r.cost?.savings.energyPct ?? null,
    createdAt: r.createdAt,
  };
}

export type SortKey = 'created' | 'name' | 'model' | 'schedule' | 'profile' | 'testAcc' | 'energy' | 'savings' | 'status';
export const SORT_KEYS: readonly SortKey[] = ['created', 'name', 'testAcc', 'energy', 'savings', 'schedule', 'model', 'profile', 'status'];
export const SORT_LABEL: Record<SortKey, string> = {
  created: 'created',
  name: 'name',
  model: 'model',
  schedule: 'schedule',
  profile: 'profile',
  testAcc: 'test acc',
  energy: 'energy',
  savings: 'savings',
  status: 'status',
};

function sortValue(row: RunRow, key: SortKey): string | number | null {
  switch (key) {
    case 'created':
      return row.createdAt || row.name;
    case 'name':
      return row.name;
    case 'model':
      return row.model;
    case 'schedule':
      return row.schedule;
    case 'profile':
      return row.profile;
    case 'testAcc':
      return row.testAcc;
    case 'energy':
      return row.energyJ;
    case 'savings':
      return row.savingsPct;
    case 'status':
      return row.status;
  }
}

/** Stable sort; missing values (damaged runs, unfinished runs) always go last. */
export function sortRows(rows: readonly RunRow[], key: SortKey, desc: boolean): RunRow[] {
  return rows
    .map((row, i) => ({ row, i, v: sortValue(row, key) }))
    .sort((a, b) => {
      if (a.v === null || a.v === '') return b.v === null || b.v === '' ? a.i - b.i : 1;
      if (b.v === null || b.v === '') return -1;
      const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : String(a.v).localeCompare(String(b.v));
      return (desc ? -c : c) || a.i - b.i;
    })
    .map((x) => x.row);
}

/** Case-insensitive substring match on every text column; space-separated terms must all match. */
export function filterRows(rows: readonly RunRow[], filter: string): RunRow[] {
  const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return [...rows];
  return rows.filter((r) => {
    const hay = [r.name, r.model, r.dataset, r.schedule, r.profile, r.status, r.reason ?? ''].join(' ').toLowerCase();
    return terms.every((t) => hay.includes(t));
  });
}

export interface ParetoPoint {
  id: string;
  /** Lower is better (energy). */
  cost: number;
  /** Higher is better (accuracy). */
  quality: number;
}

/** Ids of the points no other point beats on both cost (≤) and quality (≥), one strictly. */
export function paretoFront(points: readonly ParetoPoint[]): Set<string> {
  const sorted = [...points].filter((p) => Number.isFinite(p.cost) && Number.isFinite(p.quality)).sort((a, b) => a.cost - b.cost || b.quality - a.quality);
  const front = new Set<string>();
  let best = -Infinity;
  for (const p of sorted) {
    if (p.quality > best) {
      front.add(p.id);
      best = p.quality;
    }
  }
  return front;
}

/** Average `value` of points into `buckets` columns spanning steps [0, maxStep). */
export function bucketize(points: readonly { step: number; value: number }[], maxStep: number, buckets: number): (number | null)[] {
  const sum = new Float64Array(buckets);
  const count = new Float64Array(buckets);
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue;
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((p.step * buckets) / Math.max(1, maxStep))));
    sum[b]! += p.value;
    count[b]! += 1;
  }
  return Array.from(sum, (s, i) => (count[i] ? s / count[i]! : null));
}

/** Eval points joined by straight lines, over `buckets` columns of steps [0, maxStep). */
export function evalLine(evals: readonly EvalRow[], maxStep: number, buckets: number, pick: (e: EvalRow) => number = (e) => e.testAcc): (number | null)[] {
  const out = new Array<number | null>(buckets).fill(null);
  let prev: { b: number; v: number } | null = null;
  for (const e of evals) {
    const v = pick(e);
    if (!Number.isFinite(v)) continue;
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((Math.max(0, e.step - 1) * buckets) / Math.max(1, maxStep))));
    if (prev && b > prev.b) for (let i = prev.b + 1; i < b; i++) out[i] = prev.v + ((v - prev.v) * (i - prev.b)) / (b - prev.b);
    out[b] = v;
    prev = { b, v };
  }
  return out;
}

/** Gradient-bits schedule from a run config's `gradBits` (a bare number means static). */
export function gradScheduleOf(spec: string): Schedule {
  return makeSchedule(/^\d+$/.test(spec.trim()) ? `static:${spec.trim()}` : spec);
}

/**
 * Bits of every iteration of the whole run, from the config's schedules; rows of steps.csv
 * override the iterations already trained (they are what actually ran).
 */
export function runBits(run: RunJson, steps: readonly StepRow[] = []): { bitsWA: Uint8Array; bitsGrad: Uint8Array } {
  const total = Math.max(run.progress.totalSteps, steps.length);
  const bitsWA = new Uint8Array(total);
  const bitsGrad = new Uint8Array(total);
  let wa: Schedule | null = null;
  let g: Schedule | null = null;
  try {
    wa = makeSchedule(run.config.schedule);
    g = gradScheduleOf(run.config.gradBits);
  } catch {
    // unknown schedule: only the trained part is shown
  }
  for (let t = 0; t < total; t++) {
    bitsWA[t] = wa ? wa.bitsAt(t, total) : 0;
    bitsGrad[t] = g ? g.bitsAt(t, total) : 0;
  }
  for (const s of steps) {
    if (s.step >= 0 && s.step < total) {
      bitsWA[s.step] = Math.max(s.bitsWeights, s.bitsActivations);
      bitsGrad[s.step] = s.bitsGrad;
    }
  }
  return { bitsWA, bitsGrad };
}

export interface CostSummary {
  energyJ: number;
  latencyS: number;
  bitops: number;
  byPhase: Record<Phase, PartsCost>;
  byLayer: ({ layer: string } & PartsCost)[];
}

export interface Reestimate {
  profile: string;
  run: CostSummary;
  baseline: CostSummary & { schedule: string };
  savings: { energyPct: number; latencyPct: number; bitopsPct: number };
}

/**
 * Re-tally a run on a cost model from the bit columns of steps.csv (no retraining): the run's own
 * bits, and the baseline schedule's W/A bits at the same steps with the same gradient bits.
 */
export function reestimate(run: RunJson, steps: readonly StepRow[], model: CostModel): Reestimate {
  const total = Math.max(run.progress.totalSteps, steps.length);
  const baseline = makeSchedule(run.config.baseline);
  const tuples = steps.map((s) => ({ bitsWeights: s.bitsWeights, bitsActivations: s.bitsActivations, bitsGrad: s.bitsGrad }));
  const baseTuples = steps.map((s) => {
    const b = baseline.bitsAt(s.step, total);
    return { bitsWeights: b, bitsActivations: b, bitsGrad: s.bitsGrad };
  });
  const r = tallyRun(model, tuples);
  const b = tallyRun(model, baseTuples);
  return {
    profile: model.profile.name,
    run: { energyJ: r.energyJ, latencyS: r.latencyS, bitops: r.bitops, byPhase: r.byPhase, byLayer: r.byLayer },
    baseline: { schedule: baseline.name, energyJ: b.energyJ, latencyS: b.latencyS, bitops: b.bitops, byPhase: b.byPhase, byLayer: b.byLayer },
    savings: savingsPct(r, b),
  };
}
