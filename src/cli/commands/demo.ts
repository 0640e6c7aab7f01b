import type { Command } from 'commander';
import { type SessionResult, runSession } from '../../runs/session.js';
import { formatEnergy, formatSeconds, plainProgress } from '../plain.js';
import { printJson } from '../output.js';
import { addTrainOptions, type TrainFlags, trainConfig } from '../train-options.js';

interface Flags extends TrainFlags {
  out: string;
  json?: boolean;
  quiet?: boolean;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('the demo: train static 8-bit and CPT 3–8 on digits and compare accuracy and cost on the default profile')
    .option('--out <dir>', 'directory for the two run directories', 'runs')
    .option('--json', 'print one JSON object with both results')
    .option('--quiet', 'no per-epoch progress');
  addTrainOptions(cmd, { schedule: 'cpt:3-8' }).action(async (flags: Flags) => {
    const log = (line: string) => (flags.json ? process.stderr : process.stdout).write(line + '\n');
    const results: SessionResult[] = [];
    for (const schedule of ['static:8', flags.schedule]) {
      const config = trainConfig({ ...flags, schedule, baseline: flags.baseline ?? 'static:8' });
      log(`\n== ${config.schedule} (grad bits ${config.gradBits}) on ${config.dataset}, ${config.epochs} epochs, profile ${config.profile}`);
      const progress = plainProgress(log);
      results.push(await runSession(config, { outDir: flags.out, onEvent: flags.quiet ? undefined : progress }));
    }
    if (flags.json) {
      printJson({ runs: results.map((r) => ({ runId: r.runId, runDir: r.runDir, testAccuracy: r.summary.testAccuracy, stepsPerSecond: r.summary.stepsPerSecond, cost: r.cost })) });
      return;
    }
    const [base, cpt] = results as [SessionResult, SessionResult];
    const rows = [
      ['schedule', 'test acc', 'energy', 'latency', 'GBitOPs', 'steps/s'],
      ...results.map((r, i) => [
        i === 0 ? 'static:8' : flags.schedule,
        `${(100 * r.summary.testAccuracy).toFixed(2)} %`,
        r.cost ? formatEnergy(r.cost.energyJ) : '-',
        r.cost ? formatSeconds(r.cost.latencyS) : '-',
        r.cost ? (r.cost.bitops / 1e9).toFixed(1) : '-',
        r.summary.stepsPerSecond.toFixed(0),
      ]),
    ];
    log('\n' + table(rows));
    if (base.cost && cpt.cost) {
      const pct = (a: number, b: number) => ((100 * (b - a)) / b).toFixed(1);
      log(
        `\n${flags.schedule} vs static:8 on ${cpt.cost.profile}: accuracy ${((cpt.summary.testAccuracy - base.summary.testAccuracy) * 100).toFixed(2)} points, ` +
          `energy −${pct(cpt.cost.energyJ, base.cost.energyJ)} %, latency −${pct(cpt.cost.latencyS, base.cost.latencyS)} %, BitOPs −${pct(cpt.cost.bitops, base.cost.bitops)} %`,
      );
    }
    log(`\nruns saved in ${flags.out}/ — browse them with: bitcycle review ${flags.out}`);
  });
}
