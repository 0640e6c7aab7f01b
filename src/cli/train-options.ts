/** Options shared by `train`, `demo` and `prt`, turned into a validated RunConfig. */
import { type Command, Option } from 'commander';
import { formatName, parseNumberFormat } from '../formats/number-format.js';
import { elementBits, gridFormat, isGridFormat } from '../formats/precision.js';
import { lossScaleName, parseLossScale } from '../formats/loss-scale.js';
import { UsageError } from '../errors.js';
import { DATASETS } from '../data/index.js';
import { MODEL_NAMES, parseModelSpec } from '../models/spec.js';
import { DEFAULT_FP_LAYERS, FP_LAYERS, type FpLayers } from '../models/model.js';
import { DEFAULT_KERNELS, INT_KERNEL_MAX_BITS, KERNELS, type Kernels } from '../engine/kernels.js';
import { MAX_EPOCHS } from '../runs/limits.js';
import type { RunConfig } from '../runs/run-format.js';
import { precisionPolicy } from '../schedule/precision.js';
import { makeSchedule, topStaticSpec } from '../schedule/schedule.js';
import { DEFAULT_LR_SCHEDULE, lrPolicyOption } from '../schedule/lr.js';
import { parseFloatOption, parseIntOption } from './output.js';
import { readFileSync } from 'node:fs';
import { LAYER_PLAN_OPTION, layerPlanFromJson, layerPlanText, parseLayerPlan } from '../formats/layer-plan.js';
import { sanitizeShort } from '../util/text.js';
import { optimizerName, optimizerSetup, parseOptimizerSpec } from '../optim/optimizer.js';
import { optimizerPrecisionName, parseOptimizerPrecision } from '../optim/precision.js';

export interface TrainFlags {
  model: string;
  dataset: string;
  dataDir?: string;
  schedule: string;
  gradBits: string;
  /** --format F: weights and activations in F (= --schedule static:F). */
  format?: string;
  /** --grad-format F: errors in F (= --grad-bits static:F). */
  gradFormat?: string;
  /** --train-modes A,B[:two-phase]: one model for two precision modes (= --schedule alternate:A-B[:from=0.5]). */
  trainModes?: string;
  evalBits?: string;
  lossScale?: string;
  lossWeight?: string;
  epochs: string;
  batchSize: string;
  lr: string;
  lrSchedule: string;
  momentum: string;
  weightDecay: string;
  /** --optimizer SPEC (src/optim/optimizer.ts). */
  optimizer?: string;
  /** --optimizer-precision ROLES (src/optim/precision.ts). */
  optimizerPrecision?: string;
  seed: string;
  profile: string;
  baseline?: string;
  chunkSteps?: string;
  fpLayers?: string;
  /** --layer-precision RULES|FILE.json: a per-layer precision plan (src/formats/layer-plan.ts). */
  layerPrecision?: string;
  /** --objective: the full training objective at every epoch (objective.csv). */
  objective?: boolean;
  kernels?: string;
}

/** --model, --fp-layers, --dataset, --data-dir (train, demo, prt, export). */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--model <spec>', `trainable model spec: ${MODEL_NAMES.join(', ')}; e.g. mlp:hidden=256,128, resnet:depth=20`, 'mlp')
    .option('--fp-layers <layers>', `GEMM layers kept at full precision: ${FP_LAYERS.join(' | ')} (default: the classifier, as CPT)`, DEFAULT_FP_LAYERS)
    .option('--dataset <name>', `data set (${Object.keys(DATASETS).join(', ')})`, 'digits')
    .option('--data-dir <dir>', 'read the data set from this directory');
}

/** --batch-size, --lr, --momentum, --weight-decay, --seed (train, demo, prt). */
export function addOptimizerOptions(cmd: Command): Command {
  return cmd
    .option('--batch-size <n>', 'batch size', '64')
    .option('--lr <rate>', 'learning rate', '0.1')
    .option('--momentum <m>', 'SGD momentum (the sgd optimizer\'s; sgd:momentum=M sets it too)', '0.9')
    .option('--optimizer <spec>', 'sgd[:momentum=M][:nesterov] | adam[:beta1=B][:beta2=B][:eps=E] | adamw[:…] (decoupled weight decay) (docs/optimizers.md)', 'sgd')
    .option('--optimizer-precision <roles>', 'precision of the optimizer\'s values: grad=P,momentum=P,weights=P[:stochastic] with P a bit-width or a number format (weights=P: no fp32 master copy); default fp32 (docs/optimizers.md)')
    .option('--weight-decay <wd>', 'weight decay (weights only, not biases)', '0.0005')
    .option('--seed <n>', 'random seed (initialisation, shuffling, stochastic rounding)', '1');
}

