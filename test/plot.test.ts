/** `bitcycle plot`: Vega-Lite specs from data, rendered to SVG (Vega) and PNG (resvg). */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { curvesChart, scheduleChart } from '../src/plot/charts.js';
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

describe('rendering', () => {
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
