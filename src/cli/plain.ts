/** Plain-text progress for pipes, CI and `--no-dashboard`: one line per epoch. */
import type { EngineEvent } from '../engine/events.js';

export function formatEnergy(j: number): string {
  const units: [number, string][] = [[1, 'J'], [1e-3, 'mJ'], [1e-6, 'µJ'], [1e-9, 'nJ'], [1e-12, 'pJ']];
  for (const [scale, unit] of units) if (Math.abs(j) >= scale) return `${(j / scale).toPrecision(4)} ${unit}`;
  return `${j.toExponential(3)} J`;
}

export function formatSeconds(s: number): string {
  const units: [number, string][] = [[3600, 'h'], [60, 'min'], [1, 's'], [1e-3, 'ms'], [1e-6, 'µs'], [1e-9, 'ns']];
  for (const [scale, unit] of units) if (Math.abs(s) >= scale) return `${(s / scale).toPrecision(4)} ${unit}`;
  return `${s.toExponential(3)} s`;
}

export function plainProgress(log: (line: string) => void): (e: EngineEvent) => void {
  let totalSteps = 0;
  let epochs = 0;
  let lossSum = 0;
  let accSum = 0;
  let count = 0;
  let energyJ = 0;
  let baseEnergyJ = 0;
  let bits = '';
  return (e) => {
    switch (e.type) {
      case 'start':
        totalSteps = e.totalSteps;
        epochs = e.epochs;
        log(`run ${e.runId}: ${e.totalSteps} steps (${e.epochs} epochs × ${e.stepsPerEpoch})${e.startStep > 0 ? `, resuming at step ${e.startStep}` : ''}`);
        for (const w of e.warnings ?? []) log(`warning: ${w}`);
        break;
      case 'steps':
        for (const s of e.steps) {
          lossSum += s.loss;
          accSum += s.trainAcc;
          count++;
        }
        for (const c of e.costs ?? []) {
          energyJ += c.energyJ;
          baseEnergyJ += c.baselineEnergyJ;
        }
        {
          const seen = new Set(e.steps.map((s) => s.bitsWeights));
          bits = [...seen].sort((a, b) => a - b).join('/');
        }
        break;
      case 'eval': {
        const v = e.eval;
        const saving = baseEnergyJ > 0 ? `, energy saving ${((100 * (baseEnergyJ - energyJ)) / baseEnergyJ).toFixed(1)} %` : '';
        log(
          `epoch ${String(v.epoch + 1).padStart(String(epochs).length)}/${epochs}  step ${v.step}/${totalSteps}  loss ${(lossSum / Math.max(count, 1)).toFixed(4)}  train ${(100 * accSum / Math.max(count, 1)).toFixed(1)} %  test ${(100 * v.testAcc).toFixed(2)} % @${v.bits}b  bits ${bits}${saving}`,
        );
        lossSum = accSum = count = 0;
        break;
      }
      case 'end':
        if (e.status === 'failed') log(`run failed: ${e.error ?? 'unknown error'}`);
        break;
      default:
        break;
    }
  };
}
