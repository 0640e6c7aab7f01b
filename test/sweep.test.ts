/**
 * `bitcycle sweep`: the grid, the statistics over seeds, the tables, and that a sweep repeats
 * nothing when run again (a kill and a budget: sweep-resume.test.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { parseSweepSpec, planSweep, sweepSeeds } from '../src/sweep/spec.js';
import { seedStats, tQuantile975 } from '../src/sweep/stats.js';
import { type RunResult, summarise, trainingWallS } from '../src/sweep/summary.js';
import { etaSeconds, progressLine } from '../src/sweep/progress.js';
import type { StepRow } from '../src/runs/read.js';
import { RunLock } from '../src/runs/lock.js';
import { runMain } from './helpers/cli.js';
import { csvRows, tempDirs } from './helpers/sweep.js';

const tempDir = tempDirs();
const csv = csvRows;

describe('the grid', () => {
  it('expands every axis, names each run from its config, and validates like train', () => {
    const plan = planSweep(parseSweepSpec({ schedules: ['static:4', 'cpt:3-8'], seeds: 3, profiles: ['bit-fusion-45nm', 'gpu-a100'], epochs: 2 }, 'sweep'));
    expect(plan.runs).toHaveLength(6);
    expect(plan.profiles).toEqual(['bit-fusion-45nm', 'gpu-a100']);
    expect(plan.runs.map((r) => [r.config.schedule, r.config.seed])).toEqual([
      ['static:4', 1], ['static:4', 2], ['static:4', 3], ['cpt:3-8', 1], ['cpt:3-8', 2], ['cpt:3-8', 3],
    ]);
    expect(new Set(plan.runs.map((r) => r.name)).size).toBe(6);
    // the name depends on the config, not on the order or the profiles
    const again = planSweep(parseSweepSpec({ schedules: ['cpt:3-8', 'static:4'], seeds: [3, 2, 1], profiles: ['gpu-a100'], epochs: 2 }, 'sweep'));
    expect(new Set(again.runs.map((r) => r.name))).toEqual(new Set(plan.runs.map((r) => r.name)));
    // the training profile is the first one; the baseline defaults per schedule
    expect(plan.runs[0]!.config.profile).toBe('bit-fusion-45nm');
    expect(plan.runs[3]!.config.baseline).toBe('static:8');
    expect(sweepSeeds(parseSweepSpec({ seeds: 2, firstSeed: 7 }, 'sweep'))).toEqual([7, 8]);
    expect(() => planSweep(parseSweepSpec({ schedules: ['cpt:9-3'] }, 'sweep'))).toThrow(/cpt:9-3.*Bmin \(9\) must not exceed Bmax \(3\)/);
    expect(() => parseSweepSpec({ seeds: 0 }, 'sweep.json')).toThrow(UsageError);
    expect(() => parseSweepSpec({ seeds: 0 }, 'sweep.json')).toThrow(/^sweep\.json: \$\.seeds: /);
    expect(() => parseSweepSpec({ schedule: ['x'] }, 'sweep.json')).toThrow(/^sweep\.json: \$: .*schedule/);
  });
});

describe('statistics over seeds', () => {
  it('mean, sample std and the t interval, by hand', () => {
    // [1, 2, 3]: mean 2, s² = (1 + 0 + 1)/2 = 1, t(0.975, 2) = 4.303, half-width 4.303/√3 = 2.48434
    const s = seedStats([1, 2, 3, null, Number.NaN]);
    expect(s.n).toBe(3);
    expect(s.mean).toBe(2);
    expect(s.std).toBe(1);
    expect(s.ciLow).toBeCloseTo(2 - 2.48434, 4);
    expect(s.ciHigh).toBeCloseTo(2 + 2.48434, 4);
    expect(seedStats([5])).toEqual({ n: 1, mean: 5, std: null, ciLow: null, ciHigh: null });
    expect(seedStats([])).toEqual({ n: 0, mean: null, std: null, ciLow: null, ciHigh: null });
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(100)).toBe(1.96);
  });

  it('training wall time sums the sessions of a resumed run', () => {
    const row = (wallMs: number) => ({ wallMs }) as StepRow;
    expect(trainingWallS([row(10), row(20), row(30)])).toBeCloseTo(0.03, 12);
    // killed after 20 ms, resumed: the second session counts from 0 again
    expect(trainingWallS([row(10), row(20), row(5), row(15)])).toBeCloseTo(0.035, 12);
    expect(trainingWallS([])).toBeNull();
  });

  it('fronts are per group and per cost axis', () => {
    const base = planSweep(parseSweepSpec({ schedules: ['static:4', 'static:8', 'cpt:3-8'], epochs: 2 }, 'sweep')).runs;
    const result = (i: number, acc: number, energy: number, latency: number): RunResult => ({
      name: base[i]!.name, config: base[i]!.config, profile: 'p', status: 'completed', testAccuracy: acc, bestTestAccuracy: acc,
      robustBmax1: null, robustBmax2: null, robustBmin: null, energyJ: energy, latencyS: latency, bitops: energy, memoryEnergyJ: energy,
      energySavingPct: 0, latencySavingPct: 0, bitopsSavingPct: 0, wallS: 1, steps: 10,
    });
    // static:4 cheapest and worst; static:8 best and dearest; cpt:3-8 in between on energy but slowest
    const s = summarise([result(0, 0.9, 1, 1), result(1, 0.98, 3, 2), result(2, 0.95, 2, 5)]);
    expect(s.map((x) => [x.config.schedule, x.front.energy, x.front.latency])).toEqual([
      ['static:4', true, true],
      ['static:8', true, true],
      ['cpt:3-8', true, false],
    ]);
  });

  it('progress counts and ETA', () => {
    const p = { total: 10, skipped: 2, done: 3, failed: 1, running: new Map([['a', { where: 'worker 1', step: 5, total: 10 }]]), startedAt: 0, stepsDone: 100, stepsLeft: 300 };
    // 100 steps in 10 s: 300 steps left take 30 s
    expect(etaSeconds(p, 10_000)).toBe(30);
    expect(progressLine(p, 10_000)).toBe('runs 5/10 done · 1 running · 1 failed · 2 from before · ETA 0:30');
  });
});

describe('bitcycle sweep', () => {
  let sweepDir = '';
  it('trains the grid on the local pool, writes the tables, and repeats nothing when run again', async () => {
    const out = join(tempDir(), 'S');
    sweepDir = out;
    const grid = ['sweep', '--schedules', 'static:4,cpt:3-8', '--seeds', '2', '--epochs', '2', '--workers', '2', '--out', out];
    const args = [...grid, '--profiles', 'bit-fusion-45nm'];
    const first = await runMain(args);
    expect(first.stderr).not.toMatch(/FAILED|internal error/);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/static:4 · g8 · constant\s+bit-fusion-45nm\s+2\/2/);
    const results = csv(join(out, 'results.csv'));
    expect(results).toHaveLength(4);
    expect(results.every((r) => r.status === 'completed' && Number(r.steps) === 44)).toBe(true);
    const summary = csv(join(out, 'summary.csv'));
    expect(summary.map((r) => r.schedule)).toEqual(['static:4', 'cpt:3-8']);
    for (const row of summary) {
      const accs = results.filter((r) => r.schedule === row.schedule).map((r) => Number(r.test_accuracy));
      expect(Number(row.test_accuracy_mean)).toBeCloseTo((accs[0]! + accs[1]!) / 2, 12);
      expect(Number(row.seeds)).toBe(2);
    }
    // cpt:3-8 is robust at Bmin = 3 and Bmax − 1 = 7; static:4 has no Bmin below its Bmax
    const cpt = results.find((r) => r.schedule === 'cpt:3-8')!;
    expect(Number(cpt.robust_acc_bmin)).toBeGreaterThan(0.1);
    expect(Number(cpt.robust_acc_bmax_1)).toBeGreaterThan(0.1);
    expect(results.find((r) => r.schedule === 'static:4')!.robust_acc_bmin).toBe('');

    const stamp = (d: string) => readdirSync(d).map((n) => `${n}:${statSync(join(d, n, 'steps.csv')).mtimeMs}`).sort();
    const outcomeStamps = readdirSync(join(out, 'outcomes')).map((n) => `${n}:${statSync(join(out, 'outcomes', n)).mtimeMs}`);
    const before = stamp(join(out, 'runs'));
    // again, with one more profile: nothing is trained, the new profile is re-tallied from the stored steps
    const second = await runMain([...grid, '--profiles', 'bit-fusion-45nm,gpu-a100']);
    expect(second.status).toBe(0);
    expect(second.stderr).toMatch(/4\/4 done · 0 running · 0 failed · 4 from before/);
    expect(stamp(join(out, 'runs'))).toEqual(before);
    expect(readdirSync(join(out, 'outcomes')).map((n) => `${n}:${statSync(join(out, 'outcomes', n)).mtimeMs}`)).toEqual(outcomeStamps);
    const summary2 = csv(join(out, 'summary.csv'));
    expect(summary2.map((r) => `${r.schedule}@${r.profile}`).sort()).toEqual(['cpt:3-8@bit-fusion-45nm', 'cpt:3-8@gpu-a100', 'static:4@bit-fusion-45nm', 'static:4@gpu-a100']);
    // the training profile's re-tally is the run's own cost, to the last bit
    const run = JSON.parse(readFileSync(join(out, 'runs', results[0]!.name!, 'run.json'), 'utf8'));
    expect(Number(csv(join(out, 'results.csv')).find((r) => r.name === results[0]!.name && r.profile === 'bit-fusion-45nm')!.energy_j)).toBe(run.cost.energyJ);
  }, 60_000);

  it('pareto, plot frontier / heatmap and report read the sweep', async () => {
    expect(sweepDir).not.toBe('');
    const summary = csv(join(sweepDir, 'summary.csv'));
    const p = await runMain(['pareto', sweepDir, '--profile', 'bit-fusion-45nm', '--all']);
    expect(p.status).toBe(0);
    for (const row of summary.filter((r) => r.profile === 'bit-fusion-45nm')) {
      const line = p.stdout.split('\n').find((l) => l.includes(`${row.schedule} · g8 · constant`))!;
      expect(line.startsWith(row.front_energy === 'true' ? '◆' : '·'), line).toBe(true);
    }
    expect(p.stdout).toMatch(/└─+/);
    const json = await runMain(['pareto', sweepDir, '--cost', 'latency', '--json']);
    const fronts = JSON.parse(json.stdout).groups as { profile: string; front: { schedule: string }[] }[];
    expect(fronts).toHaveLength(2);
    for (const g of fronts) {
      const expected = summary.filter((r) => r.profile === g.profile && r.front_latency === 'true').map((r) => r.schedule).sort();
      expect(g.front.map((f) => f.schedule).sort()).toEqual(expected);
    }
    const bad = await runMain(['pareto', sweepDir, '--cost', 'joules']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^bitcycle: --cost: expected energy, latency, bitops, memory, wall/);

    const figure = join(tempDir(), 'frontier.svg');
    const f = await runMain(['plot', 'frontier', sweepDir, '--profile', 'gpu-a100', '--out', figure]);
    expect(f.status).toBe(0);
    const svg = readFileSync(figure, 'utf8');
    expect(svg).toContain('static:4');
    expect(svg).toContain('cpt:3-8');
    expect((await runMain(['plot', 'frontier', sweepDir, '--out', figure])).stderr).toMatch(/^bitcycle: --profile: the sweep has 2 profiles/);
    const heat = join(tempDir(), 'heat.png');
    expect((await runMain(['plot', 'heatmap', sweepDir, '--value', 'energy-saving', '--out', heat])).status).toBe(0);
    expect(readFileSync(heat).subarray(1, 4).toString()).toBe('PNG');

    const page = join(tempDir(), 'report.html');
    const r = await runMain(['report', sweepDir, '--out', page]);
    expect(r.status).toBe(0);
    const html = readFileSync(page, 'utf8');
    for (const section of ['Summary', 'Pareto frontiers', 'Heatmaps', 'Every run']) expect(html).toContain(section);
    expect(html.match(/<svg/g)!.length).toBeGreaterThanOrEqual(4);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  }, 60_000);

  it('one sweep at a time in a directory: a second is refused with one line and trains nothing', async () => {
    expect(sweepDir).not.toBe('');
    const outcomes = readdirSync(join(sweepDir, 'outcomes')).map((n) => readFileSync(join(sweepDir, 'outcomes', n), 'utf8'));
    const holder = RunLock.acquire(sweepDir, 'sweep');
    try {
      const r = await runMain(['sweep', '--schedules', 'static:4,cpt:3-8,static:8', '--seeds', '2', '--epochs', '2', '--workers', '1', '--out', sweepDir]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^bitcycle: .*S: sweep is in use by process \d+ since .*; stop it first \(Ctrl-C\) or wait\n$/);
    } finally {
      holder.release();
    }
    expect(readdirSync(join(sweepDir, 'outcomes')).map((n) => readFileSync(join(sweepDir, 'outcomes', n), 'utf8'))).toEqual(outcomes);
  });

  it('refuses bad input with one line and writes nothing', async () => {
    const parent = tempDir();
    const cases: [string[], RegExp][] = [
      [['--schedules', 'static:4,,cpt:3-8'], /^bitcycle: --schedules: expected a comma-separated list without empty items/],
      [['--schedules', 'cpt:9-3'], /^bitcycle: schedule "cpt:9-3": Bmin \(9\) must not exceed Bmax \(3\)/],
      [['--profiles', 'bit-fusion-45nm,no-such-profile'], /^bitcycle: --profiles: /],
      [['--seeds', '0'], /^bitcycle: --seeds: expected an integer in 1\.\.1000/],
      [['--queue', 'http://x'], /^bitcycle: --queue: expected redis:\/\/HOST:PORT/],
    ];
    for (const [extra, message] of cases) {
      const out = join(parent, 'never');
      const r = await runMain(['sweep', ...extra, '--out', out]);
      expect(r.status, extra.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const file = join(parent, 'sweep.json');
    writeFileSync(file, JSON.stringify({ schedules: ['static:4'], seeds: 'three' }));
    const r = await runMain(['sweep', '--file', file, '--out', join(parent, 'never')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bitcycle: --file .*sweep\.json: \$\.seeds: /);
  });

  it('a sweep file gives the grid; options on the command line override it', async () => {
    const parent = tempDir();
    const file = join(parent, 'sweep.json');
    writeFileSync(file, JSON.stringify({ schedules: ['static:6'], seeds: [5], epochs: 1, profiles: ['gpu-a100'] }));
    const out = join(parent, 'S');
    const r = await runMain(['sweep', '--file', file, '--epochs', '2', '--out', out, '--workers', '1']);
    expect(r.status).toBe(0);
    const rows = csv(join(out, 'results.csv'));
    expect(rows.map((x) => [x.schedule, x.seed, x.epochs, x.profile])).toEqual([['static:6', '5', '2', 'gpu-a100']]);
  }, 30_000);

});
