import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunError } from '../src/errors.js';
import { makeSyntheticRun, writeSyntheticRun } from './fixtures/synthetic.js';
import { displayStatus, listRuns, parseRunJson, readEvals, readRun, readSteps } from '../src/runs/read.js';
import { STEPS_HEADER_V1 } from '../src/runs/run-format.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'runs');

describe('listRuns on the fixture runs', () => {
  const entries = listRuns(FIXTURES);
  it('lists every run directory in name order, skipping files', () => {
    expect(entries).toHaveLength(10);
    expect(entries.map((e) => e.name)).toEqual([...entries.map((e) => e.name)].sort());
  });
  it('parses good runs and reports damaged ones with a reason', () => {
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    const good = byName['20261123-120102-mlp-digits-cpt3-8-s1']!;
    expect(good.damaged).toBe(false);
    if (!good.damaged) {
      expect(good.run.config.schedule).toBe('cpt:3-8');
      expect(good.status).toBe('completed');
      expect(good.run.cost?.savings.energyPct).toBeGreaterThan(0);
    }
    const half = byName['20261123-120900-mlp-digits-cpt3-8-s9']!;
    expect(half.damaged && half.reason).toMatch(/run\.json is not valid JSON/);
    const bad = byName['20261123-121000-mlp-digits-cpt3-8-s5']!;
    expect(bad.damaged && bad.reason).toMatch(/\$\.config\.epochs: .*number/);
    expect(bad.damaged && bad.reason).toMatch(/\$\.progress/);
  });
  it('shows a running run whose process is gone as interrupted', () => {
    const e = entries.find((x) => x.name.includes('ramp4-8'))!;
    expect(!e.damaged && e.status).toBe('interrupted');
    if (!e.damaged) expect(displayStatus(e.run, () => true)).toBe('running');
  });
});

describe('readSteps / readEvals', () => {
  it('parses the CSV columns into numbers', async () => {
    const steps = await readSteps(join(FIXTURES, '20261123-120102-mlp-digits-cpt3-8-s1'));
    expect(steps).toHaveLength(220);
    expect(steps[0]).toMatchObject({ step: 0, epoch: 0, bitsWeights: 3, bitsActivations: 3, bitsGrad: 8 });
    expect(typeof steps[10]!.energyJ).toBe('number');
    const evals = await readEvals(join(FIXTURES, '20261123-120102-mlp-digits-cpt3-8-s1'));
    expect(evals).toHaveLength(10);
    expect(evals[9]).toMatchObject({ epoch: 9, step: 220, bits: 8 });
  });
  it('names the file and line of an invalid row', async () => {
    const dir = join(FIXTURES, '20261123-121100-mlp-digits-cpt3-8-s4');
    await expect(readSteps(dir)).rejects.toThrow(RunError);
    await expect(readSteps(dir)).rejects.toThrow(/steps\.csv: line 46: loss is not a number/);
  });
  it('reports a short row, a wrong header, empty cost cells and a missing file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bitcycle-read-'));
    const dir = writeSyntheticRun(root, makeSyntheticRun({ id: 'r1', schedule: 'static:8', epochs: 1, stepsPerEpoch: 5 }));
    const text = readFileSync(join(dir, 'steps.csv'), 'utf8');
    writeFileSync(join(dir, 'steps.csv'), text + '5,0,8,8');
    await expect(readSteps(dir)).rejects.toThrow(/line 7/);
    writeFileSync(join(dir, 'steps.csv'), 'step,epoch\n1,2\n');
    await expect(readSteps(dir)).rejects.toThrow(/unexpected header/);
    const noCost = text.split('\n').map((l, i) => (i === 0 || !l ? l : [...l.split(',').slice(0, 9), '', '', '', '', ...l.split(',').slice(13)].join(','))).join('\n');
    writeFileSync(join(dir, 'steps.csv'), noCost);
    const steps = await readSteps(dir);
    expect(steps[0]!.energyJ).toBeNull();
    // steps.csv from before number formats: 13 columns, formats named from the bits
    const v1 = text.split('\n').map((l, i) => (!l ? l : i === 0 ? STEPS_HEADER_V1.join(',') : l.split(',').slice(0, 13).join(','))).join('\n');
    writeFileSync(join(dir, 'steps.csv'), v1);
    const old = await readSteps(dir);
    expect(old.map((s) => [s.formatWeights, s.formatActivations, s.formatGrad])).toEqual(old.map(() => ['int8', 'int8', 'int8']));
    expect(old[0]!.lossScale).toBeUndefined();
    writeFileSync(join(dir, 'steps.csv'), text.replace(/int8,int8,int8/, 'int8,bogus,int8'));
    await expect(readSteps(dir)).rejects.toThrow(/format_a is not a number format/);
    await expect(readEvals(join(root, 'nope'))).rejects.toThrow(/evals\.csv is missing/);
  });
});

describe('readRun', () => {
  it('throws RunError for damaged runs and a missing runs directory', () => {
    expect(() => readRun(join(FIXTURES, '20261123-120900-mlp-digits-cpt3-8-s9'))).toThrow(RunError);
    expect(() => listRuns(join(FIXTURES, 'does-not-exist'))).toThrow(/no such runs directory/);
  });
  it('treats a directory without run.json, or without steps.csv, as damaged', () => {
    const root = mkdtempSync(join(tmpdir(), 'bitcycle-read-'));
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'notes.txt'), 'x');
    const dir = writeSyntheticRun(root, makeSyntheticRun({ id: 'nosteps', schedule: 'static:8', epochs: 1, stepsPerEpoch: 5 }));
    writeFileSync(join(dir, 'steps.csv.tmp'), '');
    const stepsFile = join(dir, 'steps.csv');
    writeFileSync(stepsFile, '');
    const entries = listRuns(root);
    expect(entries.map((e) => e.name)).toEqual(['empty', 'nosteps']);
    expect(entries[0]!.damaged && entries[0]!.reason).toMatch(/no run\.json/);
  });
  it('rejects an unsupported formatVersion with a clear reason', () => {
    const r = parseRunJson(JSON.stringify({ formatVersion: 99 }));
    expect(!r.ok && r.reason).toMatch(/unsupported formatVersion 99/);
  });
});
