/**
 * The training engine: runs the generated artifacts in onnxruntime InferenceSessions, K steps per
 * `run()` (the training model is an ONNX Loop), feeds each step's bit-widths from the schedule,
 * evaluates after every epoch, checkpoints, and emits events. It knows nothing of files other than
 * the checkpoint it is given, nor of hardware models or terminals.
 */
import { DEFAULT_KERNELS, INT_KERNEL_MAX_BITS, type Kernels } from './kernels.js';
import * as ort from 'onnxruntime-node';
import { type Artifacts, buildArtifacts, finish, gradName } from '../artifacts/build.js';
import { MAX_INT_REDUCTION, kernelProbe } from '../quant/integer.js';
import { type Checkpoint, initialCheckpoint } from '../artifacts/checkpoint.js';
import { INPUT, OUTPUT, newName } from '../artifacts/interface.js';
import { type Dataset, featureSize } from '../data/dataset.js';
import type { ModelDef } from '../models/model.js';
import { type Schedule, scheduleBits, scheduleWarning } from '../schedule/schedule.js';
import { type NumberFormat, parseNumberFormat } from '../formats/number-format.js';
import { type PlannedLayer, plannedLayerLines } from '../formats/layer-plan.js';
import { ANCHOR, FULL_GRADIENT, HALP_SCALE, type OptimizerSpec, halpScale, adamInput, optimizerName, optimizerSetup, stateName, usesAnchor } from '../optim/optimizer.js';
import { optimizerPrecisionName } from '../optim/precision.js';
import { elementBits, gridFormat, isGridFormat, precisionName } from '../formats/precision.js';
import { FORMAT_FIELDS, formatDescriptor } from '../quant/float-quant.js';
import { initialScale, lossScalingInput, parseLossScale } from '../formats/loss-scale.js';
import { type LrPolicy, lrWarning, makeLrPolicy } from '../schedule/lr.js';
import { Rng, mixSeed, permutation } from '../util/random.js';
import type { AnchorRecord, Divergence, EngineEvent, EngineListener, EvalRecord, RunSummary, StepRecord } from './events.js';

