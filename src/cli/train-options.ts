/** Options shared by `train`, `demo` and `prt`, turned into a validated RunConfig. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { DATASETS } from '../data/index.js';
import { MODEL_NAMES, parseModelSpec } from '../models/spec.js';
import { DEFAULT_FP_LAYERS, FP_LAYERS, type FpLayers } from '../models/model.js';
import { DEFAULT_KERNELS, INT_KERNEL_MAX_BITS, KERNELS, type Kernels } from '../engine/kernels.js';
import { MAX_EPOCHS } from '../runs/limits.js';
import type { RunConfig } from '../runs/run-format.js';
import { precisionPolicy } from '../schedule/precision.js';
import { DEFAULT_LR_SCHEDULE, lrPolicyOption } from '../schedule/lr.js';
import { parseFloatOption, parseIntOption } from './output.js';

export interface TrainFlags {
  model: string;
  dataset: string;
  dataDir?: string;
  schedule: string;
  gradBits: string;
  evalBits?: string;
  epochs: string;
  batchSize: string;
  lr: string;
  lrSchedule: string;
  momentum: string;
  weightDecay: string;
  seed: string;
  profile: string;
  baseline?: string;
  chunkSteps?: string;
  fpLayers?: string;
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
    .option('--momentum <m>', 'SGD momentum', '0.9')
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
    .option('--grad-bits <bits|spec>', 'precision of back-propagated errors: a bit-width (= static:B) or a precision policy as --schedule', '8')
    .option('--eval-bits <bits>', 'bit-width of evaluation (default: the schedule maximum)')
    .option('--epochs <n>', 'training epochs', defaults.epochs ?? '30')
    .option(
      '--lr-schedule <spec>',
      'learning-rate policy around --lr: constant | cosine (--lr → 0) | step:every=F[:gamma=G] | multistep:at=F/F… | exp | poly | ramp | tri | tri2 | exp-range | sine | cosine-restarts | one-cycle | cpt, each [:LOW-HIGH] (rates instead of --lr) [:key=value…] [:warmup=F] (docs/schedules.md)',
      DEFAULT_LR_SCHEDULE,
    )
    .option('--profile <name|file>', 'hardware profile for the cost tally (a shipped name, a JSON file, or none)', 'bit-fusion-45nm')
    .option('--baseline <spec>', 'static-precision counterfactual for the cost tally (default: static:<schedule max>)')
    .option('--chunk-steps <k>', 'training steps per onnxruntime call (default 50, never across an epoch end)')
    .option('--kernels <kind>', `GEMM kernels of quantized layers: int (integer GEMMs for steps whose bit-widths are all ≤ ${INT_KERNEL_MAX_BITS}) | fake (fp32 on fake-quantized values)`, DEFAULT_KERNELS);
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

export function trainConfig(flags: TrainFlags): RunConfig {
  const precision = precisionPolicy(flags);
  const lrSchedule = lrPolicyOption(flags.lrSchedule).name;
  return {
    model: parseModelSpec(flags.model),
    dataset: parseDatasetOption(flags.dataset),
    dataDir: flags.dataDir,
    schedule: precision.weightsActivations.name,
    gradBits: flags.gradBits.trim(),
    evalBits: flags.evalBits === undefined ? precision.weightsActivations.bitsMax : parseIntOption('--eval-bits', flags.evalBits, 1, 32),
    epochs: parseIntOption('--epochs', flags.epochs, 1, MAX_EPOCHS),
    batchSize: parseIntOption('--batch-size', flags.batchSize, 1, 1 << 16),
    lr: parseFloatOption('--lr', flags.lr, 0),
    lrSchedule,
    momentum: parseFloatOption('--momentum', flags.momentum, 0, 1),
    weightDecay: parseFloatOption('--weight-decay', flags.weightDecay, 0),
    seed: parseIntOption('--seed', flags.seed, 0, 0xffffffff),
    profile: flags.profile,
    baseline: precision.baseline.name,
    chunkSteps: flags.chunkSteps === undefined ? undefined : parseIntOption('--chunk-steps', flags.chunkSteps, 1, 100_000),
    fpLayers: parseFpLayers(flags.fpLayers ?? DEFAULT_FP_LAYERS),
    kernels: parseKernels(flags.kernels ?? DEFAULT_KERNELS),
  };
}
