import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { RunError } from '../../errors.js';
import type { RunInfo } from '../../runs/read.js';
import { printJson } from '../output.js';

/** A run given as a directory path, or as a name inside the runs directory. */
function resolveRun(arg: string, runsDir: string, readRun: (dir: string) => RunInfo): RunInfo {
  const dir = existsSync(join(arg, 'run.json')) || !existsSync(join(runsDir, arg)) ? arg : join(runsDir, arg);
  if (!existsSync(dir)) throw new RunError(arg, `no such run directory (looked in . and ${runsDir}/)`);
  return readRun(dir);
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('compare runs side by side: accuracy, energy, latency, savings, Pareto front')
    .argument('<runs...>', 'run directories (or names inside --runs-dir)')
    .option('--runs-dir <dir>', 'where to look up run names', 'runs')
    .option('--json', 'print one JSON object')
    .action(async (args: string[], opts: { runsDir: string; json?: boolean }) => {
      const [{ readRun }, { paretoFront }, { compareTable, runJsonSummary }] = await Promise.all([import('../../runs/read.js'), import('../../analysis/pareto.js'), import('../../analysis/tables.js')]);
      const runs = args.map((a) => resolveRun(a, opts.runsDir, readRun));
      const front = paretoFront(
        runs.filter((r) => r.run.cost && r.run.summary).map((r) => ({ id: r.name, cost: r.run.cost!.energyJ, quality: r.run.summary!.testAccuracy })),
      );
      if (opts.json) {
        printJson({ runs: runs.map((r) => ({ ...runJsonSummary(r), paretoOptimal: front.has(r.name) })), paretoFront: [...front] });
        return;
      }
      process.stdout.write(compareTable(runs));
      if (front.size) process.stdout.write(`\nPareto front (energy vs test acc): ${[...front].join(', ')}\n`);
    });
}
