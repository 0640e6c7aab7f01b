import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { fmtCount, fmtPct, fmtTime, formatSI, textTable } from '../../format.js';
import type { Cost, PartsCost } from '../../hw/cost.js';
import { DEFAULT_BITS_GRAD, DEFAULT_PROFILE } from '../../hw/defaults.js';
import { savingsPct } from '../../hw/savings.js';
import { type FormatTier, type KindFallback, type ScheduleEstimate, histogramText } from '../../hw/tally.js';
import { getShapeModel, modelMacsPerSample, modelNames } from '../../models/paper.js';
import { MODEL_NAMES } from '../../models/spec.js';
import { withFpLayers } from '../../models/layers.js';
import { DEFAULT_FP_LAYERS, FP_LAYERS } from '../../models/model.js';
import { parseFpLayers } from '../train-options.js';
import { precisionPolicy } from '../../schedule/index.js';
import { sanitize } from '../../util/text.js';
import { parseIntOption, printJson } from '../output.js';
import { PROFILES_DIR_HELP, PROFILES_ENV_HELP } from './profile.js';

interface EstimateOptions {
  fpLayers: string;
  dataset?: string;
  model: string;
  schedule: string;
  gradBits: string;
  iterations?: string;
  epochs?: string;
  batchSize: string;
  profile: string;
  profilesDir?: string;
  baseline?: string;
  json?: boolean;
  perLayer?: boolean;
}

const PHASE_LABELS = { forward: 'forward', inputGrad: 'input-grad', weightGrad: 'weight-grad' } as const;

function costJson(c: Cost): { energyJ: number; latencyS: number; bitops: number } {
  return { energyJ: c.energyJ, latencyS: c.latencyS, bitops: c.bitops };
}

function partsJson(c: PartsCost): Record<string, number> {
  return { ...costJson(c), computeEnergyJ: c.computeEnergyJ, memoryEnergyJ: c.memoryEnergyJ, staticEnergyJ: c.staticEnergyJ, overheadLatencyS: c.overheadLatencyS };
}

function compareJson(run: PartsCost, baseline: PartsCost): Record<string, unknown> {
  return { ...partsJson(run), baseline: partsJson(baseline), savings: savingsPct(run, baseline) };
}

/** What `estimate` adds about the profile's formats: every tier priced on the model, and kind fallbacks. */
interface FormatReport {
  profile: string;
  tiers: FormatTier[];
  /** The baseline's mean step (one step of a static baseline with static errors). */
  baselineStep: Cost;
  /** `a step of static:8` or `the mean step of cpt:3-8`. */
  baselineLabel: string;
  fallbacks: KindFallback[];
}

function tierJson(t: FormatTier, baselineStep: Cost): Record<string, unknown> {
  return {
    format: t.name,
    kind: t.float ? 'float' : 'int',
    bits: t.bits,
    macEnergyJ: t.macEnergyJ,
    macsPerS: t.macsPerS,
    step: costJson(t.step),
    savings: savingsPct(t.step, baselineStep),
  };
}

/** `int9–16 → fp16, fp32 → int8 (4 slices)`: the fallbacks grouped by the format they run in, bit-widths as ranges. */
function fallbackText(fallbacks: readonly KindFallback[]): string {
  const groups = new Map<string, { prefix: string; format: string; slices: number; bits: number[] }>();
  for (const f of fallbacks) {
    const prefix = f.float ? 'fp' : 'int';
    const key = `${prefix}\u0000${f.format}\u0000${f.slices}`;
    const g = groups.get(key) ?? { prefix, format: f.format, slices: f.slices, bits: [] };
    g.bits.push(f.bits);
    groups.set(key, g);
  }
  return [...groups.values()]
    .map((g) => {
      const bits = [...g.bits].sort((x, y) => x - y);
      const runs: [number, number][] = [];
      for (const b of bits) {
        const last = runs[runs.length - 1];
        if (last !== undefined && b === last[1] + 1) last[1] = b;
        else runs.push([b, b]);
      }
      const operands = runs.map(([lo, hi]) => (lo === hi ? `${g.prefix}${lo}` : `${g.prefix}${lo}–${hi}`)).join(', ');
      return `${operands} → ${sanitize(g.format)}${g.slices > 1 ? ` (${g.slices} slices)` : ''}`;
    })
    .join(', ');
}

