/**
 * The training engine: runs the generated artifacts in onnxruntime InferenceSessions, K steps per
 * `run()` (the training model is an ONNX Loop), feeds each step's bit-widths from the schedule,
 * evaluates after every epoch, checkpoints, and emits events. It knows nothing of files other than
 * the checkpoint it is given, nor of hardware models or terminals.
 */
import { DEFAULT_KERNELS, INT_KERNEL_MAX_BITS, type Kernels } from './kernels.js';
import * as ort from 'onnxruntime-node';
import { type Artifacts, buildArtifacts, finish } from '../artifacts/build.js';
import { MAX_INT_REDUCTION, kernelProbe } from '../quant/integer.js';
import { type Checkpoint, initialCheckpoint } from '../artifacts/checkpoint.js';
import { INPUT, OUTPUT, newName } from '../artifacts/interface.js';
import { type Dataset, featureSize } from '../data/dataset.js';
import type { ModelDef } from '../models/model.js';
import { type Schedule, scheduleBits, scheduleWarning } from '../schedule/schedule.js';
import { type LrPolicy, lrWarning, makeLrPolicy } from '../schedule/lr.js';
import { Rng, mixSeed, permutation } from '../util/random.js';
import type { Divergence, EngineEvent, EngineListener, EvalRecord, RunSummary, StepRecord } from './events.js';

/** The numbers that define how a run trains (shared by the engine and the stored run config). */
export interface TrainingHyperparameters {
  /** Bit-width of evaluation (weights and activations). */
  evalBits: number;
  epochs: number;
  batchSize: number;
  /** The base rate (`--lr`): the high rate of a learning-rate policy without an explicit range. */
  lr: number;
  /** Learning-rate policy spec (src/schedule/lr.ts, docs/schedules.md), canonical in run.json: `constant`, `cosine`, `step:every=0.3`, … */
  lrSchedule: string;
  momentum: number;
  weightDecay: number;
  seed: number;
  /** Steps per onnxruntime call (the Loop trip count); default DEFAULT_CHUNK_STEPS, capped at an epoch. */
  chunkSteps?: number;
  /**
   * GEMM kernels of quantized layers: `int` (default) runs the steps whose bit-widths are all ≤ 8
   * on integer kernels (src/quant/integer.ts), `fake` runs every step in fp32 on fake-quantized values.
   */
  kernels?: Kernels;
}

export { type Kernels, KERNELS, DEFAULT_KERNELS, INT_KERNEL_MAX_BITS } from './kernels.js';

export interface TrainOptions extends TrainingHyperparameters {
  runId: string;
  model: ModelDef;
  dataset: Dataset;
  /** Weights and activations follow this schedule. */
  schedule: Schedule;
  /** Errors (back-propagated gradients) follow this one. */
  gradSchedule: Schedule;
  /** intra-op threads for onnxruntime (default 1: faster than 2 for these sizes). */
  threads?: number;
  /** Continue from this checkpoint instead of initialising. */
  resumeFrom?: Checkpoint;
  /** Best test accuracy of the evaluations before `resumeFrom` (the summary's best covers the whole run). */
  bestTestAccuracy?: number | null;
  /** Training loss of the step before `resumeFrom` (the summary's final loss when nothing is left to train). */
  lastTrainLoss?: number | null;
  /** Prebuilt artifacts (else built from the model). */
  artifacts?: Artifacts;
}

export interface TrainControl {
  /** Set to stop after the current chunk: a checkpoint is written and the run ends 'stopped'. */
  stopRequested: boolean;
  paused: boolean;
  /** Resolved when paused becomes false. */
  waitWhilePaused?: () => Promise<void>;
}

export interface TrainResult {
  status: 'completed' | 'stopped' | 'diverged';
  summary: RunSummary;
  /** Set when status is `diverged`: training stopped at once, no checkpoint of the diverged state. */
  divergence?: Divergence;
}

const finiteOrNull = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);


const PURPOSE_SHUFFLE = 0x5f1;
const PURPOSE_NOISE = 0x7015e;
const PURPOSE_AUGMENT = 0xa06;
/** Test samples per eval-model run. */
export const EVAL_BATCH = 500;
/** Steps per onnxruntime call unless told otherwise (and never across an epoch end). */
export const DEFAULT_CHUNK_STEPS = 50;