/** --dataset, checked against the known data sets. */
export function parseDatasetOption(name: string): string {
  if (!Object.hasOwn(DATASETS, name)) throw new UsageError('--dataset', `unknown data set "${name}" (allowed: ${Object.keys(DATASETS).join(', ')})`);
  return name;
}

export function addTrainOptions(cmd: Command, defaults: { schedule?: string; epochs?: string } = {}): Command {
  return addOptimizerOptions(addModelOptions(cmd))
    .option(
      '--schedule <spec>',
      'precision policy of weights and activations: static:B | cpt:Bmin-Bmax[:cycles=N] | tri:Bmin-Bmax[:cycles=N] | ramp:Bmin-Bmax | NAME:Bmin-Bmax[:key=value…] with NAME step, multistep, exp, poly, tri2, exp-range, sine, cosine-anneal, cosine-restarts or one-cycle, any with :warmup=F (docs/schedules.md)',
      defaults.schedule ?? 'cpt:3-8',
    )
    .option('--grad-bits <bits|spec>', 'precision of back-propagated errors: a bit-width (= static:B), a number format (= static:F) or a precision policy as --schedule', '8')
    .addOption(new Option('--format <format>', 'number format of weights and activations (= --schedule static:F): fp16, bf16, fp8-e4m3, fp8-e5m2, fp6-e3m2, fp4-e2m1, mxfp8-e4m3, mxfp4, mxint8, intN, … (docs/number-formats.md)').conflicts('schedule'))
    .addOption(
      new Option(
        '--train-modes <A,B[:two-phase]>',
        'train one model for two precision modes (dual-precision): bits alternate A, B, A, … every step (= --schedule alternate:A-B); :two-phase trains at B for the first half, then alternates (= alternate:A-B:from=0.5); `bitcycle eval RUN --bits A,B` evaluates each mode',
      ).conflicts(['schedule', 'format']),
    )
    .addOption(new Option('--grad-format <format>', 'number format of back-propagated errors (= --grad-bits static:F), e.g. fp8-e5m2 for HFP8').conflicts('gradBits'))
    .option('--loss-scale <policy>', 'loss scaling of the errors: none | static:S | dynamic[:init=S][:interval=N] | layer (adaptive, per error tensor; float formats) (docs/number-formats.md)', 'none')
    .option('--loss-weight <w>', 'multiply the training loss by w (its gradients too; unlike --loss-scale nothing divides them again): with --lr divided by w and no weight decay, SGD is unchanged in exact arithmetic while every error is w times smaller', '1')
    .option('--eval-bits <bits|format>', 'precision of evaluation: a bit-width or a number format (default: the schedule maximum)')
    .option(
      '--layer-precision <rules|file.json>',
      'per-layer precision plan: rules SELECTORS=SPEC (weights and activations) or SELECTORS:grad=SPEC (errors) separated by ";", SELECTORS all | first | last | conv | fc | layer names with * and ?, later rules win; or a JSON file {"rules": [{"match", "schedule", "grad"}]} (docs/number-formats.md)',
    )
    .option('--epochs <n>', 'training epochs', defaults.epochs ?? '30')
    .option(
      '--lr-schedule <spec>',
      'learning-rate policy around --lr: constant | cosine (--lr → 0) | step:every=F[:gamma=G] | multistep:at=F/F… | exp | poly | ramp | tri | tri2 | exp-range | sine | cosine-restarts | one-cycle | cpt, each [:LOW-HIGH] (rates instead of --lr) [:key=value…] [:warmup=F] (docs/schedules.md)',
      DEFAULT_LR_SCHEDULE,
    )
    .option('--objective', 'compute the full training objective (mean loss + wd/2·‖W‖²) and its gradient norm at every epoch and at the end: objective.csv (docs/optimizers.md)')
    .option('--profile <name|file>', 'hardware profile for the cost tally (a shipped name, a JSON file, or none)', 'bit-fusion-45nm')
    .option('--baseline <spec>', 'static-precision counterfactual for the cost tally (default: static:<schedule max>; with --layer-precision the widest of its schedules)')
    .option('--chunk-steps <k>', 'training steps per onnxruntime call (default 50, never across an epoch end)')
    .option('--kernels <kind>', `GEMM kernels of quantized layers: int (integer GEMMs for steps whose bit-widths are all ≤ ${INT_KERNEL_MAX_BITS}) | fake (fp32 on fake-quantized values)`, DEFAULT_KERNELS);
}

