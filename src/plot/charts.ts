/**
 * Figures as Vega-Lite specs: pure functions from data to a spec (./render.ts turns a spec into
 * SVG or PNG). One look for every figure: the sizes, fonts and colours of `BASE`.
 */
import type { TopLevelSpec } from 'vega-lite';
import { BitcycleError } from '../errors.js';
import { fmtNum } from '../format.js';
import { sanitizeShort } from '../util/text.js';

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

/**
 * One configuration of a sweep (a schedule, a profile, an LR policy …) placed by what it costs and
 * how well it does, each as a mean over seeds with an optional spread (std, 95 % CI: the caller
 * says which in the axis title). Low/high are the ends of the bar, not offsets.
 */
export interface FrontierPoint {
  /** Written next to the point, e.g. the schedule's name. */
  label: string;
  /** Colour group, e.g. the profile or the LR policy; absent: one colour. */
  series?: string;
  /** The cost (energy in J, latency in s, BitOPs …). */
  x: number;
  xLow?: number;
  xHigh?: number;
  /** The quality (test error %, accuracy …). */
  y: number;
  yLow?: number;
  yHigh?: number;
  /** On the Pareto front (computed by the caller, e.g. `paretoFront` in src/analysis). */
  onFront: boolean;
}

export interface FrontierOptions {
  /** e.g. "energy per run (J)". */
  xTitle: string;
  /** e.g. "test error (%), mean ± std over 3 seeds". */
  yTitle: string;
  title?: string;
  /** A log-scale cost axis (costs spanning decades, e.g. BitOPs); every x, xLow and xHigh must be > 0. */
  xLog?: boolean;
  /** Legend title of `series` (default: none). */
  seriesTitle?: string;
  /**
   * One front per series (e.g. per hardware profile, whose costs are not comparable), each step line
   * in its series' colour; default false: one front over all points, one dark step line.
   */
  frontPerSeries?: boolean;
}

/** A figure whose data cannot be drawn; names the offending point or cell. */
export class ChartError extends BitcycleError {}

const FRONT = 'Pareto front';
const DOMINATED = 'dominated';
const FRONT_LINE_COLOUR = '#333';

/**
 * Cost against quality, one labelled point per configuration, with horizontal and vertical error
 * bars where a spread is given, the Pareto front drawn solid (larger, opaque) and joined by a step
 * line (`step-after`: the best quality reachable at each cost), dominated points faded.
 */
export function frontierChart(points: readonly FrontierPoint[], options: FrontierOptions): TopLevelSpec {
  const seriesOrder = [...new Set(points.flatMap((p) => (p.series === undefined ? [] : [p.series])))];
  const coloured = seriesOrder.length > 0;
  const values = points.map((p, i) => {
    const where = `point ${i + 1} ("${sanitizeShort(p.label)}")`;
    for (const [name, v] of [['x', p.x], ['xLow', p.xLow], ['xHigh', p.xHigh], ['y', p.y], ['yLow', p.yLow], ['yHigh', p.yHigh]] as const) {
      if (v !== undefined && !Number.isFinite(v)) throw new ChartError(`frontier chart: ${where}: ${name} is ${v}`);
      if (v !== undefined && options.xLog && name.startsWith('x') && v <= 0) throw new ChartError(`frontier chart: ${where}: ${name} is ${v}, not > 0 on a log axis`);
    }
    if ((p.xLow === undefined) !== (p.xHigh === undefined) || (p.yLow === undefined) !== (p.yHigh === undefined)) {
      throw new ChartError(`frontier chart: ${where}: an error bar needs both its low and its high end`);
    }
    return {
      label: p.label,
      series: p.series ?? '',
      x: p.x,
      xLow: p.xLow ?? null,
      xHigh: p.xHigh ?? null,
      y: p.y,
      yLow: p.yLow ?? null,
      yHigh: p.yHigh ?? null,
      onFront: p.onFront,
      front: p.onFront ? FRONT : DOMINATED,
    };
  });
  // `padding` (pixels) keeps points and their labels off the plot's edges.
  const x = { field: 'x', type: 'quantitative', title: options.xTitle, scale: options.xLog ? { type: 'log', nice: false, padding: 16 } : { zero: false, padding: 16 } };
  const y = { field: 'y', type: 'quantitative', title: options.yTitle, scale: { zero: false, padding: 16 } };
  const color = coloured
    ? { field: 'series', type: 'nominal', title: options.seriesTitle ?? null, sort: seriesOrder }
    : { value: FRONT_LINE_COLOUR };
  const faded = { field: 'front', type: 'ordinal', sort: [FRONT, DOMINATED], title: null, scale: { domain: [FRONT, DOMINATED], range: [1, 0.35] } };
  const bar = { opacity: faded, color: coloured ? color : { value: '#666' } };
  const layer = [
    {
      transform: [{ filter: 'datum.onFront' }],
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        ...(options.frontPerSeries && coloured ? { color, detail: { field: 'series' } } : { color: { value: FRONT_LINE_COLOUR } }),
        order: { field: 'x', type: 'quantitative' },
      },
    },
    {
      transform: [{ filter: 'isValid(datum.xLow) && isValid(datum.xHigh)' }],
      mark: { type: 'errorbar', ticks: true },
      encoding: { x: { ...x, field: 'xLow' }, x2: { field: 'xHigh' }, y, ...bar },
    },
    {
      transform: [{ filter: 'isValid(datum.yLow) && isValid(datum.yHigh)' }],
      mark: { type: 'errorbar', ticks: true },
      encoding: { y: { ...y, field: 'yLow' }, y2: { field: 'yHigh' }, x, ...bar },
    },
    {
      mark: { type: 'point', filled: true, stroke: 'white', strokeWidth: 0.5 },
      encoding: {
        x,
        y,
        color,
        opacity: faded,
        size: { field: 'front', type: 'ordinal', sort: [FRONT, DOMINATED], title: null, scale: { domain: [FRONT, DOMINATED], range: [90, 40] } },
        shape: { field: 'front', type: 'nominal', sort: [FRONT, DOMINATED], title: null, scale: { domain: [FRONT, DOMINATED], range: ['diamond', 'circle'] } },
      },
    },
    {
      mark: { type: 'text', align: 'left', baseline: 'middle', dx: 7, dy: -7, fontSize: 10 },
      encoding: { x, y, text: { field: 'label' }, color: { value: '#222' }, opacity: faded },
    },
  ];
  return {
    ...BASE,
    height: 320,
    ...(options.title === undefined ? {} : { title: options.title }),
    data: { values },
    layer,
  } as TopLevelSpec;
}

