/**
 * One training run end to end: resolve the config, create (or reopen) the run directory, write the
 * artifacts, train with the engine, and feed its events to the run store, the cost tally and an
 * optional listener (dashboard or plain log). Used by `train`, `demo`, `prt`, the worker and bench.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readCheckpoint, writeCheckpoint } from '../artifacts/checkpoint.js';
import { loadDataset } from '../data/index.js';
import type { Dataset } from '../data/dataset.js';
import { type Artifacts, type TrainControl, Trainer } from '../engine/trainer.js';
import { addStepCosts, emptyCostTotals, type EngineEvent, type EngineListener, type RunSummary, type StepCostRecord } from '../engine/events.js';
import { RunError, UsageError } from '../errors.js';
import { processAlive } from '../util/process.js';
import { createModel } from '../models/registry.js';
import { makeSchedule, type Schedule } from '../schedule/schedule.js';
import { type RunConfig, type RunCost, type RunJson, RunStore, STEPS_HEADER, stepRow } from './store.js';
import { createStepCoster, type StepCoster } from './cost.js';

export const BITCYCLE_VERSION = '0.1.0';
const STEPS_FLUSH_MS = 1000;

export interface SessionOptions {
  /** Directory holding run directories (new runs). */
  outDir?: string;
  /** Resume this run directory instead of starting a new run. */
  resumeDir?: string;
  /** Run directory name (default: generated id). */
  name?: string;
  /** Receives every engine event (with per-step costs added to `steps` events). */
  onEvent?: EngineListener;
  control?: TrainControl;
  threads?: number;
  /** Do not write a run directory (precision range test bursts, bench). */
  ephemeral?: boolean;
  /** Reuse a data set already in memory. */
  dataset?: Dataset;
  /** Reuse artifacts already built for this model. */
  artifacts?: Artifacts;
  /**
   * Minimum time between checkpoints (written at epoch ends), in ms. Default 2000: on small
   * models an epoch takes milliseconds and an fsync'ed checkpoint per epoch would dominate.
   * 0 = every epoch. A checkpoint is always written at the start and at the end (or stop).
   */
  checkpointIntervalMs?: number;
}

export interface SessionResult {
  runId: string;
  runDir: string | null;
  status: 'completed' | 'stopped';
  summary: RunSummary;
  cost: RunCost | null;
  totalSteps: number;
}

export interface ResolvedRun {
  dataset: Dataset;
  schedule: Schedule;
  gradSchedule: Schedule;
  baseline: Schedule;
}

/** Parse `--grad-bits`: a bare number means static bits, otherwise a schedule spec. */
export function gradSchedule(spec: string): Schedule {
  return makeSchedule(/^\d+$/.test(spec.trim()) ? `static:${spec.trim()}` : spec);
}

export function validateConfig(config: RunConfig): void {
  if (!Number.isInteger(config.evalBits) || config.evalBits < 1 || config.evalBits > 32) throw new UsageError('--eval-bits', `expected an integer in 1..32, got ${config.evalBits}`);
}

function versions(): Record<string, string> {
  return { bitcycle: BITCYCLE_VERSION, node: process.version, onnxruntime: ort.env.versions?.common ?? 'unknown' };
}

/** Steps per epoch (the last incomplete batch is dropped) and total steps of a run. */
export function runGeometry(trainCount: number, batchSize: number, epochs: number): { stepsPerEpoch: number; totalSteps: number } {
  const stepsPerEpoch = Math.floor(trainCount / batchSize);
  if (stepsPerEpoch < 1) throw new UsageError('--batch-size', `${batchSize} exceeds the ${trainCount} training samples`);
  return { stepsPerEpoch, totalSteps: stepsPerEpoch * epochs };
}

/**
 * Train one run. With `options.resumeDir`, the run's own config (run.json) is used and `config`
 * may be null.
 */
