import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { resolveRunArg } from '../run-args.js';
import { printJson } from '../output.js';

export function register(program: Command): void {
  program
    .command('compare')
    .description('compare runs side by side: accuracy, energy, latency, savings, Pareto front')
    .argument('<runs...>', 'run directories (or names inside --runs-dir)')
    .option('--runs-dir <dir>', 'where to look up run names', 'runs')
    .option('--json', 'print one JSON object')
    .option('--csv', 'print CSV, one row per run with its config columns and whether it is on its Pareto front, for pandas')
    .action(async (args: string[], opts: { runsDir: string; json?: boolean; csv?: boolean }) => {
      if (opts.csv && opts.json) throw new UsageError('--csv', 'cannot be given with --json');
      const [{ readRun }, { paretoGroups }, { RUN_CSV_COLUMNS, compareTable, csvText, paretoLines, runCsvRow, runJsonSummary, scatterPoint }] = await Promise.all([
        import('../../runs/read.js'),
        import('../../analysis/pareto.js'),
        import('../../analysis/tables.js'),
      ]);
      const runs = args.map((a) => resolveRunArg(a, opts.runsDir, readRun));
      // A front only among comparable runs: same data set, model, steps and profile. Runs without
      // an energy or a test accuracy (not evaluated, diverged, no profile) are on none.
      const points = runs.map((r, i) => {
        const p = scatterPoint(r);
        return p ? { ...p, id: String(i) } : null;
      });
      const groups = paretoGroups(points.filter((p): p is NonNullable<typeof p> => p !== null));
      const optimal = new Set(groups.flatMap((g) => [...g.front].map(Number)));
      const withFront = groups.filter((g) => g.front.size > 0);
      if (opts.csv) {
        const rows = runs.map((r, i) => ({ ...runCsvRow(r), pareto_optimal: optimal.has(i) }));
        process.stdout.write(await csvText([...RUN_CSV_COLUMNS, 'pareto_optimal'], rows));
        return;
      }
      if (opts.json) {
        printJson({
          runs: runs.map((r, i) => ({ ...runJsonSummary(r), paretoOptimal: optimal.has(i) })),
          paretoFront: runs.filter((_, i) => optimal.has(i)).map((r) => r.name),
          paretoGroups: withFront.map((g) => ({ group: g.points[0]!.label, runs: g.points.map((p) => runs[Number(p.id)]!.name), front: [...g.front].map((i) => runs[Number(i)]!.name) })),
        });
        return;
      }
      process.stdout.write(compareTable(runs));
      process.stdout.write(paretoLines(withFront.map((g) => ({ label: g.points[0]!.label, names: g.points.filter((p) => g.front.has(p.id)).sort((a, b) => a.cost - b.cost).map((p) => runs[Number(p.id)]!.name) }))));
    });
}
