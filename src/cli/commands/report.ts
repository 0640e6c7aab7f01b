import { basename, dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { sanitizeShort } from '../../util/text.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('one self-contained HTML page of a sweep (summary table, Pareto frontiers, heatmaps, every run) that works offline')
    .argument('<sweep-dir>', 'a directory written by bitcycle sweep')
    .requiredOption('--out <file.html>', 'the page to write')
    .option('--cost <axis>', 'cost axis of the frontiers: energy | latency | bitops | memory | wall', 'energy')
    .action(async (path: string, opts: { out: string; cost: string }) => {
      const { COST_AXIS_NAMES } = await import('../../sweep/summary.js');
      if (!(COST_AXIS_NAMES as string[]).includes(opts.cost)) throw new UsageError('--cost', `expected ${COST_AXIS_NAMES.join(', ')}, got "${sanitizeShort(opts.cost, 40)}"`);
      if (!/\.html?$/i.test(opts.out)) throw new UsageError('--out', `must end in .html, got "${sanitizeShort(opts.out, 120)}"`);
      let dirOk = false;
      try {
        dirOk = statSync(dirname(resolve(opts.out))).isDirectory();
      } catch {
        // reported below
      }
      if (!dirOk) throw new UsageError('--out', `the directory ${sanitizeShort(dirname(opts.out), 120)} does not exist`);
      const [{ readSweep }, { sweepReport }, { renderSvg }, { reportHtml }] = await Promise.all([
        import('../../sweep/sweep.js'),
        import('../../sweep/figures.js'),
        import('../../plot/render.js'),
        import('../../report/html.js'),
      ]);
      const { plan, summaries, results, dir } = await readSweep(path);
      const report = await sweepReport(plan, summaries, results, renderSvg, { axis: opts.cost as 'energy', created: new Date(), source: basename(dir.dir) });
      const html = reportHtml(report);
      writeFileAtomic(opts.out, html);
      process.stdout.write(`wrote ${sanitizeShort(opts.out, 160)} (${html.length} bytes)\n`);
    });
}
