/**
 * `bitcycle eval`: switchable precision at inference. The pure part (src/analysis/knob.ts): the
 * `--bits` grammar, the default list, and the inference cost rows (forward GEMMs only, weights-only
 * activations at 32 bits, full-precision layers at 32, relative to the highest precision). The CLI
 * on a tiny real run: one checkpoint evaluated at several precisions reproduces the run's own
 * final accuracy, and bad input is one line with exit code 2.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { usageMessage } from './helpers/errors.js';
import { defaultKnobFormats, knobCosts, knobPrecision, parseKnobList, topPrecisionIndex } from '../src/analysis/knob.js';
import { formatName } from '../src/formats/number-format.js';
import { type HardwareProfile, createCostModel, loadProfile, loadProfileFile } from '../src/hw/index.js';
import { linearShape } from '../src/models/shapes.js';
import { makeSchedule } from '../src/schedule/index.js';
import { type CliResult, ROOT, runMain } from './helpers/cli.js';

const profiles = new Map<string, HardwareProfile>();
const profile = (name: string) => {
  if (!profiles.has(name)) profiles.set(name, loadProfile(name));
  return profiles.get(name)!;
};

// a digits MLP as the run records it: 64 → 16 → 10, the classifier kept at full precision
const LAYERS = [linearShape('fc1', 64, 16), { ...linearShape('fc2', 16, 10), fullPrecision: true }];
/** int8-systolic, but refusing operands wider than int8 (aboveMax "reject"), as a file. */
function rejectingProfileFile(): string {
  const json = JSON.parse(readFileSync(join(ROOT, 'hw-profiles', 'int8-systolic.json'), 'utf8'));
  delete json.$schema;
  const file = join(mkdtempSync(join(tmpdir(), 'bitcycle-eval-profile-')), 'int8-reject.json');
  writeFileSync(file, JSON.stringify({ ...json, name: 'int8-reject', compute: { ...json.compute, aboveMax: 'reject' } }));
  return file;
}
const precisions = (list: string, weightsOnly = false) => parseKnobList(list).map((f) => knobPrecision(f, weightsOnly));

