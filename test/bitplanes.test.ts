/**
 * `bitcycle bits`: BSQ's bit-planes of weights (src/analysis/bitplanes.ts) on tensors whose codes
 * are worked out by hand, and the command (src/cli/commands/bits.ts) on a fixture run given a
 * checkpoint with hand-made weights.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type LayerBits,
  type QuantizedLayerBits,
  type WeightLayer,
  analyseLayer,
  analyseWeights,
  bitsTotals,
  errorBoundedBits,
  finalWeightBits,
  magnitudeCodes,
  planeStats,
  quantizerErrors,
} from '../src/analysis/bitplanes.js';
import { writeCheckpoint } from '../src/artifacts/checkpoint.js';
import { planeBar, register } from '../src/cli/commands/bits.js';
import { BitcycleError } from '../src/errors.js';

const layer = (data: number[], shape: number[] = [data.length, 1], outAxis = 1): WeightLayer => ({ name: 'l', data: Float32Array.from(data), shape, outAxis });
const quantized = (l: LayerBits): QuantizedLayerBits => {
  if (l.fullPrecision) throw new Error('expected a quantized layer');
  return l;
};

describe('bit-planes of magnitude codes', () => {
  it('counts the ones of each plane, MSB first, and the zero bits', () => {
    // codes 7 = 111, 3 = 011, 0 = 000, 1 = 001, 7 = 111 on 3 planes (4-bit weights)
    const s = planeStats([7, 3, 0, 1, 7], 3);
    expect(s.ones).toEqual([2, 3, 4]);
    expect(s.sparsity).toBeCloseTo(6 / 15, 15);
    expect(s).toMatchObject({ planes: 3, zeroPlanes: 0, zeroMsb: 0, zeroLsb: 0, structuralBits: 4 });
  });

  it('codes of a layer at its own max scale: s = max|w|/(2^(b−1)−1), the largest code all ones', () => {
    // s = 0.7/7 = 0.1: |w|/s = 7, 3, 0, 1, 7
    const { codes, scale } = magnitudeCodes(Float32Array.from([0.7, -0.3, 0, 0.1, -0.7]), 4);
    expect(scale).toBeCloseTo(0.1, 7);
    expect([...codes]).toEqual([7, 3, 0, 1, 7]);
    const l = quantized(analyseLayer(layer([0.7, -0.3, 0, 0.1, -0.7]), 4));
    expect(l.ones).toEqual([2, 3, 4]);
    expect(l.onesFraction).toEqual([2 / 5, 3 / 5, 4 / 5]);
    expect(l.sparsity).toBeCloseTo(0.4, 15);
    expect(l.structuralBits).toBe(4);
  });

  it('a layer whose codes leave the top planes empty drops them (BSQ keeps the scale: given here)', () => {
    // scale 1, 5-bit weights (4 planes: 8 4 2 1): codes 0 1 2 3 2 1 1 0 never reach 4
    const l = quantized(analyseLayer(layer([0, 1, -2, 3, 2, -1, 1, 0]), 5, { scale: 1 }));
    expect(l.ones).toEqual([0, 0, 3, 4]);
    expect(l).toMatchObject({ zeroPlanes: 2, zeroMsb: 2, zeroLsb: 0, structuralBits: 3 });
    expect(l.sparsity).toBeCloseTo(1 - 7 / 32, 15);
  });

  it('an LSB-empty layer: every code even, so the codes halve and the scale doubles exactly', () => {
    // scale 1, 5-bit weights: codes 2 4 6 8 0 2 — bit 0 never set
    const w = [2, 4, -6, -8, 0, 2];
    const l = quantized(analyseLayer(layer(w), 5, { scale: 1 }));
    expect(l.ones).toEqual([1, 2, 3, 0]);
    expect(l).toMatchObject({ zeroPlanes: 1, zeroMsb: 0, zeroLsb: 1, structuralBits: 4 });
    expect(l.sparsity).toBeCloseTo(1 - 6 / 24, 15);
    // the same weights at 4 bits and twice the scale: half the codes, still exact
    const half = magnitudeCodes(Float32Array.from(w), 4, 2);
    expect([...half.codes]).toEqual([1, 2, 3, 4, 0, 1]);
    expect([...half.codes].map((c, i) => Math.sign(w[i]!) * c * half.scale)).toEqual(w.map((v) => (v === 0 ? 0 : v)));
  });

  it('an empty plane in the middle is counted but cannot be dropped', () => {
    const s = planeStats([8, 1, 9], 4);
    expect(s.ones).toEqual([2, 0, 0, 2]);
    expect(s).toMatchObject({ zeroPlanes: 2, zeroMsb: 0, zeroLsb: 0, structuralBits: 5 });
  });

  it('codes above the largest saturate when the scale is given; an all-zero layer keeps only its sign bit', () => {
    expect([...magnitudeCodes([10, 1], 3, 1).codes]).toEqual([3, 1]);
    const zero = quantized(analyseLayer(layer([0, 0, 0, 0]), 4));
    expect(zero).toMatchObject({ scale: 0, ones: [0, 0, 0], zeroPlanes: 3, zeroMsb: 3, zeroLsb: 0, sparsity: 1, structuralBits: 1, errorBits: 2, errorBoundMet: true });
  });

  it('at its own max scale no plane of a non-zero layer is ever empty (the structural suggestion stays b)', () => {
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) ** 3;
    const data = Array.from({ length: 500 }, next);
    for (const bits of [2, 4, 8, 12]) {
      const l = quantized(analyseLayer(layer(data), bits));
      expect(l.zeroPlanes).toBe(0);
      expect(l.structuralBits).toBe(bits);
      expect(l.ones.every((n) => n >= 1)).toBe(true);
    }
  });

  it('draws a plane per character: · for an empty plane, eighth blocks for the rest', () => {
    expect(planeBar([0, 0.01, 0.5, 1])).toBe('·▁▅█');
  });
});

describe('error-bounded bit-width (the run\'s weight quantizer, per output channel)', () => {
  // linear weight [in 8, out 2]: channel 0 holds 0..7, channel 1 is constant 5
  const data = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? i / 2 : 5));
  const w = layer(data, [8, 2], 1);
  // 2 bits on channel 0: scale 7/3, codes 0 0 1 1 2 2 3 3 → errors 0, 1, −1/3, 2/3, −2/3, 1/3, −1, 0:
  // ‖e‖² = 28/9; channel 1 is exact (min = max); ‖w‖² = 140 + 8·25 = 340. 3 bits: 7 steps of 1, exact.
  const at2 = Math.sqrt(28 / 9 / 340);

  it('computes ‖w − q(w)‖/‖w‖ per bit-width', () => {
    const [e2, e3, e4] = quantizerErrors(w, [2, 3, 4]);
    expect(e2).toBeCloseTo(at2, 12);
    expect(e3).toBeCloseTo(0, 12);
    // 4 bits: scale 7/15, codes 0 2 4 6 9 11 13 15 → errors 0, 1/15, 2/15, 3/15, −3/15, −2/15, −1/15, 0: ‖e‖² = 28/225
    expect(e4).toBeCloseTo(Math.sqrt(28 / 225 / 340), 12);
  });

  it('takes the smallest bit-width within the bound', () => {
    expect(quantized(analyseLayer(w, 6, { maxError: 0.05 }))).toMatchObject({ errorBits: 3, errorBoundMet: true });
    expect(at2).toBeCloseTo(0.0957, 4);
    expect(quantized(analyseLayer(w, 6, { maxError: 0.1 }))).toMatchObject({ errorBits: 2, errorBoundMet: true });
  });

  it('keeps b when no bit-width up to b meets the bound', () => {
    expect(quantized(analyseLayer(w, 2, { maxError: 0.05 }))).toMatchObject({ errorBits: 2, errorBoundMet: false });
    expect(errorBoundedBits([{ bits: 2, relativeError: 0.3 }, { bits: 3, relativeError: 0.2 }], 0.1, 3)).toEqual({ bits: 3, met: false });
  });

  it('reduces over the right axes: rows as channels (2 values each) are exact at 2 bits', () => {
    expect(quantizerErrors(layer(data, [8, 2], 0), [2])[0]).toBe(0);
  });

  it('conv weights [Cout, Cin, k, k]: per output channel on axis 0', () => {
    // channel 0: 0 1 2 3 (exact at 2 bits); channel 1: 0 1 2 4, scale 4/3, codes 0 1 2 3 → errors 0, −1/3, 2/3, 0
    const conv = layer([0, 1, 2, 3, 0, 1, 2, 4], [2, 1, 2, 2], 0);
    expect(quantizerErrors(conv, [2])[0]).toBeCloseTo(Math.sqrt(5 / 9 / 35), 12);
  });
});

describe('totals and the run\'s final bit-width', () => {
  it('averages the suggestions over the quantized weights and gives the memory saved', () => {
    // 100 weights at 6 bits suggesting 4, 300 suggesting 5: (400 + 1500)/400 = 4.75 bits, 1 − 4.75/6 saved
    const base = { fullPrecision: false as const, bits: 6, structuralBits: 6, planes: 5, sparsity: 0.5 };
    const t = bitsTotals([
      { ...base, weights: 100, errorBits: 4 } as QuantizedLayerBits,
      { ...base, weights: 300, errorBits: 5, structuralBits: 5, sparsity: 0.7 } as QuantizedLayerBits,
      { name: 'fc', fullPrecision: true, weights: 1000 },
    ]);
    expect(t.weights).toBe(400);
    expect(t.bits).toBe(6);
    expect(t.errorBits).toBeCloseTo(4.75, 12);
    expect(t.errorSavingPct).toBeCloseTo(100 * (1 - 4.75 / 6), 10);
    expect(t.structuralBits).toBeCloseTo(5.25, 12);
    expect(t.sparsity).toBeCloseTo((100 * 0.5 + 300 * 0.7) / 400, 12);
  });

  it('lists full-precision layers without analysing them', () => {
    const r = analyseWeights([layer([1, -1, 0.5, 0]), { ...layer([3, 4]), name: 'fc', fullPrecision: true }], 3);
    expect(r.layers[1]).toEqual({ name: 'fc', fullPrecision: true, weights: 2 });
    expect(r.totals.weights).toBe(4);
  });

  it('takes the bits of the last step in the checkpoint, else the schedule at the end', () => {
    const rows = [0, 1, 2, 3].map((step) => ({ step, bitsWeights: 3 + step }));
    expect(finalWeightBits(rows, 3, () => 8)).toEqual({ bits: 5, source: 'steps.csv', step: 2 });
    expect(finalWeightBits(rows, null, () => 8)).toEqual({ bits: 6, source: 'steps.csv', step: 3 });
    expect(finalWeightBits(rows, 0, () => 8)).toEqual({ bits: 8, source: 'schedule', step: null });
    expect(finalWeightBits([], 10, () => 7)).toEqual({ bits: 7, source: 'schedule', step: null });
  });
});

describe('bitcycle bits on a run', () => {
  const FIXTURE = join(import.meta.dirname, 'fixtures', 'runs', '20261123-120102-mlp-digits-cpt3-8-s1');
  const root = mkdtempSync(join(tmpdir(), 'bitcycle-bits-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /**
   * The fixture run (mlp 64-128-10 on digits, cpt:3-8, 220 steps; steps 219 and 99 at 6 bits, 98
   * at 4) with fc2 kept at full precision and a checkpoint at `step`: fc1.weight [64, 128] with
   * codes i mod 32 at 6 bits (w = ±c/31, so s = 1/31), the sign alternating by row.
   */
  function makeRun(name: string, step: number): string {
    const dir = join(root, name);
    cpSync(FIXTURE, dir, { recursive: true });
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    run.config.fpLayers = 'last';
    run.layers[1].fullPrecision = true;
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
    const fc1 = Float32Array.from({ length: 64 * 128 }, (_, i) => ((Math.floor(i / 128) % 2 === 0 ? 1 : -1) * (i % 32)) / 31);
    const fc2 = Float32Array.from({ length: 128 * 10 }, (_, i) => i / 1000);
    writeCheckpoint(join(dir, 'checkpoint.safetensors'), {
      tensors: new Map([
        ['fc1.weight', { shape: [64, 128], data: fc1 }],
        ['fc2.weight', { shape: [128, 10], data: fc2 }],
      ]),
      metadata: { step: String(step) },
    });
    return dir;
  }

  async function bits(args: string[]): Promise<{ stdout: string; error: BitcycleError | null }> {
    const program = new Command().exitOverride();
    register(program);
    let stdout = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    try {
      await program.parseAsync(['bits', ...args], { from: 'user' });
      return { stdout, error: null };
    } catch (err) {
      if (err instanceof BitcycleError) return { stdout, error: err };
      throw err;
    } finally {
      write.mockRestore();
    }
  }

  it('reports the bit-planes at the last step\'s bits, as JSON and as a table', async () => {
    makeRun('done', 220);
    const { stdout, error } = await bits(['done', '--runs-dir', root, '--json']);
    expect(error).toBeNull();
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ run: 'done', model: 'mlp:hidden=128', checkpointStep: 220, bits: 6, bitsSource: { source: 'steps.csv', step: 219 }, maxError: 0.05 });
    const [fc1, fc2] = out.layers;
    // each of the 5 planes is set in 16 of the codes 0..31: 256 × 16 ones
    expect(fc1).toMatchObject({ name: 'fc1', weights: 8192, bits: 6, planes: 5, ones: [4096, 4096, 4096, 4096, 4096], sparsity: 0.5, zeroPlanes: 0, structuralBits: 6 });
    expect(fc1.scale).toBeCloseTo(1 / 31, 7);
    // an output channel (column j) holds ±(j mod 32)/31: two values, exact at 2 bits
    expect(fc1).toMatchObject({ errorBits: 2, errorBoundMet: true });
    expect(fc1.errors[0].relativeError).toBeLessThan(1e-12);
    expect(fc2).toEqual({ name: 'fc2', fullPrecision: true, weights: 1280 });
    expect(out.totals).toMatchObject({ weights: 8192, bits: 6, structuralBits: 6, errorBits: 2, structuralSavingPct: 0 });
    expect(out.totals.errorSavingPct).toBeCloseTo(100 * (1 - 2 / 6), 10);

    const text = (await bits([join(root, 'done')])).stdout;
    expect(text).toContain('done · mlp:hidden=128 on digits · checkpoint at step 220 · 6-bit weights (step 219, the last in the checkpoint)');
    expect(text).toMatch(/^fc1 +8\.19 k +6 +0 +50\.0 % +▅▅▅▅▅ +6 +2 +\S+$/m);
    expect(text).toMatch(/^fc2 +1\.28 k +fp32 +full precision/m);
    expect(text).toContain('memory saving 0.0 %), relative error ≤ 0.05 needs 2 bits (memory saving 66.7 %)');
  });

  it('uses the bits of the checkpoint\'s own last step, and --bits overrides them', async () => {
    makeRun('mid', 99);
    expect(JSON.parse((await bits(['mid', '--runs-dir', root, '--json'])).stdout)).toMatchObject({ bits: 4, bitsSource: { source: 'steps.csv', step: 98 } });
    const over = JSON.parse((await bits(['mid', '--runs-dir', root, '--json', '--bits', '3'])).stdout);
    expect(over).toMatchObject({ bits: 3, bitsSource: { source: 'option' } });
    expect(over.layers[0].planes).toBe(2);
  });

  it('refuses bad input with one line naming the option (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['--bits', '1'], '--bits: expected an integer in 2..32, got 1'],
      [['--bits', 'x'], '--bits: expected an integer in 2..32, got "x"'],
      [['--max-error', '-0.1'], '--max-error: expected a number in 0..1, got -0.1'],
      [['--max-error', 'abc'], '--max-error: expected a number, got "abc"'],
    ];
    for (const [args, message] of cases) {
      const { error } = await bits(['done', '--runs-dir', root, ...args]);
      expect(error?.message).toBe(message);
      expect(error?.exitCode).toBe(2);
    }
    const missing = await bits(['nope', '--runs-dir', root]);
    expect(missing.error?.message).toBe(`nope: no such run directory (looked in . and ${root}/)`);
    cpSync(FIXTURE, join(root, 'no-checkpoint'), { recursive: true });
    const noCheckpoint = await bits(['no-checkpoint', '--runs-dir', root]);
    expect(noCheckpoint.error?.message).toMatch(/checkpoint\.safetensors: checkpoint not found$/);
    expect(noCheckpoint.error?.exitCode).toBe(2);
  });
});
