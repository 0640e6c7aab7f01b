import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import { LIVE_KEYS, LiveApp, LiveScreen } from '../src/ui/live/LiveApp.js';
import { createDemoFeed } from './fixtures/demo-feed.js';
import { createLiveController } from '../src/ui/live/run.js';
import { bucketOf, CURVE_BUCKETS, curves, initialLiveState, type LiveEvent, liveReducer, type LiveState, testAccBuckets } from '../src/ui/live/state.js';
import { Store } from '../src/ui/store.js';

/** Retry `assertion` until it passes: what the UI does in answer to a key or a store publish. */
const until = (assertion: () => void) => vi.waitFor(assertion, { timeout: 5000, interval: 1 });
/** Ink starts reading stdin in an effect after the first render: keys written before are lost. */
const inputReady = (stdin: NodeJS.EventEmitter) => until(() => expect(stdin.listenerCount('readable')).toBeGreaterThan(0));

function feedState(events: LiveEvent[], feed = createDemoFeed({ epochs: 10 })): LiveState {
  void feed;
  let state = initialLiveState();
  for (const e of events) state = liveReducer(state, e);
  return state;
}

describe('liveReducer', () => {
  const feed = createDemoFeed({ epochs: 10 });
  it('consumes a whole run: progress, curves, evals, cost totals, end', () => {
    const state = feedState(feed.all, feed);
    expect(state.status).toBe('completed');
    expect(state.step).toBe(220);
    expect(state.evals).toHaveLength(10);
    expect(state.cost?.steps).toBe(220);
    expect(state.cost!.energyJ).toBeLessThan(state.cost!.baseline.energyJ);
    expect(state.cost!.savings.energyPct).toBeGreaterThan(0);
    expect(state.breakdown?.run.byLayer.map((l) => l.layer)).toEqual(['fc1', 'fc2']);
    const { loss } = curves(state);
    expect(loss.filter((v) => v !== null).length).toBeGreaterThan(200);
    expect(testAccBuckets(state).some((v) => v !== null)).toBe(true);
    expect(state.summary?.testAccuracy).toBeGreaterThan(0.5);
  });

  it('ignores empty step batches', () => {
    const s0 = feedState(feed.all.slice(0, 1), feed);
    expect(liveReducer(s0, { type: 'steps', steps: [], costs: [], cost: s0.cost })).toBe(s0);
  });

  it('keeps memory bounded: a run ten times longer is folded into the same buckets, every step counted once', () => {
    const long = createDemoFeed({ epochs: 100 });
    const steps = long.all.flatMap((e) => (e.type === 'steps' ? e.steps : []));
    const s = feedState(long.all, long);
    expect(steps.length).toBe(s.totalSteps);
    expect(steps.length).toBeGreaterThan(5 * CURVE_BUCKETS);
    // every step lands in exactly one bucket, spread evenly over the run
    expect(s.count.reduce((a, n) => a + n, 0)).toBe(steps.length);
    for (const n of s.count) expect(Math.abs(n - steps.length / CURVE_BUCKETS)).toBeLessThan(1);
    // and each bucket's curve point is the mean of its steps
    const { loss } = curves(s);
    for (let b = 0; b < CURVE_BUCKETS; b++) {
      const mine = steps.filter((x) => bucketOf(x.step, s.totalSteps) === b);
      expect(loss[b]).toBeCloseTo(mine.reduce((a, x) => a + x.loss, 0) / mine.length, 9);
    }
  });

  it('tracks pause/stop requests and engine acknowledgements', () => {
    let s = feedState(feed.all.slice(0, 3), feed);
    expect(s.status).toBe('running');
    s = liveReducer(s, { type: 'ui', action: 'request-pause' });
    expect(s.status).toBe('pausing');
    s = liveReducer(s, { type: 'paused', paused: true });
    expect(s.status).toBe('paused');
    s = liveReducer(s, { type: 'ui', action: 'request-stop' });
    expect(s.status).toBe('stopping');
    s = liveReducer(s, { type: 'paused', paused: false });
    expect(s.status).toBe('stopping');
    s = liveReducer(s, { type: 'end', status: 'stopped', summary: null, cost: null, breakdown: null });
    expect(s.status).toBe('stopped');
  });
});