/**
 * --layer-precision: inline rules, or a JSON plan file (a value without "=" is a file name); the
 * canonical inline text run.json stores.
 */
export function layerPrecisionConfig(text: string | undefined): { layerPrecision?: string } {
  if (text === undefined) return {};
  if (text.includes('=')) return { layerPrecision: layerPlanText(parseLayerPlan(text)) };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(text, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(LAYER_PLAN_OPTION, code ? `cannot read plan file "${sanitizeShort(text, 120)}" (${code}); inline rules look like "first=static:8;conv=cpt:3-8"` : `${sanitizeShort(text, 120)} is not valid JSON (${(err as Error).message})`);
  }
  return { layerPrecision: layerPlanText(layerPlanFromJson(json, text)) };
}

/**
 * --optimizer and --momentum as run.json stores them: `optimizer` canonical and left out for plain
 * SGD (runs before it existed trained with it), SGD's momentum in `momentum` (a spec's
 * `momentum=M` wins over --momentum).
 */
export function optimizerConfig(flags: Pick<TrainFlags, 'optimizer' | 'momentum' | 'optimizerPrecision'>): { momentum: number; optimizer?: string; optimizerPrecision?: string } {
  const spec = parseOptimizerSpec(flags.optimizer ?? 'sgd');
  const momentum = spec.kind === 'sgd' && spec.momentum !== undefined ? spec.momentum : parseFloatOption('--momentum', flags.momentum, 0, 1);
  const name = optimizerName(spec.kind === 'sgd' ? { kind: 'sgd', nesterov: spec.nesterov } : spec);
  const precision = flags.optimizerPrecision === undefined ? '' : optimizerPrecisionName(parseOptimizerPrecision(flags.optimizerPrecision));
  if (precision) optimizerSetup(name, precision); // the combination is checked too (svrg has no momentum)
  return { momentum, ...(name === 'sgd' ? {} : { optimizer: name }), ...(precision ? { optimizerPrecision: precision } : {}) };
}

/** --fp-layers: `first,last` (either order), `last` or `none`. */
export function parseFpLayers(text: string, option = '--fp-layers'): FpLayers {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '').sort();
  const key = parts.join(',');
  if (key === 'none') return 'none';
  if (key === 'last') return 'last';
  if (key === 'first,last') return 'first,last';
  throw new UsageError(option, `expected ${FP_LAYERS.join(', ')}, got "${text}"`);
}

/** --kernels: `int` or `fake`. */
export function parseKernels(text: string): Kernels {
  const kind = text.trim();
  if (kind === 'int' || kind === 'fake') return kind;
  throw new UsageError('--kernels', `expected ${KERNELS.join(' or ')}, got "${text}"`);
}

/** --format / --grad-format as the schedule specs they stand for. */
function formatSpecs(flags: TrainFlags): { schedule: string; gradBits: string } {
  const spec = (option: string, text: string | undefined, fallback: string) => (text === undefined ? fallback : `static:${formatName(parseNumberFormat(text, option))}`);
  const schedule = flags.trainModes !== undefined ? trainModesSpec(flags.trainModes) : spec('--format', flags.format, flags.schedule);
  return { schedule, gradBits: spec('--grad-format', flags.gradFormat, flags.gradBits) };
}

/** --train-modes `A,B` or `A,B:two-phase` (bit-widths, A < B) as the schedule it stands for. */
export function trainModesSpec(text: string): string {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*(?::\s*(two-phase|alternate)\s*)?$/.exec(text);
  if (!m) throw new UsageError('--train-modes', `expected two bit-widths A,B with A < B, optionally :two-phase (e.g. 4,8 or 4,8:two-phase), got "${text}"`);
  const [a, b] = [Number(m[1]), Number(m[2])];
  if (!(a >= 1 && b <= 32 && a < b)) throw new UsageError('--train-modes', `expected bit-widths 1 ≤ A < B ≤ 32, got ${a},${b}`);
  return `alternate:${a}-${b}${m[3] === 'two-phase' ? ':from=0.5' : ''}`;
}

