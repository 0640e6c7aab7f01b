/**
 * The review at 80 columns, the filter (pastes, q, Esc), the scatter over the filtered runs one
 * group at a time, reloading running runs, a schedule chart of a run.json claiming 10¹² steps,
 * and runs with missing values or the statuses `diverged` / `not-started`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runBitsSource } from '../src/analysis/bits.js';
import { compareTable, runsTable } from '../src/analysis/tables.js';
import { listRuns, type RunEntry, type RunInfo, type StepRow } from '../src/runs/read.js';
import type { RunJson } from '../src/runs/run-format.js';
import { hintLine } from '../src/ui/components.js';
import { createReviewController, type ReviewIO, type ReviewTimers } from '../src/ui/review/controller.js';
import { loadRun } from '../src/ui/review/io.js';
import { interpretKey, REVIEW_KEYS } from '../src/ui/review/keys.js';
import { cleanFilterText, elideMiddle, listColumns, toRow } from '../src/ui/review/model.js';
import { createRunsRefresher } from '../src/ui/review/refresh.js';
import { ReviewApp } from '../src/ui/review/ReviewApp.js';
import { ReviewScreen, STATUS_COLOR } from '../src/ui/review/screens.js';
import { initialReviewState, reviewReducer, type ReviewState, visibleRows } from '../src/ui/review/state.js';
import { makeSyntheticRun, writeSyntheticRun } from './fixtures/synthetic.js';
import { runMain } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'runs');
const entries = listRuns(FIXTURES);
const byName = (suffix: string) => entries.find((e): e is RunInfo => !e.damaged && e.name.endsWith(suffix))!;
const until = (assertion: () => void) => vi.waitFor(assertion, { timeout: 5000, interval: 1 });
const inputReady = (stdin: NodeJS.EventEmitter) => until(() => expect(stdin.listenerCount('readable')).toBeGreaterThan(0));

function frameOf(state: ReviewState, width = 120): string {
  const app = render(<ReviewScreen state={state} width={width} />);
  const text = app.lastFrame()!;
  app.unmount();
  return text;
}

function testIO(overrides: Partial<ReviewIO> = {}): ReviewIO & { quit: ReturnType<typeof vi.fn> } {
  return { loadRun, profiles: () => ['bit-fusion-45nm'], reestimate: () => { throw new Error('not used'); }, quit: vi.fn(), ...overrides } as ReviewIO & { quit: ReturnType<typeof vi.fn> };
}

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('run list at 80 columns', () => {
  it('shows every run id in full, dropping the less telling columns first', () => {
    const frame = frameOf(initialReviewState('test/fixtures/runs', entries, 15), 80);
    const lines = frame.split('\n');
    for (const e of entries) expect(frame).toContain(e.name);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines[2]).toMatch(/^ {3}run +test acc +energy +savings +status$/);
    expect(frame).toMatch(/20261123-120102-mlp-digits-cpt3-8-s1 +94\.8 % +189 µJ +24\.6 % completed/);
    // how to get help and out stays on the hint line
    expect(lines.at(-1)).toMatch(/\? help · q quit$/);
  });

  it('keeps all columns when there is room, and cuts ids longer than the room in the middle', () => {
    const wide = listColumns(entries.map(toRow), 160).map((c) => c.key);
    expect(wide).toEqual(['mark', 'name', 'model', 'schedule', 'profile', 'acc', 'energy', 'savings', 'status']);
    expect(elideMiddle('20261124-041502-mlp-digits-cpt38-s1', 20)).toBe('20261124-…s-cpt38-s1');
    const base = byName('cpt3-8-s1');
    const long = [1, 2].map((i) => ({ ...base, dir: `/runs/r${i}`, name: `a-very-long-experiment-name-for-the-ablation-of-cyclic-precision-seed${i}` }));
    const frame = frameOf(initialReviewState('runs', long, 15), 80);
    expect(frame).toMatch(/…\S*seed1 /);
    expect(frame).toMatch(/…\S*seed2 /);
  });

  it('hint lines keep help and quit when they do not fit', () => {
    expect(hintLine(REVIEW_KEYS.list, 50)).toMatch(/^Enter open · .* · \? help · q quit$/);
    expect(hintLine(REVIEW_KEYS.list, 50).length).toBeLessThanOrEqual(50);
    expect(hintLine(REVIEW_KEYS.list)).toContain('/ filter');
  });
});

describe('filter input', () => {
  const typing = reviewReducer(initialReviewState('runs', entries, 15), { type: 'filter-start' });

  it('a paste arrives as one string: kept, without control characters or line breaks', () => {
    expect(interpretKey(typing, 'fashion int8', 'fashion int8')).toEqual({ text: 'fashion int8' });
    expect(interpretKey(typing, 'static\r', 'static\r')).toEqual({ text: 'static' });
    expect(interpretKey(typing, 'a\u0007b\tc\nd\u202e', 'a\u0007b\tc\nd\u202e')).toEqual({ text: 'ab c d' });
    expect(cleanFilterText('\u001b[2Jx')).toBe('[2Jx');
    expect(interpretKey(typing, 'up', '')).toBeNull();
  });

  it('typed and pasted text filters the list (ink delivers the paste in one piece)', async () => {
    const c = createReviewController(initialReviewState('test/fixtures/runs', entries, 15), testIO());
    const app = render(<ReviewApp controller={c} width={120} height={30} />);
    await inputReady(app.stdin);
    app.stdin.write('/');
    app.stdin.write('fashion int8');
    await until(() => expect(app.lastFrame()).toContain('filter: fashion int8▌'));
    expect(app.lastFrame()).toContain('1 shown');
    // a held Backspace can arrive as several in one read
    app.stdin.write('\u007f'.repeat(5));
    await until(() => expect(app.lastFrame()).toContain('filter: fashion▌'));
    app.stdin.write(' static\n');
    await until(() => expect(app.lastFrame()).toContain('filter: fashion static▌'));
    app.unmount();
  });

  it('q is a letter while typing, quits once the filter is kept; Esc clears it; help says the same', async () => {
    const io = testIO();
    const c = createReviewController(initialReviewState('test/fixtures/runs', entries, 15), io);
    const app = render(<ReviewApp controller={c} width={120} height={30} />);
    const frame = () => app.lastFrame()!;
    await inputReady(app.stdin);
    app.stdin.write('/');
    app.stdin.write('q');
    await until(() => expect(frame()).toContain('filter: q▌'));
    app.stdin.write('\u007f');
    for (const k of 'cpt') app.stdin.write(k);
    app.stdin.write('\r');
    await until(() => expect(frame()).toContain('filter: cpt  (/ edit · Esc clear)'));
    expect(frame()).toContain('6 shown');
    app.stdin.write('\u001b');
    await until(() => expect(frame()).toContain('10 shown'));
    expect(io.quit).not.toHaveBeenCalled();
    app.stdin.write('/');
    for (const k of 'cpt') app.stdin.write(k);
    app.stdin.write('\r');
    await until(() => expect(frame()).toContain('6 shown'));
    app.stdin.write('?');
    await until(() => expect(frame()).toContain('Runs — keys'));
    expect(frame()).toMatch(/q +quit/);
    expect(frame()).toMatch(/Esc +clear the filter/);
    app.stdin.write('?');
    await until(() => expect(frame()).not.toContain('Runs — keys'));
    app.stdin.write('q');
    await until(() => expect(io.quit).toHaveBeenCalledTimes(1));
    app.unmount();
  });
});

describe('scatter', () => {
  it('plots only the filtered runs; its front changes with the filter', () => {
    let s = initialReviewState('runs', entries, 15);
    s = reviewReducer(s, { type: 'open-scatter' });
    expect(frameOf(s)).toMatch(/◆ 20261123-120230-mlp-digits-static8-s1/);
    s = reviewReducer(initialReviewState('runs', entries, 15), { type: 'filter-input', text: 'cpt' });
    s = reviewReducer(s, { type: 'open-scatter' });
    const frame = frameOf(s);
    expect(frame).not.toContain('static8');
    expect(frame).toContain('filter "cpt"');
    expect(frame).toContain('3 runs · ◆ Pareto front (2)');
    expect(frame).toMatch(/◆ 20261123-120415-mlp-digits-cpt4-8-s2/);
  });

  it('opens on the selected run’s group; → and ← go through the groups', async () => {
    let s = initialReviewState('runs', entries, 15);
    s = reviewReducer(s, { type: 'move-to', index: visibleRows(s).findIndex((r) => r.name.includes('fashion')) });
    s = reviewReducer(s, { type: 'open-scatter' });
    expect(frameOf(s).split('\n')[1]).toBe('fashion · mlp:hidden=128 · 220 steps · int8-systolic');
    const c = createReviewController(s, testIO());
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      c.onKey('right', '');
      seen.add(frameOf(c.store.getState()).split('\n')[1]!);
    }
    expect([...seen].sort()).toEqual([
      'digits · mlp:hidden=128 · 130/220 steps · bit-fusion-45nm',
      'digits · mlp:hidden=128 · 220 steps · bit-fusion-45nm',
      'fashion · mlp:hidden=128 · 220 steps · int8-systolic',
    ]);
    c.onKey('left', '');
    expect(frameOf(c.store.getState()).split('\n')[1]).toMatch(/^digits · mlp:hidden=128 · (130\/)?220 steps/);
  });
});

/** A clock whose timers run when the test advances it. */
function manualTimers(): ReviewTimers & { advance(ms: number): void; pending(): number } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 1;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(id) {
      timers = timers.filter((t) => t.id !== id);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = until;
    },
    pending: () => timers.length,
  };
}

