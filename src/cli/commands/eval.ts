/**
 * `bitcycle eval RUN --bits 2,3,4,6,8`: switchable precision at inference. One stored checkpoint is
 * loaded once (one Trainer, one eval InferenceSession) and evaluated on the test split at each
 * precision, as sweeps evaluate a finished run (src/sweep/execute.ts, `evaluateCompleted`); each
 * precision is priced as the inference of one batch on a hardware profile (src/analysis/knob.ts).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { RunError, UsageError } from '../../errors.js';
import type { KnobCost, KnobCosts, KnobPrecision } from '../../analysis/knob.js';
import { fmtAcc, fmtCount, fmtNum, fmtSI, fmtTime, textTable } from '../../format.js';
import type { HardwareProfile } from '../../hw/profile.js';
import { formatModelSpec } from '../../models/spec.js';
import type { RunInfo } from '../../runs/read.js';
import { sanitize, sanitizeShort } from '../../util/text.js';
import { parseIntOption, printJson } from '../output.js';
import { resolveRunArg } from '../run-args.js';
import { PROFILES_DIR_HELP, PROFILES_ENV_HELP } from './profile.js';

interface EvalOptions {
  bits?: string;
  weightsOnly?: boolean;
  profile?: string;
  profilesDir?: string;
  batch?: string;
  runsDir: string;
  json?: boolean;
}

/** One printed row: a precision's accuracy and loss on the test split, and its inference cost. */
export interface EvalRow {
  run: string;
  profile: string;
  batchSize: number;
  weightsOnly: boolean;
  precision: string;
  weights: string;
  activations: string;
  bitsWeights: number;
  bitsActivations: number;
  testAccuracy: number;
  testLoss: number;
  energyJ: number;
  latencyS: number;
  bitops: number;
  relativeLatency: number;
  relativeEnergy: number;
  /** The precision the relative figures are relative to (the highest listed). */
  relativeTo: string;
}

/** Evaluate the run's checkpoint at each precision in one session, in the order given. */
async function evaluateAt(entry: RunInfo, precisions: readonly KnobPrecision[]): Promise<{ results: { loss: number; accuracy: number }[]; step: string }> {
  const [{ readCheckpoint }, { Trainer }, { resolveRun }] = await Promise.all([import('../../artifacts/checkpoint.js'), import('../../engine/trainer.js'), import('../../runs/resolve.js')]);
  const { config } = entry.run;
  const checkpoint = readCheckpoint(join(entry.dir, 'checkpoint.safetensors'));
  const run = resolveRun({ ...config, profile: 'none' });
  const trainer = new Trainer({
    ...run.config,
    runId: entry.run.id,
    model: run.model,
    dataset: run.dataset,
    schedule: run.precision.weightsActivations,
    gradSchedule: run.precision.errors,
    threads: 1,
    resumeFrom: checkpoint,
  });
  try {
    await trainer.init();
  } catch (err) {
    // the checkpoint lacks a tensor or holds one of another shape: not this run's model
    const message = err instanceof Error ? err.message : '';
    if (/^checkpoint (has no tensor|tensor)/.test(message)) throw new RunError(join(entry.dir, 'checkpoint.safetensors'), `does not fit the run's model (${message.split('\n')[0]})`);
    throw err;
  }
  try {
    const results: { loss: number; accuracy: number }[] = [];
    for (const p of precisions) results.push(await trainer.evaluate({ weights: p.weights, activations: p.activations }));
    return { results, step: checkpoint.metadata.step ?? '?' };
  } finally {
    await trainer.release();
  }
}

function rowsOf(entry: RunInfo, costs: KnobCosts, results: readonly { loss: number; accuracy: number }[], weightsOnly: boolean): EvalRow[] {
  const relativeTo = costs.rows[costs.reference]!.precision;
  return costs.rows.map((c: KnobCost, i) => ({
    run: entry.name,
    profile: costs.profile,
    batchSize: costs.batchSize,
    weightsOnly,
    precision: c.precision,
    weights: c.weights,
    activations: c.activations,
    bitsWeights: c.bitsWeights,
    bitsActivations: c.bitsActivations,
    testAccuracy: results[i]!.accuracy,
    testLoss: results[i]!.loss,
    energyJ: c.energyJ,
    latencyS: c.latencyS,
    bitops: c.bitops,
    relativeLatency: c.relativeLatency,
    relativeEnergy: c.relativeEnergy,
    relativeTo,
  }));
}

const ratio = (v: number) => `${fmtNum(v)}×`;
const KEYS = 'abcdefghijklmnop';

