/**
 * The review screens' controller: turns intents from the key hub into reducer events and runs
 * the effects (lazy loading of steps.csv / evals.csv, re-estimation, quitting) through `ReviewIO`.
 */
import type { RunData, RunInfo } from '../../runs/read.js';
import { Store } from '../store.js';
import { type HubResult, interpretKey, type ReviewIntent } from './keys.js';
import type { Reestimate } from './model.js';
import { currentRow, currentScreen, entryOf, type EstimateResult, type LoadedRun, type ReviewEvent, reviewReducer, type ReviewState } from './state.js';

export interface ReviewIO {
  /** steps.csv + evals.csv and the cost breakdown on the run's own profile. */
  loadRun(entry: RunInfo): Promise<LoadedRun>;
  /** Names of the profiles `e` offers. */
  profiles(): string[];
  /** Re-tally one run on a profile (throws with a reason). */
  reestimate(entry: RunInfo, data: RunData, profile: string): Reestimate;
  quit(): void;
}

export interface ReviewController {
  store: Store<ReviewState, ReviewEvent>;
  /** Handle a keypress (key name as from keyName, raw input). */
  onKey(name: string, input: string): void;
  onIntent(intent: ReviewIntent): void;
  /** Resolves when no load or estimate is in flight (for tests and the e2e). */
  idle(): Promise<void>;
}

export function createReviewController(initial: ReviewState, io: ReviewIO): ReviewController {
  const store = new Store<ReviewState, ReviewEvent>(reviewReducer, initial);
  const dispatch = (e: ReviewEvent) => store.dispatch(e);
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };
  const loads = new Map<string, Promise<LoadedRun | null>>();

  const ensureLoaded = (dir: string): Promise<LoadedRun | null> => {
    const existing = loads.get(dir);
    if (existing) return existing;
    const entry = entryOf(store.getState(), dir);
    if (!entry || entry.damaged) return Promise.resolve(null);
    dispatch({ type: 'data-loading', dir });
    const p = track(
      io.loadRun(entry).then(
        (data) => {
          dispatch({ type: 'data-loaded', dir, data });
          return data;
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          // RunError messages start with the directory, which the screen already shows
          dispatch({ type: 'data-error', dir, reason: message.startsWith(`${dir}: `) ? message.slice(dir.length + 2) : message });
          return null;
        },
      ),
    );
    loads.set(dir, p);
    return p;
  };

  const runEstimate = async (profile: string, dirs: readonly string[]) => {
    dispatch({ type: 'estimate-started', profile });
    const results: EstimateResult[] = [];
    for (const dir of dirs) {
      const entry = entryOf(store.getState(), dir);
      if (!entry || entry.damaged) continue;
      const original = entry.run.cost ? { profile: entry.run.cost.profile, energyJ: entry.run.cost.energyJ, latencyS: entry.run.cost.latencyS } : null;
      const data = await ensureLoaded(dir);
      if (!data) {
        const s = store.getState().data[dir];
        results.push({ dir, name: entry.name, original, error: s?.status === 'error' ? s.reason : 'could not read steps.csv' });
        continue;
      }
      try {
        results.push({ dir, name: entry.name, original, result: io.reestimate(entry, data, profile) });
      } catch (err) {
        results.push({ dir, name: entry.name, original, error: err instanceof Error ? err.message : String(err) });
      }
      await new Promise((r) => setImmediate(r)); // keep keys responsive between runs
    }
    if (currentScreen(store.getState()) === 'estimate') dispatch({ type: 'estimate-done', profile, results });
  };

  const onIntent = (intent: ReviewIntent): void => {
    const state = store.getState();
    const screen = currentScreen(state);
    switch (intent) {
      case 'up':
        return dispatch({ type: 'move', delta: -1 });
      case 'down':
        return dispatch({ type: 'move', delta: 1 });
      case 'page-up':
        return dispatch({ type: 'page', delta: -1 });
      case 'page-down':
        return dispatch({ type: 'page', delta: 1 });
      case 'top':
        return dispatch({ type: 'move-to', index: 0 });
      case 'bottom':
        return dispatch({ type: 'move-to', index: -1 });
      case 'sort':
        return dispatch({ type: 'sort-next' });
      case 'reverse':
        return dispatch({ type: 'sort-reverse' });
      case 'filter':
        return dispatch({ type: 'filter-start' });
      case 'mark':
        return dispatch({ type: 'toggle-mark' });
      case 'clear-marks':
        return dispatch({ type: 'clear-marks' });
      case 'help':
        return dispatch({ type: 'toggle-help' });
      case 'open': {
        const row = currentRow(state);
        if (!row) return;
        dispatch({ type: 'open-detail', dir: row.dir });
        void ensureLoaded(row.dir);
        return;
      }
      case 'compare': {
        if (state.marked.length < 2) return dispatch({ type: 'message', text: 'mark at least two runs with Space, then press c' });
        dispatch({ type: 'open-compare', dirs: [...state.marked] });
        for (const d of state.marked) void ensureLoaded(d);
        return;
      }
      case 'scatter':
        return dispatch({ type: 'open-scatter' });
      case 'estimate': {
        const dirs =
          screen === 'detail' && state.detailDir ? [state.detailDir] : screen === 'compare' ? [...state.compareDirs] : state.marked.length ? [...state.marked] : currentRow(state) ? [currentRow(state)!.dir] : [];
        const usable = dirs.filter((d) => {
          const e = entryOf(state, d);
          return e && !e.damaged;
        });
        if (usable.length === 0) return dispatch({ type: 'message', text: 'nothing to re-estimate (damaged run?)' });
        let profiles: string[];
        try {
          profiles = io.profiles();
        } catch (err) {
          return dispatch({ type: 'message', text: `no hardware profiles: ${err instanceof Error ? err.message : String(err)}` });
        }
        if (profiles.length === 0) return dispatch({ type: 'message', text: 'no hardware profiles found' });
        return dispatch({ type: 'open-estimate', dirs: usable, profiles });
      }
      case 'run-estimate': {
        const profile = state.profiles[state.profileCursor];
        if (!profile || state.estimate?.status === 'running') return;
        void track(runEstimate(profile, state.estimateDirs));
        return;
      }
      case 'back': {
        if (!state.help && screen === 'list' && state.filter && !state.filtering) return dispatch({ type: 'filter-cancel' });
        if (!state.help && state.stack.length <= 1) return io.quit();
        return dispatch({ type: 'back' });
      }
    }
  };

  const handle = (r: HubResult) => {
    if (!r) return;
    if ('intent' in r) return onIntent(r.intent);
    if ('text' in r) return dispatch({ type: 'filter-input', text: r.text });
    if (r.filter === 'accept') return dispatch({ type: 'filter-accept' });
    if (r.filter === 'cancel') return dispatch({ type: 'filter-cancel' });
    return dispatch({ type: 'filter-backspace' });
  };

  return {
    store,
    onIntent,
    onKey: (name, input) => handle(interpretKey(store.getState(), name, input)),
    async idle() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
  };
}
