import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import { listRuns, type RunEntry, type RunInfo } from '../src/runs/read.js';
import { createReviewController, type ReviewIO } from '../src/ui/review/controller.js';
import { reestimateRun } from '../src/analysis/reestimate.js';
import { paretoFront } from '../src/analysis/pareto.js';
import { loadRun } from '../src/ui/review/io.js';
import { filterRows, sortRows, toRow } from '../src/ui/review/model.js';
import { ReviewApp } from '../src/ui/review/ReviewApp.js';
import { ReviewScreen } from '../src/ui/review/screens.js';
import { currentRow, initialReviewState, reviewReducer, type ReviewState, visibleRows } from '../src/ui/review/state.js';
import { REVIEW_KEYS } from '../src/ui/review/keys.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'runs');
/** Retry `assertion` until it passes: what the UI does in answer to a key or a store publish. */
const until = (assertion: () => void) => vi.waitFor(assertion, { timeout: 5000, interval: 1 });
/** Ink starts reading stdin in an effect after the first render: keys written before are lost. */
const inputReady = (stdin: NodeJS.EventEmitter) => until(() => expect(stdin.listenerCount('readable')).toBeGreaterThan(0));
const entries = listRuns(FIXTURES);
const name = (suffix: string) => entries.find((e) => e.name.endsWith(suffix))!;

function testIO(overrides: Partial<ReviewIO> = {}): ReviewIO & { quit: ReturnType<typeof vi.fn> } {
  return { loadRun, profiles: () => ['bit-fusion-45nm', 'bit-serial-stripes', 'gpu-a100'], reestimate: (e, d, p) => reestimateRun(e, d.steps, p), quit: vi.fn(), ...overrides } as ReviewIO & { quit: ReturnType<typeof vi.fn> };
}

function controller(state: ReviewState = initialReviewState('test/fixtures/runs', entries, 15), io = testIO()) {
  return { c: createReviewController(state, io), io };
}

const frameOf = (state: ReviewState, width = 120) => render(<ReviewScreen state={state} width={width} />).lastFrame()!;

describe('review model', () => {
  const rows = entries.map(toRow);
  it('sorts with missing values last, either direction', () => {
    const byAcc = sortRows(rows, 'testAcc', true);
    expect(byAcc[0]!.name).toMatch(/static8/);
    expect(byAcc.at(-1)!.damaged || byAcc.at(-1)!.testAcc === null).toBe(true);
    const asc = sortRows(rows, 'testAcc', false);
    expect(asc[0]!.testAcc).toBeLessThan(asc[1]!.testAcc!);
  });
  it('filters on all text columns with every term required', () => {
    expect(filterRows(rows, 'cpt').length).toBe(6);
    expect(filterRows(rows, 'cpt completed').length).toBe(3);
    expect(filterRows(rows, 'damaged').length).toBe(2);
    expect(filterRows(rows, 'fashion int8').map((r) => r.name)).toEqual(['20261123-120702-mlp-fashion-static4-s3']);
  });
  it('finds the Pareto front (min energy, max accuracy)', () => {
    const front = paretoFront([
      { id: 'a', cost: 1, quality: 0.9 },
      { id: 'b', cost: 2, quality: 0.95 },
      { id: 'c', cost: 3, quality: 0.94 },
      { id: 'd', cost: 0.5, quality: 0.5 },
      { id: 'e', cost: 2, quality: 0.93 },
    ]);
    expect([...front].sort()).toEqual(['a', 'b', 'd']);
  });
  it('re-estimates from steps.csv bits on another profile without retraining', async () => {
    const e = name('cpt3-8-s1') as RunInfo;
    const data = await loadRun(e);
    // the same CostTally as training: the run's own profile reproduces run.json's totals exactly
    expect(data.estimate?.cost).toEqual(e.run.cost);
    const other = reestimateRun(e, data.steps, 'bit-serial-stripes');
    expect(other.profile).toBe('bit-serial-stripes');
    expect(other.cost.energyJ).not.toBeCloseTo(e.run.cost!.energyJ, 12);
    expect(other.breakdown.run.byLayer.map((l) => l.layer)).toEqual(['fc1', 'fc2']);
  });
});

