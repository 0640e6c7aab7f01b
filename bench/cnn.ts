/**
 * Real image-model training on Fashion-MNIST with all the bookkeeping (session, events, cost tally,
 * run store writes): steps/s and peak RSS of
 * - `cnn`, batch 128, cpt:3-8, lr 0.05: `--kernels int` with 1 thread (goal ≥ 30 steps/s) and 2
 *   threads (goal ≥ 20), `--kernels fake` with 1 thread (goal ≥ 12); peak RSS ≤ 1.5 GB;
 * - `resnet:depth=20`, batch 128, static:8, 1 and 2 threads (goal peak RSS ≤ 3 GB).
 * Peak RSS is a per-process figure, so every run is a child process of its own (`node --import tsx
 * bench/cnn.ts <job-json>`), which loads the whole data set, trains one epoch on the first
 * 128 × steps training samples (60 steps for the CNN, a third of that for ResNet-20;
 * BENCH_CNN_STEPS sets the CNN's count) and evaluates once on the first 1000 test samples, then
 * prints one JSON line: steps/s as the session summary reports it (trained steps / wall time of the
 * training loop, which includes that evaluation) and `process.resourceUsage().maxRSS` in MB (MiB).
 * The parent runs the configurations in interleaved rounds, BENCH_REPEATS (default 5) of them, and
 * prints one JSON line per configuration: median steps/s (with min and max) and the largest peak
 * RSS, next to the goals. Without Fashion-MNIST (/usr/share/datasets/fashion-mnist) it prints one
 * line saying the section was skipped and why. Standalone: `npx tsx bench/cnn.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Dataset, loadDataset } from '../src/data/index.js';
import { DEFAULT_KERNELS, type Kernels } from '../src/engine/kernels.js';
import { DataError } from '../src/errors.js';
import { formatModelSpec } from '../src/models/spec.js';
import type { RunConfig } from '../src/runs/run-format.js';
import { runSession } from '../src/runs/session.js';
import { benchConfig, firstRows, median } from './common.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const CNN_STEPS = Number(process.env.BENCH_CNN_STEPS ?? 60);
const BATCH = 128;
const TEST_SAMPLES = 1000;

/** One child run: a config, its onnxruntime threads and how much of each split it uses. */
interface Job {
  config: RunConfig;
  threads: number;
  trainSamples: number;
  testSamples: number;
}

type ChildResult = { skipped: string } | { steps: number; stepsPerSecond: number; peakRssMB: number };

interface Case {
  job: Job;
  goalStepsPerSecond?: number;
  goalPeakRssMB: number;
}

function config(model: RunConfig['model'], schedule: string, kernels: Kernels = DEFAULT_KERNELS): RunConfig {
  return benchConfig({ kernels, model, dataset: 'fashion-mnist', schedule, epochs: 1, batchSize: BATCH, lr: 0.05 });
}

function cases(): Case[] {
  if (!(Number.isInteger(CNN_STEPS) && CNN_STEPS >= 1)) throw new Error(`bench: BENCH_CNN_STEPS must be a positive integer, got "${process.env.BENCH_CNN_STEPS}"`);
  const resnetSteps = Math.max(1, Math.round(CNN_STEPS / 3));
  const job = (c: RunConfig, threads: number, steps: number): Job => ({ config: c, threads, trainSamples: BATCH * steps, testSamples: TEST_SAMPLES });
  return [
    // goals: ≥ 30 steps/s on integer kernels (issue 11), ≥ 12 / ≥ 20 in fp32 with 1 / 2 threads (issue 10)
    { job: job(config({ name: 'cnn' }, 'cpt:3-8', 'int'), 1, CNN_STEPS), goalStepsPerSecond: 30, goalPeakRssMB: 1536 },
    { job: job(config({ name: 'cnn' }, 'cpt:3-8', 'fake'), 1, CNN_STEPS), goalStepsPerSecond: 12, goalPeakRssMB: 1536 },
    { job: job(config({ name: 'cnn' }, 'cpt:3-8', 'int'), 2, CNN_STEPS), goalStepsPerSecond: 20, goalPeakRssMB: 1536 },
    { job: job(config({ name: 'resnet', depth: 20 }, 'static:8'), 1, resnetSteps), goalPeakRssMB: 3072 },
    { job: job(config({ name: 'resnet', depth: 20 }, 'static:8'), 2, resnetSteps), goalPeakRssMB: 3072 },
  ];
}

