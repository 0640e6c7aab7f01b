/**
 * One run of a sweep, wherever it runs (a local pool's worker thread, or a `bitcycle worker` on
 * another machine): train it (or continue it), then evaluate the trained model at lower precisions
 * (robustness). Data sets and artifacts are built once per worker and reused by every run that
 * shares them, so a run's overhead is the sessions it opens, not the model it compiles.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Artifacts, buildArtifacts } from '../artifacts/build.js';
import { optimizerSetup } from '../optim/optimizer.js';
import { readCheckpoint } from '../artifacts/checkpoint.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/index.js';
import type { TrainControl } from '../engine/trainer.js';
import { Trainer } from '../engine/trainer.js';
import { createModel } from '../models/registry.js';
import { DEFAULT_FP_LAYERS } from '../models/model.js';
import { formatModelSpec } from '../models/spec.js';
import { readRun } from '../runs/read.js';
import type { RunConfig } from '../runs/run-format.js';
import { resolveRun } from '../runs/resolve.js';
import type { SessionListener } from '../runs/events.js';
import { type BitsEvaluation, runSession } from '../runs/session.js';
import { precisionPolicy } from '../schedule/precision.js';

/** What a worker reports of a run (costs are tallied by the sweep from the stored steps). */
export interface RunOutcome {
  name: string;
  status: 'completed' | 'diverged' | 'stopped' | 'failed';
  /** Set when failed: the one-line reason. */
  error?: string;
  testAccuracy: number | null;
  testLoss: number | null;
  bestTestAccuracy: number | null;
  /** The trained model at Bmax−1, Bmax−2 and Bmin of its schedule (those ≥ 1, once each). */
  robustness: BitsEvaluation[];
}

/** The bit-widths a trained model is evaluated at for robustness (LRBench's robustness, for precision): Bmax−1, Bmax−2, Bmin. */
export function robustnessBits(config: RunConfig): number[] {
  const schedule = precisionPolicy(config).weightsActivations;
  if (schedule.formats) return []; // bit-widths below a format are not that format's robustness
  const bits = [schedule.bitsMax - 1, schedule.bitsMax - 2, schedule.bitsMin].filter((b) => b >= 1 && b !== config.evalBits);
  return [...new Set(bits)];
}

/** Data sets and artifacts kept by one worker across the runs it trains. */
export class WorkerCache {
  private readonly datasets = new Map<string, Dataset>();
  private readonly artifacts = new Map<string, Artifacts>();

  dataset(config: RunConfig): Dataset {
    const key = `${config.dataset}\u0000${config.dataDir ?? ''}`;
    let d = this.datasets.get(key);
    if (!d) this.datasets.set(key, (d = loadDataset(config.dataset, { dataDir: config.dataDir })));
    return d;
  }

  artifactsFor(config: RunConfig): Artifacts {
    const dataset = this.dataset(config);
    const fpLayers = config.fpLayers ?? DEFAULT_FP_LAYERS;
    const key = `${formatModelSpec(config.model)}\u0000${config.dataset}\u0000${config.dataDir ?? ''}\u0000${fpLayers}\u0000${config.optimizer ?? 'sgd'}\u0000${config.optimizerPrecision ?? ''}`;
    let a = this.artifacts.get(key);
    if (!a) this.artifacts.set(key, (a = buildArtifacts(createModel(config.model, dataset.inputShape, dataset.classes, fpLayers), optimizerSetup(config.optimizer, config.optimizerPrecision))));
    return a;
  }
}

export interface ExecuteOptions {
  /** Directory holding the sweep's run directories. */
  runsDir: string;
  cache: WorkerCache;
  control?: TrainControl;
  /** Directories searched for profiles given by name. */
  profileDirs?: string[];
  checkpointIntervalMs?: number;
  /** Training progress: steps done (of total), after each chunk. */
  onStep?: (step: number, total: number) => void;
}

/**
 * Train `name` in `runsDir` from `config`: a new run, or the continuation of one a killed sweep
 * left; a run already completed is only evaluated. Never throws for a run's own failure (a
 * diverged or failed run is an outcome); throws for a stop request's partial run only as
 * status `stopped`.
 */
export async function executeRun(name: string, config: RunConfig, options: ExecuteOptions): Promise<RunOutcome> {
  const dir = join(options.runsDir, name);
  const dataset = options.cache.dataset(config);
  const artifacts = options.cache.artifactsFor(config);
  const evaluateAt = robustnessBits(config);
  let total = 0;
  const onEvent: SessionListener = (e) => {
    if (e.type === 'start') total = e.totalSteps;
    else if (e.type === 'steps' && e.steps.length) options.onStep?.(e.steps.at(-1)!.step + 1, total);
  };
  const common = { dataset, artifacts, evaluateAt, onEvent, threads: 1, control: options.control, profileDirs: options.profileDirs, checkpointIntervalMs: options.checkpointIntervalMs };
  try {
    if (existsSync(join(dir, 'run.json'))) {
      const stored = readRun(dir).run;
      if (stored.status === 'completed') return await evaluateCompleted(name, dir, stored.config, stored.summary, evaluateAt, options.cache);
      if (stored.status === 'diverged' || stored.status === 'failed') {
        return { name, status: stored.status, error: stored.error, testAccuracy: stored.summary?.testAccuracy ?? null, testLoss: stored.summary?.testLoss ?? null, bestTestAccuracy: stored.summary?.bestTestAccuracy ?? null, robustness: [] };
      }
    }
    const exists = existsSync(dir);
    const result = exists ? await runSession(null, { ...common, resumeDir: dir }) : await runSession(config, { ...common, outDir: options.runsDir, name });
    return {
      name,
      status: result.status,
      testAccuracy: result.summary.testAccuracy,
      testLoss: result.summary.testLoss,
      bestTestAccuracy: result.summary.bestTestAccuracy,
      robustness: result.evaluations,
    };
  } catch (err) {
    return { name, status: 'failed', error: err instanceof Error ? err.message.split('\n')[0] : String(err), testAccuracy: null, testLoss: null, bestTestAccuracy: null, robustness: [] };
  }
}

/** A run that completed before its outcome was recorded (the sweep was killed in between): evaluate its final checkpoint. */
async function evaluateCompleted(
  name: string,
  dir: string,
  config: RunConfig,
  summary: { testAccuracy: number | null; testLoss: number | null; bestTestAccuracy: number | null } | null,
  bits: readonly number[],
  cache: WorkerCache,
): Promise<RunOutcome> {
  const run = resolveRun({ ...config, profile: 'none' }, { dataset: cache.dataset(config) });
  const trainer = new Trainer({ ...config, runId: name, model: run.model, dataset: run.dataset, schedule: run.precision.weightsActivations, gradSchedule: run.precision.errors, layerPlan: run.layerPlan, threads: 1, artifacts: cache.artifactsFor(config), resumeFrom: readCheckpoint(join(dir, 'checkpoint.safetensors')) });
  await trainer.init();
  try {
    const robustness: BitsEvaluation[] = [];
    for (const b of bits) robustness.push({ bits: b, ...(await trainer.evaluate(b)) });
    return { name, status: 'completed', testAccuracy: summary?.testAccuracy ?? null, testLoss: summary?.testLoss ?? null, bestTestAccuracy: summary?.bestTestAccuracy ?? null, robustness };
  } finally {
    await trainer.release();
  }
}