/** The numbers that define how a run trains (shared by the engine and the stored run config). */
export interface TrainingHyperparameters {
  /** Bit-width of evaluation (weights and activations); a format's element bits when `evalFormat` is set. */
  evalBits: number;
  /** Number format of evaluation (`fp8-e4m3`, …; src/formats); absent: the integer grid of `evalBits`. */
  evalFormat?: string;
  /** Loss-scaling policy (src/formats/loss-scale.ts): `none` (absent), `static:S`, `dynamic…`, `layer`. */
  lossScale?: string;
  /** Weight of the training loss (default 1): gradients are w times larger; see `lossScalingInput`. */
  lossWeight?: number;
  epochs: number;
  batchSize: number;
  /** The base rate (`--lr`): the high rate of a learning-rate policy without an explicit range. */
  lr: number;
  /** Learning-rate policy spec (src/schedule/lr.ts, docs/schedules.md), canonical in run.json: `constant`, `cosine`, `step:every=0.3`, … */
  lrSchedule: string;
  /** SGD momentum (the `sgd` optimizer's μ). */
  momentum: number;
  weightDecay: number;
  /** Optimizer spec, canonical (src/optim/optimizer.ts): `sgd` (absent), `sgd:nesterov`, `adam`, `adamw:beta2=0.99`, … */
  optimizer?: string;
  /** Precision of the optimizer's gradient, momentum and weights, canonical (src/optim/precision.ts); absent: fp32. */
  optimizerPrecision?: string;
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

/** The precisions of one evaluation: weights and activations may differ (`eval --weights-only`). */
export interface EvalPrecision {
  weights: NumberFormat;
  activations: NumberFormat;
}

export interface TrainOptions extends TrainingHyperparameters {
  runId: string;
  model: ModelDef;
  dataset: Dataset;
  /** Weights and activations follow this schedule. */
  schedule: Schedule;
  /** Errors (back-propagated gradients) follow this one. */
  gradSchedule: Schedule;
  /**
   * A per-layer precision plan (src/formats/layer-plan.ts): each quantized layer's schedules, in
   * the order of the manifest's `quantizedLayers`. Absent: every layer follows `schedule` and
   * `gradSchedule`. With a plan, steps record each layer's formats and evaluation runs each layer
   * at its schedule's top precision.
   */
  layerPlan?: PlannedLayer[];
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
  /** Compute the full training objective at every epoch's start and at the end (`objective` events; needs the gradient model). */
  trackObjective?: boolean;
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

/** The per-layer precision inputs of the eval and gradient models: bits [layers] and format descriptors [layers, FORMAT_FIELDS]. */
function layerPrecisionFeeds(perLayer: readonly EvalPrecision[]): Record<string, ort.Tensor> {
  const L = perLayer.length;
  const bits = (role: keyof EvalPrecision) => new ort.Tensor('float32', Float32Array.from(perLayer, (p) => elementBits(p[role])), [L]);
  const descriptors = (role: keyof EvalPrecision) => {
    const data = new Float32Array(L * FORMAT_FIELDS);
    perLayer.forEach((p, l) => data.set(formatDescriptor(p[role]), l * FORMAT_FIELDS));
    return new ort.Tensor('float32', data, [L, FORMAT_FIELDS]);
  };
  return {
    [INPUT.bitsWeights]: bits('weights'),
    [INPUT.bitsActivations]: bits('activations'),
    [INPUT.formatWeights]: descriptors('weights'),
    [INPUT.formatActivations]: descriptors('activations'),
  };
}

/** A split in batches of EVAL_BATCH samples, in order and without augmentation: `x` and `labels` feeds and the batch's size. */
async function forEachBatch(dataset: Dataset, split: 'train' | 'test', body: (feeds: Record<string, ort.Tensor>, n: number) => Promise<void>): Promise<void> {
  const data = dataset[split];
  const width = featureSize(dataset);
  for (let start = 0; start < data.count; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, data.count - start);
    await body({ [INPUT.x]: new ort.Tensor('float32', data.x.subarray(start * width, (start + n) * width), [n, ...dataset.inputShape]), [INPUT.labels]: new ort.Tensor('int64', data.y.subarray(start, start + n), [n]) }, n);
  }
}

export class Trainer {
  /** Created on the first `run()`: evaluating a checkpoint (`bitcycle eval`) needs only the eval session. */
  private trainSession: ort.InferenceSession | null = null;
  /** SVRG's full-gradient model (created with the training session). */
  private gradientSession: ort.InferenceSession | null = null;
  private sessionOptions: ort.InferenceSession.SessionOptions = {};
  private evalSession!: ort.InferenceSession;
  readonly artifacts: Artifacts;
  /** The run's optimizer (`options.optimizer`). */
  readonly optimizer: OptimizerSpec;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  /** Bit-widths per step of `schedule` and `gradSchedule` (the plan's defaults, when there is one): their tracks'. */
  readonly bitsWA: Uint8Array;
  readonly bitsG: Uint8Array;
  /** Index of each step's format in `formats` (weights/activations, errors): their tracks'. */
  private readonly formatWA: Uint8Array;
  private readonly formatG: Uint8Array;
  /** The distinct schedules of the quantized layers: bit-width and format index per step. */
  private readonly tracks: { schedule: Schedule; bits: Uint8Array; formats: Uint8Array }[] = [];
  /** Per quantized layer (manifest order): its track of weights/activations and of errors. */
  private readonly layerWA: number[];
  private readonly layerG: number[];
  /** The distinct formats of the run's schedules, with their descriptors. */
  private readonly formats: { format: NumberFormat; name: string; grid: boolean; descriptor: Float32Array }[] = [];
  /** The learning-rate policy of `options.lrSchedule`. */
  readonly lrPolicy: LrPolicy;
  private state = new Map<string, ort.Tensor>();
  /** Loss-scale state [scale, good steps] (checkpoint metadata `lossScale`, `lossScaleGood`). */
  private lossScaleState = Float32Array.of(1, 0);
  /** Integer kernels are on for this run (kernels `int`, an integer-capable model, an exact kernel here). */
  private integerKernels = false;
  /** Why the run does not use what it asked for (shown with the start event). */
  private readonly warnings: string[] = [];
  private step = 0;
  private listeners: EngineListener[] = [];

