/**
 * `runLiveDashboard`: the live view's I/O edge. Engine events go into the store (no redraw per
 * event); the store publishes at most `maxFps` snapshots per second; keys call the controls.
 */
import { render } from 'ink';
import { Store } from '../store.js';
import { type LiveAction, LiveApp, liveLayout } from './LiveApp.js';
import { initialLiveState, isFinished, type LiveEvent, liveReducer, type LiveState } from './state.js';

export interface LiveControls {
  pause(): void;
  resume(): void;
  /** Stop cleanly: the engine writes a checkpoint and ends with status `stopped`. */
  stop(): void;
}

export interface LiveDashboardOptions {
  /** Subscribe to session events (src/runs/events.ts); may return an unsubscribe. */
  events: (listener: (event: LiveEvent) => void) => (() => void) | void;
  controls: LiveControls;
  /** Redraws per second at most (default 10). */
  maxFps?: number;
  /**
   * Share of the UI thread's time redraws may take (default 0.03): when a frame is slow (big
   * terminal), the redraw rate drops below maxFps so the dashboard stays cheap.
   */
  renderBudget?: number;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Called once the view is up with its key-action handler (e.g. to stop from a signal handler, as `q` does). */
  onReady?: (onAction: (action: LiveAction) => void) => void;
}

/** Whether Ink runs in its CI mode (the `is-in-ci` rule): it then draws only the last frame. */
function inkCiMode(): boolean {
  return ['CI', 'CONTINUOUS_INTEGRATION'].some((k) => k in process.env && process.env[k] !== '0' && process.env[k] !== 'false');
}

/** Create the store and the key-action handler (separate from Ink so tests can drive them). */
export function createLiveController(options: Pick<LiveDashboardOptions, 'controls' | 'maxFps'>) {
  const store = new Store<LiveState, LiveEvent>(liveReducer, initialLiveState(), 1000 / (options.maxFps ?? 10));
  const onAction = (action: LiveAction): void => {
    const state = store.getState();
    switch (action) {
      case 'pause-resume':
        if (isFinished(state) || state.status === 'stopping') return;
        if (state.status === 'paused' || state.status === 'pausing') {
          store.dispatch({ type: 'ui', action: 'request-resume' }, { flush: true });
          options.controls.resume();
        } else {
          store.dispatch({ type: 'ui', action: 'request-pause' }, { flush: true });
          options.controls.pause();
        }
        return;
      case 'stop':
        if (isFinished(state) || state.status === 'stopping') return;
        store.dispatch({ type: 'ui', action: 'request-stop' }, { flush: true });
        options.controls.stop();
        return;
      case 'breakdown':
        store.dispatch({ type: 'ui', action: 'cycle-panel' }, { flush: true });
        return;
      case 'help':
        store.dispatch({ type: 'ui', action: 'toggle-help' }, { flush: true });
        return;
      case 'close-help':
        store.dispatch({ type: 'ui', action: 'close-help' }, { flush: true });
        return;
    }
  };
  return { store, onAction };
}

/** Interval between redraws so that frames take at most `budget` of the time (≥ minIntervalMs, ≤ 2 s). */
export function adaptiveInterval(frameMs: number, minIntervalMs: number, budget: number): number {
  return Math.min(2000, Math.max(minIntervalMs, frameMs / budget));
}

/** Render the live view until the run ends (an `end` event); resolves with the final state. */
export async function runLiveDashboard(options: LiveDashboardOptions): Promise<LiveState> {
  const { store, onAction } = createLiveController(options);
  const stdout = options.stdout ?? process.stdout;
  const minIntervalMs = 1000 / (options.maxFps ?? 10);
  const budget = options.renderBudget ?? 0.03;
  let frameMsEma = 0;
  const instance = render(<LiveApp store={store} onAction={onAction} />, {
    stdout,
    stdin: options.stdin ?? process.stdin,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: options.maxFps ?? 10,
    onRender: ({ renderTime }) => {
      // React render (measured by the store) + Ink layout and output (renderTime)
      const frameMs = store.lastFlushDurationMs + renderTime;
      frameMsEma = frameMsEma === 0 ? frameMs : 0.8 * frameMsEma + 0.2 * frameMs;
      store.setThrottle(adaptiveInterval(frameMsEma, minIntervalMs, budget));
    },
  });
  options.onReady?.(onAction);
  let resolveEnd!: () => void;
  const ended = new Promise<void>((r) => (resolveEnd = r));
  const unsubscribe = options.events((event) => {
    store.dispatch(event, { flush: event.type === 'end' || event.type === 'start' || event.type === 'paused' });
    if (event.type === 'end') resolveEnd();
  });
  try {
    await ended;
    // let Ink draw the final frame before unmounting
    await new Promise((r) => setTimeout(r, 30));
  } finally {
    if (typeof unsubscribe === 'function') unsubscribe();
    instance.unmount();
    await instance.waitUntilExit().catch(() => undefined);
    store.dispose();
    // Ink ends a frame with a newline unless the frame is as tall as the terminal: then the
    // cursor is left at the end of the key hints, and what is printed next would be glued to them.
    // (liveLayout keeps frames shorter than the terminal down to a few rows; in CI mode Ink
    // prints the last frame with a newline itself.)
    if (!inkCiMode() && stdout.isTTY && stdout.rows > 0 && liveLayout(store.getState(), stdout.rows).lines >= stdout.rows) stdout.write('\n');
  }
  return store.getState();
}