/** --eval-bits: a bit-width (the integer grid) or a number format; default the schedule's top. */
function evalPrecision(text: string | undefined, top: ReturnType<typeof gridFormat>): { evalBits: number; evalFormat?: string } {
  const format = text === undefined ? top : /^\d+$/.test(text.trim()) ? gridFormat(parseIntOption('--eval-bits', text, 1, 32)) : parseNumberFormat(text, '--eval-bits');
  return isGridFormat(format) ? { evalBits: elementBits(format) } : { evalBits: elementBits(format), evalFormat: formatName(format) };
}

/** --loss-weight: a positive number; 1 (the default) is left out of run.json. */
function lossWeightConfig(text: string | undefined): { lossWeight?: number } {
  if (text === undefined) return {};
  const w = parseFloatOption('--loss-weight', text, 0, 2 ** 64);
  if (!(w > 0)) throw new UsageError('--loss-weight', `expected a positive number, got ${text}`);
  return w === 1 ? {} : { lossWeight: w };
}

/** --loss-scale, canonical; `none` is left out of run.json (runs before it existed had none). */
function lossScaleConfig(text: string | undefined): { lossScale?: string } {
  const name = lossScaleName(parseLossScale(text ?? 'none'));
  return name === 'none' ? {} : { lossScale: name };
}

/** The plan of --layer-precision; with one, evaluation runs each layer at its schedule's top, so --eval-bits is refused. */
function planConfig(flags: TrainFlags): { layerPrecision?: string } {
  const plan = layerPrecisionConfig(flags.layerPrecision);
  if (plan.layerPrecision !== undefined && flags.evalBits !== undefined) {
    throw new UsageError('--eval-bits', 'with --layer-precision each layer is evaluated at its own schedule\'s top precision; evaluate other precisions with `bitcycle eval RUN --bits …`');
  }
  return plan;
}

/**
 * The default baseline of a run with a layer plan: the widest top of its schedules (the default
 * one and the plan's), held static for every layer; undefined without a plan (the schedule's top).
 */
function planBaseline(schedule: string, layerPrecision: string | undefined): string | undefined {
  if (layerPrecision === undefined) return undefined;
  const schedules = [makeSchedule(schedule), ...parseLayerPlan(layerPrecision).flatMap((r) => (r.schedule !== undefined ? [makeSchedule(r.schedule)] : []))];
  const widest = schedules.reduce((a, b) => (b.bitsMax > a.bitsMax ? b : a));
  return topStaticSpec(widest);
}

export function trainConfig(flags: TrainFlags): RunConfig {
  const specs = formatSpecs(flags);
  const plan = planConfig(flags);
  const precision = precisionPolicy({ ...flags, ...specs, baseline: flags.baseline ?? planBaseline(specs.schedule, plan.layerPrecision) });
  const lrSchedule = lrPolicyOption(flags.lrSchedule).name;
  return {
    model: parseModelSpec(flags.model),
    dataset: parseDatasetOption(flags.dataset),
    dataDir: flags.dataDir,
    schedule: precision.weightsActivations.name,
    gradBits: specs.gradBits.trim(),
    ...evalPrecision(flags.evalBits, precision.weightsActivations.top),
    ...plan,
    ...(flags.objective ? { objective: true } : {}),
    ...lossScaleConfig(flags.lossScale),
    ...lossWeightConfig(flags.lossWeight),
    epochs: parseIntOption('--epochs', flags.epochs, 1, MAX_EPOCHS),
    batchSize: parseIntOption('--batch-size', flags.batchSize, 1, 1 << 16),
    lr: parseFloatOption('--lr', flags.lr, 0),
    lrSchedule,
    ...optimizerConfig(flags),
    weightDecay: parseFloatOption('--weight-decay', flags.weightDecay, 0),
    seed: parseIntOption('--seed', flags.seed, 0, 0xffffffff),
    profile: flags.profile,
    baseline: precision.baseline.name,
    chunkSteps: flags.chunkSteps === undefined ? undefined : parseIntOption('--chunk-steps', flags.chunkSteps, 1, 100_000),
    fpLayers: parseFpLayers(flags.fpLayers ?? DEFAULT_FP_LAYERS),
    kernels: parseKernels(flags.kernels ?? DEFAULT_KERNELS),
  };
}
