/** `bitcycle plot`: Vega-Lite specs from data, rendered to SVG (Vega) and PNG (resvg). */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChartError, curvesChart, frontierChart, heatmapChart, MISSING_CELL, scheduleChart, type FrontierPoint } from '../src/plot/charts.js';
import { renderFigure, renderSvg } from '../src/plot/render.js';
import { makeSchedule, scheduleBits } from '../src/schedule/index.js';
import { runMain } from './helpers/cli.js';
import { makeSyntheticRun, writeSyntheticRun } from './fixtures/synthetic.js';

type Row = Record<string, number | string>;
const rowsOf = (spec: unknown): Row[] => (spec as { data: { values: Row[] } }).data.values;

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe('charts (specs from data)', () => {
  it('a schedule: every iteration of a short one; of a long one, every change of bits, so the step line is the same', () => {
    const short = scheduleBits(makeSchedule('cpt:3-8'), 640);
    const rows = rowsOf(scheduleChart([{ name: 'cpt:3-8', bits: short }]));
    expect(rows.map((r) => r.bits)).toEqual(Array.from(short));
    const long = scheduleBits(makeSchedule('cpt:3-8:cycles=8'), 200_000);
    const kept = rowsOf(scheduleChart([{ name: 'long', bits: long }]));
    expect(kept.length).toBeLessThan(2000);
    // redraw the step line from the kept points and compare with every iteration
    let k = 0;
    for (let t = 0; t < long.length; t++) {
      while (k + 1 < kept.length && (kept[k + 1]!.iteration as number) <= t) k++;
      if (kept[k]!.bits !== long[t]) throw new Error(`iteration ${t}: drawn ${kept[k]!.bits}, schedule ${long[t]}`);
    }
  });

  it('curves: evaluations as they are; a long per-step metric as window means at each window end', () => {
    const evals = curvesChart([{ name: 'a', points: [[10, 0.5], [20, 0.7]] }], 'test-accuracy');
    expect(rowsOf(evals)).toEqual([
      { run: 'a', step: 10, value: 0.5 },
      { run: 'a', step: 20, value: 0.7 },
    ]);
    const points = Array.from({ length: 10_000 }, (_, i) => [i, i % 2] as const); // windows of 3
    const rows = rowsOf(curvesChart([{ name: 'b', points }], 'loss'));
    expect(rows.length).toBe(Math.ceil(10_000 / 3));
    expect(rows[0]).toEqual({ run: 'b', step: 2, value: 1 / 3 });
    expect(rows[1]).toEqual({ run: 'b', step: 5, value: 2 / 3 });
  });
});

/** Sweep results as a caller hands them over: means with spreads where there were several seeds. */
const FRONTIER_POINTS: FrontierPoint[] = [
  { label: 'static:8', series: 'step LR', x: 10, xLow: 9.5, xHigh: 10.5, y: 8.1, yLow: 7.8, yHigh: 8.4, onFront: true },
  { label: 'cpt:3-8', series: 'step LR', x: 6.2, xLow: 6, xHigh: 6.4, y: 8.6, yLow: 8.2, yHigh: 9, onFront: true },
  { label: 'tri:3-8 <b>&"', series: 'cosine LR', x: 6.8, y: 9.4, yLow: 9, yHigh: 9.8, onFront: false },
  { label: 'static:4', series: 'cosine LR', x: 3.1, y: 14.2, onFront: true },
  { label: 'cpt:4-6', series: 'step LR', x: 4.5, y: 15, onFront: false },
];
const FRONTIER_OPTIONS = { xTitle: 'energy per run (J)', yTitle: 'test error (%), mean ± std', title: 'error vs energy', seriesTitle: 'LR policy' };

/** A sweep grid with one cell absent and one without a result. */
const HEATMAP_CELLS = [
  { row: 'static:8', column: 'eyeriss', value: 0 },
  { row: 'static:8', column: 'bitfusion', value: 0.5 },
  { row: 'cpt:3-8', column: 'eyeriss', value: 41.2 },
  { row: 'cpt:3-8', column: 'bitfusion', value: 55.7 },
  { row: 'tri:3-8', column: 'eyeriss', value: 38.9 },
  { row: 'cpt:3-8', column: 'host', value: 12.3 },
  { row: 'static:4', column: 'host', value: null },
];
const HEATMAP_OPTIONS = { rowTitle: 'schedule', columnTitle: 'profile', valueTitle: 'energy saving (%)', title: 'energy saving' };

type Layer = { transform?: { filter: string }[]; mark: { type: string; interpolate?: string }; encoding: Record<string, { field?: string }> };
const layersOf = (spec: unknown): Layer[] => (spec as { layer: Layer[] }).layer;

/** The elements drawn in the SVG group of a mark layer (class "mark-<type> role-mark <name>"). */
function drawn(svg: string, type: string, name: string): string[] {
  const start = svg.indexOf(`<g class="mark-${type} role-mark ${name}"`);
  if (start < 0) return [];
  const body = svg.slice(svg.indexOf('>', start) + 1, svg.indexOf('</g>', start));
  return body.match(/<(line|path|text)[^>]*>/g) ?? [];
}

