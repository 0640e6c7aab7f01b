/**
 * `bitcycle bits RUN`: the bit-level view of a trained run's weights (docs/bits.md) — BSQ's
 * sign-magnitude bit-planes of every quantized GEMM layer's weight in the run's latest checkpoint,
 * at the bit-width of the run's last step, with the bit-widths they suggest.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_MAX_ERROR, MAX_BSQ_BITS, MIN_BSQ_BITS, type BitsReport, type LayerBits, type QuantizedLayerBits, type WeightLayer } from '../../analysis/bitplanes.js';
import { RunError, UsageError } from '../../errors.js';
import { fmtCount, fmtNum, fmtPct, textTable } from '../../format.js';
import type { RunInfo } from '../../runs/read.js';
import { sanitize } from '../../util/text.js';
import { parseFloatOption, parseIntOption, printJson } from '../output.js';
import { resolveRunArg } from '../run-args.js';

interface BitsOptions {
  bits?: string;
  maxError: string;
  runsDir: string;
  json?: boolean;
}

/** Where the analysed bit-width came from. */
type BitsSource = { source: 'option' } | { source: 'steps.csv'; step: number; plan?: boolean } | { source: 'schedule' };

const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** A plane's fraction of ones as one character: `·` for an empty plane, else an eighth block. */
const BLOCKS = '▁▂▃▄▅▆▇█';
export function planeBar(onesFraction: readonly number[]): string {
  return onesFraction.map((f) => (f <= 0 ? '·' : BLOCKS[Math.min(BLOCKS.length - 1, Math.floor(f * BLOCKS.length))]!)).join('');
}

/** `0`, `2 (MSB 2)`, `3 (MSB 1, LSB 1, inner 1)`. */
function zeroPlanesCell(l: QuantizedLayerBits): string {
  const inner = l.zeroPlanes - l.zeroMsb - l.zeroLsb;
  const parts = [l.zeroMsb && `MSB ${l.zeroMsb}`, l.zeroLsb && `LSB ${l.zeroLsb}`, inner && `inner ${inner}`].filter(Boolean);
  return parts.length ? `${l.zeroPlanes} (${parts.join(', ')})` : '0';
}

function errorAt(l: QuantizedLayerBits, bits: number): number {
  return l.errors.find((e) => e.bits === bits)?.relativeError ?? Number.NaN;
}

/**
 * Each GEMM layer's weight from the checkpoint: parameter `<layer>.weight` (src/models/net.ts),
 * linear [in, out] with its output channels on axis 1, conv [Cout, Cin/groups, k, k] on axis 0.
 * Full precision as the graph recorded it or as the run's `fpLayers` says (the same rule).
 */
async function weightLayers(info: RunInfo): Promise<{ layers: WeightLayer[]; checkpointStep: number | null }> {
  const [{ readCheckpoint }, { isFullPrecision }] = await Promise.all([import('../../artifacts/checkpoint.js'), import('../../models/model.js')]);
  const file = join(info.dir, CHECKPOINT_FILE);
  const ckpt = readCheckpoint(file);
  const { layers: shapes, config } = info.run;
  if (shapes.length === 0) throw new RunError(info.dir, 'run.json lists no GEMM layers');
  const layers = shapes.map((shape, i): WeightLayer => {
    const name = `${shape.name}.weight`;
    const tensor = ckpt.tensors.get(name);
    if (!tensor) throw new RunError(file, `no tensor ${name} for layer ${shape.name} of run.json`);
    const rank = shape.kind === 'linear' ? 2 : 4;
    if (tensor.shape.length !== rank || tensor.data.length !== shape.weightElements) {
      throw new RunError(file, `tensor ${name} is [${tensor.shape.join(', ')}]; run.json's ${shape.kind} layer ${shape.name} has ${shape.weightElements} weights in ${rank} dimensions`);
    }
    const fullPrecision = shape.fullPrecision === true || isFullPrecision(config.fpLayers ?? 'none', i, shapes.length);
    return { name: shape.name, data: tensor.data, shape: tensor.shape, outAxis: shape.kind === 'linear' ? 1 : 0, fullPrecision };
  });
  const step = ckpt.metadata.step;
  return { layers, checkpointStep: step !== undefined && /^\d+$/.test(step) ? Number(step) : null };
}

/**
 * The run's final weight bit-width: its last checkpointed step's bits_w, or its schedule's at the
 * end. With a per-layer plan, a step's bit-width is its widest layer's (one width serves the report).
 */
async function runBits(info: RunInfo, checkpointStep: number | null): Promise<{ bits: number; from: BitsSource }> {
  const [{ readSteps }, { makeSchedule }, { finalWeightBits }, { parseNumberFormat }, { elementBits }] = await Promise.all([
    import('../../runs/read.js'),
    import('../../schedule/index.js'),
    import('../../analysis/bitplanes.js'),
    import('../../formats/number-format.js'),
    import('../../formats/precision.js'),
  ]);
  const widest = (formats: readonly string[]) => Math.max(...formats.map((f) => elementBits(parseNumberFormat(f.split('/')[0]!, 'layers'))));
  const rows = (await readSteps(info.dir)).map((r) => (r.layerFormats?.length ? { ...r, bitsWeights: widest(r.layerFormats) } : r));
  const total = Math.max(1, info.run.progress.totalSteps);
  const final = finalWeightBits(rows, checkpointStep, () => makeSchedule(info.run.config.schedule).bitsAt(total - 1, total));
  if (final.bits < MIN_BSQ_BITS || final.bits > MAX_BSQ_BITS) {
    throw new UsageError('--bits', `the run's weights ended at ${final.bits} bits; BSQ's sign-magnitude codes need ${MIN_BSQ_BITS}..${MAX_BSQ_BITS} bits, so give --bits ${MIN_BSQ_BITS}..${MAX_BSQ_BITS}`);
  }
  const plan = info.run.config.layerPrecision !== undefined;
  return { bits: final.bits, from: final.source === 'steps.csv' ? { source: 'steps.csv', step: final.step!, plan } : { source: 'schedule' } };
}

