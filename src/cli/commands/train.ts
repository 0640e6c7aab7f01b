import type { Command } from 'commander';
import type { TrainControl } from '../../engine/trainer.js';
import { UsageError } from '../../errors.js';
import { fmtAcc, fmtNum, fmtPct, fmtTime, formatSI } from '../../format.js';
import { formatModelSpec } from '../../models/spec.js';
import type { RunConfig } from '../../runs/run-format.js';
import type { LayerEnergy, SessionResult } from '../../runs/session.js';
import { sanitize } from '../../util/text.js';
import { parseFloatOption, parseIntOption, printJson } from '../output.js';
import { plainProgress } from '../plain.js';
import { addTrainOptions, type TrainFlags, trainConfig } from '../train-options.js';

interface Flags extends TrainFlags {
  out: string;
  name?: string;
  resume?: string;
  repair?: boolean;
  profilesDir?: string;
  json?: boolean;
  threads?: string;
  checkpointInterval: string;
  dashboard: boolean;
}

export function resultJson(result: SessionResult, config: RunConfig | null): Record<string, unknown> {
  return {
    runId: result.runId,
    runDir: result.runDir,
    status: result.status,
    testAccuracy: result.summary.testAccuracy,
    testLoss: result.summary.testLoss,
    bestTestAccuracy: result.summary.bestTestAccuracy,
    finalTrainLoss: result.summary.finalTrainLoss,
    steps: result.summary.steps,
    totalSteps: result.totalSteps,
    stepsPerSecond: result.summary.stepsPerSecond,
    wallS: result.summary.wallS,
    ...(config ? { schedule: config.schedule, gradBits: config.gradBits, model: formatModelSpec(config.model), dataset: config.dataset, seed: config.seed } : {}),
    cost: result.cost,
    ...(result.costByLayer ? { costByLayer: result.costByLayer } : {}),
    ...(result.layerPrecision !== undefined ? { layerPrecision: result.layerPrecision } : {}),
    ...(result.evaluations.length ? { modes: result.evaluations.map((e) => ({ bits: e.bits, testAccuracy: e.accuracy, testLoss: e.loss })) } : {}),
    ...(result.divergence ? { divergence: result.divergence } : {}),
    ...(result.repairs.length ? { repairs: result.repairs } : {}),
  };
}

/** Options that make sense with --resume; every other option the user gave is an error. */
const RESUME_OPTIONS = new Set(['resume', 'repair', 'json', 'threads', 'checkpointInterval', 'dashboard', 'profilesDir']);

/**
 * A resumed run trains with its own stored config: an option that would change it (or where the
 * run goes) is refused rather than silently ignored.
 */