describe('frontier and heatmap (specs from data)', () => {
  it('frontier: one labelled row per point with its bar ends (null when absent); the front marked, step-lined in cost order', () => {
    const spec = frontierChart(FRONTIER_POINTS, FRONTIER_OPTIONS);
    const rows = rowsOf(spec);
    expect(rows.map((r) => r.label)).toEqual(FRONTIER_POINTS.map((p) => p.label));
    expect(rows[0]).toMatchObject({ series: 'step LR', x: 10, xLow: 9.5, xHigh: 10.5, y: 8.1, yLow: 7.8, yHigh: 8.4, front: 'Pareto front' });
    expect(rows[2]).toMatchObject({ xLow: null, xHigh: null, yLow: 9, yHigh: 9.8, front: 'dominated' });
    expect(rows[3]).toMatchObject({ xLow: null, yLow: null, front: 'Pareto front' });
    const [line, xBars, yBars, points, labels] = layersOf(spec);
    expect(line!.mark).toMatchObject({ type: 'line', interpolate: 'step-after' });
    expect(line!.transform).toEqual([{ filter: 'datum.onFront' }]);
    expect(line!.encoding.order!.field).toBe('x');
    expect(xBars!.mark.type).toBe('errorbar');
    expect([xBars!.encoding.x!.field, xBars!.encoding.x2!.field]).toEqual(['xLow', 'xHigh']);
    expect([yBars!.encoding.y!.field, yBars!.encoding.y2!.field]).toEqual(['yLow', 'yHigh']);
    for (const channel of ['size', 'shape', 'opacity']) expect(points!.encoding[channel]!.field).toBe('front');
    expect(points!.encoding.color!.field).toBe('series');
    expect(labels!.mark.type).toBe('text');
    expect(labels!.encoding.text!.field).toBe('label');
    // one front per series: the step line split and coloured by series
    const [perSeries] = layersOf(frontierChart(FRONTIER_POINTS, { ...FRONTIER_OPTIONS, frontPerSeries: true }));
    expect([perSeries!.encoding.color!.field, perSeries!.encoding.detail!.field]).toEqual(['series', 'series']);
    expect(line!.encoding.color!.field).toBeUndefined();
  });

  it('frontier: bad points are refused naming the point; a log axis needs costs > 0', () => {
    const one = (p: Partial<FrontierPoint>, xLog = false) => () => frontierChart([{ label: 'p', x: 1, y: 1, onFront: true, ...p }], { ...FRONTIER_OPTIONS, xLog });
    expect(one({ y: Number.NaN })).toThrow(/point 1 \("p"\): y is NaN/);
    expect(one({ xLow: 0.5 })).toThrow(ChartError);
    expect(one({ x: 0 }, true)).toThrow(/x is 0, not > 0 on a log axis/);
    expect(one({ x: 5, xLow: 4, xHigh: 6 }, true)).not.toThrow();
  });

  it('heatmap: every row × column drawn; an absent or null cell is missing (grey, "–"), never a zero', () => {
    const spec = heatmapChart(HEATMAP_CELLS, HEATMAP_OPTIONS);
    const rows = rowsOf(spec);
    expect(rows).toHaveLength(4 * 3);
    const cell = (row: string, column: string) => rows.find((r) => r.row === row && r.column === column)!;
    expect(cell('static:8', 'eyeriss')).toMatchObject({ value: 0, missing: false, text: '0' });
    expect(cell('cpt:3-8', 'bitfusion')).toMatchObject({ value: 55.7, missing: false, text: '55.7' });
    expect(cell('tri:3-8', 'host')).toMatchObject({ value: null, missing: true, text: MISSING_CELL }); // absent
    expect(cell('static:4', 'host')).toMatchObject({ value: null, missing: true, text: MISSING_CELL }); // null
    expect(cell('static:4', 'eyeriss')).toMatchObject({ value: null, missing: true });
    const [background, colour, text] = layersOf(spec);
    expect(background!.transform).toBeUndefined();
    expect(colour!.transform).toEqual([{ filter: '!datum.missing' }]); // missing cells get no colour from the scale
    expect(colour!.encoding.color!.field).toBe('value');
    expect(text!.encoding.text!.field).toBe('text');
    expect((spec as { title: { subtitle: string } }).title.subtitle).toContain(MISSING_CELL);
    // an explicit order; a duplicate cell is refused
    const ordered = rowsOf(heatmapChart(HEATMAP_CELLS, { ...HEATMAP_OPTIONS, rows: ['tri:3-8'], columns: ['host', 'eyeriss'] }));
    expect(ordered.slice(0, 3).map((r) => `${r.row}/${r.column}`)).toEqual(['tri:3-8/host', 'tri:3-8/eyeriss', 'tri:3-8/bitfusion']);
    expect(() => heatmapChart([...HEATMAP_CELLS, { row: 'cpt:3-8', column: 'host', value: 1 }], HEATMAP_OPTIONS)).toThrow(/two cells for row "cpt:3-8", column "host"/);
  });
});

