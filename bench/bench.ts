/**
 * `npm run bench [training] [estimate] [dashboard] [conv] [noise] [cnn] [predict] [sweep]` (all sections by default),
 * one JSON line per figure:
 * - training: steps/s of the digits MLP (64-128-10, batch 64, 30 epochs) and, with Fashion-MNIST
 *   installed, the Fashion-MNIST MLP (784-256-10, batch 128, 1 epoch), on integer kernels and on
 *   fp32 fake quantization, with the whole engine bookkeeping (events, cost tally, run store
 *   writes), medians over BENCH_REPEATS rounds (default 5);
 * - estimate: the 64k-iteration ResNet-74 cost estimate;
 * - dashboard: training throughput with and without the live dashboard;
 * - conv: forward Conv and the two gradient formulations per conv layer shape (bench/conv.ts);
 * - noise: in-graph stochastic-rounding noise against the host-fed table (bench/noise.ts);
 * - cnn: steps/s and peak RSS of the CNN and ResNet-20 on Fashion-MNIST, 1 and 2 threads, one
 *   child process per run, medians over BENCH_REPEATS rounds; BENCH_CNN_STEPS sets the CNN's
 *   training steps (default 60, ResNet-20 a third of it) (bench/cnn.ts);
 * - predict: the cost model against reality: calibrates this machine (`profile calibrate`'s
 *   measurement, or the profile at BENCH_PROFILE=path) and prints, for the Fashion-MNIST MLP
 *   784-256-10, the digits MLP and the CNN (cpt:3-8, 1 thread), the per-step time the cost model
 *   predicts with that profile beside the measured one and their ratio, per kernel path
 *   (`--kernels int` and `fake`), medians over BENCH_REPEATS rounds (bench/predict.ts);
 * - sweep: the digits sweep of 5 schedules × 3 seeds × 2 profiles, wall time and per-run overhead,
 *   on the local pool and through Redis with 2 workers (bench/sweep.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../src/data/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { DEFAULT_KERNELS, type Kernels } from '../src/engine/kernels.js';
import { createModel } from '../src/models/registry.js';
import { runSession } from '../src/runs/session.js';
import type { RunConfig } from '../src/runs/run-format.js';
import { benchCnnTraining } from './cnn.js';
import { benchConfig, median } from './common.js';
import { benchConvGradients } from './conv.js';
import { benchEstimate } from './hw.js';
import { benchNoise } from './noise.js';
import { benchPredict } from './predict.js';
import { benchSweep } from './sweep.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);

const baseConfig = (schedule: string): RunConfig => benchConfig({ schedule });

interface TrainingCase {
  label: string;
  config: RunConfig;
  goalStepsPerSecond?: number;
}

/** The Fashion-MNIST MLP of the integer-kernel goals: 784-256-10, batch 128, one epoch. */
function fashionMlpConfig(kernels: Kernels): RunConfig {
  return benchConfig({ model: { name: 'mlp', hidden: [256] }, dataset: 'fashion-mnist', epochs: 1, batchSize: 128, lr: 0.05, kernels });
}

/**
 * All configurations in rounds (A B C D, A B C D, …) rather than one after another, so a drift in
 * machine speed (shared, noisy machines) touches every configuration alike; medians per config.
 */
async function benchTraining(all: TrainingCase[]): Promise<void> {
  const datasets = new Map<string, Dataset>();
  const cases: TrainingCase[] = [];
  for (const c of all) {
    try {
      if (!datasets.has(c.config.dataset)) datasets.set(c.config.dataset, loadDataset(c.config.dataset));
      cases.push(c);
    } catch (e) {
      console.log(JSON.stringify({ bench: c.label, dataset: c.config.dataset, kernels: c.config.kernels, skipped: (e as Error).message }));
    }
  }
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-bench-'));
  const rates = cases.map(() => [] as number[]);
  try {
    for (let round = 0; round <= REPEATS; round++) {
      for (const [i, c] of cases.entries()) {
        const r = await runSession(c.config, { outDir: out, dataset: datasets.get(c.config.dataset)! });
        if (round > 0) rates[i]!.push(r.summary.steps / r.summary.wallS); // round 0 warms up
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  cases.forEach(({ label, config, goalStepsPerSecond }, i) => {
    const r = rates[i]!;
    const data = datasets.get(config.dataset)!;
    const stepsPerEpoch = Math.floor(data.train.count / config.batchSize);
    console.log(
      JSON.stringify({
        bench: label,
        model: createModel(config.model, data.inputShape, data.classes).id,
        dataset: config.dataset,
        schedule: config.schedule,
        gradBits: config.gradBits,
        ...(config.lossScale ? { lossScale: config.lossScale } : {}),
        kernels: config.kernels ?? DEFAULT_KERNELS,
        batchSize: config.batchSize,
        epochs: config.epochs,
        chunkSteps: config.chunkSteps ?? `default (50, capped at an epoch: ${Math.min(50, stepsPerEpoch)})`,
        stepsPerSecond: Math.round(median(r)),
        min: Math.round(Math.min(...r)),
        max: Math.round(Math.max(...r)),
        runs: r.length,
        goalStepsPerSecond: goalStepsPerSecond === undefined ? null : `≥ ${goalStepsPerSecond}`,
        bookkeeping: 'events + cost tally + run store, one evaluation per epoch',
      }),
    );
  });
}

const sections = process.argv.slice(2);
const want = (name: string) => sections.length === 0 || sections.includes(name);

if (want('training')) {
  await benchTraining([
    ...['static:32', 'static:8', 'cpt:3-8'].map((schedule) => ({
      label: 'train',
      config: { ...baseConfig(schedule), evalBits: schedule === 'static:32' ? 32 : 8 },
      goalStepsPerSecond: schedule === 'cpt:3-8' ? 6000 : undefined,
    })),
    // integer kernels against fp32 fake quantization (goals of issue 11 on the int path)
    { label: 'train', config: { ...baseConfig('cpt:3-8'), kernels: 'fake' } },
    { label: 'train', config: fashionMlpConfig('int'), goalStepsPerSecond: 600 },
    { label: 'train', config: fashionMlpConfig('fake') },
    // number formats: HFP8 (e4m3 forward, e5m2 errors) on the float quantizer graphs, fp16 with layer-wise loss scaling
    { label: 'train', config: { ...baseConfig('static:fp8-e4m3'), gradBits: 'fp8-e5m2', evalBits: 8, evalFormat: 'fp8-e4m3' } },
    { label: 'train', config: { ...baseConfig('static:fp16'), gradBits: 'fp16', evalBits: 16, evalFormat: 'fp16', lossScale: 'layer' } },
    // The per-call overhead the Loop removes: one step per onnxruntime run().
    { label: 'train-one-step-per-call', config: { ...baseConfig('cpt:3-8'), chunkSteps: 1 } },
  ]);
}

// Cost model: a 64k-iteration ResNet-74 estimate (goal < 50 ms).
if (want('estimate')) console.log(JSON.stringify(await benchEstimate()));

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
if (want('dashboard')) await benchDashboard();

if (want('conv')) await benchConvGradients();
if (want('noise')) await benchNoise();
if (want('cnn')) await benchCnnTraining();
if (want('predict')) await benchPredict();
if (want('sweep')) await benchSweep();