describe('Store throttling', () => {
  it('publishes at most once per interval however many events arrive', () => {
    vi.useFakeTimers();
    try {
      let clock = 0;
      const store = new Store<number, number>((s, e) => s + e, 0, 100, () => clock);
      const seen: number[] = [];
      store.subscribe(() => seen.push(store.getSnapshot()));
      for (let i = 0; i < 1000; i++) store.dispatch(1);
      expect(seen).toEqual([]);
      vi.advanceTimersByTime(0);
      expect(seen).toEqual([1000]);
      clock = 10;
      for (let i = 0; i < 1000; i++) store.dispatch(1);
      vi.advanceTimersByTime(50);
      expect(seen).toEqual([1000]);
      clock = 100;
      vi.advanceTimersByTime(50);
      expect(seen).toEqual([1000, 2000]);
      store.dispatch(1, { flush: true });
      expect(seen).toEqual([1000, 2000, 2001]);
      store.dispose();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('<LiveScreen>', () => {
  const feed = createDemoFeed({ epochs: 10 });
  const mid = feedState(feed.all.slice(0, 12), feed);

  it('renders header, progress, schedule with marker, curves and cost panel', () => {
    const { lastFrame } = render(<LiveScreen state={mid} width={100} />);
    const frame = lastFrame()!;
    expect(frame).toContain(mid.header!.runId);
    expect(frame).toContain('[running]');
    expect(frame).toContain('schedule cpt:3-8');
    expect(frame).toContain('profile bit-fusion-45nm');
    expect(frame).toMatch(/\d+\/220 \(\d+\.\d %\)/);
    expect(frame).toContain('steps/s');
    expect(frame).toContain('ETA');
    expect(frame).toContain('Precision schedule');
    expect(frame).toMatch(/▲ it \d+/);
    expect(frame).toContain('Loss');
    expect(frame).toContain('Accuracy');
    expect(frame).toContain('Cost so far on bit-fusion-45nm (vs static:8)');
    expect(frame).toMatch(/energy\s+[\d.]+ [µm]J\s+[\d.]+ [µm]J\s+\d+\.\d %/);
    expect(frame).toContain('BitOPs');
  });

  it('shows the per-layer and per-phase breakdown panels', () => {
    const layers = render(<LiveScreen state={liveReducer(mid, { type: 'ui', action: 'cycle-panel' })} width={100} />).lastFrame()!;
    expect(layers).toContain('per layer');
    expect(layers).toMatch(/fc1\s+[\d.]+ [µm]J\s+\d+ %/);
    expect(layers).toContain('fc2');
    const phases = render(<LiveScreen state={liveReducer(liveReducer(mid, { type: 'ui', action: 'cycle-panel' }), { type: 'ui', action: 'cycle-panel' })} width={100} />).lastFrame()!;
    expect(phases).toContain('per phase');
    expect(phases).toContain('forward');
    expect(phases).toContain('weight grad');
  });

  it('shows the end of a run', () => {
    const done = feedState(feed.all, feed);
    const frame = render(<LiveScreen state={done} width={100} />).lastFrame()!;
    expect(frame).toContain('[completed]');
    expect(frame).toMatch(/Run completed — test acc \d+\.\d %/);
    const failed = liveReducer(mid, { type: 'end', status: 'failed', summary: null, error: 'boom', cost: null, breakdown: null });
    expect(render(<LiveScreen state={failed} width={100} />).lastFrame()).toContain('Run failed: boom');
  });

  it('says when there is no hardware profile', () => {
    const start = feed.all[0]!;
    if (start.type !== 'start') throw new Error('the feed starts with a start event');
    const s = liveReducer(initialLiveState(), { ...start, config: { ...start.config, profile: 'none' }, cost: null, breakdown: null });
    expect(render(<LiveScreen state={s} width={100} />).lastFrame()).toContain('no hardware profile');
  });
});

describe('<LiveApp> key hub', () => {
  it('maps p, q, b, ? to actions and the help overlay lists the same keys', async () => {
    const feed = createDemoFeed({ epochs: 10 });
    const controls = { pause: vi.fn(), resume: vi.fn(), stop: vi.fn() };
    const { store, onAction } = createLiveController({ controls, maxFps: 10 });
    for (const e of feed.all.slice(0, 6)) store.dispatch(e, { flush: true });
    const app = render(<LiveApp store={store} onAction={onAction} width={100} />);
    await inputReady(app.stdin);
    app.stdin.write('p');
    await until(() => expect(app.lastFrame()).toContain('[pausing]'));
    expect(controls.pause).toHaveBeenCalledTimes(1);
    store.dispatch({ type: 'paused', paused: true }, { flush: true });
    await until(() => expect(app.lastFrame()).toContain('[paused]'));
    app.stdin.write('p');
    await until(() => expect(controls.resume).toHaveBeenCalledTimes(1));
    app.stdin.write('b');
    await until(() => expect(app.lastFrame()).toContain('per layer'));
    app.stdin.write('?');
    await until(() => expect(app.lastFrame()).toContain('Live training view — keys'));
    const help = app.lastFrame()!;
    for (const b of LIVE_KEYS) expect(help).toContain(b.help);
    // a lone Esc is held back by Ink's input parser until the next turn of the event loop
    app.stdin.write('\u001b');
    await until(() => expect(app.lastFrame()).not.toContain('Live training view — keys'));
    app.stdin.write('q');
    await until(() => expect(app.lastFrame()).toContain('[stopping]'));
    expect(controls.stop).toHaveBeenCalledTimes(1);
    // a second q while stopping does nothing; the b after it shows that both keys were handled
    expect(app.lastFrame()).not.toContain('per phase');
    app.stdin.write('q');
    app.stdin.write('b');
    await until(() => expect(app.lastFrame()).toContain('per phase'));
    expect(controls.stop).toHaveBeenCalledTimes(1);
    expect(app.lastFrame()).toContain('[stopping]');
    app.unmount();
    store.dispose();
  });
});
