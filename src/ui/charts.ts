/**
 * Text charts as pure functions of numbers → lines of characters (no Ink, no I/O), so every screen
 * draws curves the same way and tests can check them without a terminal.
 */

const BLOCKS = ' ▁▂▃▄▅▆▇█';

/** Resample `values` (NaN/null = no data) into `width` columns by averaging each column's slice. */
export function resample(values: ArrayLike<number | null>, width: number, length = values.length): (number | null)[] {
  const out: (number | null)[] = [];
  if (width <= 0) return out;
  for (let c = 0; c < width; c++) {
    const from = Math.floor((c * length) / width);
    const to = Math.max(from + 1, Math.floor(((c + 1) * length) / width));
    let sum = 0;
    let n = 0;
    for (let i = from; i < to && i < values.length; i++) {
      const v = values[i];
      if (v !== null && v !== undefined && Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    out.push(n ? sum / n : null);
  }
  return out;
}

/** Column of iteration `step` in a chart `width` wide that spans `total` iterations. */
export function columnOf(step: number, total: number, width: number): number {
  if (total <= 0 || width <= 0) return 0;
  return Math.min(width - 1, Math.max(0, Math.floor((step * width) / total)));
}

/**
 * Bar chart of column values with eighth-block resolution, `height` rows, top row first.
 * Values are scaled from `min` (empty) to `max` (full).
 */
export function blockChart(columns: readonly (number | null)[], height: number, min: number, max: number): string[] {
  const rows: string[] = [];
  const span = max - min || 1;
  const levels = columns.map((v) => (v === null ? -1 : Math.round(Math.min(1, Math.max(0, (v - min) / span)) * height * 8)));
  for (let r = height - 1; r >= 0; r--) {
    let line = '';
    for (const level of levels) {
      if (level < 0) line += ' ';
      else line += BLOCKS[Math.min(8, Math.max(0, level - r * 8))]!;
    }
    rows.push(line);
  }
  return rows;
}

const BRAILLE_BASE = 0x2800;
// dot bits by [row 0..3][col 0..1]
const BRAILLE_DOTS = [
  [0x01, 0x08],
  [0x02, 0x10],
  [0x04, 0x20],
  [0x40, 0x80],
];

export interface ChartSeries {
  /** One value per x position (already resampled to `2 × width` points, or any length). */
  values: readonly (number | null)[];
}

export interface LineChart {
  /** `height` strings of `width` characters, top row first. */
  lines: string[];
  /** Index of the series that drew last in each cell (−1 = empty), for colouring. */
  owner: number[][];
}

/**
 * Braille line chart: each character is 2×4 dots, so `width × height` cells plot `2·width`
 * x positions at `4·height` levels. Series are drawn in order (later ones on top) and consecutive
 * points are joined vertically so steep curves stay connected.
 */
export function brailleChart(series: readonly ChartSeries[], width: number, height: number, min: number, max: number): LineChart {
  const dots = Array.from({ length: height }, () => new Array<number>(width).fill(0));
  const owner = Array.from({ length: height }, () => new Array<number>(width).fill(-1));
  const xs = width * 2;
  const ys = height * 4;
  const span = max - min || 1;
  const yOf = (v: number) => Math.round(Math.min(1, Math.max(0, (v - min) / span)) * (ys - 1));
  series.forEach((s, si) => {
    const points = s.values.length === xs ? s.values : resample(s.values, xs);
    let prev: number | null = null;
    for (let x = 0; x < xs; x++) {
      const v = points[x];
      if (v === null || v === undefined || !Number.isFinite(v)) {
        prev = null;
        continue;
      }
      const y = yOf(v);
      const from = prev === null ? y : Math.min(prev, y);
      const to = prev === null ? y : Math.max(prev, y);
      for (let yy = from; yy <= to; yy++) {
        const row = ys - 1 - yy;
        const cellRow = Math.floor(row / 4);
        const cellCol = Math.floor(x / 2);
        dots[cellRow]![cellCol]! |= BRAILLE_DOTS[row % 4]![x % 2]!;
        owner[cellRow]![cellCol] = si;
      }
      prev = y;
    }
  });
  const lines = dots.map((row) => row.map((d) => (d ? String.fromCharCode(BRAILLE_BASE + d) : ' ')).join(''));
  return { lines, owner };
}

/** Proportional bar: `fraction` of `width` filled with █ (eighth-block edge), rest with ░. */
export function progressBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part ? '▏▎▍▌▋▊▉'[8 - part - 1]! : '';
  return ('█'.repeat(full) + partial).padEnd(width, '░').slice(0, width);
}

/** Min and max of finite values, padded; [0, 1] when there are none. */
export function extent(values: Iterable<number | null>, pad = 0): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

export interface ScatterPoint {
  x: number;
  y: number;
  /** Character to draw (later points overwrite earlier ones in the same cell). */
  glyph: string;
}

/** Character-cell scatter plot on a `width × height` grid, top row = `yMax`. */
export function scatterGrid(points: readonly ScatterPoint[], width: number, height: number, x: [number, number], y: [number, number]): string[] {
  const grid = Array.from({ length: height }, () => new Array<string>(width).fill(' '));
  const sx = x[1] - x[0] || 1;
  const sy = y[1] - y[0] || 1;
  for (const p of points) {
    const c = Math.round(((p.x - x[0]) / sx) * (width - 1));
    const r = height - 1 - Math.round(((p.y - y[0]) / sy) * (height - 1));
    if (c >= 0 && c < width && r >= 0 && r < height) grid[r]![c] = p.glyph;
  }
  return grid.map((row) => row.join(''));
}

export interface FrontierPlotPoint {
  id: string;
  /** Lower is better (x). */
  cost: number;
  /** Higher is better (y), e.g. test accuracy. */
  quality: number;
  /** Glyph of a point off the front (the front is always ◆). */
  glyph?: string;
}

export interface FrontierPlot {
  /** One per grid row: the y label (right-aligned to `axisWidth`) and the row's cells. */
  rows: { label: string; cells: string }[];
  /** `└────` under the grid, indented past the labels. */
  axis: string;
  /** Low and high x values under the axis, with the axis name. */
  xLabels: string;
  logX: boolean;
}

/**
 * A cost-vs-quality scatter in character cells with its Pareto front as ◆ (drawn over the other
 * points): `bitcycle pareto` and review's scatter screen draw with it. Costs spanning more than
 * 10× are drawn on a log scale.
 */
export function frontierPlot(
  points: readonly FrontierPlotPoint[],
  front: ReadonlySet<string>,
  options: { width: number; height: number; axisWidth: number; xName: string; xFormat: (v: number) => string; yFormat: (v: number) => string },
): FrontierPlot {
  const { width, height, axisWidth } = options;
  const positive = points.map((p) => p.cost).filter((v) => v > 0);
  const logX = positive.length > 1 && Math.max(...positive) / Math.min(...positive) > 10;
  const xOf = (v: number) => (logX ? Math.log10(Math.max(v, 1e-30)) : v);
  const [xLo, xHi] = extent(points.map((p) => xOf(p.cost)), 0.05);
  const [yLo, yHi] = extent(points.map((p) => p.quality), 0.05);
  const grid = scatterGrid(
    [
      ...points.filter((p) => !front.has(p.id)).map((p) => ({ x: xOf(p.cost), y: p.quality, glyph: p.glyph ?? '•' })),
      ...points.filter((p) => front.has(p.id)).map((p) => ({ x: xOf(p.cost), y: p.quality, glyph: '◆' })),
    ],
    width,
    height,
    [xLo, xHi],
    [yLo, yHi],
  );
  const xValue = (v: number) => options.xFormat(logX ? 10 ** v : v);
  const half = Math.floor(width / 2);
  return {
    rows: grid.map((cells, r) => ({ label: (r === 0 ? options.yFormat(yHi) : r === height - 1 ? options.yFormat(yLo) : '').padStart(axisWidth), cells })),
    axis: ' '.repeat(axisWidth) + '└' + '─'.repeat(width),
    xLabels: ' '.repeat(axisWidth + 1) + xValue(xLo).padEnd(half).slice(0, half) + `${options.xName}${logX ? ' (log)' : ''} → ${xValue(xHi)}`.padStart(width - half).slice(-(width - half)),
    logX,
  };
}