  constructor(readonly options: TrainOptions) {
    this.optimizer = optimizerSetup(options.optimizer, options.optimizerPrecision);
    this.artifacts = options.artifacts ?? buildArtifacts(options.model, this.optimizer, { gradient: options.trackObjective === true });
    if (options.trackObjective && !this.artifacts.gradient) throw new Error('objective tracking needs artifacts with the gradient model');
    const m = this.artifacts.manifest;
    const precision = optimizerPrecisionName(this.optimizer.precision ?? {});
    if (m.optimizer !== optimizerName(this.optimizer) || m.optimizerPrecision !== precision) {
      throw new Error(`the artifacts update with ${m.optimizer} [${m.optimizerPrecision || 'fp32'}], the run's optimizer is ${optimizerName(this.optimizer)} [${precision || 'fp32'}]`);
    }
    this.stepsPerEpoch = Math.floor(options.dataset.train.count / options.batchSize);
    if (this.stepsPerEpoch < 1) throw new Error(`batch size ${options.batchSize} exceeds the ${options.dataset.train.count} training samples`);
    this.totalSteps = this.stepsPerEpoch * options.epochs;
    const base = this.tracks[this.track(options.schedule)]!;
    const grad = this.tracks[this.track(options.gradSchedule)]!;
    [this.bitsWA, this.formatWA, this.bitsG, this.formatG] = [base.bits, base.formats, grad.bits, grad.formats];
    this.lrPolicy = makeLrPolicy(options.lrSchedule);
    const names = this.artifacts.manifest.quantizedLayers;
    const plan = options.layerPlan ?? names.map((name) => ({ name, schedule: options.schedule, errors: options.gradSchedule }));
    if (plan.map((l) => l.name).join('\u0000') !== names.join('\u0000')) {
      throw new Error(`the layer plan names layers ${plan.map((l) => l.name).join(', ') || '(none)'}, the model's quantized layers are ${names.join(', ') || '(none)'}`);
    }
    this.layerWA = plan.map((l) => this.track(l.schedule));
    this.layerG = plan.map((l) => this.track(l.errors));
    this.used = [...new Set([...this.layerWA, ...this.layerG])];
  }

  /** The index of `schedule`'s track (added on first use). */
  private track(schedule: Schedule): number {
    const i = this.tracks.findIndex((t) => t.schedule.name === schedule.name);
    if (i >= 0) return i;
    this.tracks.push({ schedule, bits: scheduleBits(schedule, this.totalSteps), formats: this.formatIndices(schedule) });
    return this.tracks.length - 1;
  }

  /** The tracks some quantized layer follows. */
  private readonly used: readonly number[];
  private usedTracks(): readonly number[] {
    return this.used;
  }

  /** Each step's format of `schedule` as an index into `formats` (grid schedules: one entry per bit-width). */
  private formatIndices(schedule: Schedule): Uint8Array {
    const indices = new Uint8Array(this.totalSteps);
    const byName = new Map(this.formats.map((f, i) => [f.name, i]));
    for (let t = 0; t < this.totalSteps; t++) {
      const format = schedule.formatAt(t, this.totalSteps);
      const name = precisionName(format);
      let i = byName.get(name);
      if (i === undefined) {
        i = this.formats.length;
        if (i > 255) throw new Error('more than 256 distinct formats in one run');
        this.formats.push({ format, name, grid: isGridFormat(format), descriptor: formatDescriptor(format) });
        byName.set(name, i);
      }
      indices[t] = i;
    }
    return indices;
  }

  /** Step t runs on integer kernels (kernels `int`, an integer-capable model, integer grids of ≤ 8 bits). */
  private integerStep(t: number): boolean {
    return this.integerKernels && this.usedTracks().every((i) => this.tracks[i]!.bits[t]! <= INT_KERNEL_MAX_BITS && this.formats[this.tracks[i]!.formats[t]!]!.grid);
  }

  /** The evaluation precision of the run: `evalFormat`, else the integer grid of `evalBits`. */
  get evalPrecision(): NumberFormat {
    return this.options.evalFormat ? parseNumberFormat(this.options.evalFormat, '--eval-bits') : gridFormat(this.options.evalBits);
  }

  /** What the run evaluates at: `evalPrecision`; with a layer plan, each layer at its schedule's top. */
  get runEvalPrecision(): NumberFormat | EvalPrecision[] {
    return this.options.layerPlan ? this.options.layerPlan.map((l) => ({ weights: l.schedule.top, activations: l.schedule.top })) : this.evalPrecision;
  }

