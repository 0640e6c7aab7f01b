/**
 * `bitcycle plot`: figures for papers, as SVG or PNG (by the --out extension), drawn from
 * Vega-Lite specs (src/plot): precision schedules, training curves of stored runs, and a sweep's
 * Pareto frontier and heatmaps (src/sweep/figures.ts).
 */
import { statSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { resolveRunArg } from '../run-args.js';
import { parseIntOption } from '../output.js';

/** Longest schedule `plot schedule` draws (a step plot keeps every change; 10⁷ iterations take ~10 MB). */
const MAX_ITERATIONS = 10_000_000;

/** --out: a .svg or .png file in an existing directory. */
function parseOut(out: string | undefined): { file: string; format: 'svg' | 'png' } {
  if (out === undefined || out === '') throw new UsageError('--out', 'required: the figure file, ending in .svg or .png');
  const ext = extname(out).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new UsageError('--out', `must end in .svg or .png, got "${out}"`);
  const dir = dirname(out);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new UsageError('--out', `the directory ${dir} does not exist`);
  try {
    if (statSync(out).isDirectory()) throw new UsageError('--out', `${out} is a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }
  return { file: out, format: ext === '.svg' ? 'svg' : 'png' };
}

async function write(spec: Parameters<typeof import('../../plot/render.js').renderFigure>[0], out: { file: string; format: 'svg' | 'png' }): Promise<void> {
  const { renderFigure } = await import('../../plot/render.js');
  const bytes = await renderFigure(spec, out.format);
  writeFileSync(out.file, bytes);
  process.stdout.write(`wrote ${out.file} (${out.format.toUpperCase()}, ${bytes.length} bytes)\n`);
}

export function register(program: Command): void {
  const plot = program.command('plot').description('figures as SVG or PNG (by the --out extension): precision schedules, training curves of runs, a sweep\'s frontier and heatmaps');

  plot
    .command('schedule')
    .description('bit-width over iterations of one or more precision schedules')
    .argument('<specs...>', 'schedule specs: static:B | cpt:Bmin-Bmax[:cycles=N] | tri:Bmin-Bmax[:cycles=N] | ramp:Bmin-Bmax')
    .option('--iterations <n>', 'total iterations', '640')
    .option('--out <file>', 'the figure: FILE.svg or FILE.png')
    .action(async (specs: string[], opts: { iterations: string; out?: string }) => {
      const total = parseIntOption('--iterations', opts.iterations, 1, MAX_ITERATIONS);
      const out = parseOut(opts.out);
      const [{ makeSchedule, scheduleBits, scheduleWarning }, { scheduleChart }] = await Promise.all([import('../../schedule/index.js'), import('../../plot/charts.js')]);
      const series = specs.map((spec) => {
        const schedule = makeSchedule(spec);
        const warning = scheduleWarning(schedule, total);
        if (warning) process.stderr.write(`warning: ${warning}\n`);
        return { name: schedule.name, bits: scheduleBits(schedule, total) };
      });
      await write(scheduleChart(series, `precision schedule over ${total} iterations`), out);
    });

  plot
    .command('runs')
    .description('training curves of stored runs: one line per run')
    .argument('<runs...>', 'run directories (or names inside --runs-dir)')
    .option('--runs-dir <dir>', 'where to look up run names', 'runs')
    .option('--metric <name>', 'loss | train-accuracy | test-accuracy | test-loss', 'test-accuracy')
    .option('--out <file>', 'the figure: FILE.svg or FILE.png')
    .action(async (args: string[], opts: { runsDir: string; metric: string; out?: string }) => {
      const [{ CURVE_METRICS, curvesChart }, { readRun, readSteps, readEvals }] = await Promise.all([import('../../plot/charts.js'), import('../../runs/read.js')]);
      if (!Object.hasOwn(CURVE_METRICS, opts.metric)) throw new UsageError('--metric', `expected ${Object.keys(CURVE_METRICS).join(', ')}, got "${opts.metric}"`);
      const metric = opts.metric as keyof typeof CURVE_METRICS;
      const out = parseOut(opts.out);
      const runs = args.map((a) => resolveRunArg(a, opts.runsDir, readRun));
      const curves = await Promise.all(
        runs.map(async (r) => {
          if (CURVE_METRICS[metric].per === 'step') {
            const steps = await readSteps(r.dir);
            return { name: r.name, points: steps.map((s) => [s.step, metric === 'loss' ? s.loss : s.trainAcc] as const) };
          }
          const evals = await readEvals(r.dir);
          return { name: r.name, points: evals.map((e) => [e.step, metric === 'test-loss' ? e.testLoss : e.testAcc] as const) };
        }),
      );
      await write(curvesChart(curves, metric), out);
    });

  plot
    .command('frontier')
    .description('a sweep\'s Pareto frontier: test error (mean, 95 % interval over seeds) vs a cost, each configuration labelled')
    .argument('<sweep-dir>', 'a directory written by bitcycle sweep')
    .option('--cost <axis>', 'energy | latency | bitops | memory | wall', 'energy')
    .option('--profile <name>', 'the profile whose costs are drawn (required when the sweep has several)')
    .option('--group <n>', 'which group of comparable runs (data set · model · length), when the sweep has several', '1')
    .option('--out <file>', 'the figure: FILE.svg or FILE.png')
    .action(async (path: string, opts: { cost: string; profile?: string; group: string; out?: string }) => {
      const [{ COST_AXIS_NAMES }, { frontierFigure, summaryGroups, groupTitle }, { readSweep }] = await Promise.all([import('../../sweep/summary.js'), import('../../sweep/figures.js'), import('../../sweep/sweep.js')]);
      if (!(COST_AXIS_NAMES as string[]).includes(opts.cost)) throw new UsageError('--cost', `expected ${COST_AXIS_NAMES.join(', ')}, got "${opts.cost}"`);
      const out = parseOut(opts.out);
      const { summaries, plan } = await readSweep(path);
      if (opts.profile === undefined && plan.profiles.length > 1) throw new UsageError('--profile', `the sweep has ${plan.profiles.length} profiles: choose one of ${plan.profiles.join(', ')}`);
      const profile = opts.profile ?? plan.profiles[0]!;
      if (!plan.profiles.includes(profile)) throw new UsageError('--profile', `the sweep has ${plan.profiles.join(', ')}, not "${profile}"`);
      const groups = summaryGroups(summaries.filter((s) => s.profile === profile));
      const index = parseIntOption('--group', opts.group, 1, Math.max(1, groups.length));
      const group = groups[index - 1];
      if (!group) throw new UsageError('<sweep-dir>', 'no finished configuration in this sweep yet');
      if (groups.length > 1) process.stderr.write(`group ${index} of ${groups.length}: ${groupTitle(group)} (others: --group N)\n`);
      await write(frontierFigure(group, opts.cost as 'energy'), out);
    });

  plot
    .command('heatmap')
    .description('a sweep\'s heatmap: schedules × LR policies (accuracy) or schedules × profiles (savings)')
    .argument('<sweep-dir>', 'a directory written by bitcycle sweep')
    .option('--value <name>', 'test-accuracy | energy-saving | latency-saving | robust-bmin', 'test-accuracy')
    .option('--out <file>', 'the figure: FILE.svg or FILE.png')
    .action(async (path: string, opts: { value: string; out?: string }) => {
      const [{ HEATMAP_VALUES, heatmapFigure }, { readSweep }] = await Promise.all([import('../../sweep/figures.js'), import('../../sweep/sweep.js')]);
      if (!Object.hasOwn(HEATMAP_VALUES, opts.value)) throw new UsageError('--value', `expected ${Object.keys(HEATMAP_VALUES).join(', ')}, got "${opts.value}"`);
      const out = parseOut(opts.out);
      const { summaries } = await readSweep(path);
      if (summaries.length === 0) throw new UsageError('<sweep-dir>', 'no configuration in this sweep');
      await write(heatmapFigure(summaries, opts.value as 'test-accuracy'), out);
    });
}
