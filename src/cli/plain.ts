/** Plain-text progress for pipes, CI and `--no-dashboard`: one line per epoch. */
import { fmtPct } from '../format.js';
import { sanitize } from '../util/text.js';
import type { SessionEvent } from '../runs/events.js';

export function plainProgress(log: (line: string) => void): (e: SessionEvent) => void {
  let totalSteps = 0;
  let epochs = 0;
  let lossSum = 0;
  let accSum = 0;
  let count = 0;
  let savings: number | null = null;
  const bits = new Set<number>();
  /** Formats of the epoch's steps other than integer grids (`fp8-e4m3`, …). */
  const formats = new Set<string>();
  /** With a layer plan: each layer's weight formats this epoch. */
  let layerFormats: Set<string>[] | null = null;
  return (e) => {
    switch (e.type) {
      case 'start':
        totalSteps = e.totalSteps;
        epochs = e.epochs;
        log(`run ${e.runId}: ${e.totalSteps} steps (${e.epochs} epochs × ${e.stepsPerEpoch})${e.startStep > 0 ? `, resuming at step ${e.startStep}` : ''}`);
        for (const w of e.warnings ?? []) log(`warning: ${w}`);
        if (e.plan) {
          log('layer precision (weights and activations, errors):');
          for (const line of e.plan) log(`  ${sanitize(line)}`);
          layerFormats = e.plan.map(() => new Set<string>());
        }
        break;
      case 'steps':
        for (const s of e.steps) {
          lossSum += s.loss;
          accSum += s.trainAcc;
          count++;
          bits.add(s.bitsWeights);
          if (!/^int\d+$/.test(s.formatWeights)) formats.add(s.formatWeights);
          s.layerFormats?.forEach((f, i) => layerFormats?.[i]?.add(f.split('/')[0]!));
        }
        if (e.cost && e.cost.steps > 0) savings = e.cost.savings.energyPct;
        break;
      case 'eval': {
        const v = e.eval;
        const saving = savings !== null ? `, energy saving so far ${fmtPct(savings)}` : '';
        // with a plan: evaluated at each layer's top; the formats each layer trained at this epoch
        const at = layerFormats ? 'each layer\'s top' : (v.format ?? `${v.bits}b`);
        const precision = layerFormats
          ? `layers ${layerFormats.map((f) => [...f].join('/')).join(' · ')}`
          : formats.size
            ? `formats ${[...formats].join('/')}`
            : `bits ${[...bits].sort((a, b) => a - b).join('/')}`;
        log(
          `epoch ${String(v.epoch + 1).padStart(String(epochs).length)}/${epochs}  step ${v.step}/${totalSteps}  loss ${(lossSum / Math.max(count, 1)).toFixed(4)}  train ${(100 * accSum / Math.max(count, 1)).toFixed(1)} %  test ${(100 * v.testAcc).toFixed(2)} % @${at}  ${precision}${saving}`,
        );
        layerFormats?.forEach((f) => f.clear());
        lossSum = accSum = count = 0;
        bits.clear();
        formats.clear();
        break;
      }
      case 'anchor':
        log(`anchor at step ${e.anchor.step}: training loss ${e.anchor.loss.toFixed(6)}, objective ${e.anchor.objective.toPrecision(9)}, ‖∇‖ ${e.anchor.gradientNorm.toExponential(3)}`);
        break;
      case 'objective':
        log(`objective at step ${e.objective.step}: training loss ${e.objective.loss.toFixed(6)}, objective ${e.objective.objective.toPrecision(9)}, ‖∇‖ ${e.objective.gradientNorm.toExponential(3)}`);
        break;
      case 'end':
        if (e.status === 'failed') log(`run failed: ${e.error ?? 'unknown error'}`);
        if (e.status === 'diverged' && e.divergence) log(`run diverged: ${e.divergence.quantity} ${e.divergence.value} at step ${e.divergence.step}; training stopped, the last checkpoint (before it) is kept`);
        break;
      default:
        break;
    }
  };
}