export async function runSession(configOrNull: RunConfig | null, options: SessionOptions = {}): Promise<SessionResult> {
  let store: RunStore | null = options.resumeDir ? RunStore.open(options.resumeDir) : null;
  if (store?.run.status === 'completed') throw new RunError(store.dir, 'run already completed; nothing to resume');
  if (store?.run.status === 'running' && store.run.pid !== null && store.run.pid !== process.pid && processAlive(store.run.pid)) {
    throw new RunError(store.dir, `run is still being trained by process ${store.run.pid}; stop it first (q, Ctrl-C) or wait`);
  }
  const config = store ? store.run.config : configOrNull;
  if (!config) throw new UsageError('--resume', 'a run directory or a training config is required');
  validateConfig(config);
  const schedule = makeSchedule(config.schedule);
  const grads = gradSchedule(config.gradBits);
  const baseline = makeSchedule(config.baseline);
  const dataset = options.dataset ?? loadDataset(config.dataset, { dataDir: config.dataDir });
  const model = createModel(config.model, dataset.inputShape, dataset.classes, { hidden: config.hidden });
  const { stepsPerEpoch, totalSteps } = runGeometry(dataset.train.count, config.batchSize, config.epochs);
  const coster: StepCoster | null = createStepCoster(config.profile, model.layers(), config.batchSize);
  const baselineCost = (step: number, bitsGrad: number) => {
    const bits = baseline.bitsAt(step, totalSteps);
    return coster!.stepCost(bits, bits, bitsGrad);
  };

  // Cost totals so far (restored from steps.csv on resume).
  const totals = emptyCostTotals();
  let resumeFrom;
  if (store) {
    resumeFrom = readCheckpoint(store.checkpointFile);
    const rows = store.truncateTo(Number(resumeFrom.metadata.step));
    const col = (name: (typeof STEPS_HEADER)[number]) => STEPS_HEADER.indexOf(name);
    for (const cells of rows) {
      totals.energyJ += Number(cells[col('energy_j')]) || 0;
      totals.latencyS += Number(cells[col('latency_s')]) || 0;
      totals.bitops += Number(cells[col('bitops')]) || 0;
      if (coster) {
        const b = baselineCost(Number(cells[0]), Number(cells[col('bits_g')]));
        totals.baselineEnergyJ += b.energyJ;
        totals.baselineLatencyS += b.latencyS;
        totals.baselineBitops += b.bitops;
      }
    }
    store.update({ status: 'running', pid: process.pid, error: undefined });
  } else if (!options.ephemeral) {
    store = await RunStore.create(
      options.outDir ?? 'runs',
      {
        config,
        versions: versions(),
        modelId: model.id,
        datasetSource: dataset.source,
        progress: { step: 0, totalSteps, epoch: 0, stepsPerEpoch },
        layers: model.layers(),
      },
      options.name,
    );
  }
  const runId = store?.id ?? options.name ?? 'ephemeral';
  const trainer = new Trainer({
    runId,
    model,
    dataset,
    schedule,
    gradSchedule: grads,
    evalBits: config.evalBits,
    epochs: config.epochs,
    batchSize: config.batchSize,
    lr: config.lr,
    lrSchedule: config.lrSchedule,
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    seed: config.seed,
    chunkSteps: config.chunkSteps,
    threads: options.threads,
    artifacts: options.artifacts,
    resumeFrom,
  });
  if (store) {
    mkdirSync(store.artifactsDir, { recursive: true });
    writeFileSync(join(store.artifactsDir, 'training_model.onnx'), trainer.artifacts.training.bytes);
    writeFileSync(join(store.artifactsDir, 'eval_model.onnx'), trainer.artifacts.eval.bytes);
    writeFileSync(join(store.artifactsDir, 'manifest.json'), JSON.stringify(trainer.artifacts.manifest, null, 2) + '\n');
  }
  await trainer.init();
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 2000;
  let lastCheckpointAt = performance.now();
  if (store && !resumeFrom) writeCheckpoint(store.checkpointFile, trainer.checkpoint({ runId: store.id }));

  const runCost = (): RunCost | null => {
    if (!coster) return null;
    const pct = (a: number, b: number) => (b > 0 ? (100 * (b - a)) / b : 0);
    return {
      profile: coster.profileName,
      energyJ: totals.energyJ,
      latencyS: totals.latencyS,
      bitops: totals.bitops,
      baseline: { schedule: baseline.name, energyJ: totals.baselineEnergyJ, latencyS: totals.baselineLatencyS, bitops: totals.baselineBitops },
      savings: { energyPct: pct(totals.energyJ, totals.baselineEnergyJ), latencyPct: pct(totals.latencyS, totals.baselineLatencyS), bitopsPct: pct(totals.bitops, totals.baselineBitops) },
    };
  };

  // Writes are queued so they happen in event order without blocking the engine's listener.
  let writes: Promise<void> = Promise.resolve();
  const queue = (job: () => Promise<void> | void) => {
    writes = writes.then(job);
  };
  // steps.csv rows are batched: formatting costs ~1 ms per call plus ~12 µs per row, against a
  // ~200 µs training step. They are flushed at least every STEPS_FLUSH_MS, before every
  // checkpoint (so the file always covers the checkpoint) and at the end.
  let pendingRows: string[][] = [];
  let lastFlushAt = performance.now();
  const flushSteps = () => {
    lastFlushAt = performance.now();
    if (!store || pendingRows.length === 0) return;
    const s = store;
    const rows = pendingRows;
    pendingRows = [];
    queue(() => s.appendStepRows(rows));
  };

  trainer.on((event: EngineEvent) => {
    let forwarded = event;
    if (event.type === 'steps') {
      let costs: StepCostRecord[] | undefined;
      if (coster) {
        costs = event.steps.map((s) => {
          const c = coster.stepCost(s.bitsWeights, s.bitsActivations, s.bitsGrad);
          const b = baselineCost(s.step, s.bitsGrad);
          return { energyJ: c.energyJ, latencyS: c.latencyS, bitops: c.bitops, baselineEnergyJ: b.energyJ, baselineLatencyS: b.latencyS, baselineBitops: b.bitops };
        });
      }
      if (costs) addStepCosts(totals, costs);
      forwarded = { ...event, costs };
      if (store) {
        for (let i = 0; i < event.steps.length; i++) pendingRows.push(stepRow(event.steps[i]!, costs?.[i]));
        if (performance.now() - lastFlushAt >= STEPS_FLUSH_MS) flushSteps();
      }
    } else if (event.type === 'eval' && store) {
      const s = store;
      queue(() => s.appendEval(event.eval));
    } else if (event.type === 'checkpoint') {
      // The engine offers a consistent point; only the checkpoints written are passed on.
      if (!store || performance.now() - lastCheckpointAt < checkpointIntervalMs) return;
      lastCheckpointAt = performance.now();
      flushSteps();
      const s = store;
      const ckpt = trainer.checkpoint({ runId: s.id });
      const cost = runCost();
      queue(() => {
        writeCheckpoint(s.checkpointFile, ckpt);
        s.update({ progress: { ...s.run.progress, step: event.step, epoch: Math.floor(event.step / trainer.stepsPerEpoch) }, cost });
      });
    }
    options.onEvent?.(forwarded);
  });

  let result;
  try {
    result = await trainer.run(options.control);
    flushSteps();
    await writes;
  } catch (err) {
    flushSteps();
    await writes.catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    store?.update({ status: 'failed', pid: null, error: message });
    options.onEvent?.({ type: 'end', status: 'failed', summary: null, error: message });
    await trainer.release();
    throw err;
  }
  const cost = runCost();
  if (store) {
    writeCheckpoint(store.checkpointFile, trainer.checkpoint({ runId: store.id }));
    store.update({
      status: result.status,
      pid: null,
      summary: result.summary,
      cost,
      progress: { ...store.run.progress, step: trainer.currentStep, epoch: Math.floor(trainer.currentStep / trainer.stepsPerEpoch) },
    } satisfies Partial<RunJson>);
  }
  options.onEvent?.({ type: 'end', status: result.status, summary: result.summary });
  await trainer.release();
  return { runId, runDir: store?.dir ?? null, status: result.status, summary: result.summary, cost, totalSteps: trainer.totalSteps };
}