async function printText(entry: RunInfo, costs: KnobCosts, rows: readonly EvalRow[], weightsOnly: boolean, checkpointStep: string): Promise<void> {
  const { run } = entry;
  const layers = run.layers;
  const fp = layers.filter((l) => l.fullPrecision).map((l) => sanitizeShort(l.name, 40));
  const ref = sanitize(rows[costs.reference]!.precision);
  const out: string[] = [
    `run ${sanitizeShort(entry.name, 80)}: ${sanitizeShort(formatModelSpec(run.config.model), 60)} on ${sanitizeShort(run.config.dataset, 40)} · ${sanitizeShort(run.config.schedule, 60)} · ${entry.status}, checkpoint at step ${checkpointStep}/${run.progress.totalSteps}`,
    `inference of one batch of ${costs.batchSize} on ${sanitizeShort(costs.profile, 60)}: the forward GEMMs of ${layers.length} layer${layers.length === 1 ? '' : 's'}` +
      (fp.length ? ` (${fp.join(', ')} kept at full precision: fp32)` : ''),
    weightsOnly ? 'weights at each precision, activations at fp32 (--weights-only)' : 'weights and activations at each precision',
    '',
    textTable([
      ['', 'precision', 'test acc', 'test loss', 'energy', 'latency', 'BitOPs', `latency vs ${ref}`, `energy vs ${ref}`],
      ...rows.map((r, i) => [
        KEYS[i]!,
        sanitize(r.precision),
        fmtAcc(r.testAccuracy, 2),
        fmtNum(r.testLoss),
        fmtSI(r.energyJ, 'J'),
        fmtTime(r.latencyS),
        fmtCount(r.bitops),
        ratio(r.relativeLatency),
        ratio(r.relativeEnergy),
      ]),
    ]),
  ];
  const fallbacks = [...new Set(costs.rows.flatMap((c) => c.fallbacks))];
  if (fallbacks.length) {
    const slices = fallbacks.some((f) => f.includes('×')) ? ' (×N: in N slices)' : '';
    out.push('', `operands without a format of their kind on this profile run as: ${fallbacks.map(sanitize).join(', ')}${slices}`);
  }
  if (rows.length >= 2) {
    const { frontierPlot } = await import('../../ui/charts.js');
    const width = Math.max(30, Math.min(72, (process.stdout.columns ?? 100) - 12));
    const plot = frontierPlot(
      rows.map((r, i) => ({ id: String(i), cost: r.latencyS, quality: r.testAccuracy, glyph: KEYS[i]! })),
      new Set(),
      { width, height: 8, axisWidth: 8, xName: 'latency', xFormat: (v) => fmtTime(v), yFormat: (v) => fmtAcc(v, 1) },
    );
    out.push('', 'test accuracy vs latency of one batch:', ...plot.rows.map((r) => `${r.label}┤${r.cells}`), plot.axis, plot.xLabels);
    // points in one character cell: the last row's letter is drawn, the others are named
    const drawn = plot.rows.map((r) => r.cells).join('');
    const hidden = rows.map((_, i) => KEYS[i]!).filter((k) => !drawn.includes(k));
    if (hidden.length) out.push(`${hidden.join(', ')}: in the cell of a later row (same accuracy and latency, or nearly)`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): void {
  program
    .command('eval')
    .description(
      'evaluate a stored run\'s checkpoint at several precisions in one session (switchable precision at inference): test accuracy and loss, and the inference cost of one batch (forward GEMMs) on a hardware profile, relative to the highest precision',
    )
    .argument('<run>', 'a run directory (or a name inside --runs-dir)')
    .option(
      '--bits <list>',
      'precisions, comma-separated, at most 16: bit-widths 1..32 (the integer grid quantizer intB; 32 = fp32) or number formats (fp8-e4m3, fp16, mxfp4, …) (default: the run\'s schedule range Bmin..Bmax, or its format ladder)',
    )
    .option('--weights-only', 'quantize the weights only: activations stay at 32 bits (fp32), in the evaluation and in the cost')
    .option('--profile <name|file>', 'hardware profile of the cost (default: the run\'s own copy of its profile; required for a run trained with --profile none)')
    .option('--profiles-dir <dirs>', PROFILES_DIR_HELP)
    .option('--batch <n>', 'samples in the costed inference batch (default: the run\'s batch size)')
    .option('--runs-dir <dir>', 'where to look up run names', 'runs')
    .option('--json', 'print a JSON array of rows, one per precision, in the order given')
    .addHelpText('after', PROFILES_ENV_HELP)
    .action(async (arg: string, opts: EvalOptions) => {
      const { defaultKnobFormats, knobCosts, knobPrecision, parseKnobList } = await import('../../analysis/knob.js');
      // everything given on the command line is checked before anything is read or loaded
      const given = opts.bits === undefined ? null : parseKnobList(opts.bits);
      const batchFlag = opts.batch === undefined ? null : parseIntOption('--batch', opts.batch, 1, 1 << 20);
      const weightsOnly = opts.weightsOnly === true;

      const [{ readRun }, { makeSchedule }] = await Promise.all([import('../../runs/read.js'), import('../../schedule/schedule.js')]);
      const entry = resolveRunArg(arg, opts.runsDir, readRun);
      const { run } = entry;
      if (run.layers.length === 0) throw new RunError(entry.dir, 'run.json has no layers to cost');
      const formats = given ?? defaultKnobFormats(makeSchedule(run.config.schedule));
      const precisions = formats.map((f) => knobPrecision(f, weightsOnly));
      const batchSize = batchFlag ?? run.config.batchSize;

      const [{ loadProfile, profileDirs }, { runOwnProfile }] = await Promise.all([import('../../hw/load.js'), import('../../analysis/reestimate.js')]);
      let profile: HardwareProfile;
      if (opts.profile !== undefined) profile = loadProfile(opts.profile, '--profile', profileDirs(opts.profilesDir));
      else if (!run.profileCopy && run.config.profile === 'none') throw new UsageError('--profile', `run ${sanitizeShort(entry.name, 80)} was trained without a hardware profile (--profile none): name one to cost it on, e.g. --profile bit-fusion-45nm`);
      else profile = runOwnProfile(entry);
      // the costs first: a profile that cannot run a precision is refused before onnxruntime loads
      const costs = knobCosts(profile, run.layers, batchSize, precisions);

      const { results, step } = await evaluateAt(entry, precisions);
      const rows = rowsOf(entry, costs, results, weightsOnly);
      if (opts.json) {
        printJson({ run: entry.name, profile: profile.name, batch: batchSize, weightsOnly, rows });
        return;
      }
      await printText(entry, costs, rows, weightsOnly, sanitizeShort(step, 20));
    });
}
