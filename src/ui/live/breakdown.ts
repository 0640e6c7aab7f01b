/**
 * Running per-layer / per-phase cost of a run for the live view's breakdown panel: keeps a
 * histogram of bit tuples (run and baseline) and tallies it with src/hw on demand. Pure; the
 * caller owns the cost model.
 */
import type { StepRecord } from '../../engine/events.js';
import type { CostModel } from '../../hw/cost.js';
import { type BitTupleCount, tallyBitTuples } from '../../hw/tally.js';
import type { CostBreakdown } from './state.js';

export interface LiveBreakdown {
  add(steps: readonly StepRecord[]): void;
  snapshot(): CostBreakdown;
}

/**
 * `baselineBitsAt(step)` gives the baseline schedule's W/A bits of a step (e.g.
 * `(t) => baseline.bitsAt(t, totalSteps)`); the baseline keeps each step's gradient bits.
 */
export function createLiveBreakdown(model: CostModel, baselineBitsAt: (step: number) => number): LiveBreakdown {
  const run = new Map<string, BitTupleCount>();
  const base = new Map<string, BitTupleCount>();
  const bump = (map: Map<string, BitTupleCount>, bw: number, ba: number, bg: number) => {
    const key = `${bw}/${ba}/${bg}`;
    const e = map.get(key);
    if (e) e.count++;
    else map.set(key, { bitsWeights: bw, bitsActivations: ba, bitsGrad: bg, count: 1 });
  };
  return {
    add(steps) {
      for (const s of steps) {
        bump(run, s.bitsWeights, s.bitsActivations, s.bitsGrad);
        const b = baselineBitsAt(s.step);
        bump(base, b, b, s.bitsGrad);
      }
    },
    snapshot() {
      return { run: tallyBitTuples(model, [...run.values()]), baseline: tallyBitTuples(model, [...base.values()]) };
    },
  };
}