  /** The quantized layers' names (the order of the per-layer inputs). */
  get quantizedLayers(): readonly string[] {
    return this.artifacts.manifest.quantizedLayers;
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
    this.sessionOptions = sessionOptions;
    this.evalSession = await ort.InferenceSession.create(this.artifacts.eval.bytes, sessionOptions);
    const start = this.options.resumeFrom ?? initialCheckpoint(this.options.model, this.options.seed, this.optimizer);
    for (const spec of this.stateSpecs()) {
      const t = start.tensors.get(spec.name);
      if (!t) throw new Error(`checkpoint has no tensor ${spec.name}`);
      if (t.shape.join('x') !== (spec.shape as number[]).join('x')) throw new Error(`checkpoint tensor ${spec.name} has shape ${t.shape.join('×')}, model wants ${spec.shape.join('×')}`);
      this.state.set(spec.name, new ort.Tensor('float32', t.data, t.shape));
    }
    this.step = Number(start.metadata.step ?? '0');
    const o = this.options;
    const scaling = parseLossScale(o.lossScale ?? 'none');
    // a checkpoint from before loss scaling (or of a run without it) starts at the policy's initial scale
    this.lossScaleState = start.metadata.lossScale !== undefined ? Float32Array.of(Number(start.metadata.lossScale), Number(start.metadata.lossScaleGood ?? '0')) : Float32Array.of(initialScale(scaling), 0);
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
    const scale = { lossScale: String(this.lossScaleState[0]), lossScaleGood: String(this.lossScaleState[1]) };
    return { tensors, metadata: { step: String(this.step), epoch: String(Math.floor(this.step / this.stepsPerEpoch)), seed: String(this.options.seed), ...scale, ...extra } };
  }

  /**
   * Evaluate the test split at a precision (bits: the integer grid; a format; or one each for
   * weights and activations, e.g. activations at fp32 for weights-only quantization; or one per
   * quantized layer) on the current state, EVAL_BATCH samples per run (memory bounded by the batch,
   * not the split): the loss is the mean over all samples, the accuracy the fraction correct.
   */
  async evaluate(precision: number | NumberFormat | EvalPrecision | readonly EvalPrecision[] = this.runEvalPrecision): Promise<{ loss: number; accuracy: number }> {
    const { test } = this.options.dataset;
    const L = this.quantizedLayers.length;
    const uniform = (p: number | NumberFormat | EvalPrecision): EvalPrecision => {
      const f = typeof p === 'number' ? gridFormat(p) : p;
      return 'kind' in f ? { weights: f, activations: f } : f;
    };
    const perLayer = Array.isArray(precision) ? (precision as readonly EvalPrecision[]) : new Array<EvalPrecision>(L).fill(uniform(precision as number | NumberFormat | EvalPrecision));
    if (perLayer.length !== L) throw new Error(`evaluate: ${perLayer.length} layer precisions for ${L} quantized layers`);
    const fixed = layerPrecisionFeeds(perLayer);
    for (const p of this.artifacts.manifest.eval.inputs) {
      const state = this.state.get(p.name);
      if (state) fixed[p.name] = state;
    }
    let lossSum = 0;
    let correct = 0;
    await forEachBatch(this.options.dataset, 'test', async (batch, n) => {
      const out = await this.evalSession.run({ ...fixed, ...batch }, [OUTPUT.loss, OUTPUT.correct]);
      lossSum += Number(out[OUTPUT.loss]!.data[0]) * n;
      correct += Number(out[OUTPUT.correct]!.data[0]);
    });
    return { loss: lossSum / test.count, accuracy: correct / test.count };
  }