/** Write a synthetic run `id` trained up to `stopAt`, marked running by this (live) process. */
function writeRunning(dir: string, id: string, stopAt: number, status: RunJson['status'] = 'running'): void {
  const r = makeSyntheticRun({ id, schedule: 'cpt:3-8', stopAt, status: stopAt < 220 ? 'stopped' : 'completed' });
  const runDir = writeSyntheticRun(dir, r);
  const json = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson;
  json.status = status;
  json.pid = status === 'running' ? process.pid : null;
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(json));
}

describe('reload', () => {
  it('every 2 s while a run is running: new runs and progress appear, the open run’s curves are read again; r reloads at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-reload-'));
    temps.push(dir);
    writeRunning(dir, 'live-run', 44);
    const initial = listRuns(dir);
    expect(initial[0]!.damaged ? null : initial[0]!.status).toBe('running');
    const timers = manualTimers();
    const refresh = vi.fn(createRunsRefresher(initial));
    const load = vi.fn(loadRun);
    const c = createReviewController(initialReviewState(dir, initial, 15), testIO({ refreshRuns: refresh, loadRun: load }), { timers });
    const stop = c.startPolling();
    c.onIntent('open');
    await c.idle();
    const steps = () => {
      const d = c.store.getState().data[initial[0]!.dir];
      return d?.status === 'loaded' ? d.data.steps.length : -1;
    };
    expect(steps()).toBe(44);

    // training goes on, and another run is started
    writeRunning(dir, 'live-run', 132);
    writeRunning(dir, 'new-run', 22);
    timers.advance(1999);
    expect(refresh).not.toHaveBeenCalled();
    timers.advance(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    await c.idle();
    expect(c.store.getState().entries.map((e) => e.name)).toEqual(['live-run', 'new-run']);
    expect(frameOf(c.store.getState())).toContain('step 132/220');
    expect(steps()).toBe(132);
    expect(load).toHaveBeenCalledTimes(2);

    // nothing changed: run.json files are not read again, nothing is reloaded
    const before = c.store.getState().entries;
    timers.advance(2000);
    await c.idle();
    expect(c.store.getState().entries).toBe(before);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(load).toHaveBeenCalledTimes(2);

    // both runs end: polling goes on, but reads nothing
    writeRunning(dir, 'live-run', 220, 'completed');
    writeRunning(dir, 'new-run', 220, 'completed');
    timers.advance(2000);
    expect(refresh).toHaveBeenCalledTimes(3);
    expect(c.store.getState().entries.every((e) => !e.damaged && e.status === 'completed')).toBe(true);
    timers.advance(10_000);
    expect(refresh).toHaveBeenCalledTimes(3);

    // r reloads whenever asked
    writeRunning(dir, 'third-run', 22, 'completed');
    c.onIntent('back');
    c.onKey('r', 'r');
    expect(refresh).toHaveBeenCalledTimes(4);
    expect(frameOf(c.store.getState())).toContain('third-run');
    expect(c.store.getState().message).toBe('reloaded: 3 runs (1 new)');
    stop();
    expect(timers.pending()).toBe(0);
    // a runs directory that went away is said, not thrown
    rmSync(dir, { recursive: true, force: true });
    c.onKey('r', 'r');
    expect(c.store.getState().message).toMatch(/^reload failed: .*no such runs directory/);
    expect(c.store.getState().entries.map((e) => e.name)).toEqual(['live-run', 'new-run', 'third-run']);
  });

  it('a run whose process is gone turns from running to interrupted without its run.json changing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-reload-'));
    temps.push(dir);
    writeRunning(dir, 'killed', 44);
    const initial = listRuns(dir);
    const runJson = join(dir, 'killed', 'run.json');
    const refresh = createRunsRefresher(initial);
    expect(refresh(dir, initial)).toBe(initial);
    // the same run.json, read as if its pid were not alive: the refresher re-checks the process
    const dead: RunEntry[] = initial.map((e) => (e.damaged ? e : { ...e, run: { ...e.run, pid: 2 ** 22 + 12345 } }));
    const after = createRunsRefresher(dead)(dir, dead);
    expect(after[0]!.damaged ? null : after[0]!.status).toBe('interrupted');
    expect(readFileSync(runJson, 'utf8')).toContain(`"pid":${process.pid}`);
  });
});

