/**
 * `npm run bench`: training throughput of the digits MLP (64-128-10, batch 64) with the whole
 * engine bookkeeping (events, cost tally, run store writes), one JSON line per configuration.
 * Each figure is the median over several runs in this process (after a warm-up run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../src/data/index.js';
import { runSession } from '../src/runs/session.js';
import type { RunConfig } from '../src/runs/store.js';
import { benchEstimate } from './hw.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function baseConfig(schedule: string): RunConfig {
  return {
    model: 'mlp',
    hidden: [128],
    dataset: 'digits',
    schedule,
    gradBits: '8',
    evalBits: 8,
    epochs: 30,
    batchSize: 64,
    lr: 0.1,
    lrSchedule: 'constant',
    momentum: 0.9,
    weightDecay: 5e-4,
    seed: 1,
    profile: 'bit-fusion-45nm',
    baseline: 'static:8',
  };
}

async function benchTraining(label: string, config: RunConfig): Promise<void> {
  const dataset = loadDataset(config.dataset);
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-bench-'));
  const rates: number[] = [];
  try {
    for (let i = 0; i <= REPEATS; i++) {
      const r = await runSession(config, { outDir: out, dataset });
      if (i > 0) rates.push(r.summary.steps / r.summary.wallS);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  console.log(
    JSON.stringify({
      bench: label,
      model: 'mlp-64-128-10',
      dataset: config.dataset,
      schedule: config.schedule,
      batchSize: config.batchSize,
      chunkSteps: config.chunkSteps ?? 'default (50, capped at an epoch: 22)',
      stepsPerSecond: Math.round(median(rates)),
      min: Math.round(Math.min(...rates)),
      max: Math.round(Math.max(...rates)),
      runs: rates.length,
      bookkeeping: 'events + cost tally + run store',
    }),
  );
}

if (!process.env.BENCH_ONLY_UI) for (const schedule of ['static:32', 'static:8', 'cpt:3-8']) {
  await benchTraining('train', { ...baseConfig(schedule), evalBits: schedule === 'static:32' ? 32 : 8 });
}
// The per-call overhead the Loop removes: one step per onnxruntime run().
if (!process.env.BENCH_ONLY_UI) await benchTraining('train-one-step-per-call', { ...baseConfig('cpt:3-8'), chunkSteps: 1 });

// Cost model: a 64k-iteration ResNet-74 estimate (goal < 50 ms).
if (!process.env.BENCH_ONLY_UI) console.log(JSON.stringify(await benchEstimate()));

// Dashboard overhead, end to end: `bitcycle train` with the live dashboard on a pseudo-terminal
// (util-linux `script`) against `--no-dashboard`, same run; steps/s as the command reports it.
async function benchDashboard(): Promise<void> {
  const { spawnSync } = await import('node:child_process');
  const root = join(import.meta.dirname, '..');
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-bench-ui-'));
  const base = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, 'bin', 'bitcycle.js'))} train --epochs 300 --out ${JSON.stringify(out)}`;
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env.CI;
  const sps = (dashboard: boolean): number => {
    const r = dashboard
      ? spawnSync('script', ['-qec', `stty cols 120 rows 45; ${base}`, '/dev/null'], { env, encoding: 'utf8', input: '' })
      : spawnSync('sh', ['-c', `${base} --no-dashboard`], { env, encoding: 'utf8' });
    const m = /completed: .* (\d+) steps\/s/.exec(r.stdout ?? '');
    if (!m) throw new Error(`bench: could not read steps/s from train output (status ${r.status}): ${(r.stdout ?? '').slice(-300)} ${r.stderr ?? ''}`);
    return Number(m[1]);
  };
  // Paired design (plain, dashboard, plain, dashboard, …) and the median of per-pair ratios, so
  // drifts in machine speed cancel out.
  const plain: number[] = [];
  const live: number[] = [];
  try {
    for (let i = 0; i < 7; i++) {
      plain.push(sps(false));
      live.push(sps(true));
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const ratios = plain.map((p, i) => live[i]! / p);
  console.log(
    JSON.stringify({
      bench: 'dashboard-overhead',
      schedule: 'cpt:3-8',
      epochs: 300,
      plainStepsPerSecond: median(plain),
      dashboardStepsPerSecond: median(live),
      overheadPct: Number((100 * (1 - median(ratios))).toFixed(1)),
      overheadPctRange: [Number((100 * (1 - Math.max(...ratios))).toFixed(1)), Number((100 * (1 - Math.min(...ratios))).toFixed(1))],
      pairs: ratios.length,
      goal: '< 5 %',
    }),
  );
}
await benchDashboard();