describe('review reducer', () => {
  it('virtualizes hundreds of runs: the cursor stays in the visible window', () => {
    const base = name('cpt3-8-s1') as RunInfo;
    const many: RunEntry[] = Array.from({ length: 400 }, (_, i) => ({ ...base, dir: `/runs/r${String(i).padStart(3, '0')}`, name: `r${String(i).padStart(3, '0')}` }));
    let s = initialReviewState('runs', many, 10);
    s = reviewReducer(s, { type: 'page', delta: 3 });
    expect(s.cursor).toBe(30);
    expect(s.scroll).toBe(21);
    s = reviewReducer(s, { type: 'move-to', index: -1 });
    expect(s.cursor).toBe(399);
    expect(s.scroll).toBe(390);
    const frame = frameOf(s);
    expect(frame).toContain('r399');
    expect(frame).not.toContain('r380');
    expect(frame).toContain('400/400 · rows 391–400');
    expect(frame.split('\n').length).toBeLessThan(25);
  });
  it('keeps the cursor on the same run when re-sorting', () => {
    let s = initialReviewState('runs', entries, 15);
    s = reviewReducer(s, { type: 'move', delta: 2 });
    const before = currentRow(s)!.dir;
    s = reviewReducer(s, { type: 'sort-next' });
    expect(currentRow(s)!.dir).toBe(before);
  });
  it('refuses to mark a damaged run and says why', () => {
    let s = initialReviewState('runs', entries, 15);
    s = reviewReducer(s, { type: 'move-to', index: visibleRows(s).findIndex((r) => r.damaged) });
    s = reviewReducer(s, { type: 'toggle-mark' });
    expect(s.marked).toEqual([]);
    expect(s.message).toMatch(/damaged/);
  });
});

describe('review screens', () => {
  it('list: table with all columns, damaged runs with reason, marks and cursor', () => {
    let s = initialReviewState('test/fixtures/runs', entries, 15);
    s = reviewReducer(s, { type: 'toggle-mark' });
    const frame = frameOf(s);
    expect(frame).toContain('bitcycle review test/fixtures/runs');
    expect(frame).toContain('10 runs · 10 shown · 1 marked · 2 damaged');
    expect(frame).toMatch(/run\s+model\s+schedule\s+profile\s+test acc\s+energy\s+savings\s+status/);
    expect(frame).toMatch(/ ●\s+20261123-120102-mlp-digits-cpt3-8-s1\s+mlp\s+cpt:3-8\s+bit-fusion-45nm\s+94\.8 %\s+189 µJ\s+24\.6 %\s+completed/);
    expect(frame).toMatch(/›\s+20261123-121100/);
    expect(frame).toContain('⚠ run.json is not valid JSON');
    expect(frame).toContain('interrupted');
    expect(frame).toContain('Enter open');
  });
  it('list: filter line while typing', () => {
    let s = initialReviewState('runs', entries, 15);
    s = reviewReducer(s, { type: 'filter-start' });
    s = reviewReducer(s, { type: 'filter-input', text: 'static' });
    const frame = frameOf(s);
    expect(frame).toContain('filter: static▌');
    expect(frame).toContain('2 shown');
    expect(frame).toContain('Enter keep');
  });
  it('detail: curves, schedule, cost breakdown, config after lazy load', async () => {
    const { c } = controller();
    c.onIntent('open');
    expect(frameOf(c.store.getState())).toContain('loading steps.csv');
    await c.idle();
    const frame = frameOf(c.store.getState());
    expect(frame).toContain('20261123-120102-mlp-digits-cpt3-8-s1  [completed]');
    expect(frame).toContain('schedule cpt:3-8');
    expect(frame).toContain('epochs 10 · batch 64');
    expect(frame).toContain('Precision schedule');
    expect(frame).toContain('Loss');
    expect(frame).toContain('Accuracy');
    expect(frame).toContain('Cost on bit-fusion-45nm (baseline static:8)');
    expect(frame).toMatch(/fc1\s+[\d.]+ µJ\s+\d+ %/);
    expect(frame).toMatch(/weight grad\s+[\d.]+ µJ/);
  });
  it('detail: a corrupt steps.csv shows as damaged, not a crash', async () => {
    const { c } = controller();
    c.onIntent('down');
    c.onIntent('open');
    await c.idle();
    expect(frameOf(c.store.getState())).toContain('damaged: steps.csv: line 46: loss is not a number');
  });
  it('compare: side-by-side table and overlaid curves of the marked runs', async () => {
    const { c } = controller();
    c.onIntent('compare');
    expect(c.store.getState().message).toMatch(/mark at least two/);
    c.onIntent('mark');
    c.onIntent('down');
    c.onIntent('mark');
    c.onIntent('compare');
    await c.idle();
    const frame = frameOf(c.store.getState());
    expect(frame).toContain('Compare 2 runs');
    expect(frame).toMatch(/schedule\s+cpt:3-8\s+static:8/);
    expect(frame).toMatch(/energy savings\s+24\.6 %\s+0\.0 %/);
    expect(frame).toContain('Test accuracy  ━ 1  ━ 2');
    expect(frame).toContain('Train loss');
  });
  it('scatter: energy vs accuracy of one group of comparable runs, its Pareto front listed', () => {
    let s = initialReviewState('runs', entries, 15);
    s = reviewReducer(s, { type: 'open-scatter' });
    const frame = frameOf(s);
    expect(frame).toContain('Energy vs test accuracy');
    // the selected run's group: digits, the same model, 220 of 220 steps, bit-fusion-45nm
    expect(frame).toMatch(/^Energy vs test accuracy {2}group [123]\/3 {2}\(←\/→ other groups\)\ndigits · mlp:hidden=128 · 220 steps · bit-fusion-45nm\n/);
    expect(frame).toContain('◆');
    expect(frame).toContain('Pareto front (3)');
    expect(frame).toMatch(/◆ 20261123-120230-mlp-digits-static8-s1\s+static:8\s+96\.9 %/);
    // the stopped run (130 of 220 steps) and the fashion run (other data set, other profile) are in other groups
    expect(frame).not.toContain('tri3-8');
    expect(frame).not.toContain('fashion');
  });
  it('estimate: pick a profile, re-tally the marked runs', async () => {
    const { c } = controller();
    c.onIntent('mark');
    c.onIntent('mark');
    c.onIntent('estimate');
    let frame = frameOf(c.store.getState());
    expect(frame).toContain('Re-estimate 2 runs on another hardware profile');
    expect(frame).toContain('› bit-fusion-45nm');
    c.onIntent('down');
    c.onIntent('run-estimate');
    await c.idle();
    frame = frameOf(c.store.getState());
    expect(frame).toContain('Re-estimated on bit-serial-stripes');
    expect(frame).toMatch(/20261123-120102-mlp-digits-cpt3-8-s1\s+bit-fusion-45nm\s+189 µJ\s+[\d.]+ µJ/);
    c.onIntent('back');
    expect(frameOf(c.store.getState())).toContain('› bit-serial-stripes');
    c.onIntent('back');
    expect(frameOf(c.store.getState())).toContain('bitcycle review');
  });
  it('estimate: a profile error is shown per run', async () => {
    const { c } = controller(undefined, testIO({ reestimate: () => { throw new Error('an operand of 64 bits is wider than the widest format'); } }));
    c.onIntent('estimate');
    c.onIntent('run-estimate');
    await c.idle();
    expect(frameOf(c.store.getState())).toContain('wider than the widest format');
  });
});

