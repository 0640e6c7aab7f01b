import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { printJson } from '../output.js';

export function register(program: Command): void {
  program
    .command('runs')
    .description('list runs (a damaged run directory is listed with the reason) and the command that continues each unfinished one')
    .argument('[runs-dir]', 'directory holding run directories', 'runs')
    .option('--json', 'print one JSON object')
    .option('--csv', 'print CSV, one row per run with its config columns (model, dataset, schedule, seed, epochs, lr, profile, …), for pandas')
    .action(async (runsDir: string, opts: { json?: boolean; csv?: boolean }) => {
      if (opts.csv && opts.json) throw new UsageError('--csv', 'cannot be given with --json');
      const [{ listRuns }, { RUN_CSV_COLUMNS, csvText, runCsvRow, runJsonSummary, runsTable }] = await Promise.all([import('../../runs/read.js'), import('../../analysis/tables.js')]);
      const entries = listRuns(runsDir);
      if (opts.csv) process.stdout.write(await csvText(RUN_CSV_COLUMNS, entries.map(runCsvRow)));
      else if (opts.json) printJson({ runsDir, runs: entries.map(runJsonSummary) });
      else process.stdout.write(runsTable(entries, runsDir));
    });
}
