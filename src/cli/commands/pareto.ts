import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { fmtAcc, fmtCount, fmtSI, textTable } from '../../format.js';
import { sanitizeShort } from '../../util/text.js';
import { printJson } from '../output.js';

/** How each cost axis is written. */
const AXIS_FORMAT: Record<string, (v: number | null) => string> = {
  energy: (v) => fmtSI(v, 'J'),
  latency: (v) => fmtSI(v, 's'),
  bitops: (v) => fmtCount(v),
  memory: (v) => fmtSI(v, 'J'),
  wall: (v) => fmtSI(v, 's'),
};

export function register(program: Command): void {
  program
    .command('pareto')
    .description('the configurations of a sweep that no other beats on both test error and a cost, per group of comparable runs (data set · model · length · profile): a table and a scatter in the terminal')
    .argument('<sweep-dir>', 'a directory written by bitcycle sweep')
    .option('--cost <axis>', 'energy | latency | bitops | memory (energy of memory traffic) | wall (training wall time)', 'energy')
    .option('--profile <name>', 'only this profile\'s groups')
    .option('--all', 'list every configuration, not only the front')
    .option('--json', 'print one JSON object')
    .action(async (path: string, flags: { cost: string; profile?: string; all?: boolean; json?: boolean }) => {
      const { COST_AXES, COST_AXIS_NAMES, configLabel } = await import('../../sweep/summary.js');
      if (!(COST_AXIS_NAMES as string[]).includes(flags.cost)) throw new UsageError('--cost', `expected ${COST_AXIS_NAMES.join(', ')}, got "${sanitizeShort(flags.cost, 40)}"`);
      const axis = flags.cost as keyof typeof COST_AXES;
      const column = COST_AXES[axis].column;
      const { readSweep } = await import('../../sweep/sweep.js');
      const { summaries, plan } = await readSweep(path);
      if (flags.profile !== undefined && !plan.profiles.includes(flags.profile)) throw new UsageError('--profile', `the sweep has ${plan.profiles.map((p) => sanitizeShort(p, 40)).join(', ')}, not "${sanitizeShort(flags.profile, 40)}"`);
      const { groupTitle, summaryGroups } = await import('../../sweep/figures.js');
      const shown = summaries.filter((s) => flags.profile === undefined || s.profile === flags.profile);
      const groups = summaryGroups(shown);
      const costOf = (s: (typeof shown)[number]) => s.stats[column as 'energy_j'].mean;
      if (flags.json) {
        printJson({
          cost: axis,
          groups: groups.map((members) => ({
            dataset: members[0]!.config.dataset,
            model: members[0]!.runs[0]!.config.model,
            epochs: members[0]!.config.epochs,
            profile: members[0]!.profile,
            front: members.filter((s) => s.front[axis]).sort((a, b) => (costOf(a) ?? 0) - (costOf(b) ?? 0)).map((s) => ({ schedule: s.config.schedule, gradBits: s.config.gradBits, lrSchedule: s.config.lrSchedule, seeds: s.completed, testAccuracy: s.stats.test_accuracy, cost: s.stats[column as 'energy_j'] })),
          })),
        });
        return;
      }
      const { frontierPlot } = await import('../../ui/charts.js');
      const width = Math.max(40, Math.min(100, (process.stdout.columns ?? 100) - 12));
      const out: string[] = [];
      for (const members of groups) {
        out.push(`${sanitizeShort(groupTitle(members), 160)}: test accuracy vs ${COST_AXES[axis].title}`);
        const listed = members.filter((s) => flags.all || s.front[axis]).sort((a, b) => (costOf(a) ?? Infinity) - (costOf(b) ?? Infinity));
        const fmt = AXIS_FORMAT[axis]!;
        const ci = (s: (typeof shown)[number]) => (s.stats.test_accuracy.ciLow === null ? '' : `[${fmtAcc(s.stats.test_accuracy.ciLow, 2)}, ${fmtAcc(s.stats.test_accuracy.ciHigh, 2)}]`);
        out.push(
          textTable([
            ['', 'configuration', 'seeds', 'test acc', '95 % interval', axis],
            ...listed.map((s) => [s.front[axis] ? '◆' : '·', sanitizeShort(configLabel(s.config), 60), `${s.completed}/${s.seeds}`, fmtAcc(s.stats.test_accuracy.mean, 2), ci(s), fmt(costOf(s))]),
          ]),
        );
        const points = members.filter((s) => costOf(s) !== null && s.stats.test_accuracy.mean !== null).map((s, i) => ({ id: String(i), cost: costOf(s)!, quality: s.stats.test_accuracy.mean!, front: s.front[axis] }));
        const plot = frontierPlot(points, new Set(points.filter((p) => p.front).map((p) => p.id)), { width, height: 10, axisWidth: 8, xName: axis, xFormat: (v) => fmt(v), yFormat: (v) => fmtAcc(v, 1) });
        out.push('', ...plot.rows.map((r) => `${r.label}┤${r.cells}`), plot.axis, plot.xLabels, '◆ on the front · • dominated', '');
      }
      if (groups.length === 0) out.push('no finished configuration in this sweep yet');
      process.stdout.write(out.join('\n') + '\n');
    });
}
