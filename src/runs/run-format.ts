/**
 * The run directory format (docs/run-format.md), shared by the writer (store.ts) and the reader
 * (read.ts): run.json's type and schema, the CSV headers and row encodings, run ids.
 * Format 2 stores the model as a spec object (`{"name": "mlp", "hidden": [128]}`); format-1
 * files (`"model": "mlp", "hidden": [128]`) are read and upgraded in memory.
 */
import { z } from 'zod';
import type { AnchorRecord, Divergence, EvalRecord, RunSummary, StepRecord } from '../engine/events.js';
import type { TrainingHyperparameters } from '../engine/trainer.js';
import { KERNELS } from '../engine/kernels.js';
import type { RunCost, StepCost } from '../hw/tally.js';
import type { LayerShape } from '../models/shapes.js';
import { MAX_RESNET_DEPTH, MAX_WIDTH, type ModelSpec, shortModelLabel } from '../models/spec.js';
import { FP_LAYERS, type FpLayers } from '../models/model.js';
import { parseLrSpec } from '../schedule/lr.js';

import { MAX_EPOCHS, MAX_STEPS_PER_EPOCH } from './limits.js';

export const RUN_FORMAT_VERSION = 2;
/** steps.csv as written before number formats (integer grids only): still read, upgraded on resume. */
export const STEPS_HEADER_V1 = ['step', 'epoch', 'bits_w', 'bits_a', 'bits_g', 'lr', 'loss', 'train_acc', 'wall_ms', 'energy_j', 'latency_s', 'bitops', 'baseline_energy_j'] as const;
/** steps.csv as written before per-layer precision plans: still read, upgraded on resume. */
export const STEPS_HEADER_V2 = [...STEPS_HEADER_V1, 'format_w', 'format_a', 'format_g', 'loss_scale', 'skipped', 'underflow', 'overflow'] as const;
/**
 * steps.csv: the bits columns are the formats' element bits; format_* name each step's formats
 * (src/formats/precision.ts); `layers` (runs with a per-layer plan) each quantized layer's formats.
 */
export const STEPS_HEADER = [...STEPS_HEADER_V2, 'layers'] as const;
/** Every steps.csv header a reader accepts, newest first. */
export const STEPS_HEADERS: readonly (readonly string[])[] = [STEPS_HEADER, STEPS_HEADER_V2, STEPS_HEADER_V1];

/** A layers cell: each quantized layer's `W/G` formats, space-separated (empty without a plan). */
export function layersCell(layerFormats: readonly string[] | undefined): string {
  return layerFormats ? layerFormats.join(' ') : '';
}

/** Per-quantizer counts in one cell: `12;0;3` (backward order: last layer first). */
export function countsCell(counts: readonly number[] | undefined): string {
  return counts ? counts.join(';') : '';
}
export const EVALS_HEADER = ['epoch', 'step', 'test_loss', 'test_acc', 'bits'] as const;
/** anchors.csv (SVRG runs): each anchor's step, mean training loss, objective and gradient norm. */
export const ANCHORS_HEADER = ['step', 'loss', 'objective', 'gradient_norm'] as const;

export function anchorRow(a: AnchorRecord): string[] {
  return [String(a.step), String(a.loss), String(a.objective), String(a.gradientNorm)];
}

/** A run's configuration as stored in run.json: specs, plus the engine's hyperparameters. */
export interface RunConfig extends TrainingHyperparameters {
  model: ModelSpec;
  dataset: string;
  dataDir?: string;
  /** Weights/activations schedule spec. */
  schedule: string;
  /** Error bits: a bit-width or a schedule spec. */
  gradBits: string;
  /** Hardware profile name or file as given, or `none` (the copy the run uses is `profileCopy`). */
  profile: string;
  /** Baseline schedule of the cost comparison. */
  baseline: string;
  /** GEMM layers kept at full precision (default `last`; runs stored before it existed: `none`). */
  fpLayers?: FpLayers;
  /** Compute the full training objective at every epoch (objective.csv; `--objective`). */
  objective?: boolean;
  /** Per-layer precision plan, canonical inline rules (src/formats/layer-plan.ts); absent: every layer follows schedule and gradBits. */
  layerPrecision?: string;
}

/**
 * `starting`: run.json is written, the step-0 checkpoint may not be (a crash here leaves a run
 * `--resume` starts from step 0). `diverged`: a non-finite loss ended the run (see `divergence`).
 */
export type RunStatus = 'starting' | 'running' | 'completed' | 'stopped' | 'diverged' | 'failed';
export const RUN_STATUSES = ['starting', 'running', 'completed', 'stopped', 'diverged', 'failed'] as const;

/** The run's copy of its hardware profile: `profile-<first 12 hex of sha256>.json` in the run directory. */
export interface ProfileCopy {
  file: string;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
  /** The profile's name (its `name` field). */
  name: string;
}