function formatLines(r: FormatReport): string[] {
  const out = [
    '',
    `per format of ${sanitize(r.profile)}: one step with weights, activations and errors in the format (full-precision layers at fp32), ` +
      `against ${r.baselineLabel} (${formatSI(r.baselineStep.energyJ, 'J')}, ${fmtTime(r.baselineStep.latencyS)})`,
  ];
  const rows = [['format', 'kind', 'bits', 'MAC energy', 'MAC/s', 'step energy', 'saved', 'step latency', 'saved']];
  for (const t of r.tiers) {
    const s = savingsPct(t.step, r.baselineStep);
    rows.push([
      sanitize(t.name),
      t.float ? 'float' : 'int',
      String(t.bits),
      formatSI(t.macEnergyJ, 'J'),
      formatSI(t.macsPerS, 'MAC/s'),
      formatSI(t.step.energyJ, 'J'),
      fmtPct(s.energyPct),
      fmtTime(t.step.latencyS),
      fmtPct(s.latencyPct),
    ]);
  }
  out.push(textTable(rows));
  if (r.fallbacks.length > 0) {
    out.push(
      '',
      `kind fallback (an approximation): ${sanitize(r.profile)} has no format of these operands' kind wide enough (for both operands, where they share one), ` +
        `so they are costed in the narrowest wide-enough format of the other kind: ${fallbackText(r.fallbacks)}`,
    );
  }
  return out;
}

