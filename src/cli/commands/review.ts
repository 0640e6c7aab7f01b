import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('review')
    .description('browse, compare and re-estimate runs in an interactive terminal dashboard (plain table without a TTY)')
    .argument('[runs-dir]', 'directory holding run directories', 'runs')
    .option('--profiles-dir <dirs>', 'directories of your own profiles to re-estimate on, besides the shipped ones (also BITCYCLE_PROFILES)')
    .action(async (runsDir: string, opts: { profilesDir?: string }) => {
      const { profileDirs } = await import('../../hw/load.js');
      const dirs = profileDirs(opts.profilesDir);
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        const [{ listRuns }, { runsTable }] = await Promise.all([import('../../runs/read.js'), import('../../analysis/tables.js')]);
        const entries = listRuns(runsDir);
        process.stdout.write(runsTable(entries, runsDir));
        process.stderr.write('bitcycle: review: not a terminal, printed the run table instead (see `bitcycle runs --json`)\n');
        return;
      }
      const { runReview } = await import('../../ui/review/ReviewApp.js');
      await runReview({ runsDir, profileDirs: dirs });
    });
}