describe('<ReviewApp> key hub', () => {
  it('drives every screen from keys; help lists the same key map; q on the list quits', async () => {
    const io = testIO();
    const c = createReviewController(initialReviewState('test/fixtures/runs', entries, 15), io);
    const app = render(<ReviewApp controller={c} width={120} height={30} />);
    const frame = () => app.lastFrame()!;
    // Keys are handled in order: waiting for what one of them shows also covers the keys before it.
    const press = (...keys: string[]) => {
      for (const k of keys) app.stdin.write(k);
    };
    await inputReady(app.stdin);
    press('?');
    await until(() => expect(frame()).toContain(' — keys'));
    for (const b of REVIEW_KEYS.list) expect(frame()).toContain(b.help);
    press('?', 'j');
    await until(() => expect(frame()).toMatch(/›\s+20261123-121100/));
    expect(frame()).not.toContain(' — keys');
    press('\r');
    await c.idle();
    await until(() => expect(frame()).toContain('damaged: steps.csv'));
    press('q', '/', ...'static');
    await until(() => expect(frame()).toContain('filter: static▌'));
    press('\r');
    await until(() => expect(frame()).toContain('2 shown'));
    expect(frame()).not.toContain('filter: static▌');
    press(' ', ' ', 'c');
    await c.idle();
    await until(() => expect(frame()).toContain('Compare 2 runs'));
    press('x');
    await until(() => expect(frame()).toContain('Energy vs test accuracy'));
    press('q', 'q');
    await until(() => expect(frame()).toContain('bitcycle review'));
    expect(frame()).toContain('2 shown');
    expect(io.quit).not.toHaveBeenCalled();
    press('\u001b'); // Esc clears the filter
    await until(() => expect(frame()).toContain('10 shown'));
    expect(io.quit).not.toHaveBeenCalled();
    press('q');
    await until(() => expect(io.quit).toHaveBeenCalledTimes(1));
    app.unmount();
  });
});
