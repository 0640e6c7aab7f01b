/**
 * Pareto fronts per group of comparable runs (src/analysis/pareto.ts, tables.ts) and `compare`,
 * which prints one front per group.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { paretoFront, paretoGroups } from '../src/analysis/pareto.js';
import { runGroup, scatterPoint } from '../src/analysis/tables.js';
import { listRuns, type RunInfo } from '../src/runs/read.js';
import type { RunJson } from '../src/runs/run-format.js';
import { runMain } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'runs');
const entries = listRuns(FIXTURES);
const byName = (suffix: string) => entries.find((e): e is RunInfo => !e.damaged && e.name.endsWith(suffix))!;

describe('paretoGroups', () => {
  it('computes one front per group: a point beaten only by another group stays on its own front', () => {
    const groups = paretoGroups([
      { id: 'a', group: 'digits', cost: 1, quality: 0.9 },
      { id: 'b', group: 'digits', cost: 2, quality: 0.95 },
      { id: 'c', group: 'digits', cost: 3, quality: 0.94 },
      // cheaper and better than everything above, but another data set
      { id: 'x', group: 'fashion', cost: 0.5, quality: 0.99 },
      { id: 'y', group: 'fashion', cost: 5, quality: 0.8 },
    ]);
    expect(groups.map((g) => g.group)).toEqual(['digits', 'fashion']);
    expect([...groups[0]!.front].sort()).toEqual(['a', 'b']);
    expect([...groups[1]!.front]).toEqual(['x']);
    // one front over everything would have kept only x
    expect([...paretoFront(groups.flatMap((g) => g.points))]).toEqual(['x']);
  });

  it('leaves out missing values (null, NaN): not on any front', () => {
    const front = paretoFront([
      { id: 'a', cost: 1, quality: null },
      { id: 'b', cost: 2, quality: 0.9 },
      { id: 'c', cost: null, quality: 0.99 },
      { id: 'd', cost: Number.NaN, quality: 1 },
    ]);
    expect([...front]).toEqual(['b']);
  });
});

describe('groups of comparable runs', () => {
  it('same data set, model, steps and profile: one group; a stopped run, another data set or profile: others', () => {
    const cpt = runGroup(byName('cpt3-8-s1').run);
    expect(runGroup(byName('static8-s1').run).key).toBe(cpt.key);
    expect(cpt.label).toBe('digits · mlp:hidden=128 · 220 steps · bit-fusion-45nm');
    const stopped = runGroup(byName('tri3-8-s1').run);
    expect(stopped.key).not.toBe(cpt.key);
    expect(stopped.label).toBe('digits · mlp:hidden=128 · 130/220 steps · bit-fusion-45nm');
    expect(runGroup(byName('fashion-static4-s3').run).label).toBe('fashion · mlp:hidden=128 · 220 steps · int8-systolic');
    const wider: RunJson = { ...byName('cpt3-8-s1').run, config: { ...byName('cpt3-8-s1').run.config, model: { name: 'mlp', hidden: [256] } } };
    expect(runGroup(wider).key).not.toBe(cpt.key);
  });

  it('a run without a test accuracy or an energy is not a scatter point', () => {
    const e = byName('cpt3-8-s1');
    expect(scatterPoint(e)).toMatchObject({ id: e.dir, cost: e.run.cost!.energyJ, quality: e.run.summary!.testAccuracy });
    const noAcc = { ...e, run: { ...e.run, summary: { ...e.run.summary!, testAccuracy: null } } } as unknown as RunInfo;
    expect(scatterPoint(noAcc)).toBeNull();
    expect(scatterPoint({ ...e, run: { ...e.run, cost: null } })).toBeNull();
    expect(scatterPoint(entries.find((x) => x.damaged)!)).toBeNull();
  });
});

describe('bitcycle compare: fronts per group', () => {
  it('runs of two groups get two fronts, text and JSON', async () => {
    const runs = ['cpt3-8-s1', 'static8-s1', 'fashion-static4-s3'].map((s) => byName(s).dir);
    const text = await runMain(['compare', ...runs]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('Pareto fronts (energy vs test acc), per group of comparable runs:');
    expect(text.stdout).toMatch(/^ {2}digits · mlp:hidden=128 · 220 steps · bit-fusion-45nm: 20261123-120102-mlp-digits-cpt3-8-s1, 20261123-120230-mlp-digits-static8-s1$/m);
    expect(text.stdout).toMatch(/^ {2}fashion · mlp:hidden=128 · 220 steps · int8-systolic: 20261123-120702-mlp-fashion-static4-s3$/m);
    const json = JSON.parse((await runMain(['compare', ...runs, '--json'])).stdout) as { runs: { paretoOptimal: boolean }[]; paretoGroups: { group: string; front: string[] }[] };
    expect(json.runs.map((r) => r.paretoOptimal)).toEqual([true, true, true]);
    expect(json.paretoGroups.map((g) => g.front.length)).toEqual([2, 1]);
  });

  it('runs of one group: one front, named by the group', async () => {
    const r = await runMain(['compare', byName('cpt3-8-s1').dir, byName('cpt4-8-s2').dir, byName('static8-s1').dir]);
    expect(r.stdout).toContain('Pareto front (energy vs test acc, digits · mlp:hidden=128 · 220 steps · bit-fusion-45nm): 20261123-120102-mlp-digits-cpt3-8-s1, 20261123-120415-mlp-digits-cpt4-8-s2, 20261123-120230-mlp-digits-static8-s1');
  });
});