describe('schedule chart of a huge run', () => {
  const base = byName('cpt3-8-s1');
  const huge: RunJson = { ...base.run, progress: { ...base.run.progress, step: 0, totalSteps: 1e12 } };

  it('samples the schedule per column: 10¹² steps cost what the chart is wide', () => {
    const before = process.memoryUsage().arrayBuffers;
    const source = runBitsSource(huge);
    const { wa, g } = source.columns(100);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(wa).toHaveLength(100);
    expect(g).toHaveLength(100);
    for (const v of wa) expect(v).toBeGreaterThanOrEqual(3), expect(v).toBeLessThanOrEqual(8);
    expect(new Set(g)).toEqual(new Set([8]));
    expect(source.total).toBe(1e12);
    expect(source.range).toEqual({ minWA: 3, maxWA: 8, minG: 8, maxG: 8 });
    expect(source.at(5e11)?.g).toBe(8);
  });

  it('folds the rows of steps.csv into their columns (what ran beats what was planned)', () => {
    const run: RunJson = { ...base.run, config: { ...base.run.config, schedule: 'static:4' }, progress: { ...base.run.progress, totalSteps: 200 } };
    const rows: StepRow[] = Array.from({ length: 100 }, (_, step) => ({ step, epoch: 0, bitsWeights: 8, bitsActivations: 6, bitsGrad: 6, formatWeights: 'int8', formatActivations: 'int6', formatGrad: 'int6', lr: 0.1, loss: 1, trainAcc: 0.5, wallMs: step, energyJ: null, latencyS: null, bitops: null, baselineEnergyJ: null }));
    const { wa, g } = runBitsSource(run, rows).columns(10);
    expect(wa).toEqual([8, 8, 8, 8, 8, 4, 4, 4, 4, 4]);
    expect(g).toEqual([6, 6, 6, 6, 6, 8, 8, 8, 8, 8]);
    expect(runBitsSource(run, rows).range).toEqual({ minWA: 4, maxWA: 8, minG: 6, maxG: 8 });
  });

  it('the detail screen of such a run renders its schedule', () => {
    const entry: RunInfo = { ...base, run: huge };
    const s = reviewReducer(initialReviewState('runs', [entry], 15), { type: 'open-detail', dir: entry.dir });
    const frame = frameOf(s, 100);
    expect(frame).toContain('Precision schedule  W/A 3–8 bits · G 8–8 bits · 1 T iterations');
    const chart = frame.split('\n').filter((l) => /^ {3}G┤/.test(l));
    expect(chart).toHaveLength(1);
    expect(chart[0]!.length).toBe(100);
  });
});