describe('rendering', () => {
  it('frontier SVG: every label (escaped) and legend entry; one point each, bars only where given, the step line through the front', async () => {
    const svg = await renderSvg(frontierChart(FRONTIER_POINTS, FRONTIER_OPTIONS));
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['static:8', 'cpt:3-8', 'tri:3-8 &lt;b&gt;&amp;"', 'static:4', 'cpt:4-6', 'Pareto front', 'dominated', 'step LR', 'cosine LR', 'energy per run (J)', 'error vs energy']) {
      expect(svg).toContain(`>${text}<`);
    }
    expect(svg).not.toContain('<b>');
    expect(drawn(svg, 'symbol', 'layer_3_marks')).toHaveLength(5);
    expect(drawn(svg, 'text', 'layer_4_marks')).toHaveLength(5);
    expect(drawn(svg, 'rule', 'layer_1_layer_2_marks')).toHaveLength(2); // x bars: static:8, cpt:3-8
    expect(drawn(svg, 'rule', 'layer_2_layer_2_marks')).toHaveLength(3); // y bars: and tri:3-8
    const [line] = drawn(svg, 'line', 'layer_0_marks');
    const vertices = /\sd="([^"]+)"/.exec(line!)![1]!.match(/[ML]/g)!;
    expect(vertices).toHaveLength(2 * 3 - 1); // 3 front points, as steps
  });

  it('heatmap SVG: each value and the missing mark as text, a colour legend', async () => {
    const svg = await renderSvg(heatmapChart(HEATMAP_CELLS, HEATMAP_OPTIONS));
    for (const text of ['0', '0.5', '41.2', '55.7', '38.9', '12.3', 'energy saving (%)', 'schedule', 'profile', 'eyeriss', 'host']) expect(svg).toContain(`>${text}<`);
    const cells = drawn(svg, 'text', 'layer_2_marks');
    expect(cells).toHaveLength(12);
    expect(svg.split(`>${MISSING_CELL}<`).length - 1).toBe(6);
    expect(drawn(svg, 'rect', 'layer_0_marks')).toHaveLength(12); // grey under every cell
    expect(drawn(svg, 'rect', 'layer_1_marks')).toHaveLength(6); // coloured: the cells with a value
    expect(svg).toContain('<linearGradient');
  });


  it('SVG from Vega, with the title and every legend entry; PNG at twice its size, with text', async () => {
    const spec = scheduleChart([
      { name: 'cpt:3-8', bits: scheduleBits(makeSchedule('cpt:3-8'), 64) },
      { name: 'static:8', bits: scheduleBits(makeSchedule('static:8'), 64) },
    ]);
    const svg = await renderSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['precision schedule', 'cpt:3-8', 'static:8', 'iteration', 'bits']) expect(svg).toContain(text);
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    const png = await renderFigure(spec, 'png');
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(pngSize(png).width).toBe(2 * width);
  });
});

describe('bitcycle plot', () => {
  it('schedule and runs write the figure named by --out; bad --out or --metric: one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-plot-'));
    const schedules = join(dir, 's.svg');
    const r1 = await runMain(['plot', 'schedule', 'cpt:3-8', 'tri:3-8', '--iterations', '320', '--out', schedules]);
    expect(r1.status).toBe(0);
    expect(readFileSync(schedules, 'utf8')).toContain('>tri:3-8<');

    for (const id of ['run-a', 'run-b']) writeSyntheticRun(dir, makeSyntheticRun({ id, schedule: 'static:8', epochs: 3 }));
    const curves = join(dir, 'c.png');
    const r2 = await runMain(['plot', 'runs', 'run-a', 'run-b', '--runs-dir', dir, '--metric', 'loss', '--out', curves]);
    expect(r2.status).toBe(0);
    expect(r2.stdout).toMatch(/^wrote .*c\.png \(PNG, \d+ bytes\)\n$/);
    expect(existsSync(curves)).toBe(true);

    const bad = [
      [['plot', 'schedule', 'cpt:3-8', '--out', join(dir, 'x.pdf')], /^bitcycle: --out: must end in \.svg or \.png/],
      [['plot', 'schedule', 'cpt:3-8', '--out', join(dir, 'no', 'x.svg')], /^bitcycle: --out: the directory .* does not exist/],
      [['plot', 'schedule', 'cpt:3-8'], /^bitcycle: --out: required/],
      [['plot', 'runs', 'run-a', '--runs-dir', dir, '--metric', 'bits', '--out', join(dir, 'y.svg')], /^bitcycle: --metric: expected loss, train-accuracy, test-accuracy, test-loss, got "bits"/],
    ] as const;
    for (const [args, message] of bad) {
      const r = await runMain([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