function printText(e: ScheduleEstimate, header: string, perLayer: boolean, formats: FormatReport): void {
  const out: string[] = [header, ''];
  out.push(
    textTable([
      ['', e.schedule, e.baselineSchedule, 'savings'],
      ['energy', formatSI(e.run.energyJ, 'J'), formatSI(e.baseline.energyJ, 'J'), fmtPct(e.savings.energyPct)],
      ['latency', fmtTime(e.run.latencyS), fmtTime(e.baseline.latencyS), fmtPct(e.savings.latencyPct)],
      ['BitOPs', fmtCount(e.run.bitops), fmtCount(e.baseline.bitops), fmtPct(e.savings.bitopsPct)],
    ]),
  );
  out.push('', `energy parts of ${e.schedule}: compute ${formatSI(e.run.computeEnergyJ, 'J')}, memory ${formatSI(e.run.memoryEnergyJ, 'J')}, static ${formatSI(e.run.staticEnergyJ, 'J')}`);
  if (e.run.overheadLatencyS > 0) out.push(`latency of ${e.schedule} includes the profile's fixed overhead (per GEMM and per step): ${fmtTime(e.run.overheadLatencyS)}`);
  out.push('');
  const phaseRows = [['per phase', 'energy', 'saved', 'latency', 'saved', 'BitOPs', 'saved']];
  for (const [phase, label] of Object.entries(PHASE_LABELS) as [keyof typeof PHASE_LABELS, string][]) {
    const p = e.byPhase[phase];
    phaseRows.push([label, formatSI(p.run.energyJ, 'J'), fmtPct(p.savings.energyPct), fmtTime(p.run.latencyS), fmtPct(p.savings.latencyPct), fmtCount(p.run.bitops), fmtPct(p.savings.bitopsPct)]);
  }
  out.push(textTable(phaseRows));
  if (perLayer) {
    const rows = [['per layer', 'energy', 'saved', 'latency', 'saved', 'BitOPs', 'saved']];
    e.run.byLayer.forEach((l, i) => {
      const s = savingsPct(l, e.baseline.byLayer[i]!);
      rows.push([l.layer, formatSI(l.energyJ, 'J'), fmtPct(s.energyPct), fmtTime(l.latencyS), fmtPct(s.latencyPct), fmtCount(l.bitops), fmtPct(s.bitopsPct)]);
    });
    out.push('', textTable(rows));
  }
  const float = e.run.histogram.some((h) => h.floatWeights || h.floatActivations || h.floatGrad);
  out.push('', `steps by bits (w/a/g×count${float ? '; f: floating point' : ''}): ${histogramText(e.run.histogram)}`);
  out.push(...formatLines(formats));
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): void {
  program
    .command('estimate')
    .description('estimate the energy, latency and BitOPs of training a model with a precision schedule on a hardware profile, against a static baseline')
    .option('--model <name|spec>', `model by layer shapes (${modelNames().join(', ')}) or a trainable spec (${MODEL_NAMES.join(', ')}, e.g. resnet:depth=20)`, 'resnet-74')
    .option('--dataset <name>', 'data set whose input shape a trainable spec is built for (default: mlp digits, cnn fashion-mnist, resnet cifar10)')
    .option('--schedule <spec>', 'precision schedule of weights and activations', 'cpt:3-8')
    .option('--grad-bits <bits|spec>', 'bit-width of the errors (gradients): a number or a schedule spec, as for train', String(DEFAULT_BITS_GRAD))
    .option('--iterations <n>', 'training iterations (default: the model\'s reference run, 64000 for CIFAR-10)')
    .option('--epochs <e>', 'training epochs instead of --iterations: e × floor(training samples / batch size)')
    .option('--batch-size <n>', 'samples per iteration', '128')
    .option('--profile <name|file>', 'hardware profile: a name (shipped, or in --profiles-dir / $BITCYCLE_PROFILES) or a path to a profile JSON file', DEFAULT_PROFILE)
    .option('--profiles-dir <dir>', PROFILES_DIR_HELP)
    .option('--baseline <spec>', 'schedule to compare with (default static:<Bmax of --schedule>)')
    .option('--json', 'print exactly one JSON object')
    .option('--per-layer', 'also break the cost down per layer')
    .option('--fp-layers <layers>', `GEMM layers counted at full precision (32 bits): ${FP_LAYERS.join(' | ')}, as train's --fp-layers`, DEFAULT_FP_LAYERS)
    .addHelpText('after', PROFILES_ENV_HELP)
    .action(async (opts: EstimateOptions) => {
      const { createCostModel, estimateSchedule, formatTiers, kindFallbacks, loadProfile, profileDirs, requireOperandBits, fullPrecisionUses } = await import('../../hw/index.js');
      const shapeModel = getShapeModel(opts.model, '--model', opts.dataset);
      const precision = precisionPolicy({ schedule: opts.schedule, gradBits: opts.gradBits, baseline: opts.baseline });
      const { weightsActivations: schedule, baseline } = precision;
      const bitsGrad = precision.errors.spec.kind === 'static' && !precision.errors.formats ? precision.errors.spec.bits : precision.errors;
      const batchSize = parseIntOption('--batch-size', opts.batchSize, 1, 1 << 20);
      if (opts.iterations !== undefined && opts.epochs !== undefined) throw new UsageError('--epochs', 'give either --iterations or --epochs, not both');
      let iterations = shapeModel.defaultIterations;
      if (opts.iterations !== undefined) iterations = parseIntOption('--iterations', opts.iterations, 1, 1e9);
      if (opts.epochs !== undefined) {
        const epochs = parseIntOption('--epochs', opts.epochs, 1, 1e6);
        iterations = epochs * Math.max(1, Math.floor(shapeModel.trainSamples / batchSize));
      }
      const fpLayers = parseFpLayers(opts.fpLayers);
      const profile = loadProfile(opts.profile, '--profile', profileDirs(opts.profilesDir));
      // A profile that rejects operands wider than its formats: refuse the precisions up front.
      requireOperandBits(profile, [
        { what: `--schedule ${opts.schedule}`, bits: schedule.bitsMax },
        { what: opts.baseline === undefined ? `the baseline ${baseline.name}` : `--baseline ${opts.baseline}`, bits: baseline.bitsMax },
        { what: `--grad-bits ${opts.gradBits}`, bits: precision.errors.bitsMax },
        ...fullPrecisionUses(fpLayers),
      ]);
      const layers = withFpLayers(shapeModel.layers(), fpLayers);
      const costModel = createCostModel(profile, layers, batchSize);
      const e = estimateSchedule(costModel, { schedule, baseline, iterations, bitsGrad });
      // Every compute format of the profile as a tier, against the baseline's (mean) step.
      const steps = e.baseline.steps;
      const baselineStep = { energyJ: e.baseline.energyJ / steps, latencyS: e.baseline.latencyS / steps, bitops: e.baseline.bitops / steps };
      const oneStep = baseline.spec.kind === 'static' && typeof bitsGrad === 'number';
      const formats: FormatReport = {
        profile: profile.name,
        tiers: formatTiers(costModel),
        baselineStep,
        baselineLabel: oneStep ? `a step of ${e.baselineSchedule} with ${bitsGrad}-bit errors` : `the mean step of the baseline ${e.baselineSchedule}`,
        fallbacks: kindFallbacks(costModel, [...e.run.histogram, ...e.baseline.histogram]),
      };

      if (opts.json) {
        const phases = Object.fromEntries(Object.entries(e.byPhase).map(([phase, p]) => [phase, compareJson(p.run, p.baseline)]));
        printJson({
          model: opts.model,
          dataset: shapeModel.dataset,
          profile: profile.name,
          schedule: e.schedule,
          baselineSchedule: e.baselineSchedule,
          iterations,
          batchSize,
          gradBits: e.bitsGrad,
          ...costJson(e.run),
          parts: { computeEnergyJ: e.run.computeEnergyJ, memoryEnergyJ: e.run.memoryEnergyJ, staticEnergyJ: e.run.staticEnergyJ, overheadLatencyS: e.run.overheadLatencyS },
          baseline: { schedule: e.baselineSchedule, ...costJson(e.baseline) },
          savings: e.savings,
          phases,
          histogram: e.run.histogram,
          ...(opts.perLayer ? { layers: e.run.byLayer.map((l, i) => ({ layer: l.layer, ...compareJson(l, e.baseline.byLayer[i]!) })) } : {}),
          baselineStep: { schedule: e.baselineSchedule, ...costJson(baselineStep) },
          tiers: formats.tiers.map((t) => tierJson(t, baselineStep)),
          kindFallbacks: formats.fallbacks.map((f) => ({ operand: f.operand, format: f.format, slices: f.slices })),
        });
        return;
      }
      const macs = modelMacsPerSample(layers);
      const header =
        `${opts.model} (${shapeModel.dataset}, ${layers.length} GEMM layers, ${formatSI(macs, 'MAC')}/sample) · batch ${batchSize} · ${iterations} iterations · ` +
        `grad ${typeof e.bitsGrad === 'number' ? `${e.bitsGrad} bits` : e.bitsGrad} · profile ${sanitize(profile.name)}`;
      printText(e, header, opts.perLayer ?? false, formats);
    });
}