/** One cell of a sweep: its row and column (e.g. schedule × profile) and its value; null: no result. */
export interface HeatmapCell {
  row: string;
  column: string;
  value: number | null;
}

export interface HeatmapOptions {
  rowTitle: string;
  columnTitle: string;
  /** The colour legend's title, e.g. "test accuracy (%)" or "energy saving (%)". */
  valueTitle: string;
  title?: string;
  /** Row and column order (default: first appearance); names not in a cell are drawn as missing. */
  rows?: readonly string[];
  columns?: readonly string[];
  /** A cell's text (default `fmtNum`, three significant digits). */
  format?: (value: number) => string;
  /** Dark colours for low values instead of high ones (e.g. for an error, so "good" is dark either way). */
  reverse?: boolean;
}

/** The text of a missing cell; the cell itself is light grey, not coloured as a value. */
export const MISSING_CELL = '–';

/**
 * A sweep as a grid: one row per `row`, one column per `column`, each cell coloured by its value
 * and labelled with it. Every row × column pair is drawn: a pair without a cell, or with a null
 * value, is grey with `MISSING_CELL` (never a zero), and the subtitle says so.
 */
export function heatmapChart(cells: readonly HeatmapCell[], options: HeatmapOptions): TopLevelSpec {
  const rows = [...new Set([...(options.rows ?? []), ...cells.map((c) => c.row)])];
  const columns = [...new Set([...(options.columns ?? []), ...cells.map((c) => c.column)])];
  if (rows.length === 0 || columns.length === 0) throw new ChartError('heatmap: no cells');
  const format = options.format ?? ((v: number) => fmtNum(v));
  const byKey = new Map<string, number | null>();
  for (const c of cells) {
    const key = JSON.stringify([c.row, c.column]);
    if (byKey.has(key)) throw new ChartError(`heatmap: two cells for row "${sanitizeShort(c.row)}", column "${sanitizeShort(c.column)}"`);
    if (c.value !== null && !Number.isFinite(c.value)) throw new ChartError(`heatmap: row "${sanitizeShort(c.row)}", column "${sanitizeShort(c.column)}": value is ${c.value}`);
    byKey.set(key, c.value);
  }
  const values = rows.flatMap((row) =>
    columns.map((column) => {
      const value = byKey.get(JSON.stringify([row, column])) ?? null;
      return { row, column, value, missing: value === null, text: value === null ? MISSING_CELL : format(value) };
    }),
  );
  const present = values.flatMap((v) => (v.value === null ? [] : [v.value]));
  const lo = Math.min(...present);
  const hi = Math.max(...present);
  // Text in white on the darkest 40 % of the scale, black elsewhere.
  const darkFrom = options.reverse ? lo + 0.4 * (hi - lo) : lo + 0.6 * (hi - lo);
  const onDark = present.length === 0 || hi === lo ? 'false' : options.reverse ? `datum.value <= ${darkFrom}` : `datum.value >= ${darkFrom}`;
  const anyMissing = values.some((v) => v.missing);
  const x = { field: 'column', type: 'nominal', title: options.columnTitle, sort: columns, axis: { labelAngle: 0, orient: 'top', domain: false, ticks: false } };
  const y = { field: 'row', type: 'nominal', title: options.rowTitle, sort: rows, axis: { domain: false, ticks: false } };
  const title = options.title ?? '';
  return {
    ...BASE,
    width: { step: Math.min(160, Math.max(64, 9 * Math.max(...columns.map((c) => c.length)))) },
    height: { step: 30 },
    ...(title || anyMissing ? { title: { text: title, ...(anyMissing ? { subtitle: `grey, ${MISSING_CELL}: no result` } : {}) } } : {}),
    config: { ...BASE.config, axis: { ...BASE.config.axis, grid: false }, view: { stroke: null } },
    data: { values },
    encoding: { x, y },
    layer: [
      { mark: { type: 'rect', stroke: 'white', strokeWidth: 1 }, encoding: { color: { value: '#e4e4e4' } } },
      {
        transform: [{ filter: '!datum.missing' }],
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'value',
            type: 'quantitative',
            title: options.valueTitle,
            scale: { scheme: 'blues', reverse: options.reverse ?? false, zero: false },
            legend: { orient: 'right', gradientLength: Math.max(60, 30 * rows.length) },
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'text' },
          color: { condition: { test: `!datum.missing && ${onDark}`, value: 'white' }, value: '#222' },
        },
      },
    ],
  } as TopLevelSpec;
}