  /** Train until the end (or a stop request). */
  async run(control: TrainControl = { stopRequested: false, paused: false }): Promise<TrainResult> {
    this.trainSession ??= await ort.InferenceSession.create(this.artifacts.training.bytes, this.sessionOptions);
    const trainSession = this.trainSession;
    const anchorEvery = usesAnchor(this.optimizer) ? this.optimizer.every * this.stepsPerEpoch : 0;
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
    // per step and quantized layer
    const L = this.quantizedLayers.length;
    const bitsW = new Float32Array(maxChunk * L);
    const bitsG = new Float32Array(maxChunk * L);
    const formatW = new Float32Array(maxChunk * L * FORMAT_FIELDS);
    const formatG = new Float32Array(maxChunk * L * FORMAT_FIELDS);
    const lr = new Float32Array(maxChunk);
    const lrExact = new Float64Array(maxChunk); // the records keep the rate as computed, not its float32 feed
    const momentum = new ort.Tensor('float32', Float32Array.of(o.momentum), []);
    const weightDecay = new ort.Tensor('float32', Float32Array.of(o.weightDecay), []);
    const adamHyper = adamInput(this.optimizer);
    const adam: Record<string, ort.Tensor> = adamHyper ? { [INPUT.adam]: new ort.Tensor('float32', adamHyper, [3]) } : {};
    const intKernelsOn = new ort.Tensor('int64', BigInt64Array.of(1n), []);
    const intKernelsOff = new ort.Tensor('int64', BigInt64Array.of(0n), []);
    const lossScaling = new ort.Tensor('float32', lossScalingInput(parseLossScale(o.lossScale ?? 'none'), o.lossWeight ?? 1), [5]);
    const stateNames = this.stateSpecs().map((p) => p.name);
    const augment = o.dataset.augment;
    const startStep = this.step;
    const started = performance.now();
    let lastLoss = o.lastTrainLoss ?? Number.NaN;
    let lastEval: EvalRecord | null = null;
    let bestAcc: number | null = finiteOrNull(o.bestTestAccuracy ?? undefined);
    let divergence: Divergence | undefined;

    const warnings = [
      ...[...(o.layerPlan ? [] : [o.schedule, o.gradSchedule]), ...this.usedTracks().map((i) => this.tracks[i]!.schedule)]
        .filter((s, i, all) => all.findIndex((x) => x.name === s.name) === i)
        .map((s) => scheduleWarning(s, this.totalSteps)),
      lrWarning(this.lrPolicy, this.totalSteps),
      ...this.warnings,
    ].filter((w): w is string => w !== null);
    const plan = o.layerPlan ? { plan: plannedLayerLines(o.layerPlan) } : {};
    this.emit({ type: 'start', runId: o.runId, totalSteps: this.totalSteps, stepsPerEpoch: this.stepsPerEpoch, epochs: o.epochs, startStep, warnings, ...plan });

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
      // SVRG: a new anchor every `every` epochs (chunks never cross an epoch's end, so it is a chunk's first step)
      const anchor = anchorEvery > 0 && this.step % anchorEvery === 0 ? await this.refreshAnchor() : null;
      if (anchor) this.emit({ type: 'anchor', anchor });
      // --objective: the full objective at every epoch's start (an anchor's, where one was just taken)
      if (o.trackObjective && this.step % this.stepsPerEpoch === 0) this.emit({ type: 'objective', objective: anchor ?? (await this.fullGradient()).record });
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
        for (let l = 0; l < L; l++) {
          const wa = this.tracks[this.layerWA[l]!]!;
          const g = this.tracks[this.layerG[l]!]!;
          bitsW[k * L + l] = wa.bits[t]!;
          bitsG[k * L + l] = g.bits[t]!;
          formatW.set(this.formats[wa.formats[t]!]!.descriptor, (k * L + l) * FORMAT_FIELDS);
          formatG.set(this.formats[g.formats[t]!]!.descriptor, (k * L + l) * FORMAT_FIELDS);
        }
        lrExact[k] = this.lrPolicy.rateAt(o.lr, t, this.totalSteps);
        lr[k] = lrExact[k]!;
        noiseKeys[k] = mixSeed(o.seed, PURPOSE_NOISE, t);
      }
      const feeds: Record<string, ort.Tensor> = {
        [INPUT.x]: new ort.Tensor('float32', x.subarray(0, K * B * width), [K, B, ...o.dataset.inputShape]),
        [INPUT.labels]: new ort.Tensor('int64', labels.subarray(0, K * B), [K, B]),
        [INPUT.bitsWeights]: new ort.Tensor('float32', bitsW.subarray(0, K * L), [K, L]),
        [INPUT.bitsActivations]: new ort.Tensor('float32', bitsW.subarray(0, K * L), [K, L]),
        [INPUT.bitsGrad]: new ort.Tensor('float32', bitsG.subarray(0, K * L), [K, L]),
        [INPUT.formatWeights]: new ort.Tensor('float32', formatW.subarray(0, K * L * FORMAT_FIELDS), [K, L, FORMAT_FIELDS]),
        [INPUT.formatActivations]: new ort.Tensor('float32', formatW.subarray(0, K * L * FORMAT_FIELDS), [K, L, FORMAT_FIELDS]),
        [INPUT.formatGrad]: new ort.Tensor('float32', formatG.subarray(0, K * L * FORMAT_FIELDS), [K, L, FORMAT_FIELDS]),
        [INPUT.lr]: new ort.Tensor('float32', lr.subarray(0, K), [K]),
        [INPUT.noiseKey]: new ort.Tensor('uint32', noiseKeys.subarray(0, K), [K]),
        [INPUT.momentum]: momentum,
        [INPUT.weightDecay]: weightDecay,
        ...adam,
        [INPUT.intKernels]: integer ? intKernelsOn : intKernelsOff,
        [INPUT.lossScaling]: lossScaling,
        [INPUT.lossScaleState]: new ort.Tensor('float32', Float32Array.from(this.lossScaleState), [2]),
      };
      for (const name of stateNames) feeds[name] = this.state.get(name)!;
      const chunkStart = performance.now() - started;
      const out = await trainSession.run(feeds);
      const chunkEnd = performance.now() - started;
      for (const name of stateNames) this.state.set(name, out[newName(name)]!);
      this.lossScaleState = Float32Array.from(out[newName(INPUT.lossScaleState)]!.data as Float32Array);
      const loss = out[OUTPUT.loss]!.data as Float32Array;
      const correct = out[OUTPUT.correct]!.data as Float32Array;
      const scales = out[OUTPUT.lossScale]!.data as Float32Array;
      const skipped = out[OUTPUT.skipped]!.data as Float32Array;
      // one count per error quantizer; a body that counts fewer (the integer kernels') counted none
      const quantizers = this.artifacts.manifest.training.errorQuantizers;
      const counters = (name: string) => {
        const t = out[name]!;
        const width = Number(t.dims[1] ?? 0);
        const data = t.data as Float32Array;
        return (k: number) => (width === quantizers ? Array.from(data.subarray(k * width, (k + 1) * width)) : new Array<number>(quantizers).fill(0));
      };
      const underflow = counters(OUTPUT.underflow);
      const overflow = counters(OUTPUT.overflow);
      const steps: StepRecord[] = new Array(K);
      for (let k = 0; k < K; k++) {
        const t = this.step + k;
        steps[k] = {
          step: t,
          epoch,
          bitsWeights: this.bitsWA[t]!,
          bitsActivations: this.bitsWA[t]!,
          bitsGrad: this.bitsG[t]!,
          formatWeights: this.formats[this.formatWA[this.step + k]!]!.name,
          formatActivations: this.formats[this.formatWA[this.step + k]!]!.name,
          formatGrad: this.formats[this.formatG[this.step + k]!]!.name,
          lossScale: scales[k]!,
          skipped: skipped[k]! > 0,
          underflow: underflow(k),
          overflow: overflow(k),
          lr: lrExact[k]!,
          loss: loss[k]!,
          trainAcc: correct[k]! / B,
          wallMs: chunkStart + ((chunkEnd - chunkStart) * (k + 1)) / K,
          ...(o.layerPlan ? { layerFormats: this.layerFormats(t) } : {}),
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
        const { loss: testLoss, accuracy } = await this.evaluate();
        if (!Number.isFinite(testLoss) || !this.stateIsFinite()) {
          // the last update made the weights (or the test loss) non-finite
          divergence = Number.isFinite(testLoss)
            ? { step: this.step - 1, quantity: 'weights', value: 'NaN' }
            : { step: this.step - 1, quantity: 'test loss', value: String(testLoss) };
          break;
        }
        lastEval = { epoch, step: this.step, testLoss, testAcc: accuracy, bits: o.evalBits, ...(o.evalFormat ? { format: o.evalFormat } : {}) };
        bestAcc = Math.max(bestAcc ?? 0, accuracy);
        this.emit({ type: 'eval', eval: lastEval });
        this.emit({ type: 'checkpoint', step: this.step });
      }
    }
    // --objective: and at the end of the run
    if (o.trackObjective && !divergence && this.step >= this.totalSteps && this.step > startStep) this.emit({ type: 'objective', objective: (await this.fullGradient()).record });
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
      const { loss: testLoss, accuracy } = await this.evaluate();
      if (Number.isFinite(testLoss)) lastEval = { epoch: Math.floor(this.step / this.stepsPerEpoch), step: this.step, testLoss, testAcc: accuracy, bits: o.evalBits, ...(o.evalFormat ? { format: o.evalFormat } : {}) };
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