function layerRow(l: LayerBits): string[] {
  if (l.fullPrecision) return [sanitize(l.name), fmtCount(l.weights), 'fp32', 'full precision', '—', '', '—', '—', '—'];
  const mark = l.errorBoundMet ? '' : '*';
  return [sanitize(l.name), fmtCount(l.weights), String(l.bits), zeroPlanesCell(l), fmtPct(100 * l.sparsity), planeBar(l.onesFraction), String(l.structuralBits), `${l.errorBits}${mark}`, fmtNum(errorAt(l, l.errorBits))];
}

function bitsText(info: RunInfo, report: BitsReport, header: string): string {
  const t = report.totals;
  const rows = [['layer', 'weights', 'bits', 'zero planes', 'sparsity', 'ones MSB→LSB', 'BSQ bits', `bits @≤${fmtNum(report.maxError)}`, 'error'], ...report.layers.map(layerRow)];
  if (t.weights > 0) rows.push(['total', fmtCount(t.weights), fmtNum(t.bits), '', fmtPct(100 * t.sparsity), '', fmtNum(t.structuralBits), fmtNum(t.errorBits), '']);
  const out = [header, '', textTable(rows), ''];
  if (t.weights === 0) out.push(`every GEMM layer of ${sanitize(info.name)} is kept at full precision: nothing to analyse`);
  else {
    out.push(
      `quantized weights at ${report.bits} bits: BSQ's precision adjustment keeps ${fmtNum(t.structuralBits)} bits on average (memory saving ${fmtPct(t.structuralSavingPct)}), ` +
        `relative error ≤ ${fmtNum(report.maxError)} needs ${fmtNum(t.errorBits)} bits (memory saving ${fmtPct(t.errorSavingPct)})`,
    );
    if (report.layers.some((l) => !l.fullPrecision && !l.errorBoundMet)) out.push(`* no bit-width up to ${report.bits} keeps this layer's relative error within ${fmtNum(report.maxError)}: its ${report.bits} bits are kept`);
  }
  return out.join('\n') + '\n';
}

function bitsSourceText(bits: number, from: BitsSource): string {
  switch (from.source) {
    case 'option':
      return `${bits}-bit weights (--bits)`;
    case 'steps.csv':
      return `${bits}-bit weights (step ${from.step}, the last in the checkpoint${from.plan ? '; the widest layer of the run\'s layer plan' : ''})`;
    case 'schedule':
      return `${bits}-bit weights (the schedule's last step; no step trained)`;
  }
}

export function register(program: Command): void {
  program
    .command('bits')
    .description("bit-level view of a run's weights, as BSQ sees them: sign-magnitude bit-planes per GEMM layer, bit-level sparsity, empty planes and the bit-widths they suggest")
    .argument('<run>', 'run directory (or a name inside --runs-dir)')
    .option('--runs-dir <dir>', 'where to look up run names', 'runs')
    .option('--bits <n>', `weight bit-width to analyse, ${MIN_BSQ_BITS}..${MAX_BSQ_BITS} (default: the bits of the run's last step)`)
    .option('--max-error <x>', "bound on the relative error ‖w − q(w)‖/‖w‖ of the run's weight quantizer for the error-bounded suggestion, 0..1", String(DEFAULT_MAX_ERROR))
    .option('--json', 'print one JSON object')
    .action(async (arg: string, opts: BitsOptions) => {
      const override = opts.bits === undefined ? null : parseIntOption('--bits', opts.bits, MIN_BSQ_BITS, MAX_BSQ_BITS);
      const maxError = parseFloatOption('--max-error', opts.maxError, 0, 1);
      const [{ readRun }, { analyseWeights }, { formatModelSpec }] = await Promise.all([import('../../runs/read.js'), import('../../analysis/bitplanes.js'), import('../../models/spec.js')]);
      const info = resolveRunArg(arg, opts.runsDir, readRun);
      const { layers, checkpointStep } = await weightLayers(info);
      const { bits, from } = override === null ? await runBits(info, checkpointStep) : { bits: override, from: { source: 'option' } as BitsSource };
      const report = analyseWeights(layers, bits, { maxError });
      const model = formatModelSpec(info.run.config.model);
      if (opts.json) {
        printJson({ run: info.name, dir: info.dir, model, dataset: info.run.config.dataset, checkpointStep, bitsSource: from, ...report });
        return;
      }
      const at = checkpointStep === null ? 'latest checkpoint' : `checkpoint at step ${checkpointStep}`;
      const header = `${sanitize(info.name)} · ${sanitize(model)} on ${sanitize(info.run.config.dataset)} · ${at} · ${bitsSourceText(bits, from)}`;
      process.stdout.write(bitsText(info, report, header));
    });
}
