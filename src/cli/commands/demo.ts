import type { Command } from 'commander';
import { fmtAcc, fmtCount, fmtNum, fmtPct, fmtTime, formatSI, textTable } from '../../format.js';
import { savingsPct } from '../../hw/savings.js';
import type { SessionResult } from '../../runs/session.js';
import { printJson } from '../output.js';
import { plainProgress } from '../plain.js';
import { addTrainOptions, type TrainFlags, trainConfig } from '../train-options.js';

interface Flags extends TrainFlags {
  out: string;
  json?: boolean;
  quiet?: boolean;
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
    const { runSession } = await import('../../runs/session.js');
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
      ['schedule', 'test acc', 'energy', 'latency', 'BitOPs', 'steps/s'],
      ...results.map((r, i) => [
        i === 0 ? 'static:8' : flags.schedule,
        fmtAcc(r.summary.testAccuracy, 2),
        r.cost ? formatSI(r.cost.energyJ, 'J') : '—',
        r.cost ? fmtTime(r.cost.latencyS) : '—',
        r.cost ? fmtCount(r.cost.bitops) : '—',
        fmtNum(r.summary.stepsPerSecond, 3),
      ]),
    ];
    log('\n' + textTable(rows));
    if (base.cost && cpt.cost) {
      const s = savingsPct(cpt.cost, base.cost);
      log(
        `\n${flags.schedule} vs static:8 on ${cpt.cost.profile}: accuracy ${cpt.summary.testAccuracy !== null && base.summary.testAccuracy !== null ? `${((cpt.summary.testAccuracy - base.summary.testAccuracy) * 100).toFixed(2)} points` : '— (a run has no final accuracy)'}, ` +
          `energy saved ${fmtPct(s.energyPct)}, latency saved ${fmtPct(s.latencyPct)}, BitOPs saved ${fmtPct(s.bitopsPct)}`,
      );
    }
    log(`\nruns saved in ${flags.out}/ — browse them with: bitcycle review ${flags.out}`);
  });
}
