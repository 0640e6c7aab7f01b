import type { Command } from 'commander';
import { listRuns } from '../../runs/read.js';
import { runJsonSummary, runsTable } from '../../ui/review/plain.js';
import { printJson } from '../output.js';

export function register(program: Command): void {
  program
    .command('runs')
    .description('list runs (a damaged run directory is listed with the reason)')
    .argument('[runs-dir]', 'directory holding run directories', 'runs')
    .option('--json', 'print one JSON object')
    .action((runsDir: string, opts: { json?: boolean }) => {
      const entries = listRuns(runsDir);
      if (opts.json) printJson({ runsDir, runs: entries.map(runJsonSummary) });
      else process.stdout.write(runsTable(entries));
    });
}