  /**
   * The full gradient of the mean training loss at the current parameters and step: the gradient
   * model over the training split, EVAL_BATCH samples per run, each batch's mean gradient weighed
   * by its size (the step's precisions; no augmentation); with the objective (mean loss + wd/2 ·
   * Σ‖W‖² over the decayed parameters) and the norm of its gradient.
   */
  private async fullGradient(): Promise<{ record: AnchorRecord; gradients: Float32Array[] }> {
    this.gradientSession ??= await ort.InferenceSession.create(this.artifacts.gradient!.bytes, this.sessionOptions);
    const gradientSession = this.gradientSession;
    const { train } = this.options.dataset;
    // the step's weight and activation formats, per layer (after the last step: the last step's)
    const t = Math.min(this.step, this.totalSteps - 1);
    const fixed = layerPrecisionFeeds(
      this.layerWA.map((k) => {
        const format = this.formats[this.tracks[k]!.formats[t]!]!.format;
        return { weights: format, activations: format };
      }),
    );
    const params = this.artifacts.manifest.params;
    for (const p of params) fixed[p.name] = this.state.get(p.name)!;
    for (const b of this.artifacts.manifest.buffers) fixed[b.name] = this.state.get(b.name)!;
    const sums = params.map((p) => new Float64Array(p.shape.reduce((a, b) => a * b, 1)));
    let lossSum = 0;
    await forEachBatch(this.options.dataset, 'train', async (batch, n) => {
      const out = await gradientSession.run({ ...fixed, ...batch });
      lossSum += Number(out[OUTPUT.loss]!.data[0]) * n;
      params.forEach((p, i) => {
        const g = out[gradName(p.name)]!.data as Float32Array;
        const sum = sums[i]!;
        for (let j = 0; j < g.length; j++) sum[j]! += g[j]! * n;
      });
    });
    const wd = this.options.weightDecay;
    let penalty = 0;
    let normSq = 0;
    const gradients = params.map((p, i) => {
      const w = this.state.get(p.name)!.data as Float32Array;
      const mu = Float32Array.from(sums[i]!, (v) => v / train.count);
      for (let j = 0; j < w.length; j++) {
        const full = mu[j]! + (p.decay ? wd * w[j]! : 0);
        normSq += full * full;
        if (p.decay) penalty += w[j]! * w[j]!;
      }
      return mu;
    });
    const loss = lossSum / train.count;
    return { record: { step: this.step, loss, objective: loss + (wd / 2) * penalty, gradientNorm: Math.sqrt(normSq) }, gradients };
  }

