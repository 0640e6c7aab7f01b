/**
 * The one state container of a screen: a reducer fed by events. Listeners (the Ink root) see a
 * published snapshot that is refreshed at most once per `throttleMs`, so a burst of engine events
 * costs one redraw; key actions flush at once so the UI answers immediately.
 */
export type Reducer<S, E> = (state: S, event: E) => S;

export class Store<S, E> {
  private state: S;
  private published: S;
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private lastPublishMs = Number.NEGATIVE_INFINITY;
  /** Number of snapshots published (≈ redraws). */
  publishes = 0;
  /** Duration of the last publish (listeners, i.e. the React render), in ms. */
  lastFlushDurationMs = 0;

  constructor(
    private readonly reducer: Reducer<S, E>,
    initial: S,
    private throttleMs = 0,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.state = initial;
    this.published = initial;
  }

  /** The latest state (may be newer than what is on screen). */
  getState = (): S => this.state;

  /** The state listeners should render (for useSyncExternalStore). */
  getSnapshot = (): S => this.published;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  dispatch = (event: E, options: { flush?: boolean } = {}): void => {
    const next = this.reducer(this.state, event);
    if (next === this.state) return;
    this.state = next;
    if (options.flush || this.throttleMs <= 0) this.flush();
    else this.schedule();
  };

  /** Publish the latest state now. */
  flush = (): void => {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.published === this.state) return;
    this.published = this.state;
    this.lastPublishMs = this.now();
    this.publishes++;
    const start = this.now();
    for (const l of [...this.listeners]) l();
    this.lastFlushDurationMs = this.now() - start;
  };

  /** Change the minimum interval between publishes (adaptive frame rate). */
  setThrottle(ms: number): void {
    this.throttleMs = Math.max(0, ms);
  }

  get throttle(): number {
    return this.throttleMs;
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastPublishMs + this.throttleMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }
}
