/**
 * The live view fits the terminal (the title line never scrolls away, the last frame ends with a
 * newline), says what it is doing before the run starts, shows a diverged run, and the dashboard
 * stops a run cleanly on SIGINT / SIGTERM.
 */
import { EventEmitter } from 'node:events';
import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import { installStopSignals, PREPARING_LINE } from '../src/cli/dashboard.js';
import { endText, LiveScreen, liveLayout, progressText } from '../src/ui/live/LiveApp.js';
import { initialLiveState, type LiveEvent, liveReducer, type LiveState } from '../src/ui/live/state.js';
import { createDemoFeed } from './fixtures/demo-feed.js';

function feed(events: LiveEvent[], from = initialLiveState()): LiveState {
  let s = from;
  for (const e of events) s = liveReducer(s, e);
  return s;
}

const demo = createDemoFeed({ epochs: 10 });
const running = feed(demo.all.slice(0, 12));
const done = feed(demo.all);
const layers = liveReducer(running, { type: 'ui', action: 'cycle-panel' });

function frame(state: LiveState, width: number, height?: number): string {
  const app = render(<LiveScreen state={state} width={width} height={height} />);
  const text = app.lastFrame()!;
  app.unmount();
  return text;
}

describe('live view layout', () => {
  it('at 80×24 every section is there, in 23 lines at most, the title on the first line', () => {
    for (const state of [running, done, layers]) {
      const lines = frame(state, 80, 24).split('\n');
      expect(lines.length).toBeLessThanOrEqual(23);
      expect(lines[0]).toMatch(/^bitcycle train demo-mlp-digits-cpt38 {2}\[(running|completed)\]/);
      const text = lines.join('\n');
      expect(text).toContain('Precision schedule');
      expect(text).toMatch(/Loss .*Accuracy/);
      expect(text).toContain('Cost so far on bit-fusion-45nm');
      expect(lines.at(-1)).toBe('p pause/resume · q stop · b breakdown · ? help');
    }
    expect(frame(done, 80, 24)).toMatch(/Run completed — test acc/);
  });

  it('from 8 to 60 rows the frame is shorter than the terminal, and liveLayout knows its height', () => {
    for (const state of [initialLiveState(), running, done, layers]) {
      for (let rows = 8; rows <= 60; rows++) {
        const lines = frame(state, 80, rows).split('\n');
        expect(lines.length, `${state.status} at ${rows} rows`).toBeLessThan(rows);
        expect(lines.length).toBe(liveLayout(state, rows).lines);
        expect(lines[0]).toMatch(/^bitcycle train /);
      }
    }
  });

  it('a tall terminal gets the full view', () => {
    const l = liveLayout(running, 60);
    expect(l).toMatchObject({ scheduleRows: 3, curveRows: 6, cost: true, gaps: 3, configLine: true });
    expect(frame(running, 100).split('\n')).toHaveLength(l.lines);
  });

  it('a deep model: layers beyond the rows are summed up in one line', () => {
    const b = layers.breakdown!;
    const many = Array.from({ length: 30 }, (_, i) => ({ ...b.run.byLayer[i % b.run.byLayer.length]!, layer: `fc${i + 1}` }));
    const deep = { ...layers, breakdown: { ...b, run: { ...b.run, byLayer: many }, baseline: { ...b.baseline, byLayer: many } } };
    const text = frame(deep, 80, 24);
    expect(text.split('\n').length).toBeLessThan(24);
    expect(text).toMatch(/\+\d+ layers/);
    expect(text).toMatch(/^bitcycle train /);
  });
});

describe('before the start event', () => {
  it('says the run is being prepared and shows unknown totals as …, never epoch 1/0', () => {
    const s = initialLiveState();
    expect(progressText(s)).toBe('0/… · epoch … · — steps/s · ETA —');
    const text = frame(s, 80, 24);
    expect(text).toContain('[starting]');
    expect(text).toContain('preparing the run');
    expect(text).not.toMatch(/\/0\b/);
    expect(text).not.toContain('Precision schedule');
    expect(progressText(running)).toMatch(/^\d+\/220 \(\d+\.\d %\) · epoch \d+\/10 · /);
  });

  it('the dashboard announces the preparation on one line of its own', () => {
    expect(PREPARING_LINE).toMatch(/^bitcycle: preparing the run \(/);
    expect(PREPARING_LINE).not.toContain('\n');
  });
});

describe('end of a run', () => {
  it('a diverged run is its own end, in red, with where it diverged', () => {
    const diverged = liveReducer(running, { type: 'end', status: 'diverged', summary: null, divergence: { step: 77, quantity: 'train loss', value: 'NaN' }, cost: null, breakdown: null } as LiveEvent);
    expect(diverged.status).toBe('diverged');
    expect(endText(diverged)).toBe('Run diverged at step 77: train loss is NaN — lower the learning rate or raise the bits');
    const text = frame(diverged, 80, 24);
    expect(text).toContain('[diverged]');
    expect(text).toContain('ETA 0:00');
  });
});

describe('stop signals while the dashboard runs', () => {
  it('the first SIGINT or SIGTERM stops cleanly, a second exits with 130, and the handlers go away after', () => {
    const target = new EventEmitter();
    const stop = vi.fn();
    const exit = vi.fn();
    const remove = installStopSignals(stop, exit, target as unknown as Parameters<typeof installStopSignals>[2]);
    expect(target.listenerCount('SIGTERM')).toBe(1);
    expect(target.listenerCount('SIGINT')).toBe(1);
    target.emit('SIGTERM');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
    target.emit('SIGINT');
    expect(exit).toHaveBeenCalledWith(130);
    expect(stop).toHaveBeenCalledTimes(1);
    remove();
    expect(target.listenerCount('SIGTERM')).toBe(0);
    expect(target.listenerCount('SIGINT')).toBe(0);
  });
});