describe('missing values and new statuses', () => {
  const e = byName('cpt3-8-s1');
  const nulls = { testAccuracy: null, testLoss: null, bestTestAccuracy: null, finalTrainLoss: null, stepsPerSecond: null };
  const diverged = { ...e, dir: '/runs/diverged', name: 'diverged-run', status: 'diverged', run: { ...e.run, status: 'diverged', summary: { ...e.run.summary!, ...nulls }, divergence: { step: 77, quantity: 'train loss', value: 'NaN' } } } as unknown as RunInfo;
  const notStarted = { ...e, dir: '/runs/not-started', name: 'not-started-run', status: 'not-started', run: { ...e.run, status: 'starting', summary: null, cost: null, progress: { ...e.run.progress, step: 0 } } } as unknown as RunInfo;

  it('tables show a dash, never NaN or null', () => {
    const table = runsTable([e, diverged, notStarted]);
    expect(table).toMatch(/^diverged-run +mlp +digits +cpt:3-8 +bit-fusion-45nm +— +189 µJ +24\.6 % +diverged$/m);
    expect(table).toMatch(/^not-started-run +mlp +digits +cpt:3-8 +bit-fusion-45nm +— +— +— +not-started$/m);
    const compare = compareTable([e, diverged]);
    expect(compare).toMatch(/^test acc +94\.8 % +—$/m);
    expect(compare).toMatch(/^status +completed +diverged$/m);
    // the table's cells (above the "to continue" notes, which quote the divergence's value as text)
    for (const text of [table.split('\n\n')[0]!, compare]) expect(text).not.toMatch(/NaN|null|undefined/);
    expect(table).toMatch(/^to continue:\n  not-started-run +not-started: bitcycle train --resume \/runs\/not-started$/m);
    expect(table).toMatch(/^diverged-run diverged at step 77 \(train loss NaN\): start a new run with a smaller --lr than 0\.1$/m);
  });

  it('screens: diverged in red with where it diverged, not-started in grey, no NaN', () => {
    expect(STATUS_COLOR.diverged).toBe('red');
    expect(STATUS_COLOR['not-started']).toBe('gray');
    const state = initialReviewState('runs', [e, diverged, notStarted], 15);
    const list = frameOf(state);
    expect(list).toMatch(/diverged-run +mlp +cpt:3-8 +bit-fusion-45nm +— +189 µJ +24\.6 % diverged/);
    expect(list).toContain('not-started');
    const detail = frameOf(reviewReducer(state, { type: 'open-detail', dir: diverged.dir }));
    expect(detail).toContain('diverged-run  [diverged]');
    expect(detail).toContain('test acc — (best —) · test loss — · final train loss — · — steps/s');
    expect(detail).toContain('diverged at step 77: train loss is NaN');
    const scatter = frameOf(reviewReducer(state, { type: 'open-scatter' }));
    expect(scatter).toContain('1 run · ◆ Pareto front (1)');
    expect(scatter).toContain('2 listed runs without energy or test accuracy not shown');
    for (const text of [list, detail.replace('train loss is NaN', ''), scatter]) expect(text).not.toMatch(/NaN|null|undefined/);
  });

  it('bitcycle runs and compare read a diverged run with null values: listed, compared, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-null-'));
    temps.push(dir);
    writeRunning(dir, 'ok-run', 220, 'completed');
    writeRunning(dir, 'nan-run', 100, 'diverged');
    const file = join(dir, 'nan-run', 'run.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.summary = { ...json.summary, ...nulls };
    json.divergence = { step: 100, quantity: 'train loss', value: 'NaN' };
    writeFileSync(file, JSON.stringify(json));
    const runs = await runMain(['runs', dir]);
    expect(runs.status).toBe(0);
    expect(runs.stdout).toMatch(/^nan-run +.* +— +[\d.]+ µJ +[\d.]+ % +diverged$/m);
    const compare = await runMain(['compare', join(dir, 'ok-run'), join(dir, 'nan-run')]);
    expect(compare.status).toBe(0);
    expect(compare.stdout).toMatch(/^test acc +[\d.]+ % +—$/m);
    expect(compare.stdout).toContain('Pareto front (energy vs test acc, digits · mlp:hidden=128 · 220 steps · bit-fusion-45nm): ok-run');
  });
});