describe('eval: the --bits list', () => {
  it('bit-widths are the integer grid (32 = fp32), names are number formats, in the order given', () => {
    expect(parseKnobList('6, 2,8,int4,32').map(formatName)).toEqual(['int6', 'int2', 'int8', 'int4', 'fp32']);
    expect(parseKnobList('fp8-e4m3,E5M2,bf16,mxfp4').map(formatName)).toEqual(['fp8-e4m3', 'fp8-e5m2', 'bf16', 'mxfp4']);
  });

  it('refuses bad items, duplicates and more than 16, naming --bits and what is allowed', () => {
    for (const [text, pattern] of [
      ['0', /^--bits: 0 is not a bit-width in 1\.\.32; expected bit-widths 1\.\.32 .*fp8-e4m3/],
      ['33', /^--bits: 33 is not a bit-width in 1\.\.32/],
      ['4,fp9', /^--bits: "fp9" is neither a bit-width nor a number format; expected bit-widths 1\.\.32/],
      ['4,,8', /^--bits: empty item in the list/],
      ['4,int4', /^--bits: int4 is listed twice \("4", "int4"\)/],
      ['32,fp32', /^--bits: fp32 is listed twice/],
      ['uint4', /^--bits: "uint4": the integer grid quantizer is named by its bit-width \(4\) or int4/],
      [Array.from({ length: 17 }, (_, i) => i + 1).join(','), /^--bits: 17 precisions, at most 16$/],
    ] as const) {
      expect(usageMessage(() => parseKnobList(text))).toMatch(pattern);
    }
  });

  it('defaults to the schedule range Bmin..Bmax, or its format ladder', () => {
    expect(defaultKnobFormats(makeSchedule('cpt:3-8')).map(formatName)).toEqual(['int3', 'int4', 'int5', 'int6', 'int7', 'int8']);
    expect(defaultKnobFormats(makeSchedule('static:6')).map(formatName)).toEqual(['int6']);
    expect(defaultKnobFormats(makeSchedule('cpt:fp6-e3m2..fp8-e4m3')).map(formatName)).toEqual(['fp6-e3m2', 'fp6-e2m3', 'fp8-e5m2', 'fp8-e4m3']);
    expect(usageMessage(() => defaultKnobFormats(makeSchedule('cpt:2-32')))).toMatch(/^--bits: the run's schedule cpt:2-32 spans 31 precisions, more than 16/);
  });
});

describe('eval: inference cost rows', () => {
  it('costs the forward GEMMs only: the forward phase of a step, with full-precision layers at 32 bits', () => {
    const p = profile('bit-fusion-45nm');
    const { rows } = knobCosts(p, LAYERS, 64, precisions('4'));
    const row = rows[0]!;
    const step = createCostModel(p, LAYERS, 64).breakdown(4, 4, 4);
    expect(row.energyJ).toBe(step.byPhase.forward.energyJ);
    expect(row.latencyS).toBe(step.byPhase.forward.latencyS);
    expect(row.energyJ).toBeLessThan(step.energyJ / 2);
    // BitOPs by hand: fc1 at 4 × 4 bits, fc2 (full precision) at 32 × 32
    expect(row.bitops).toBe(64 * (64 * 16 * 4 * 4 + 16 * 10 * 32 * 32));
    expect(row.layers.map((l) => [l.layer, l.fullPrecision, l.bitsWeights, l.bitsActivations])).toEqual([
      ['fc1', false, 4, 4],
      ['fc2', true, 32, 32],
    ]);
    // the batch scales the MACs
    expect(knobCosts(p, LAYERS, 128, precisions('4')).rows[0]!.bitops).toBe(2 * row.bitops);
  });

  it('weights-only keeps activations at 32 bits: dearer than full quantization at the same bits on a bit-serial profile', () => {
    for (const name of ['bit-serial-stripes', 'loom-bit-serial']) {
      const full = knobCosts(profile(name), LAYERS, 64, precisions('2,4,8')).rows;
      const weightsOnly = knobCosts(profile(name), LAYERS, 64, precisions('2,4,8', true)).rows;
      weightsOnly.forEach((w, i) => {
        expect(w).toMatchObject({ weights: full[i]!.weights, activations: 'fp32', bitsActivations: 32, floatActivations: true });
        expect(w.layers[0]!.bitsActivations).toBe(32);
        expect(w.latencyS).toBeGreaterThan(full[i]!.latencyS);
        expect(w.energyJ).toBeGreaterThan(full[i]!.energyJ);
        expect(w.bitops).toBeGreaterThan(full[i]!.bitops);
      });
      // fewer bits, less time (every bit of the serial operand costs a cycle)
      expect(full[0]!.latencyS).toBeLessThan(full[1]!.latencyS);
      expect(full[1]!.latencyS).toBeLessThan(full[2]!.latencyS);
    }
    // an integer-only array runs fp32 activations as int16 slices, and says so
    expect(knobCosts(profile('loom-bit-serial'), LAYERS, 64, precisions('4', true)).rows[0]!.fallbacks).toEqual(['fp32 → int16 ×2']);
  });

  it('is relative to the highest precision listed, wherever it is; rows keep the order given', () => {
    const costs = knobCosts(profile('loom-bit-serial'), LAYERS, 64, precisions('4,8,2,6'));
    expect(costs.rows.map((r) => r.precision)).toEqual(['int4', 'int8', 'int2', 'int6']);
    expect(costs.reference).toBe(1);
    expect(costs.rows[1]).toMatchObject({ relativeLatency: 1, relativeEnergy: 1 });
    for (const r of costs.rows) {
      expect(r.relativeLatency).toBeCloseTo(r.latencyS / costs.rows[1]!.latencyS, 12);
      expect(r.relativeEnergy).toBeCloseTo(r.energyJ / costs.rows[1]!.energyJ, 12);
    }
    expect(costs.rows[2]!.relativeLatency).toBeLessThan(costs.rows[0]!.relativeLatency);
    expect(costs.rows[0]!.relativeLatency).toBeLessThan(1);
    // equal widths: the first listed is the reference
    expect(topPrecisionIndex(precisions('4,fp8-e4m3,8'))).toBe(1);
  });

  it('prices floating-point formats as floating point (the profile\'s fp8, not its int8)', () => {
    const { rows } = knobCosts(profile('gpu-h100'), LAYERS, 64, precisions('8,fp8-e4m3'));
    expect(rows[0]!).toMatchObject({ floatWeights: false, floatActivations: false });
    expect(rows[1]!).toMatchObject({ floatWeights: true, floatActivations: true, bitsWeights: 8 });
    expect(rows[0]!.layers[0]).toMatchObject({ formatWeights: 'int8', formatActivations: 'int8' });
    expect(rows[1]!.layers[0]).toMatchObject({ formatWeights: 'fp8', formatActivations: 'fp8' });
  });

  it('refuses precisions a profile rejects before costing anything', () => {
    const reject = loadProfileFile(rejectingProfileFile());
    expect(() => knobCosts(reject, [linearShape('fc1', 64, 16)], 64, precisions('4,8'))).not.toThrow();
    expect(() => knobCosts(reject, [linearShape('fc1', 64, 16)], 64, precisions('4,16'))).toThrow(/--bits int16 asks for 16 bits/);
    expect(() => knobCosts(reject, [linearShape('fc1', 64, 16)], 64, precisions('4', true))).toThrow(/--weights-only \(activations at fp32\) asks for 32 bits/);
    expect(() => knobCosts(reject, LAYERS, 64, precisions('4'))).toThrow(/the layers the run keeps at full precision \(fc2; 32 bits\) asks for 32 bits/);
  });
});

type Row = Record<string, any>;

/** `bitcycle eval …` in this process. */
function runEval(args: string[]): Promise<CliResult> {
  return runMain(['eval', ...args]);
}

async function evalJson(args: string[]): Promise<Row[]> {
  const r = await runEval([...args, '--json']);
  if (r.status !== 0) throw new Error(`eval failed (${r.status}): ${r.stderr}`);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  const out = JSON.parse(r.stdout) as { rows: Row[] };
  return out.rows;
}

describe('bitcycle eval on a trained run', () => {
  let dir = '';
  let run: Row;

  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), 'bitcycle-eval-'));
    const r = await runMain(['train', '--out', out, '--name', 'tiny', '--model', 'mlp:hidden=16', '--dataset', 'digits', '--epochs', '1', '--schedule', 'cpt:3-8', '--json']);
    if (r.status !== 0) throw new Error(`train failed (${r.status}): ${r.stderr}`);
    dir = join(out, 'tiny');
    run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  }, 60_000);

  it('--bits 8 reproduces the run\'s own final test accuracy and loss exactly', async () => {
    expect(run.config.evalBits).toBe(8);
    const rows = await evalJson([dir, '--bits', '8']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ run: 'tiny', precision: 'int8', weights: 'int8', activations: 'int8', batchSize: 64, weightsOnly: false, profile: 'bit-fusion-45nm', relativeLatency: 1, relativeEnergy: 1 });
    expect(rows[0]!.testAccuracy).toBe(run.summary.testAccuracy);
    expect(rows[0]!.testLoss).toBe(run.summary.testLoss);
  });

  it('evaluates one checkpoint at every precision in the order given; fewer bits, lower accuracy and latency', async () => {
    const rows = await evalJson([dir, '--bits', '6,2,8,4', '--profile', 'loom-bit-serial', '--batch', '32']);
    expect(rows.map((r) => r.precision)).toEqual(['int6', 'int2', 'int8', 'int4']);
    const at = (p: string) => rows.find((r) => r.precision === p)!;
    expect(at('int8').testAccuracy).toBe(run.summary.testAccuracy);
    expect(at('int2').testAccuracy).toBeLessThan(at('int8').testAccuracy);
    expect(at('int8')).toMatchObject({ relativeLatency: 1, relativeTo: 'int8', profile: 'loom-bit-serial', batchSize: 32 });
    expect(at('int2').relativeLatency).toBeLessThan(at('int4').relativeLatency);
    // the costs are the pure rows of the run's layers (fc2 kept at full precision)
    expect(run.layers.map((l: Row) => l.fullPrecision === true)).toEqual([false, true]);
    const pure = knobCosts(profile('loom-bit-serial'), run.layers, 32, precisions('6,2,8,4'));
    expect(rows.map((r) => r.energyJ)).toEqual(pure.rows.map((r) => r.energyJ));
  });

  it('--weights-only evaluates and costs activations at fp32', async () => {
    const rows = await evalJson([dir, '--bits', '2,8', '--weights-only', '--profile', 'loom-bit-serial']);
    expect(rows.map((r) => [r.weights, r.activations, r.bitsActivations, r.weightsOnly])).toEqual([
      ['int2', 'fp32', 32, true],
      ['int8', 'fp32', 32, true],
    ]);
    const full = knobCosts(profile('loom-bit-serial'), run.layers, 64, precisions('2,8'));
    rows.forEach((r, i) => expect(r.latencyS).toBeGreaterThan(full.rows[i]!.latencyS));
    // full-precision activations lose less than 2-bit ones did (a sanity check, not a law)
    expect(rows[0]!.testAccuracy).toBeGreaterThan(0);
  });

  it('prints a table and a knob curve over the schedule range by default, on the run\'s own profile', async () => {
    const r = await runEval([dir]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^run tiny: mlp:hidden=16 on digits · cpt:3-8 · completed, checkpoint at step 22\/22\n/);
    expect(r.stdout).toContain('inference of one batch of 64 on bit-fusion-45nm: the forward GEMMs of 2 layers (fc2 kept at full precision: fp32)');
    const table = r.stdout.split('\n').filter((l) => /^[a-p] +int\d/.test(l));
    expect(table.map((l) => l.split(/\s+/)[1])).toEqual(['int3', 'int4', 'int5', 'int6', 'int7', 'int8']);
    expect(table[5]).toMatch(/1× +1×$/);
    expect(r.stdout).toContain('test accuracy vs latency of one batch:');
    expect(r.stdout).toMatch(/└─+\n/);
  });

  it('float formats evaluate through the same session', async (ctx) => {
    if (!existsSync(join(ROOT, 'src/quant/float-quant.ts'))) ctx.skip();
    const rows = await evalJson([dir, '--bits', '8,fp8-e4m3', '--profile', 'gpu-h100']);
    expect(rows.map((r) => r.precision)).toEqual(['int8', 'fp8-e4m3']);
    expect(rows[0]!.testAccuracy).toBe(run.summary.testAccuracy);
    expect(rows[1]!.testAccuracy).toBeGreaterThan(0.5);
    expect(rows[0]!.relativeLatency).toBe(1);
  });

  it('bad input: one line naming the option or file, exit code 2, nothing on stdout', async () => {
    const noProfile = mkdtempSync(join(tmpdir(), 'bitcycle-eval-none-'));
    cpSync(dir, join(noProfile, 'tiny'), { recursive: true });
    const json = JSON.parse(readFileSync(join(noProfile, 'tiny', 'run.json'), 'utf8'));
    delete json.profileCopy;
    writeFileSync(join(noProfile, 'tiny', 'run.json'), JSON.stringify({ ...json, config: { ...json.config, profile: 'none' }, cost: null }));
    const noCheckpoint = join(noProfile, 'no-checkpoint');
    cpSync(dir, noCheckpoint, { recursive: true });
    rmSync(join(noCheckpoint, 'checkpoint.safetensors'));
    for (const [args, pattern] of [
      [[dir, '--bits', '0,4'], /^bitcycle: --bits: 0 is not a bit-width in 1\.\.32; expected /],
      [[dir, '--bits', '4,4'], /^bitcycle: --bits: int4 is listed twice/],
      [[dir, '--bits', 'fp9'], /^bitcycle: --bits: "fp9" is neither a bit-width nor a number format; expected bit-widths 1\.\.32/],
      [[dir, '--bits', Array.from({ length: 17 }, (_, i) => i + 1).join(',')], /^bitcycle: --bits: 17 precisions, at most 16$/],
      [[dir, '--batch', '0'], /^bitcycle: --batch: expected an integer in 1\.\./],
      [[dir, '--profile', 'no-such-profile'], /^bitcycle: --profile: /],
      [[join(dir, 'missing')], /no such run directory/],
      [[join(noProfile, 'tiny')], /^bitcycle: --profile: run tiny was trained without a hardware profile/],
      [[noCheckpoint, '--bits', '4'], /checkpoint\.safetensors: checkpoint not found$/],
      [[dir, '--bits', '4', '--profile', rejectingProfileFile()], /^bitcycle: .*int8-reject\.json: \$\.compute\.aboveMax: .*the layers the run keeps at full precision \(fc2; 32 bits\) asks for 32 bits/],
    ] as const) {
      const r = await runEval([...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(pattern);
    }
  });
});