let probe: Promise<boolean> | null = null;

/** Whether onnxruntime's uint8 × int8 `MatMulInteger` is exact on this machine (probed once per process). */
export function integerKernelsExact(): Promise<boolean> {
  probe ??= (async () => {
    const { graph, expected } = kernelProbe();
    const session = await ort.InferenceSession.create(finish(graph, 'integer kernel probe'), { intraOpNumThreads: 1 });
    try {
      const out = await session.run({});
      return Array.from(out.product!.data as Int32Array).every((v, i) => v === expected[i]);
    } finally {
      await session.release();
    }
  })();
  return probe;
}

export class Trainer {
  private trainSession!: ort.InferenceSession;
  private evalSession!: ort.InferenceSession;
  readonly artifacts: Artifacts;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly bitsWA: Uint8Array;
  readonly bitsG: Uint8Array;
  /** The learning-rate policy of `options.lrSchedule`. */
  readonly lrPolicy: LrPolicy;
  private state = new Map<string, ort.Tensor>();
  /** Integer kernels are on for this run (kernels `int`, an integer-capable model, an exact kernel here). */
  private integerKernels = false;
  /** Why the run does not use what it asked for (shown with the start event). */
  private readonly warnings: string[] = [];
  private step = 0;
  private listeners: EngineListener[] = [];

  constructor(readonly options: TrainOptions) {
    this.artifacts = options.artifacts ?? buildArtifacts(options.model);
    this.stepsPerEpoch = Math.floor(options.dataset.train.count / options.batchSize);
    if (this.stepsPerEpoch < 1) throw new Error(`batch size ${options.batchSize} exceeds the ${options.dataset.train.count} training samples`);
    this.totalSteps = this.stepsPerEpoch * options.epochs;
    this.bitsWA = scheduleBits(options.schedule, this.totalSteps);
    this.bitsG = scheduleBits(options.gradSchedule, this.totalSteps);
    this.lrPolicy = makeLrPolicy(options.lrSchedule);
  }

  /** Step t runs on integer kernels (kernels `int`, an integer-capable model, every bit-width ≤ 8). */
  private integerStep(t: number): boolean {
    return this.integerKernels && this.bitsWA[t]! <= INT_KERNEL_MAX_BITS && this.bitsG[t]! <= INT_KERNEL_MAX_BITS;
  }

  on(listener: EngineListener): void {
    this.listeners.push(listener);
  }

  private emit(event: EngineEvent): void {
    for (const l of this.listeners) l(event);
  }