export function rejectOptionsWithResume(cmd: Command): void {
  for (const option of cmd.options) {
    const key = option.attributeName();
    if (RESUME_OPTIONS.has(key) || cmd.getOptionValueSource(key) !== 'cli') continue;
    throw new UsageError(option.long ?? key, 'cannot be given with --resume: a resumed run keeps its own settings (see its run.json); start a new run to change them');
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a model with a precision schedule on generated ONNX training artifacts')
    .option('--out <dir>', 'directory for run directories', 'runs')
    .option('--name <name>', 'run directory name (default: generated from time, model, data set, schedule, seed)')
    .option('--resume <runDir>', 'continue an interrupted or stopped run from its last checkpoint (only --threads, --checkpoint-interval, --json, --no-dashboard, --repair go with it)')
    .option('--repair', 'with --resume: instead of refusing a damaged run, go back to its last consistent point and say what was dropped')
    .option('--profiles-dir <dirs>', `directories of your own profiles, searched by name before the shipped ones (${process.platform === 'win32' ? ';' : ':'}-separated; also BITCYCLE_PROFILES)`)
    .option('--json', 'print one JSON object with the result on stdout (progress goes to stderr)')
    .option('--threads <n>', 'onnxruntime intra-op threads', '1')
    .option('--checkpoint-interval <seconds>', 'minimum time between checkpoints (taken at epoch ends; 0 = every epoch)', '2')
    .option('--no-dashboard', 'plain progress lines even on a terminal');
  addTrainOptions(cmd).action(async (flags: Flags, command: Command) => {
    if (flags.resume !== undefined) rejectOptionsWithResume(command);
    else if (flags.repair) throw new UsageError('--repair', 'only goes with --resume <runDir>');
    const config = flags.resume ? null : trainConfig(flags);
    if (flags.name !== undefined) (await import('../../runs/store.js')).checkRunName(flags.name);
    const { profileDirs } = await import('../../hw/load.js');
    const dirs = profileDirs(flags.profilesDir);
    const threads = parseIntOption('--threads', flags.threads ?? '1', 1, 64);
    const checkpointIntervalMs = 1000 * parseFloatOption('--checkpoint-interval', flags.checkpointInterval, 0);
    const control: TrainControl = { stopRequested: false, paused: false };
    const useDashboard = flags.dashboard && !flags.json && process.stdout.isTTY === true && process.stdin.isTTY === true;
    let result: SessionResult;
    if (useDashboard) {
      const { trainWithDashboard } = await import('../dashboard.js');
      result = await trainWithDashboard(config, { outDir: flags.out, resumeDir: flags.resume, name: flags.name, threads, checkpointIntervalMs, repair: flags.repair, profileDirs: dirs });
    } else {
      const log = (line: string) => (flags.json ? process.stderr : process.stdout).write(line + '\n');
      const onSignal = () => {
        if (control.stopRequested) process.exit(130);
        control.stopRequested = true;
        log('stopping after the current chunk (checkpoint will be written; Ctrl-C again to abort)');
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const progress = plainProgress(log);
      const { runSession } = await import('../../runs/session.js');
      try {
        // a model trained for several modes is evaluated at each (`alternate:A-B` schedules)
        const modes = config && /^alternate:\d+-\d+/.test(config.schedule) ? config.schedule.split(':')[1]!.split('-').map(Number) : undefined;
        result = await runSession(config, { outDir: flags.out, resumeDir: flags.resume, name: flags.name, threads, control, checkpointIntervalMs, repair: flags.repair, profileDirs: dirs, onEvent: progress, evaluateAt: modes });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }
    // A diverged run is not a success a script should build on: exit 3 (bad input is 2).
    if (result.status === 'diverged') process.exitCode = 3;
    if (flags.json) {
      printJson(resultJson(result, config));
    } else {
      const s = result.summary;
      const lines = result.repairs.map((r) => `repaired: ${r}`);
      lines.push(`run ${result.runId} ${result.status}: test accuracy ${fmtAcc(s.testAccuracy, 2)} after ${s.steps}/${result.totalSteps} steps, ${fmtNum(s.stepsPerSecond)} steps/s`);
      for (const e of result.evaluations) lines.push(`mode ${e.bits} bits: test accuracy ${fmtAcc(e.accuracy, 2)}, loss ${fmtNum(e.loss)}`);
      if (result.divergence) {
        const d = result.divergence;
        lines.push(`diverged at step ${d.step}: ${d.quantity} ${d.value} (best test accuracy before it ${fmtAcc(s.bestTestAccuracy, 2)}); try a smaller --lr than ${config?.lr ?? 'this run\'s'}`);
      }
      if (result.cost) {
        const c = result.cost;
        lines.push(`cost on ${c.profile}: energy ${formatSI(c.energyJ, 'J')} (baseline ${c.baseline.schedule} ${formatSI(c.baseline.energyJ, 'J')}, saves ${fmtPct(c.savings.energyPct)}), latency ${fmtTime(c.latencyS)} (saves ${fmtPct(c.savings.latencyPct)}), BitOPs saves ${fmtPct(c.savings.bitopsPct, 2)}`);
        // a per-layer plan: where the energy goes, layer by layer
        if (result.layerPrecision !== undefined && result.costByLayer) {
          const energy = (l: LayerEnergy) => `${sanitize(l.layer)} ${formatSI(l.energyJ, 'J')} (saves ${fmtPct(layerSaving(l))})`;
          lines.push(`energy by layer: ${result.costByLayer.map(energy).join(' · ')}`);
        }
      }
      if (result.runDir) lines.push(`run directory: ${result.runDir}${result.status === 'stopped' ? ` (resume with: bitcycle train --resume ${result.runDir})` : ''}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
  });
}

/** A layer's energy saving vs its baseline, in percent (summation noise below 1e-9 % reads as 0). */
function layerSaving(l: LayerEnergy): number {
  const pct = l.baselineEnergyJ > 0 ? (100 * (l.baselineEnergyJ - l.energyJ)) / l.baselineEnergyJ : 0;
  return Math.abs(pct) < 1e-9 ? 0 : pct;
}
