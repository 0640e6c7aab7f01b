/**
 * Figures as Vega-Lite specs: pure functions from data to a spec (./render.ts turns a spec into
 * SVG or PNG). One look for every figure: the sizes, fonts and colours of `BASE`.
 */
import type { TopLevelSpec } from 'vega-lite';

/** Plot area, the font of the rendered PNG (bundled, ./render.ts) and a palette readable in print. */
const BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  width: 560,
  height: 240,
  background: 'white',
  config: {
    font: 'DejaVu Sans',
    axis: { labelFontSize: 11, titleFontSize: 12, grid: true },
    legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
    title: { fontSize: 13 },
    range: { category: { scheme: 'tableau10' } },
  },
} as const;

/** A schedule's bit-width at each iteration, as `bitcycle schedule` computes it. */
export interface ScheduleSeries {
  name: string;
  bits: ArrayLike<number>;
}

/** Longest series drawn point by point; longer ones keep every change of value (a step plot loses nothing). */
const MAX_POINTS = 4000;

/** The iterations where a step series changes (plus the last), enough to draw it exactly as steps. */
function changes(bits: ArrayLike<number>): number[] {
  const at: number[] = [];
  for (let t = 0; t < bits.length; t++) if (t === 0 || bits[t] !== bits[t - 1] || t === bits.length - 1) at.push(t);
  return at;
}

/** Bit-width over iterations, one step line per schedule. */
export function scheduleChart(series: readonly ScheduleSeries[], title = 'precision schedule'): TopLevelSpec {
  const values = series.flatMap((s) => {
    const at = s.bits.length <= MAX_POINTS ? Array.from({ length: s.bits.length }, (_, t) => t) : changes(s.bits);
    return at.map((t) => ({ schedule: s.name, iteration: t, bits: s.bits[t]! }));
  });
  return {
    ...BASE,
    title,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iteration', scale: { nice: false } },
      y: { field: 'bits', type: 'quantitative', title: 'bits', scale: { zero: false }, axis: { tickMinStep: 1 } },
      color: { field: 'schedule', type: 'nominal', title: null, sort: series.map((s) => s.name) },
    },
  } as TopLevelSpec;
}

/** The metrics `curvesChart` draws: per training step, or per evaluation. */
export const CURVE_METRICS = {
  loss: { title: 'training loss', per: 'step' },
  'train-accuracy': { title: 'training accuracy (batch)', per: 'step' },
  'test-accuracy': { title: 'test accuracy', per: 'eval' },
  'test-loss': { title: 'test loss', per: 'eval' },
} as const;
export type CurveMetric = keyof typeof CURVE_METRICS;

export interface RunCurve {
  name: string;
  /** [step, value] pairs in step order. */
  points: readonly (readonly [number, number])[];
}

/**
 * Several runs' curves of one metric over training steps. Per-step metrics are averaged over
 * windows of ⌈steps/`MAX_POINTS`⌉ steps (the mean of each window at its last step) so a long run
 * stays a readable line; evaluations are drawn as they are, with points.
 */
export function curvesChart(runs: readonly RunCurve[], metric: CurveMetric): TopLevelSpec {
  const m = CURVE_METRICS[metric];
  const values = runs.flatMap((r) => {
    const window = Math.max(1, Math.ceil(r.points.length / MAX_POINTS));
    const out: { run: string; step: number; value: number }[] = [];
    for (let i = 0; i < r.points.length; i += window) {
      const part = r.points.slice(i, i + window).filter(([, v]) => Number.isFinite(v));
      if (part.length === 0) continue;
      out.push({ run: r.name, step: part[part.length - 1]![0], value: part.reduce((s, [, v]) => s + v, 0) / part.length });
    }
    return out;
  });
  return {
    ...BASE,
    title: m.title,
    data: { values },
    mark: { type: 'line', point: m.per === 'eval', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'value', type: 'quantitative', title: m.title, scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: null, sort: runs.map((r) => r.name) },
    },
  } as TopLevelSpec;
}