/** In the child: load the data set, train the job's run in a scratch directory, measure. */
async function runJob(job: Job): Promise<ChildResult> {
  let full: Dataset;
  try {
    full = loadDataset(job.config.dataset);
  } catch (err) {
    if (err instanceof DataError) return { skipped: err.message };
    throw err;
  }
  const dataset = firstRows(full, job.trainSamples, job.testSamples);
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-bench-cnn-'));
  try {
    const r = await runSession(job.config, { outDir: out, dataset, threads: job.threads });
    if (r.status !== 'completed' || r.summary.stepsPerSecond === null) throw new Error(`bench: ${formatModelSpec(job.config.model)} run ended ${r.status} after ${r.summary.steps} steps`);
    return { steps: r.summary.steps, stepsPerSecond: r.summary.stepsPerSecond, peakRssMB: process.resourceUsage().maxRSS / 1024 };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** In the parent: one job in a fresh Node process; its JSON line. */
function spawnJob(job: Job): ChildResult {
  const root = join(import.meta.dirname, '..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(job)], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`bench: child run of ${formatModelSpec(job.config.model)} (${job.threads} threads) failed (status ${r.status}, signal ${r.signal}): ${line}`);
  return JSON.parse(line) as ChildResult;
}

const round1 = (v: number) => Number(v.toFixed(1));

/**
 * All configurations in rounds (A B C D, A B C D, …) so a drift in machine speed touches every
 * configuration alike. No warm-up round: every run is a fresh process anyway, and the data set is
 * read outside the timed loop.
 */
export async function benchCnnTraining(): Promise<void> {
  const all = cases();
  const rates = all.map(() => [] as number[]);
  const rss = all.map(() => [] as number[]);
  const steps = all.map(() => 0);
  for (let round = 0; round < REPEATS; round++) {
    for (const [i, { job }] of all.entries()) {
      const r = spawnJob(job);
      if ('skipped' in r) {
        console.log(JSON.stringify({ bench: 'cnn-train', dataset: job.config.dataset, skipped: r.skipped }));
        return;
      }
      rates[i]!.push(r.stepsPerSecond);
      rss[i]!.push(r.peakRssMB);
      steps[i] = r.steps;
    }
  }
  all.forEach(({ job, goalStepsPerSecond, goalPeakRssMB }, i) => {
    const sps = median(rates[i]!);
    const peak = Math.max(...rss[i]!);
    console.log(
      JSON.stringify({
        bench: 'cnn-train',
        model: formatModelSpec(job.config.model),
        dataset: job.config.dataset,
        schedule: job.config.schedule,
        kernels: job.config.kernels,
        batchSize: job.config.batchSize,
        threads: job.threads,
        steps: steps[i],
        epochs: job.config.epochs,
        trainSamples: job.trainSamples,
        testSamples: job.testSamples,
        chunkSteps: job.config.chunkSteps ?? 'default (50, capped at an epoch)',
        stepsPerSecond: round1(sps),
        min: round1(Math.min(...rates[i]!)),
        max: round1(Math.max(...rates[i]!)),
        peakRssMB: Math.round(peak),
        runs: rates[i]!.length,
        goalStepsPerSecond: goalStepsPerSecond === undefined ? null : `≥ ${goalStepsPerSecond}`,
        goalPeakRssMB: `≤ ${goalPeakRssMB}`,
        meetsGoals: (goalStepsPerSecond === undefined || sps >= goalStepsPerSecond) && peak <= goalPeakRssMB,
        measured: 'one process per run: summary.stepsPerSecond (training loop incl. one evaluation of the test subset), max RSS over the runs (whole data set loaded, then cut)',
        bookkeeping: 'session + events + cost tally + run store',
      }),
    );
  });
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const arg = process.argv[2];
  if (arg === undefined) await benchCnnTraining();
  else console.log(JSON.stringify(await runJob(JSON.parse(arg) as Job)));
}
