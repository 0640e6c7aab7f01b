/**
 * State of `bitcycle review`: one reducer. Loading run data and re-estimating are effects run by
 * the controller (controller.ts), which feeds their results back as events.
 */
import { paretoGroups, type ParetoGroup } from '../../analysis/pareto.js';
import { type ScatterRun, scatterPoint } from '../../analysis/tables.js';
import type { RunData, RunEntry } from '../../runs/read.js';
import { cleanFilterText, filterRows, MAX_FILTER_LENGTH, type Reestimate, type RunRow, SORT_KEYS, type SortKey, sortRows, toRow } from './model.js';

export type ScreenName = 'list' | 'detail' | 'compare' | 'scatter' | 'estimate';

/** Steps and evals of an opened run, plus its cost breakdown on its own profile. */
export interface LoadedRun extends RunData {
  estimate: Reestimate | null;
  /** Why the breakdown is missing (no profile, unknown profile …). */
  estimateError?: string;
}

export type LoadState = { status: 'loading' } | { status: 'loaded'; data: LoadedRun } | { status: 'error'; reason: string };

export interface EstimateResult {
  dir: string;
  name: string;
  result?: Reestimate;
  error?: string;
  /** The run's own cost from run.json, for comparison. */
  original?: { profile: string; energyJ: number; latencyS: number } | null;
}

export interface ReviewState {
  runsDir: string;
  entries: readonly RunEntry[];
  rows: readonly RunRow[];
  sort: { key: SortKey; desc: boolean };
  filter: string;
  filtering: boolean;
  cursor: number;
  /** First visible row of the virtualized list. */
  scroll: number;
  /** Rows the list may show (from the terminal height). */
  pageSize: number;
  marked: readonly string[];
  stack: ScreenName[];
  /** Run directory shown on the detail screen. */
  detailDir: string | null;
  /** Runs on the compare screen. */
  compareDirs: readonly string[];
  data: Readonly<Record<string, LoadState>>;
  profiles: readonly string[];
  profileCursor: number;
  estimateDirs: readonly string[];
  estimate: { profile: string; status: 'running' | 'done'; results: readonly EstimateResult[] } | null;
  help: boolean;
  message: string | null;
  /** Group of comparable runs the scatter shows (null: the selected run's, else the first). */
  scatterGroup: string | null;
}

export type ReviewEvent =
  | { type: 'move'; delta: number }
  | { type: 'move-to'; index: number }
  | { type: 'page'; delta: number }
  | { type: 'sort-next' }
  | { type: 'sort-reverse' }
  | { type: 'filter-start' }
  | { type: 'filter-input'; text: string }
  | { type: 'filter-backspace' }
  | { type: 'filter-accept' }
  | { type: 'filter-cancel' }
  | { type: 'filter-clear' }
  | { type: 'toggle-mark' }
  | { type: 'clear-marks' }
  | { type: 'open-detail'; dir: string }
  | { type: 'open-compare'; dirs: string[] }
  | { type: 'open-scatter' }
  | { type: 'scatter-group'; delta: number }
  | { type: 'open-estimate'; dirs: string[]; profiles: string[] }
  | { type: 'profile-move'; delta: number }
  | { type: 'estimate-started'; profile: string }
  | { type: 'estimate-done'; profile: string; results: EstimateResult[] }
  | { type: 'back' }
  | { type: 'toggle-help' }
  | { type: 'close-help' }
  | { type: 'data-loading'; dir: string }
  | { type: 'data-loaded'; dir: string; data: LoadedRun }
  | { type: 'data-error'; dir: string; reason: string }
  | { type: 'entries'; entries: RunEntry[] }
  | { type: 'resize'; pageSize: number }
  | { type: 'message'; text: string | null };

export function initialReviewState(runsDir: string, entries: readonly RunEntry[], pageSize = 15): ReviewState {
  return {
    runsDir,
    entries,
    rows: entries.map(toRow),
    sort: { key: 'created', desc: false },
    filter: '',
    filtering: false,
    cursor: 0,
    scroll: 0,
    pageSize: Math.max(3, pageSize),
    marked: [],
    stack: ['list'],
    detailDir: null,
    compareDirs: [],
    data: {},
    profiles: [],
    profileCursor: 0,
    estimateDirs: [],
    estimate: null,
    help: false,
    message: null,
    scatterGroup: null,
  };
}