  /**
   * SVRG's anchor at the current step (`fullGradient`): the `anchor` slots become the parameters
   * and the `full_grad` slots μ̃; HALP's grid step is set from the gradient norm.
   */
  private async refreshAnchor(): Promise<AnchorRecord> {
    const { record, gradients } = await this.fullGradient();
    this.artifacts.manifest.params.forEach((p, i) => {
      const w = this.state.get(p.name)!.data as Float32Array;
      this.state.set(stateName(p.name, ANCHOR), new ort.Tensor('float32', Float32Array.from(w), p.shape as number[]));
      this.state.set(stateName(p.name, FULL_GRADIENT), new ort.Tensor('float32', gradients[i]!, p.shape as number[]));
    });
    // HALP re-centres: z = p − p̃ is 0 now, and its grid step shrinks with the gradient
    if (this.optimizer.kind === 'halp') this.state.set(HALP_SCALE, new ort.Tensor('float32', Float32Array.of(halpScale(this.optimizer, record.gradientNorm, this.options.weightDecay)), []));
    return record;
  }

  /** Each quantized layer's formats at step t: `W/G` (weights and activations / errors), src/formats/precision.ts names. */
  private layerFormats(t: number): string[] {
    return this.layerWA.map((wa, l) => `${this.formats[this.tracks[wa]!.formats[t]!]!.name}/${this.formats[this.tracks[this.layerG[l]!]!.formats[t]!]!.name}`);
  }

  async release(): Promise<void> {
    await this.trainSession?.release();
    await this.gradientSession?.release();
    await this.evalSession?.release();
  }
}