  async init(): Promise<void> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: this.options.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    this.trainSession = await ort.InferenceSession.create(this.artifacts.training.bytes, sessionOptions);
    this.evalSession = await ort.InferenceSession.create(this.artifacts.eval.bytes, sessionOptions);
    const start = this.options.resumeFrom ?? initialCheckpoint(this.options.model, this.options.seed);
    for (const spec of this.stateSpecs()) {
      const t = start.tensors.get(spec.name);
      if (!t) throw new Error(`checkpoint has no tensor ${spec.name}`);
      if (t.shape.join('x') !== (spec.shape as number[]).join('x')) throw new Error(`checkpoint tensor ${spec.name} has shape ${t.shape.join('×')}, model wants ${spec.shape.join('×')}`);
      this.state.set(spec.name, new ort.Tensor('float32', t.data, t.shape));
    }
    this.step = Number(start.metadata.step ?? '0');
    const o = this.options;
    this.warnings.length = 0;
    this.integerKernels = (o.kernels ?? DEFAULT_KERNELS) === 'int' && this.artifacts.manifest.training.integerLayers > 0;
    const rows = this.artifacts.manifest.training.integerRowsPerSample;
    if (this.integerKernels && o.batchSize * rows > MAX_INT_REDUCTION) {
      this.integerKernels = false;
      this.warnings.push(
        `--kernels int: a weight gradient would sum ${o.batchSize} × ${rows} = ${o.batchSize * rows} products, more than the ${MAX_INT_REDUCTION} that stay exact in int32; every step runs on the fp32 path (a batch of at most ${Math.floor(MAX_INT_REDUCTION / rows)} runs on integer kernels)`,
      );
    }
    if (this.integerKernels && !(await integerKernelsExact())) {
      this.integerKernels = false;
      this.warnings.push('--kernels int: onnxruntime\'s uint8 × int8 kernel is not exact on this CPU (it saturates without AVX512-VNNI/AVX-VNNI); every step runs on the fp32 path');
    }
  }

  /** Everything carried from step to step: parameters, optimizer state, model buffers. */
  private stateSpecs() {
    const t = this.artifacts.manifest.training;
    return [...t.params, ...t.optimizerState, ...t.buffers];
  }

  get currentStep(): number {
    return this.step;
  }

  /** Whether every parameter and optimizer state value is finite (checked before a checkpoint is offered). */
  stateIsFinite(): boolean {
    for (const t of this.state.values()) {
      const data = t.data as Float32Array;
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return false;
    }
    return true;
  }

  checkpoint(extra: Record<string, string> = {}): Checkpoint {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of this.state) tensors.set(name, { shape: [...t.dims], data: Float32Array.from(t.data as Float32Array) });
    return { tensors, metadata: { step: String(this.step), epoch: String(Math.floor(this.step / this.stepsPerEpoch)), seed: String(this.options.seed), ...extra } };
  }

  /**
   * Evaluate the test split at `bits`, EVAL_BATCH samples per run (memory bounded by the batch,
   * not the split): the loss is the mean over all samples, the accuracy the fraction correct.
   */
  async evaluate(bits: number): Promise<{ loss: number; accuracy: number }> {
    const { test, inputShape } = this.options.dataset;
    const width = featureSize(this.options.dataset);
    const bitsTensor = new ort.Tensor('float32', Float32Array.of(bits), []);
    const fixed: Record<string, ort.Tensor> = { [INPUT.bitsWeights]: bitsTensor, [INPUT.bitsActivations]: bitsTensor };
    for (const p of this.artifacts.manifest.eval.inputs) {
      const state = this.state.get(p.name);
      if (state) fixed[p.name] = state;
    }
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < test.count; start += EVAL_BATCH) {
      const n = Math.min(EVAL_BATCH, test.count - start);
      const feeds: Record<string, ort.Tensor> = {
        ...fixed,
        [INPUT.x]: new ort.Tensor('float32', test.x.subarray(start * width, (start + n) * width), [n, ...inputShape]),
        [INPUT.labels]: new ort.Tensor('int64', test.y.subarray(start, start + n), [n]),
      };
      const out = await this.evalSession.run(feeds, [OUTPUT.loss, OUTPUT.correct]);
      lossSum += Number(out[OUTPUT.loss]!.data[0]) * n;
      correct += Number(out[OUTPUT.correct]!.data[0]);
    }
    return { loss: lossSum / test.count, accuracy: correct / test.count };
  }

  /** Train until the end (or a stop request). */
  async run(control: TrainControl = { stopRequested: false, paused: false }): Promise<TrainResult> {
    const o = this.options;
    const { train } = o.dataset;
    const width = featureSize(o.dataset);
    const B = o.batchSize;
    const maxChunk = Math.max(1, Math.min(o.chunkSteps ?? DEFAULT_CHUNK_STEPS, this.stepsPerEpoch));
    const x = new Float32Array(maxChunk * B * width);
    const labels = new BigInt64Array(maxChunk * B);
    // Stochastic-rounding noise is generated in the graph from one key per step (a pure function of
    // (seed, step), so resumable; src/quant/noise.ts).
    const noiseKeys = new Uint32Array(maxChunk);
    const bitsW = new Float32Array(maxChunk);
    const bitsG = new Float32Array(maxChunk);
    const lr = new Float32Array(maxChunk);
    const lrExact = new Float64Array(maxChunk); // the records keep the rate as computed, not its float32 feed
    const momentum = new ort.Tensor('float32', Float32Array.of(o.momentum), []);
    const weightDecay = new ort.Tensor('float32', Float32Array.of(o.weightDecay), []);
    const intKernelsOn = new ort.Tensor('int64', BigInt64Array.of(1n), []);
    const intKernelsOff = new ort.Tensor('int64', BigInt64Array.of(0n), []);
    const stateNames = this.stateSpecs().map((p) => p.name);
    const augment = o.dataset.augment;
    const startStep = this.step;
    const started = performance.now();
    let lastLoss = o.lastTrainLoss ?? Number.NaN;
    let lastEval: EvalRecord | null = null;
    let bestAcc: number | null = finiteOrNull(o.bestTestAccuracy ?? undefined);
    let divergence: Divergence | undefined;

    const warnings = [
      ...[o.schedule, o.gradSchedule].map((s) => scheduleWarning(s, this.totalSteps)),
      lrWarning(this.lrPolicy, this.totalSteps),
      ...this.warnings,
    ].filter((w): w is string => w !== null);
    this.emit({ type: 'start', runId: o.runId, totalSteps: this.totalSteps, stepsPerEpoch: this.stepsPerEpoch, epochs: o.epochs, startStep, warnings });

    let perm: Uint32Array | null = null;
    let permEpoch = -1;
    while (this.step < this.totalSteps) {
      if (control.stopRequested) break;
      if (control.paused && control.waitWhilePaused) {
        this.emit({ type: 'paused', paused: true });
        await control.waitWhilePaused();
        this.emit({ type: 'paused', paused: false });
        if (control.stopRequested) break;
      }
      const epoch = Math.floor(this.step / this.stepsPerEpoch);
      if (epoch !== permEpoch) {
        perm = permutation(train.count, new Rng(mixSeed(o.seed, PURPOSE_SHUFFLE, epoch)));
        permEpoch = epoch;
      }
      const inEpoch = this.step - epoch * this.stepsPerEpoch;
      // a chunk runs on one kernel path: it ends where the path changes
      const integer = this.integerStep(this.step);
      let K = Math.min(maxChunk, this.stepsPerEpoch - inEpoch);
      for (let k = 1; k < K; k++) {
        if (this.integerStep(this.step + k) !== integer) {
          K = k;
          break;
        }
      }
      for (let k = 0; k < K; k++) {
        const t = this.step + k;
        const base = (inEpoch + k) * B;
        for (let i = 0; i < B; i++) {
          const r = perm![base + i]!;
          const sample = train.x.subarray(r * width, (r + 1) * width);
          const at = (k * B + i) * width;
          if (augment) augment(sample, x.subarray(at, at + width), mixSeed(o.seed, PURPOSE_AUGMENT, t, i));
          else x.set(sample, at);
          labels[k * B + i] = train.y[r]!;
        }
        bitsW[k] = this.bitsWA[t]!;
        bitsG[k] = this.bitsG[t]!;
        lrExact[k] = this.lrPolicy.rateAt(o.lr, t, this.totalSteps);
        lr[k] = lrExact[k]!;
        noiseKeys[k] = mixSeed(o.seed, PURPOSE_NOISE, t);
      }
      const feeds: Record<string, ort.Tensor> = {
        [INPUT.x]: new ort.Tensor('float32', x.subarray(0, K * B * width), [K, B, ...o.dataset.inputShape]),
        [INPUT.labels]: new ort.Tensor('int64', labels.subarray(0, K * B), [K, B]),
        [INPUT.bitsWeights]: new ort.Tensor('float32', bitsW.subarray(0, K), [K]),
        [INPUT.bitsActivations]: new ort.Tensor('float32', bitsW.subarray(0, K), [K]),
        [INPUT.bitsGrad]: new ort.Tensor('float32', bitsG.subarray(0, K), [K]),
        [INPUT.lr]: new ort.Tensor('float32', lr.subarray(0, K), [K]),
        [INPUT.noiseKey]: new ort.Tensor('uint32', noiseKeys.subarray(0, K), [K]),
        [INPUT.momentum]: momentum,
        [INPUT.weightDecay]: weightDecay,
        [INPUT.intKernels]: integer ? intKernelsOn : intKernelsOff,
      };
      for (const name of stateNames) feeds[name] = this.state.get(name)!;
      const chunkStart = performance.now() - started;
      const out = await this.trainSession.run(feeds);
      const chunkEnd = performance.now() - started;
      for (const name of stateNames) this.state.set(name, out[newName(name)]!);
      const loss = out[OUTPUT.loss]!.data as Float32Array;
      const correct = out[OUTPUT.correct]!.data as Float32Array;
      const steps: StepRecord[] = new Array(K);
      for (let k = 0; k < K; k++) {
        steps[k] = {
          step: this.step + k,
          epoch,
          bitsWeights: bitsW[k]!,
          bitsActivations: bitsW[k]!,
          bitsGrad: bitsG[k]!,
          lr: lrExact[k]!,
          loss: loss[k]!,
          trainAcc: correct[k]! / B,
          wallMs: chunkStart + ((chunkEnd - chunkStart) * (k + 1)) / K,
        };
      }
      // A non-finite loss ends the run at once: the rows up to the first bad step are kept (its
      // loss cell is empty, the value goes into the divergence record), the state is not
      // checkpointed, and the last checkpoint (before the divergence) stays as it is.
      let bad = -1;
      for (let k = 0; k < K; k++) {
        if (!Number.isFinite(loss[k]!)) {
          bad = k;
          break;
        }
      }
      if (bad >= 0) {
        divergence = { step: this.step + bad, quantity: 'train loss', value: String(loss[bad]!) };
        this.step += bad + 1;
        this.emit({ type: 'steps', steps: steps.slice(0, bad + 1) });
        break;
      }
      lastLoss = loss[K - 1]!;
      this.step += K;
      this.emit({ type: 'steps', steps });
      if (this.step % this.stepsPerEpoch === 0) {
        const { loss: testLoss, accuracy } = await this.evaluate(o.evalBits);
        if (!Number.isFinite(testLoss) || !this.stateIsFinite()) {
          // the last update made the weights (or the test loss) non-finite
          divergence = Number.isFinite(testLoss)
            ? { step: this.step - 1, quantity: 'weights', value: 'NaN' }
            : { step: this.step - 1, quantity: 'test loss', value: String(testLoss) };
          break;
        }
        lastEval = { epoch, step: this.step, testLoss, testAcc: accuracy, bits: o.evalBits };
        bestAcc = Math.max(bestAcc ?? 0, accuracy);
        this.emit({ type: 'eval', eval: lastEval });
        this.emit({ type: 'checkpoint', step: this.step });
      }
    }
    // a stop mid-epoch: the last update may have made the weights non-finite with a finite loss
    if (!divergence && this.step > startStep && !this.stateIsFinite()) divergence = { step: this.step - 1, quantity: 'weights', value: 'NaN' };
    const wallS = (performance.now() - started) / 1000;
    const trained = this.step - startStep;
    if (divergence) {
      const summary: RunSummary = {
        testAccuracy: null,
        testLoss: null,
        bestTestAccuracy: bestAcc,
        finalTrainLoss: null,
        steps: this.step,
        stepsPerSecond: trained > 0 ? trained / Math.max(wallS, 1e-9) : null,
        wallS,
      };
      return { status: 'diverged', summary, divergence };
    }
    if (!lastEval) {
      const { loss: testLoss, accuracy } = await this.evaluate(o.evalBits);
      if (Number.isFinite(testLoss)) lastEval = { epoch: Math.floor(this.step / this.stepsPerEpoch), step: this.step, testLoss, testAcc: accuracy, bits: o.evalBits };
    }
    const summary: RunSummary = {
      testAccuracy: lastEval ? lastEval.testAcc : null,
      testLoss: lastEval ? lastEval.testLoss : null,
      bestTestAccuracy: lastEval ? Math.max(bestAcc ?? 0, lastEval.testAcc) : bestAcc,
      finalTrainLoss: finiteOrNull(lastLoss),
      steps: this.step,
      stepsPerSecond: trained > 0 ? trained / Math.max(wallS, 1e-9) : null,
      wallS,
    };
    const status = this.step >= this.totalSteps ? 'completed' : 'stopped';
    return { status, summary };
  }

  async release(): Promise<void> {
    await this.trainSession?.release();
    await this.evalSession?.release();
  }
}