/** The list's rows after filter and sort (what the table shows, in order). */
export function visibleRows(state: ReviewState): RunRow[] {
  return sortRows(filterRows(state.rows, state.filter), state.sort.key, state.sort.desc);
}

export function currentScreen(state: ReviewState): ScreenName {
  return state.stack[state.stack.length - 1]!;
}

export function currentRow(state: ReviewState): RunRow | undefined {
  return visibleRows(state)[state.cursor];
}

export function entryOf(state: ReviewState, dir: string): RunEntry | undefined {
  return state.entries.find((e) => e.dir === dir);
}

/** Whether a listed run is being trained right now (its process is alive). */
export function anyRunning(state: ReviewState): boolean {
  return state.entries.some((e) => !e.damaged && ((e.status as string) === 'running' || (e.status as string) === 'starting'));
}

/**
 * The scatter's groups of comparable runs (data set, model, steps trained of planned, profile),
 * each with its own Pareto front, over the runs the list shows (the filter applies).
 */
export function scatterGroups(state: ReviewState): ParetoGroup<ScatterRun>[] {
  const points: ScatterRun[] = [];
  for (const row of visibleRows(state)) {
    const entry = entryOf(state, row.dir);
    const p = entry ? scatterPoint(entry) : null;
    if (p) points.push(p);
  }
  return paretoGroups(points);
}

/** The group the scatter shows: the chosen one, else the selected run's, else the largest. */
export function shownScatterGroup(state: ReviewState, groups: readonly ParetoGroup<ScatterRun>[] = scatterGroups(state)): ParetoGroup<ScatterRun> | null {
  if (groups.length === 0) return null;
  const chosen = groups.find((g) => g.group === state.scatterGroup);
  if (chosen) return chosen;
  const dir = currentRow(state)?.dir;
  const selected = dir ? groups.find((g) => g.points.some((p) => p.id === dir)) : undefined;
  return selected ?? [...groups].sort((a, b) => b.points.length - a.points.length)[0]!;
}

function clampCursor(state: ReviewState, cursor: number): ReviewState {
  const n = visibleRows(state).length;
  const c = Math.max(0, Math.min(n - 1, cursor));
  const safe = n === 0 ? 0 : c;
  let scroll = state.scroll;
  if (safe < scroll) scroll = safe;
  if (safe >= scroll + state.pageSize) scroll = safe - state.pageSize + 1;
  scroll = Math.max(0, Math.min(scroll, Math.max(0, n - state.pageSize)));
  return { ...state, cursor: safe, scroll };
}

function push(state: ReviewState, screen: ScreenName): ScreenName[] {
  return [...state.stack, screen];
}

