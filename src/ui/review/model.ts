/**
 * Pure list and chart logic of the review screens: sorting and filtering rows, curves over
 * steps. Rows, the Pareto front and re-estimates are run analysis (src/analysis), shared with
 * the CLI.
 */
import type { RunRow } from '../../analysis/tables.js';
import type { EvalRow } from '../../runs/read.js';

export type { Reestimate } from '../../analysis/reestimate.js';
export { toRow, type RunRow } from '../../analysis/tables.js';

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

