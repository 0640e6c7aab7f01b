import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { DEFAULT_FP_LAYERS } from '../../models/model.js';
import { sanitizeShort } from '../../util/text.js';
import { parseFloatOption, parseIntOption } from '../output.js';

interface SweepFlags {
  file?: string;
  model: string[];
  dataset: string[];
  dataDir?: string;
  schedules: string;
  gradBits: string;
  lrSchedules: string;
  seeds: string;
  seed: string;
  profiles: string;
  epochs: string;
  batchSize: string;
  lr: string;
  momentum: string;
  weightDecay: string;
  evalBits?: string;
  baseline?: string;
  fpLayers: string;
  kernels?: string;
  chunkSteps?: string;
  out: string;
  workers?: string;
  queue?: string;
  budget?: string;
  selection: string;
  verify?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** `a,b , c` → [a, b, c]; an empty item is an error naming the option. */
export function listOption(option: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(option, `expected a comma-separated list without empty items, got "${sanitizeShort(text, 80)}"`);
  return items;
}

/** The sweep spec from a sweep file (if any) and the flags given on the command line (which win). */
function sweepSpecFrom(flags: SweepFlags, given: (name: string) => boolean): unknown {
  let base: Record<string, unknown> = {};
  if (flags.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.file, 'utf8');
    } catch (err) {
      throw new UsageError('--file', `cannot read "${sanitizeShort(flags.file, 120)}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError('--file', `${sanitizeShort(flags.file, 120)} is not valid JSON (${(err as Error).message})`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new UsageError('--file', `${sanitizeShort(flags.file, 120)}: expected a JSON object`);
  }
  const spec: Record<string, unknown> = { ...base };
  const set = (name: string, key: string, value: () => unknown) => {
    if (flags.file === undefined || given(name)) spec[key] = value();
  };
  set('model', 'models', () => flags.model);
  set('dataset', 'datasets', () => flags.dataset);
  if (flags.dataDir !== undefined) spec.dataDir = flags.dataDir;
  set('schedules', 'schedules', () => listOption('--schedules', flags.schedules));
  set('gradBits', 'gradBits', () => listOption('--grad-bits', flags.gradBits));
  set('lrSchedules', 'lrSchedules', () => listOption('--lr-schedules', flags.lrSchedules));
  set('seeds', 'seeds', () => parseIntOption('--seeds', flags.seeds, 1, 1000));
  set('seed', 'firstSeed', () => parseIntOption('--seed', flags.seed, 0, 0xffffffff));
  set('profiles', 'profiles', () => listOption('--profiles', flags.profiles));
  set('epochs', 'epochs', () => parseIntOption('--epochs', flags.epochs, 1));
  set('batchSize', 'batchSize', () => parseIntOption('--batch-size', flags.batchSize, 1, 1 << 16));
  set('lr', 'lr', () => parseFloatOption('--lr', flags.lr, 0));
  set('momentum', 'momentum', () => parseFloatOption('--momentum', flags.momentum, 0, 1));
  set('weightDecay', 'weightDecay', () => parseFloatOption('--weight-decay', flags.weightDecay, 0));
  set('fpLayers', 'fpLayers', () => flags.fpLayers);
  if (flags.evalBits !== undefined) spec.evalBits = parseIntOption('--eval-bits', flags.evalBits, 1, 32);
  if (flags.baseline !== undefined) spec.baseline = flags.baseline;
  if (flags.kernels !== undefined) spec.kernels = flags.kernels;
  if (flags.chunkSteps !== undefined) spec.chunkSteps = parseIntOption('--chunk-steps', flags.chunkSteps, 1, 100_000);
  return spec;
}

export function register(program: Command): void {
  program
    .command('sweep')
    .description('train a grid of runs (models × data sets × schedules × error bits × LR policies × seeds) on a local worker pool or a Redis queue, cost each on several profiles, and summarise over seeds (summary.csv); rerunning continues where it stopped')
    .option('--file <sweep.json>', 'a JSON sweep file (fields as the options below: models, datasets, schedules, gradBits, lrSchedules, seeds, profiles, epochs, …); options given on the command line override it')
    .option('--model <spec>', 'a model spec; repeat for several (default mlp)', collect)
    .option('--dataset <name>', 'a data set; repeat for several (default digits)', collect)
    .option('--data-dir <dir>', 'read the data sets from this directory')
    .option('--schedules <list>', 'comma-separated precision schedules of weights and activations', 'cpt:3-8')
    .option('--grad-bits <list>', 'comma-separated error precisions (bit-widths or schedules)', '8')
    .option('--lr-schedules <list>', 'comma-separated learning-rate policies', 'constant')
    .option('--seeds <n>', 'seeds per configuration (--seed, --seed+1, …)', '1')
    .option('--seed <n>', 'first seed', '1')
    .option('--profiles <list>', 'comma-separated hardware profiles (names or files); runs train once and are re-tallied on each', 'bit-fusion-45nm')
    .option('--epochs <n>', 'training epochs of every run', '30')
    .option('--batch-size <n>', 'batch size', '64')
    .option('--lr <rate>', 'learning rate', '0.1')
    .option('--momentum <m>', 'SGD momentum', '0.9')
    .option('--weight-decay <wd>', 'weight decay', '0.0005')
    .option('--eval-bits <bits>', 'bit-width of evaluation (default: each schedule\'s maximum)')
    .option('--baseline <spec>', 'static-precision counterfactual of the cost tally (default: static:<schedule max>)')
    .option('--fp-layers <layers>', 'GEMM layers kept at full precision', DEFAULT_FP_LAYERS)
    .option('--kernels <kind>', 'GEMM kernels of quantized layers: int | fake')
    .option('--chunk-steps <k>', 'training steps per onnxruntime call')
    .requiredOption('--out <dir>', 'the sweep directory (created; rerun with the same --out to continue)')
    .option('--workers <n>', 'local worker threads (default: the number of cores)')
    .option('--queue <redis-url>', 'put the runs on a BullMQ queue at redis://HOST:PORT instead; `bitcycle worker --queue …` processes train them')
    .option('--budget <fraction>', 'train only this fraction of the configs × tasks grid (tasks: model × data set × seed), chosen by --selection, and estimate the rest by low-rank matrix completion (PEPPP)')
    .option('--selection <method>', 'how --budget chooses the runs: d-optimal (greedy D-optimal design, in rounds) | random', 'd-optimal')
    .option('--verify', 'with --budget: then train the rest too, and report how far the estimated frontier was from the true one')
    .option('--json', 'print the summary as one JSON object at the end')
    .action(async (flags: SweepFlags, command: Command) => {
      const given = (name: string) => command.getOptionValueSource(name) === 'cli';
      const { parseSweepSpec, planSweep } = await import('../../sweep/spec.js');
      const source = flags.file ?? 'sweep';
      const raw = sweepSpecFrom({ ...flags, model: flags.model ?? ['mlp'], dataset: flags.dataset ?? ['digits'] }, (name) => given(name) || ((name === 'model' || name === 'dataset') && flags[name] !== undefined));
      const plan = planSweep(parseSweepSpec(raw, source === 'sweep' ? 'sweep' : `--file ${sanitizeShort(source, 120)}`));
      if (flags.queue !== undefined) (await import('../../sweep/queue.js')).redisConnection(flags.queue);
      const workers = flags.workers === undefined ? undefined : parseIntOption('--workers', flags.workers, 1, 256);
      if (flags.selection !== 'd-optimal' && flags.selection !== 'random') throw new UsageError('--selection', `expected d-optimal or random, got "${sanitizeShort(flags.selection, 40)}"`);
      if (flags.budget === undefined && (flags.verify || given('selection'))) throw new UsageError(flags.verify ? '--verify' : '--selection', 'only with --budget');
      const budget = flags.budget === undefined ? undefined : { fraction: parseFloatOption('--budget', flags.budget, Number.MIN_VALUE, 1), method: flags.selection as 'random' | 'd-optimal', seed: plan.spec.firstSeed, verify: flags.verify === true };
      if (budget) {
        const { budgetGrid } = await import('../../sweep/budget.js');
        const { budgetCells, minimumBudget } = await import('../../analysis/completion.js');
        const grid = budgetGrid(plan);
        const cells = budgetCells(grid.configs.length, grid.tasks.length, budget.fraction);
        if (cells < Math.max(grid.configs.length, grid.tasks.length)) {
          throw new UsageError('--budget', `${budget.fraction} of the ${grid.configs.length} configs × ${grid.tasks.length} tasks is ${cells} run${cells === 1 ? '' : 's'}, fewer than it takes to train every config and every task once (at least ${minimumBudget(grid.configs.length, grid.tasks.length).toFixed(3)})`);
        }
      }
      const { runSweepCommand } = await import('../sweep-run.js');
      const code = await runSweepCommand(plan, { out: flags.out, workers, queue: flags.queue, json: flags.json === true, budget });
      process.exitCode = code;
    });
}
