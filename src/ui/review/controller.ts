/**
 * The review screens' controller: turns intents from the key hub into reducer events and runs
 * the effects (lazy loading of steps.csv / evals.csv, re-estimation, reloading, quitting) through
 * `ReviewIO`.
 *
 * Reloading (`r`, and every `pollMs` while a listed run is running): the runs directory is
 * re-read through `io.refreshRuns` (a readdir and a stat per run; only a changed run.json is
 * parsed again), and the steps.csv of a run on screen whose progress moved is read again — at
 * most every `pollMs`, and never more often than its last read took ×5, so a long run's big
 * steps.csv cannot keep the review busy.
 */
import type { RunData, RunEntry, RunInfo } from '../../runs/read.js';
import { Store } from '../store.js';
import { type HubResult, interpretKey, type ReviewIntent } from './keys.js';
import type { Reestimate } from './model.js';
import { anyRunning, currentRow, currentScreen, entryOf, type EstimateResult, type LoadedRun, type ReviewEvent, reviewReducer, type ReviewState } from './state.js';

/** Interval of the automatic reload while a run is running. */
export const REVIEW_POLL_MS = 2000;

export interface ReviewTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds, monotonic. */
  now(): number;
}

const realTimers: ReviewTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => performance.now(),
};

export interface ReviewControllerOptions {
  /** Automatic reload interval while a listed run is running (default REVIEW_POLL_MS). */
  pollMs?: number;
  timers?: ReviewTimers;
}

export interface ReviewIO {
  /** steps.csv + evals.csv and the cost breakdown on the run's own profile. */
  loadRun(entry: RunInfo): Promise<LoadedRun>;
  /** Names of the profiles `e` offers. */
  profiles(): string[];
  /** Re-tally one run on a profile (throws with a reason). */
  reestimate(entry: RunInfo, data: RunData, profile: string): Reestimate;
  quit(): void;
  /**
   * The runs directory again (new runs, changed run.json, runs whose process ended); returns
   * `previous` itself when nothing changed. Without it the review does not reload.
   */
  refreshRuns?(runsDir: string, previous: readonly RunEntry[]): RunEntry[];
}

export interface ReviewController {
  store: Store<ReviewState, ReviewEvent>;
  /** Handle a keypress (key name as from keyName, raw input). */
  onKey(name: string, input: string): void;
  onIntent(intent: ReviewIntent): void;
  /** Resolves when no load or estimate is in flight (for tests and the e2e). */
  idle(): Promise<void>;
  /** Re-read the runs directory and the data of running runs on screen (what `r` does); false when it could not be read. */
  reload(): boolean;
  /** Reload every `pollMs` while a listed run is running; returns the function that stops it. */
  startPolling(): () => void;
  /** Stop polling. */
  dispose(): void;
}

export function createReviewController(initial: ReviewState, io: ReviewIO, options: ReviewControllerOptions = {}): ReviewController {
  const store = new Store<ReviewState, ReviewEvent>(reviewReducer, initial);
  const timers = options.timers ?? realTimers;
  const pollMs = options.pollMs ?? REVIEW_POLL_MS;
  const dispatch = (e: ReviewEvent) => store.dispatch(e);
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };
  const loads = new Map<string, Promise<LoadedRun | null>>();
  /** When each run's data was last read, how long that took, and at which progress. */
  const loadedAt = new Map<string, { at: number; ms: number; step: number }>();
  const inFlightDirs = new Set<string>();

  const ensureLoaded = (dir: string): Promise<LoadedRun | null> => {
    const existing = loads.get(dir);
    if (existing) return existing;
    const entry = entryOf(store.getState(), dir);
    if (!entry || entry.damaged) return Promise.resolve(null);
    dispatch({ type: 'data-loading', dir });
    const started = timers.now();
    inFlightDirs.add(dir);
    const p = track(
      io.loadRun(entry).then(
        (data) => {
          inFlightDirs.delete(dir);
          loadedAt.set(dir, { at: timers.now(), ms: timers.now() - started, step: entry.run.progress.step });
          dispatch({ type: 'data-loaded', dir, data });
          return data;
        },
        (err: unknown) => {
          inFlightDirs.delete(dir);
          loadedAt.set(dir, { at: timers.now(), ms: timers.now() - started, step: entry.run.progress.step });
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

  /**
   * Read a shown run's data again when its progress moved. The old curves stay on screen until
   * the new ones are read; a failed re-read (a row being appended) keeps them.
   */
  const refreshData = (dir: string): void => {
    const entry = entryOf(store.getState(), dir);
    const last = loadedAt.get(dir);
    if (!entry || entry.damaged || !last || inFlightDirs.has(dir)) return;
    if (entry.run.progress.step === last.step) return;
    if (timers.now() - last.at < Math.max(pollMs, 5 * last.ms)) return;
    const started = timers.now();
    inFlightDirs.add(dir);
    void track(
      io.loadRun(entry).then(
        (data) => {
          inFlightDirs.delete(dir);
          loadedAt.set(dir, { at: timers.now(), ms: timers.now() - started, step: entry.run.progress.step });
          const p = Promise.resolve<LoadedRun | null>(data);
          loads.set(dir, p);
          dispatch({ type: 'data-loaded', dir, data });
        },
        () => {
          inFlightDirs.delete(dir);
          loadedAt.set(dir, { at: timers.now(), ms: timers.now() - started, step: last.step });
        },
      ),
    );
  };

  /** Whether the runs directory could be read. */
  const reload = (): boolean => {
    const state = store.getState();
    if (!io.refreshRuns) return false;
    let entries: RunEntry[];
    try {
      entries = io.refreshRuns(state.runsDir, state.entries);
    } catch (err) {
      dispatch({ type: 'message', text: `reload failed: ${err instanceof Error ? err.message : String(err)}` });
      return false;
    }
    if (entries !== state.entries) dispatch({ type: 'entries', entries });
    const now = store.getState();
    const screen = currentScreen(now);
    const shown = screen === 'detail' && now.detailDir ? [now.detailDir] : screen === 'compare' ? [...now.compareDirs] : [];
    for (const dir of shown) refreshData(dir);
    return true;
  };

  let pollTimer: unknown = null;
  let polling = false;
  const tick = () => {
    pollTimer = null;
    if (!polling) return;
    if (anyRunning(store.getState())) reload();
    pollTimer = timers.setTimeout(tick, pollMs);
  };
  const stopPolling = () => {
    polling = false;
    if (pollTimer !== null) timers.clearTimeout(pollTimer);
    pollTimer = null;
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
      case 'clear-filter':
        return dispatch({ type: 'filter-clear' });
      case 'reload': {
        if (!io.refreshRuns) return dispatch({ type: 'message', text: 'reloading is not available here' });
        const before = store.getState().entries.length;
        if (!reload()) return;
        const after = store.getState().entries.length;
        return dispatch({ type: 'message', text: `reloaded: ${after} runs${after > before ? ` (${after - before} new)` : ''}` });
      }
      case 'next-group':
        return dispatch({ type: 'scatter-group', delta: 1 });
      case 'prev-group':
        return dispatch({ type: 'scatter-group', delta: -1 });
      case 'quit':
        return io.quit();
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
    for (let i = 0; i < (r.count ?? 1); i++) dispatch({ type: 'filter-backspace' });
  };

  return {
    store,
    onIntent,
    onKey: (name, input) => handle(interpretKey(store.getState(), name, input)),
    async idle() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
    reload,
    startPolling() {
      if (!polling) {
        polling = true;
        pollTimer = timers.setTimeout(tick, pollMs);
      }
      return stopPolling;
    },
    dispose: stopPolling,
  };
}