export interface RunProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  stepsPerEpoch: number;
}

export interface RunJson {
  formatVersion: number;
  id: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  pid: number | null;
  config: RunConfig;
  versions: Record<string, string>;
  modelId: string;
  datasetSource: string;
  progress: RunProgress;
  layers: LayerShape[];
  summary: RunSummary | null;
  cost: RunCost | null;
  /** Set when the profile was copied into the run directory (runs written since format 2.1). */
  profileCopy?: ProfileCopy;
  divergence?: Divergence;
  error?: string;
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
/** A value that may not exist (JSON writes NaN as null): no evaluation yet, a diverged run. */
const finiteOrNull = finite.nullable();

/** `config.model`: a model spec object (src/models/spec.ts). */
const modelSpecSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('mlp'), hidden: z.array(z.number().int().min(1).max(MAX_WIDTH)).min(1).max(64) }),
  z.object({ name: z.literal('cnn') }),
  z.object({ name: z.literal('logreg') }),
  z.object({ name: z.literal('resnet'), depth: z.number().int().min(8).max(MAX_RESNET_DEPTH).refine((d) => (d - 2) % 6 === 0, 'depth must be 6n+2') }),
]);
const costTotals = { energyJ: finite, latencyS: finite, bitops: finite };

const layerSchema = z.looseObject({
  name: z.string(),
  kind: z.enum(['linear', 'conv']),
  inFeatures: z.number().int().positive(),
  outFeatures: z.number().int().positive(),
  positions: z.number().int().positive(),
  inputElements: z.number().int().positive(),
  weightElements: z.number().int().positive(),
  outputElements: z.number().int().positive(),
  groups: z.number().int().positive().optional(),
  fullPrecision: z.boolean().optional(),
});

const configSchema = z.looseObject({
  model: modelSpecSchema,
  dataset: z.string(),
  dataDir: z.string().optional(),
  schedule: z.string(),
  gradBits: z.union([z.string(), z.number()]).transform(String),
  evalBits: z.number().int(),
  evalFormat: z.string().optional(),
  lossScale: z.string().optional(),
  lossWeight: finite.refine((v) => v > 0, 'must be positive').optional(),
  epochs: z.number().int().min(1).max(MAX_EPOCHS),
  batchSize: z.number().int().positive(),
  lr: finite,
  // a learning-rate policy spec (`constant` and `cosine` mean what they always meant)
  lrSchedule: z.string().superRefine((spec, ctx) => {
    try {
      parseLrSpec(spec);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
    }
  }),
  momentum: finite,
  weightDecay: finite,
  seed: z.number().int(),
  profile: z.string(),
  baseline: z.string(),
  chunkSteps: z.number().int().optional(),
  // runs stored before --fp-layers existed quantized every layer
  fpLayers: z.enum(FP_LAYERS).optional().default('none'),
  layerPrecision: z.string().min(1).optional(),
  optimizer: z.string().min(1).optional(),
  optimizerPrecision: z.string().min(1).optional(),
  objective: z.boolean().optional(),
  // runs stored before --kernels existed ran every GEMM in fp32
  kernels: z.enum(KERNELS).optional().default('fake'),
});

/** run.json, validated field by field. Unknown fields are kept (newer writers may add some). */
export const runJsonSchema = z.looseObject({
  formatVersion: z.literal(RUN_FORMAT_VERSION),
  id: z.string().min(1),
  createdAt: z.string(),
  updatedAt: z.string(),
  status: z.enum(RUN_STATUSES),
  pid: z.number().int().nullable().optional(),
  config: configSchema,
  versions: z.record(z.string(), z.string()).optional().default({}),
  modelId: z.string().optional().default(''),
  datasetSource: z.string().optional().default(''),
  progress: z.object({
    step: z.number().int().nonnegative(),
    totalSteps: z.number().int().nonnegative(),
    epoch: z.number().int().nonnegative(),
    stepsPerEpoch: z.number().int().nonnegative(),
  }),
  layers: z.array(layerSchema),
  summary: z
    .object({
      testAccuracy: finiteOrNull,
      testLoss: finiteOrNull,
      bestTestAccuracy: finiteOrNull,
      finalTrainLoss: finiteOrNull,
      steps: z.number().int().nonnegative(),
      stepsPerSecond: finiteOrNull,
      wallS: finite,
    })
    .nullable(),
  cost: z
    .object({
      profile: z.string(),
      /** Format 1 did not store it: the run's progress at the time is the best value. */
      steps: z.number().int().nonnegative().optional(),
      ...costTotals,
      baseline: z.object({ schedule: z.string(), ...costTotals }),
      savings: z.object({ energyPct: finite, latencyPct: finite, bitopsPct: finite }),
    })
    .nullable(),
  profileCopy: z.object({ file: z.string().regex(/^profile-[0-9a-f]{12}\.json$/, 'must be profile-<12 hex>.json'), sha256: z.string().regex(/^[0-9a-f]{64}$/), name: z.string() }).optional(),
  divergence: z.object({ step: z.number().int().nonnegative(), quantity: z.enum(['train loss', 'test loss', 'weights']), value: z.string() }).optional(),
  error: z.string().optional(),
});

function formatIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => {
    const path = i.path.length ? `$.${i.path.map(String).join('.')}` : '$';
    return `${path}: ${i.message}`;
  });
  const more = error.issues.length > max ? ` (+${error.issues.length - max} more)` : '';
  return parts.join('; ') + more;
}

/** Format 1 → 2: `model: "mlp"` plus `hidden: [..]` becomes `model: {name: "mlp", hidden: [..]}`. */
function upgradeV1(json: Record<string, unknown>): Record<string, unknown> {
  const config = json.config;
  if (typeof config !== 'object' || config === null) return { ...json, formatVersion: RUN_FORMAT_VERSION };
  const { model, hidden, ...rest } = config as Record<string, unknown>;
  const spec = typeof model === 'string' ? (model === 'mlp' ? { name: 'mlp', hidden: hidden ?? [128] } : { name: model }) : model;
  return { ...json, formatVersion: RUN_FORMAT_VERSION, config: { ...rest, model: spec } };
}

/** Whether the progress numbers agree with each other and the config (they size every chart and check). */
function progressProblem(run: RunJson): string | null {
  const { step, totalSteps, stepsPerEpoch } = run.progress;
  if (totalSteps !== stepsPerEpoch * run.config.epochs) return `$.progress.totalSteps: ${totalSteps} is not stepsPerEpoch × config.epochs (${stepsPerEpoch} × ${run.config.epochs})`;
  if (step > totalSteps) return `$.progress.step: ${step} is past totalSteps ${totalSteps}`;
  if (stepsPerEpoch > MAX_STEPS_PER_EPOCH) return `$.progress.stepsPerEpoch: ${stepsPerEpoch} is more than ${MAX_STEPS_PER_EPOCH}`;
  return null;
}

/** Parse and validate run.json text (upgrading format 1); returns a reason string instead of throwing. */
export function parseRunJson(text: string): { ok: true; run: RunJson } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `run.json is not valid JSON (${(err as Error).message})` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'run.json is not a JSON object' };
  const version = (json as { formatVersion?: unknown }).formatVersion;
  if (version === 1) json = upgradeV1(json as Record<string, unknown>);
  else if (version !== RUN_FORMAT_VERSION) return { ok: false, reason: `run.json: unsupported formatVersion ${String(version)} (expected ${RUN_FORMAT_VERSION} or 1)` };
  const parsed = runJsonSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `run.json: ${formatIssues(parsed.error)}` };
  const run = { pid: null, ...parsed.data } as unknown as RunJson;
  if (run.cost && run.cost.steps === undefined) run.cost.steps = run.progress.step;
  const inconsistent = progressProblem(run);
  if (inconsistent) return { ok: false, reason: `run.json: ${inconsistent}` };
  return { ok: true, run };
}

const num = (v: number) => (Number.isFinite(v) ? String(v) : '');

/** One steps.csv row (cost cells empty when the run has no profile). */
export function stepRow(s: StepRecord, c: StepCost | undefined | null): string[] {
  return [
    String(s.step),
    String(s.epoch),
    String(s.bitsWeights),
    String(s.bitsActivations),
    String(s.bitsGrad),
    num(s.lr),
    num(s.loss),
    num(s.trainAcc),
    s.wallMs.toFixed(3),
    c ? num(c.energyJ) : '',
    c ? num(c.latencyS) : '',
    c ? num(c.bitops) : '',
    c ? num(c.baselineEnergyJ) : '',
    s.formatWeights,
    s.formatActivations,
    s.formatGrad,
    s.lossScale === undefined ? '' : num(s.lossScale),
    s.skipped === undefined ? '' : s.skipped ? '1' : '0',
    countsCell(s.underflow),
    countsCell(s.overflow),
    layersCell(s.layerFormats),
  ];
}

export function evalRow(e: EvalRecord): string[] {
  return [String(e.epoch), String(e.step), num(e.testLoss), num(e.testAcc), String(e.bits)];
}

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, '').slice(0, 24);
}

/** `20261124-061502-mlp-digits-cpt38-s1`: creation time, model, data set, schedule, seed. */
export function makeRunId(config: RunConfig, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${shortModelLabel(config.model)}-${config.dataset}-${slug(config.schedule)}-s${config.seed}`;
}
