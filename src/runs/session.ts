/**
 * One training run end to end, wired from its parts: resolve the run (./resolve.ts), build the
 * artifacts, open or create the run directory (./store.ts), restore the cost tally from the
 * stored steps on resume, train with the engine, turn its events into session events with costs
 * (./events.ts) and hand them to the recorder (./recorder.ts) and the listener (plain log,
 * dashboard, worker host). Used by `train`, `demo`, the worker and bench.
 */
import * as ort from 'onnxruntime-node';
import { type Artifacts, buildArtifacts } from '../artifacts/build.js';
import { type Checkpoint, initialCheckpoint } from '../artifacts/checkpoint.js';
import { writeArtifacts } from '../artifacts/export.js';
import type { Dataset } from '../data/dataset.js';
import type { Divergence, RunSummary } from '../engine/events.js';
import { type TrainControl, Trainer } from '../engine/trainer.js';
import { UsageError } from '../errors.js';
import { createCostModel } from '../hw/cost.js';
import { CostTally, type RunCost } from '../hw/tally.js';
import { runOptimizerCost } from '../hw/optimizer-cost.js';
import { VERSION } from '../version.js';
import { type SessionListener, sessionEvents } from './events.js';
import type { RunConfig } from './run-format.js';
import { RunRecorder } from './recorder.js';
import { type ResolvedRun, resolveRun } from './resolve.js';
import { openForResume, planResume } from './resume.js';
import { RunStore } from './store.js';

export interface SessionOptions {
  /** Directory holding run directories (new runs). */
  outDir?: string;
  /** Resume this run directory instead of starting a new run. */
  resumeDir?: string;
  /** Run directory name (default: generated id). */
  name?: string;
  /** With resumeDir: go back to the last consistent point instead of refusing a damaged run. */
  repair?: boolean;
  /** Directories searched for a profile given by name (before the shipped ones). */
  profileDirs?: string[];
  /** Receives every session event (engine events with the run's costs). */
  onEvent?: SessionListener;
  control?: TrainControl;
  threads?: number;
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
  /** After a completed run: evaluate the trained model at these bit-widths too (a sweep's robustness). */
  evaluateAt?: readonly number[];
}

export interface SessionResult {
  runId: string;
  runDir: string;
  status: 'completed' | 'stopped' | 'diverged';
  summary: RunSummary;
  cost: RunCost | null;
  /** Each GEMM layer's energy and its baseline's (the cost model's breakdown; null without a profile). */
  costByLayer: LayerEnergy[] | null;
  /** The run's per-layer precision plan (config `layerPrecision`), if it has one. */
  layerPrecision?: string;
  totalSteps: number;
  divergence?: Divergence;
  /** What `repair` dropped (empty otherwise). */
  repairs: string[];
  /** The evaluations asked for by `evaluateAt` (completed runs only). */
  evaluations: BitsEvaluation[];
}

export interface LayerEnergy {
  layer: string;
  energyJ: number;
  baselineEnergyJ: number;
}

/** The trained model evaluated on the test split at one bit-width of weights and activations. */
export interface BitsEvaluation {
  bits: number;
  accuracy: number;
  loss: number;
}

function versions(): Record<string, string> {
  return { bitcycle: VERSION, node: process.version, onnxruntime: ort.env.versions?.common ?? 'unknown' };
}

/**
 * Train one run. With `options.resumeDir`, the run's own config (run.json) is used and `config`
 * may be null. The run directory is claimed for the whole session and released at its end,
 * however it ends.
 */
export async function runSession(configOrNull: RunConfig | null, options: SessionOptions = {}): Promise<SessionResult> {
  const opened = options.resumeDir ? openForResume(options.resumeDir) : null;
  try {
    return await train(opened, configOrNull, options);
  } finally {
    opened?.release();
  }
}

async function train(opened: RunStore | null, configOrNull: RunConfig | null, options: SessionOptions): Promise<SessionResult> {
  const config = opened ? opened.run.config : configOrNull;
  if (!config) throw new UsageError('--resume', 'a run directory or a training config is required');
  // A run that never got past `starting` may lack its profile copy: it is started afresh, with the
  // profile its config names (copied again). Every other resumed run uses its own copy.
  const notStarted = opened?.run.status === 'starting';
  const storedProfile = opened?.run.profileCopy && !notStarted ? { dir: opened.dir, copy: opened.run.profileCopy } : undefined;
  const run = resolveRun(config, { dataset: options.dataset, storedProfile, profileDirs: options.profileDirs });
  const artifacts = options.artifacts ?? buildArtifacts(run.model, run.optimizer, { gradient: config.objective === true });
  const tally = run.profile
    ? new CostTally(createCostModel(run.profile, artifacts.layers, config.batchSize), run.precision.baseline, run.totalSteps, undefined, runOptimizerCost(run.profile, artifacts.layers, config, run.stepsPerEpoch))
    : null;

  let store: RunStore;
  let resumeFrom: Checkpoint | undefined;
  let history: { bestTestAccuracy: number | null; lastTrainLoss: number | null } = { bestTestAccuracy: null, lastTrainLoss: null };
  let repairs: string[] = [];
  if (opened) {
    store = opened;
    const plan = planResume(store, {
      runId: store.id,
      seed: config.seed,
      totalSteps: run.totalSteps,
      stepsPerEpoch: run.stepsPerEpoch,
      schedule: run.precision.weightsActivations,
      gradSchedule: run.precision.errors,
      layerPlan: run.layerPlan,
      manifest: artifacts.manifest,
      model: run.model,
      profile: run.profileSource ?? undefined,
    }, options.repair === true);
    resumeFrom = plan.checkpoint;
    repairs = plan.repairs;
    tally?.add(plan.steps);
    const accs = plan.evals.map((e) => e.testAcc).filter(Number.isFinite);
    const lastLoss = plan.steps.at(-1)?.loss;
    history = { bestTestAccuracy: accs.length ? Math.max(...accs) : null, lastTrainLoss: lastLoss !== undefined && Number.isFinite(lastLoss) ? lastLoss : null };
    store.update({ status: 'running', pid: process.pid, error: undefined, progress: { ...store.run.progress, step: plan.fromStep, epoch: Math.floor(plan.fromStep / run.stepsPerEpoch) } });
  } else {
    store = await RunStore.create(
      options.outDir ?? 'runs',
      {
        config: run.config,
        versions: versions(),
        modelId: run.model.id,
        datasetSource: run.dataset.source,
        progress: { step: 0, totalSteps: run.totalSteps, epoch: 0, stepsPerEpoch: run.stepsPerEpoch },
        layers: artifacts.layers,
      },
      { name: options.name, profile: run.profileSource ?? undefined, initial: (runId) => withRunId(initialCheckpoint(run.model, config.seed, run.optimizer), runId) },
    );
  }
  try {
    return await trainClaimed(store, run, artifacts, tally, resumeFrom, history, repairs, options);
  } finally {
    if (!opened) store.release();
  }
}

