/**
 * Pure list and chart logic of the review screens: sorting and filtering rows, curves over
 * steps. Rows, the Pareto front and re-estimates are run analysis (src/analysis), shared with
 * the CLI.
 */
import type { RunRow } from '../../analysis/tables.js';
import { fmtAcc, fmtPct, fmtSI } from '../../format.js';
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


/** Longest filter kept (a paste of a whole file is cut here). */
export const MAX_FILTER_LENGTH = 200;

/**
 * Text typed or pasted into the filter: Ink hands a paste over as one string, line breaks and
 * tabs included. Line breaks and tabs become spaces (they separated words), a trailing line break
 * is dropped, and every other control or invisible format character is removed.
 */
export function cleanFilterText(text: string): string {
  return (
    text
      .replace(/[\r\n]+$/, '')
      .replace(/[\r\n\t]+/g, ' ')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g, '')
  );
}

/** Cut `text` to `width` characters in the middle (`20261124-0415…cpt38-s1`): run ids differ at both ends. */
export function elideMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return width === 1 ? '…' : '';
  const head = Math.ceil((width - 1) * 0.45);
  const tail = width - 1 - head;
  return text.slice(0, head) + '…' + (tail > 0 ? text.slice(-tail) : '');
}

export type ListColumnKey = 'mark' | 'name' | 'model' | 'schedule' | 'profile' | 'acc' | 'energy' | 'savings' | 'status';

export interface ListColumn {
  key: ListColumnKey;
  title: string;
  width: number;
  align: 'left' | 'right';
}

/** The text of one cell of a (not damaged) row. */
export function listCell(row: RunRow, key: Exclude<ListColumnKey, 'mark'>): string {
  switch (key) {
    case 'name':
      return row.name;
    case 'model':
      return row.model;
    case 'schedule':
      return row.schedule;
    case 'profile':
      return row.profile;
    case 'acc':
      return fmtAcc(row.testAcc);
    case 'energy':
      return fmtSI(row.energyJ, 'J');
    case 'savings':
      return fmtPct(row.savingsPct);
    case 'status':
      return row.status;
  }
}

const COLUMN_SPECS: { key: Exclude<ListColumnKey, 'mark' | 'name'>; title: string; align: 'left' | 'right'; max: number }[] = [
  { key: 'model', title: 'model', align: 'left', max: 12 },
  { key: 'schedule', title: 'schedule', align: 'left', max: 16 },
  { key: 'profile', title: 'profile', align: 'left', max: 18 },
  { key: 'acc', title: 'test acc', align: 'right', max: 9 },
  { key: 'energy', title: 'energy', align: 'right', max: 10 },
  { key: 'savings', title: 'savings', align: 'right', max: 9 },
  { key: 'status', title: 'status', align: 'left', max: 11 },
];

/** Columns dropped first when the terminal is narrow (accuracy and status always stay). */
const DROP_ORDER: readonly ListColumnKey[] = ['profile', 'model', 'schedule', 'savings', 'energy'];

/** Narrowest the run column gets; below the run ids' length they are cut in the middle. */
export const MIN_NAME_WIDTH = 16;

/**
 * The list's columns for a terminal `width` wide: each as wide as its content (over all rows, so
 * filtering does not shift them), the run column as wide as the longest name. When that does not
 * fit, the least telling columns go first (profile, model, schedule — the generated run id holds
 * model, data set, schedule and seed — then savings, energy), so the run ids stay readable; the
 * run column takes the rest of the width.
 */
export function listColumns(rows: readonly RunRow[], width: number): ListColumn[] {
  const live = rows.filter((r) => !r.damaged);
  const longestName = Math.max(3, ...rows.map((r) => r.name.length));
  const wantName = Math.min(64, longestName);
  let others = COLUMN_SPECS.map((c) => ({
    key: c.key as ListColumnKey,
    title: c.title,
    align: c.align,
    width: Math.min(c.max, Math.max(c.title.length, ...live.map((r) => listCell(r, c.key).length))),
  }));
  const used = (cols: typeof others, name: number) => 2 + name + cols.reduce((a, c) => a + c.width, 0) + (cols.length + 1); // mark, name, one space between columns
  for (const key of DROP_ORDER) {
    if (used(others, wantName) <= width) break;
    others = others.filter((c) => c.key !== key);
  }
  const nameWidth = Math.max(MIN_NAME_WIDTH, width - used(others, 0));
  return [{ key: 'mark', title: '', width: 2, align: 'left' }, { key: 'name', title: 'run', width: nameWidth, align: 'left' }, ...others];
}
