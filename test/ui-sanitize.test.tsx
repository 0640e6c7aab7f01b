/**
 * Strings from run directories (directory names, run.json) reach the terminal escaped: no escape
 * sequence is sent (it would clear or recolour the screen), no newline splits a run's line.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTable, runsTable } from '../src/analysis/tables.js';
import { listRuns, type RunInfo } from '../src/runs/read.js';
import { LiveScreen } from '../src/ui/live/LiveApp.js';
import { initialLiveState, type LiveEvent, liveReducer } from '../src/ui/live/state.js';
import { ReviewScreen } from '../src/ui/review/screens.js';
import { initialReviewState, reviewReducer } from '../src/ui/review/state.js';
import { createDemoFeed } from './fixtures/demo-feed.js';
import { makeSyntheticRun, writeSyntheticRun } from './fixtures/synthetic.js';
import { runMain } from './helpers/cli.js';

/** Clears the screen and turns the text red — and a newline. */
const EVIL = '\u001b[2J\u001b[31m\nX';
const ESC = '\u001b';

let dir: string;
let evilName: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bitcycle-evil-'));
  // a run whose directory name, schedule, data set, profile, layer name and error hold the sequence
  const evil = makeSyntheticRun({ id: `20261124-040000-evil${EVIL}-s1`, schedule: 'cpt:3-8', stopAt: 100, status: 'failed' });
  evilName = evil.run.id;
  const runDir = writeSyntheticRun(dir, evil);
  const json = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
  json.config.schedule = `cpt:3-8${EVIL}`;
  json.config.dataset = `digits${EVIL}`;
  json.config.profile = `bit-fusion-45nm${EVIL}`;
  json.cost.profile = `bit-fusion-45nm${EVIL}`;
  json.error = `boom${EVIL}`;
  json.versions = { [`node${EVIL}`]: `v20${EVIL}` };
  json.layers[0].name = `fc1${EVIL}`;
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(json));
  // a plain run to compare with
  writeSyntheticRun(dir, makeSyntheticRun({ id: '20261124-040100-plain-s1', schedule: 'static:8' }));
  // damaged: config.model is a string holding the sequence (format 1), and run.json that is not JSON
  const bad = makeSyntheticRun({ id: '20261124-040200-model-s1', schedule: 'cpt:3-8' });
  const badDir = writeSyntheticRun(dir, bad);
  const badJson = JSON.parse(readFileSync(join(badDir, 'run.json'), 'utf8'));
  badJson.formatVersion = 1;
  badJson.config.model = `mlp${EVIL}`;
  writeFileSync(join(badDir, 'run.json'), JSON.stringify(badJson));
  mkdirSync(join(dir, '20261124-040300-notjson-s1'));
  writeFileSync(join(dir, '20261124-040300-notjson-s1', 'run.json'), `${EVIL} not json`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectSafe(text: string, lines?: number): void {
  expect(text).not.toContain(ESC);
  // the sequence is shown, escaped, instead
  expect(text).toContain('\\x1b[2J\\x1b[31m\\nX');
  // the table (the "to continue" notes follow a blank line)
  if (lines !== undefined) expect(text.split('\n\n')[0]!.trimEnd().split('\n')).toHaveLength(lines);
}

describe('hostile strings from run directories', () => {
  it('bitcycle runs: one escaped line per run, header included', async () => {
    const r = await runMain(['runs', dir]);
    expect(r.status).toBe(0);
    expectSafe(r.stdout, 1 + 4);
    expect(r.stdout).toMatch(/evil\\x1b\[2J\\x1b\[31m\\nX-s1 +mlp +digits\\x/);
    expect(runsTable(listRuns(dir), dir)).toBe(r.stdout);
  });

  it("review's plain table (no TTY) is the same escaped table", async () => {
    const r = await runMain(['review', dir]);
    expect(r.status).toBe(0);
    expectSafe(r.stdout, 1 + 4);
  });

  it('bitcycle compare: one line per metric, names and values escaped', async () => {
    const r = await runMain(['compare', join(dir, evilName), join(dir, '20261124-040100-plain-s1')]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(ESC);
    const table = compareTable(listRuns(dir).filter((e): e is RunInfo => !e.damaged));
    expect(table).not.toContain(ESC);
    // a header line and one line per metric: no value was split by a newline
    expect(r.stdout.split('\n').filter((l) => /^(schedule|dataset|profile) /.test(l))).toHaveLength(3);
    expect(r.stdout).toMatch(/^schedule +cpt:3-8\\x1b\[2J\\x1b\[31m\\nX +static:8$/m);
  });

  it('review screens: list, detail, compare, scatter', () => {
    const entries = listRuns(dir);
    let s = initialReviewState(dir, entries, 15);
    const list = render(<ReviewScreen state={s} width={200} />).lastFrame()!;
    expectSafe(list);
    // title, filter, header, four runs, position, hints
    expect(list.split('\n')).toHaveLength(9);
    const evil = entries.find((e) => e.name === evilName)!;
    s = reviewReducer(s, { type: 'open-detail', dir: evil.dir });
    const detail = render(<ReviewScreen state={s} width={200} />).lastFrame()!;
    expectSafe(detail);
    expect(detail).toContain('error: boom\\x1b[2J');
    s = reviewReducer(initialReviewState(dir, entries, 15), { type: 'open-compare', dirs: entries.filter((e) => !e.damaged).map((e) => e.dir) });
    expectSafe(render(<ReviewScreen state={s} width={200} />).lastFrame()!);
    s = reviewReducer(initialReviewState(dir, entries, 15), { type: 'open-scatter' });
    expect(render(<ReviewScreen state={s} width={200} />).lastFrame()).not.toContain(ESC);
  });

  it('live view: the header of a resumed run whose run.json holds the sequence', () => {
    const feed = createDemoFeed({ epochs: 4 });
    const start = feed.all[0]!;
    if (start.type !== 'start') throw new Error('the feed starts with a start event');
    const events: LiveEvent[] = [
      { ...start, runId: `resumed${EVIL}`, config: { ...start.config, schedule: `cpt:3-8${EVIL}`, dataset: `digits${EVIL}`, baseline: `static:8${EVIL}` } },
      ...feed.all.slice(1, -1),
      { type: 'end', status: 'failed', summary: null, error: `worker died${EVIL}`, cost: null, breakdown: null },
    ];
    let state = initialLiveState();
    for (const e of events) state = liveReducer(state, e);
    const frame = render(<LiveScreen state={state} width={140} />).lastFrame()!;
    expectSafe(frame);
    expect(frame).toContain('Run failed: worker died\\x1b[2J');
  });
});