export function reviewReducer(state: ReviewState, event: ReviewEvent): ReviewState {
  switch (event.type) {
    case 'move':
      if (currentScreen(state) === 'estimate') return reviewReducer(state, { type: 'profile-move', delta: event.delta });
      return clampCursor({ ...state, message: null }, state.cursor + event.delta);
    case 'move-to':
      return clampCursor({ ...state, message: null }, event.index < 0 ? visibleRows(state).length - 1 : event.index);
    case 'page':
      return clampCursor({ ...state, message: null }, state.cursor + event.delta * state.pageSize);
    case 'sort-next': {
      const key = SORT_KEYS[(SORT_KEYS.indexOf(state.sort.key) + 1) % SORT_KEYS.length]!;
      // numbers where bigger is better sort descending first
      const desc = key === 'testAcc' || key === 'savings';
      return keepCursorOn(state, { ...state, sort: { key, desc } });
    }
    case 'sort-reverse':
      return keepCursorOn(state, { ...state, sort: { ...state.sort, desc: !state.sort.desc } });
    case 'filter-start':
      return { ...state, filtering: true, message: null };
    case 'filter-input': {
      const text = cleanFilterText(event.text);
      if (!text) return state;
      return clampCursor({ ...state, filter: (state.filter + text).slice(0, MAX_FILTER_LENGTH), cursor: 0, scroll: 0 }, 0);
    }
    case 'filter-backspace':
      return clampCursor({ ...state, filter: state.filter.slice(0, -1), cursor: 0, scroll: 0 }, 0);
    case 'filter-accept':
      return { ...state, filtering: false };
    case 'filter-cancel':
      return clampCursor({ ...state, filtering: false, filter: '', cursor: 0, scroll: 0 }, 0);
    case 'filter-clear':
      // Esc on the list: the cursor stays on its run
      return state.filter || state.filtering ? keepCursorOn(state, { ...state, filtering: false, filter: '' }) : state;
    case 'toggle-mark': {
      const row = currentRow(state);
      if (!row) return state;
      if (row.damaged) return { ...state, message: `${row.name} is damaged: ${row.reason}` };
      const marked = state.marked.includes(row.dir) ? state.marked.filter((d) => d !== row.dir) : [...state.marked, row.dir];
      return clampCursor({ ...state, marked, message: null }, state.cursor + 1);
    }
    case 'clear-marks':
      return { ...state, marked: [] };
    case 'open-detail':
      return { ...state, stack: push(state, 'detail'), detailDir: event.dir, message: null, help: false };
    case 'open-compare':
      return { ...state, stack: push(state, 'compare'), compareDirs: event.dirs, message: null, help: false };
    case 'open-scatter': {
      // the group of the run under the cursor (from compare: of the first compared run)
      const from = currentScreen(state) === 'compare' ? state.compareDirs[0] : currentRow(state)?.dir;
      const entry = from ? entryOf(state, from) : undefined;
      const point = entry ? scatterPoint(entry) : null;
      return { ...state, stack: push(state, 'scatter'), message: null, help: false, scatterGroup: point?.group ?? null };
    }
    case 'scatter-group': {
      const groups = scatterGroups(state);
      const shown = shownScatterGroup(state, groups);
      if (!shown || groups.length < 2) return state;
      const i = groups.indexOf(shown);
      return { ...state, scatterGroup: groups[(((i + event.delta) % groups.length) + groups.length) % groups.length]!.group };
    }
    case 'open-estimate':
      return { ...state, stack: push(state, 'estimate'), estimateDirs: event.dirs, profiles: event.profiles, profileCursor: 0, estimate: null, message: null, help: false };
    case 'profile-move':
      return { ...state, profileCursor: Math.max(0, Math.min(state.profiles.length - 1, state.profileCursor + event.delta)) };
    case 'estimate-started':
      return { ...state, estimate: { profile: event.profile, status: 'running', results: [] } };
    case 'estimate-done':
      return { ...state, estimate: { profile: event.profile, status: 'done', results: event.results } };
    case 'back': {
      if (state.help) return { ...state, help: false };
      if (currentScreen(state) === 'estimate' && state.estimate) return { ...state, estimate: null };
      if (state.stack.length <= 1) return state;
      return { ...state, stack: state.stack.slice(0, -1), message: null };
    }
    case 'toggle-help':
      return { ...state, help: !state.help };
    case 'close-help':
      return state.help ? { ...state, help: false } : state;
    case 'data-loading':
      return { ...state, data: { ...state.data, [event.dir]: { status: 'loading' } } };
    case 'data-loaded':
      return { ...state, data: { ...state.data, [event.dir]: { status: 'loaded', data: event.data } } };
    case 'data-error':
      return { ...state, data: { ...state.data, [event.dir]: { status: 'error', reason: event.reason } } };
    case 'entries': {
      const next = { ...state, entries: event.entries, rows: event.entries.map(toRow), marked: state.marked.filter((d) => event.entries.some((e) => e.dir === d)) };
      return keepCursorOn(state, next);
    }
    case 'resize':
      return clampCursor({ ...state, pageSize: Math.max(3, event.pageSize) }, state.cursor);
    case 'message':
      return { ...state, message: event.text };
  }
}

/** After a re-sort or reload, keep the cursor on the same run. */
function keepCursorOn(before: ReviewState, after: ReviewState): ReviewState {
  const dir = currentRow(before)?.dir;
  const index = dir ? visibleRows(after).findIndex((r) => r.dir === dir) : -1;
  return clampCursor(after, index >= 0 ? index : 0);
}