function withRunId(c: Checkpoint, runId: string): Checkpoint {
  c.metadata.runId = runId;
  return c;
}

async function trainClaimed(
  store: RunStore,
  run: ResolvedRun,
  artifacts: Artifacts,
  tally: CostTally | null,
  resumeFrom: Checkpoint | undefined,
  history: { bestTestAccuracy: number | null; lastTrainLoss: number | null },
  repairs: string[],
  options: SessionOptions,
): Promise<SessionResult> {
  const { config } = run;
  const runId = store.id;
  const { evalBits, evalFormat, lossScale, lossWeight, epochs, batchSize, lr, lrSchedule, momentum, weightDecay, optimizer, optimizerPrecision, seed, chunkSteps, kernels, objective } = config;
  const trainer = new Trainer({
    ...{ evalBits, evalFormat, lossScale, lossWeight, epochs, batchSize, lr, lrSchedule, momentum, weightDecay, optimizer, optimizerPrecision, seed, chunkSteps, kernels },
    runId,
    model: run.model,
    dataset: run.dataset,
    schedule: run.precision.weightsActivations,
    gradSchedule: run.precision.errors,
    layerPlan: run.layerPlan,
    threads: options.threads,
    artifacts,
    trackObjective: objective === true,
    resumeFrom,
    bestTestAccuracy: history.bestTestAccuracy,
    lastTrainLoss: history.lastTrainLoss,
  });
  writeArtifacts(store.artifactsDir, artifacts);
  await trainer.init();
  const takeCheckpoint = () => trainer.checkpoint({ runId });
  const recorder = new RunRecorder(store, run.stepsPerEpoch, { checkpointIntervalMs: options.checkpointIntervalMs });

  const toSession = sessionEvents({ config, modelId: run.model.id, layers: artifacts.layers, bitsWA: trainer.bitsWA, bitsGrad: trainer.bitsG, tally });
  trainer.on((event) => {
    // The engine offers consistent points; only the checkpoints actually written are passed on.
    if (event.type === 'checkpoint' && !recorder.offerCheckpoint(event.step, takeCheckpoint, tally?.totals() ?? null)) return;
    const e = toSession(event);
    if (e.type === 'steps') recorder.steps(e.steps, e.costs);
    else if (e.type === 'eval') recorder.eval(e.eval);
    else if (e.type === 'anchor') recorder.anchor(e.anchor);
    else if (e.type === 'objective') recorder.objective(e.objective);
    options.onEvent?.(e);
  });

  let result;
  try {
    result = await trainer.run(options.control);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await recorder.fail(message);
    options.onEvent?.(toSession({ type: 'end', status: 'failed', summary: null, error: message }));
    await trainer.release();
    throw err;
  }
  const cost = tally?.totals() ?? null;
  if (result.status === 'diverged') await recorder.diverged(trainer.currentStep, result.divergence!, result.summary, cost);
  else await recorder.finish(result.status, trainer.currentStep, takeCheckpoint(), result.summary, cost);
  options.onEvent?.(toSession({ type: 'end', status: result.status, summary: result.summary, divergence: result.divergence }));
  const evaluations: BitsEvaluation[] = [];
  if (result.status === 'completed') for (const bits of options.evaluateAt ?? []) evaluations.push({ bits, ...(await trainer.evaluate(bits)) });
  await trainer.release();
  const b = tally?.breakdown();
  const costByLayer = b ? b.run.byLayer.map((l, i) => ({ layer: l.layer, energyJ: l.energyJ, baselineEnergyJ: b.baseline.byLayer[i]!.energyJ })) : null;
  const plan = config.layerPrecision !== undefined ? { layerPrecision: config.layerPrecision } : {};
  return { runId, runDir: store.dir, status: result.status, summary: result.summary, cost, costByLayer, ...plan, totalSteps: trainer.totalSteps, divergence: result.divergence, repairs, evaluations };
}
