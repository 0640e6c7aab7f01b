import type { Command } from 'commander';
import { printJson } from '../output.js';

export function register(program: Command): void {
  program
    .command('runs')
    .description('list runs (a damaged run directory is listed with the reason) and the command that continues each unfinished one')
    .argument('[runs-dir]', 'directory holding run directories', 'runs')
    .option('--json', 'print one JSON object')
    .action(async (runsDir: string, opts: { json?: boolean }) => {
      const [{ listRuns }, { runJsonSummary, runsTable }] = await Promise.all([import('../../runs/read.js'), import('../../analysis/tables.js')]);
      const entries = listRuns(runsDir);
      if (opts.json) printJson({ runsDir, runs: entries.map(runJsonSummary) });
      else process.stdout.write(runsTable(entries, runsDir));
    });
}
