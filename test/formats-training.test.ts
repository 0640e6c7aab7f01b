/**
 * Number formats in training (docs/number-formats.md): format schedules, HFP8 (e4m3 forward, e5m2
 * errors), loss scaling on a case built so that fp16 errors underflow, the dynamic scale's
 * back-off and growth, and exact resume of a run with a dynamic scale.
 */
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../src/engine/events.js';
import type { Trainer } from '../src/engine/trainer.js';
import { FP32, FP8_E4M3, formatName } from '../src/formats/number-format.js';
import { makeSchedule, scheduleWarning } from '../src/schedule/index.js';
import { errorSchedule, precisionPolicy } from '../src/schedule/precision.js';
import { digitsTrainer } from './helpers/trainer.js';
import { costByFormat } from '../src/analysis/tables.js';
import { sweepRunName } from '../src/sweep/spec.js';
import { checkRunName } from '../src/runs/store.js';
import { trainConfig, trainModesSpec } from '../src/cli/train-options.js';
import { initialCheckpoint } from '../src/artifacts/checkpoint.js';

async function train(t: Trainer, stopAfter?: number): Promise<{ steps: StepRecord[]; accuracy: number | null }> {
  const steps: StepRecord[] = [];
  const control = { stopRequested: false, paused: false };
  t.on((e) => {
    if (e.type !== 'steps') return;
    steps.push(...e.steps);
    if (stopAfter !== undefined && steps.length >= stopAfter) control.stopRequested = true;
  });
  await t.init();
  const result = await t.run(control);
  return { steps, accuracy: result.summary.testAccuracy };
}

const total = (steps: readonly StepRecord[], key: 'underflow' | 'overflow') => steps.reduce((a, s) => a + (s[key] ?? []).reduce((x, y) => x + y, 0), 0);

describe('format schedules', () => {
  it('a range of formats moves over the ladder; bits are the elements\' storage bits', () => {
    const s = makeSchedule('tri:fp8-e4m3..fp16:cycles=1');
    expect(s.name).toBe('tri:fp8-e4m3..fp16:cycles=1');
    expect(s.formats?.map(formatName)).toEqual(['fp8-e4m3', 'bf16', 'fp16']);
    const seq = Array.from({ length: 9 }, (_, t) => `${formatName(s.formatAt(t, 9))}/${s.bitsAt(t, 9)}`);
    // positions rint(1 + 2·level) of the triangle 0 → 1 → 0
    expect(seq).toEqual(['fp8-e4m3/8', 'fp8-e4m3/8', 'bf16/16', 'bf16/16', 'fp16/16', 'fp16/16', 'bf16/16', 'bf16/16', 'fp8-e4m3/8']);
    expect([s.bitsMin, s.bitsMax, formatName(s.top)]).toEqual([8, 16, 'fp16']);
    // lists keep their order (the first is the low level) and may mix integer grids and floats
    const mixed = makeSchedule('ramp:int4/fp8-e4m3/fp32');
    expect([0, 5, 9].map((t) => formatName(mixed.formatAt(t, 10)))).toEqual(['int4', 'fp8-e4m3', 'fp32']);
    expect(mixed.formatAt(9, 10)).toBe(FP32);
    expect(makeSchedule('static:e4m3').formatAt(0, 1)).toBe(FP8_E4M3);
  });

  it('bit-width schedules are the integer grids they always were, named intB', () => {
    const s = makeSchedule('cpt:3-8');
    expect(s.formats).toBeUndefined();
    expect(formatName(s.formatAt(0, 100))).toBe('int3');
    expect(formatName(makeSchedule('static:32').formatAt(0, 1))).toBe('fp32');
  });

  it('the default baseline is the top format held; a bare format is a static error schedule', () => {
    expect(precisionPolicy({ schedule: 'cpt:fp8-e4m3..fp16', gradBits: 'fp8-e5m2' }).baseline.name).toBe('static:fp16');
    expect(errorSchedule('fp8-e5m2').name).toBe('static:fp8-e5m2');
    expect(errorSchedule('8').name).toBe('static:8');
  });

  it.each([
    ['cpt:fp16..fp8-e4m3', /fp16 is above fp8-e4m3 on the ladder/],
    ['cpt:fp8-e4m3..mxfp4', /needs two formats of one ladder/],
    ['static:fp8-e4m3/fp16', /static takes one format/],
    ['cpt:fp9..fp16', /unknown number format "fp9"/],
    ['cpt:a..b..c', /expected A\.\.B/],
  ])('%s is refused: %s', (spec, message) => {
    expect(() => makeSchedule(spec)).toThrow(message);
  });

  it('a sweep names a run of a format range with a valid run name', () => {
    const flags = { model: 'mlp', dataset: 'digits', schedule: 'cpt:fp8-e4m3..fp16', gradBits: 'fp8-e5m2', epochs: '2', batchSize: '64', lr: '0.1', lrSchedule: 'constant', momentum: '0.9', weightDecay: '0', seed: '1', profile: 'none' };
    const name = sweepRunName(trainConfig(flags));
    expect(name).toMatch(/^mlphidden128-digits-cptfp8e4m3_fp16-gfp8e5m2-lrconstant-s1-[0-9a-f]{8}$/);
    expect(() => checkRunName(name)).not.toThrow();
  });

  it('a cyclic format schedule too short to reach its top says so', () => {
    expect(scheduleWarning(makeSchedule('cpt:fp8-e4m3..fp16'), 20)).toMatch(/32 cycles over 20 iterations/);
  });
});

describe('two precision modes (dual-precision training)', () => {
  it('alternate:A-B gives A and B on alternate steps; from=F holds B before F (the two-phase procedure)', () => {
    const bits = (spec: string, n: number) => Array.from({ length: n }, (_, t) => makeSchedule(spec).bitsAt(t, n));
    expect(bits('alternate:4-8', 6)).toEqual([4, 8, 4, 8, 4, 8]);
    expect(bits('alt:4-8:from=0.5', 10)).toEqual([8, 8, 8, 8, 8, 4, 8, 4, 8, 4]);
    expect(makeSchedule('alternate:4-8:from=0').name).toBe('alternate:4-8');
    expect(bits('alternate:fp8-e4m3/fp16', 4)).toEqual([8, 16, 8, 16]);
    expect(trainModesSpec('4,8')).toBe('alternate:4-8');
    expect(trainModesSpec(' 2, 6 :two-phase')).toBe('alternate:2-6:from=0.5');
    expect(() => trainModesSpec('8,4')).toThrow(/--train-modes: expected bit-widths 1 ≤ A < B ≤ 32, got 8,4/);
    expect(() => trainModesSpec('4,6,8')).toThrow(/--train-modes: expected two bit-widths/);
  });

  it('one checkpoint trained on alternating 4- and 8-bit steps serves both modes', async () => {
    const t = digitsTrainer({ schedule: 'alternate:4-8', epochs: 3 });
    const { steps } = await train(t);
    expect(steps.slice(0, 4).map((s) => s.bitsWeights)).toEqual([4, 8, 4, 8]);
    const [at4, at8, at2] = [await t.evaluate(4), await t.evaluate(8), await t.evaluate(2)];
    await t.release();
    expect(at4.accuracy).toBeGreaterThan(0.88);
    expect(at8.accuracy).toBeGreaterThan(0.88);
    expect(at2.accuracy).toBeLessThan(Math.min(at4.accuracy, at8.accuracy)); // a mode it was not trained for
  });
});

describe('training in number formats', () => {
  it('HFP8 (e4m3 weights and activations, e5m2 errors) trains the digits MLP; every step records its formats', async () => {
    const t = digitsTrainer({ schedule: 'static:fp8-e4m3', gradSchedule: makeSchedule('static:fp8-e5m2'), evalFormat: 'fp8-e4m3', epochs: 3 });
    const { steps, accuracy } = await train(t);
    await t.release();
    expect(steps.every((s) => s.formatWeights === 'fp8-e4m3' && s.formatActivations === 'fp8-e4m3' && s.formatGrad === 'fp8-e5m2' && s.bitsWeights === 8)).toBe(true);
    expect(accuracy!).toBeGreaterThan(0.88);
    // e5m2's smallest subnormal is 2^-16: some errors of the batch-mean loss fall below it
    expect(total(steps, 'underflow')).toBeGreaterThan(0);
    // the fp32 run differs from the first step on: the quantizers are live
    const f = digitsTrainer({ schedule: 'static:32', gradSchedule: makeSchedule('static:32'), epochs: 1, evalBits: 32 });
    const fp32 = await train(f);
    await f.release();
    expect(fp32.steps[1]!.loss).not.toBe(steps[1]!.loss);
    expect(total(fp32.steps, 'underflow')).toBe(0);
  });

  // The built case: the loss weighted by 2^-24 and the rate by 2^24 is the same SGD in exact
  // arithmetic (no weight decay), so fp32 trains exactly as at weight 1, while fp16 errors
  // (smallest subnormal 2^-24) underflow unless a loss scale lifts them.
  const weighted = (lossScale: string | undefined, errors: string, epochs = 4) =>
    digitsTrainer({
      schedule: errors === 'static:32' ? 'static:32' : 'static:fp16',
      gradSchedule: makeSchedule(errors),
      evalBits: errors === 'static:32' ? 32 : 16,
      evalFormat: errors === 'static:32' ? undefined : 'fp16',
      lossWeight: 2 ** -24,
      lr: 0.1 * 2 ** 24,
      weightDecay: 0,
      lossScale,
      epochs,
    });

  it('fp16 errors of a loss weighted by 2^-24 underflow; dynamic and layer-wise loss scaling remove the underflow and the accuracy loss', async () => {
    const results: Record<string, { steps: StepRecord[]; accuracy: number | null }> = {};
    for (const [name, t] of [
      ['fp32', weighted(undefined, 'static:32')],
      ['none', weighted(undefined, 'static:fp16')],
      ['dynamic', weighted('dynamic:interval=20', 'static:fp16')],
      ['layer', weighted('layer', 'static:fp16')],
    ] as const) {
      results[name] = await train(t);
      await t.release();
    }
    const r = results as Record<'fp32' | 'none' | 'dynamic' | 'layer', { steps: StepRecord[]; accuracy: number }>;
    // underflow: most errors of the first step without scaling; none layer-wise
    const first = (name: 'none' | 'dynamic' | 'layer') => r[name].steps[0]!.underflow!.reduce((a, b) => a + b, 0);
    expect(first('none')).toBeGreaterThan(2000); // of 64 × 128 errors
    expect(first('dynamic')).toBeLessThan(first('none') / 20);
    expect(total(r.layer.steps, 'underflow')).toBeLessThanOrEqual(2);
    // the dynamic scale grows every 20 good steps: 2^16 → 2^(16 + ⌊88/20⌋)
    expect(r.dynamic.steps.at(-1)!.lossScale).toBe(2 ** 20);
    expect(r.none.steps.every((s) => s.lossScale === 1)).toBe(true);
    // accuracy: unscaled fp16 errors lose points; both scalings recover the fp32 run's
    expect(r.none.accuracy).toBeLessThan(r.fp32.accuracy - 0.05);
    expect(r.dynamic.accuracy).toBeGreaterThan(r.fp32.accuracy - 0.01);
    expect(r.layer.accuracy).toBeGreaterThan(r.fp32.accuracy - 0.01);
  });

  it('a dynamic scale that overflows skips the update, halves and keeps the weights; a run resumed from a mid-run checkpoint repeats every step', async () => {
    const make = () => digitsTrainer({ schedule: 'static:fp16', gradSchedule: makeSchedule('static:fp16'), evalFormat: 'fp16', lossScale: `dynamic:init=${2 ** 60}:interval=8`, epochs: 3, chunkSteps: 5 });
    const whole = make();
    const all = await train(whole);
    await whole.release();
    // 2^60 overflows fp16 errors (max 65504): halved until the step's gradients are finite
    const backoff = all.steps.findIndex((s) => !s.skipped); // the steps skipped from the start
    expect(backoff).toBeGreaterThan(20);
    all.steps.slice(1, backoff + 1).forEach((s, i) => expect(s.lossScale).toBe(2 ** (59 - i)));
    expect(total(all.steps.slice(0, backoff), 'overflow')).toBeGreaterThan(0);
    // every step follows the rule: halve after a skipped step, double after 8 good steps in a row
    expect(all.steps[0]!.lossScale).toBe(2 ** 60);
    let good = 0;
    for (let t = 1; t < all.steps.length; t++) {
      const prev = all.steps[t - 1]!;
      const grow = !prev.skipped && good + 1 >= 8;
      expect(all.steps[t]!.lossScale, `step ${t}`).toBe(prev.skipped ? prev.lossScale! / 2 : grow ? prev.lossScale! * 2 : prev.lossScale);
      good = prev.skipped || grow ? 0 : good + 1;
    }
    expect(all.steps.some((s, t) => t > 0 && s.lossScale! > all.steps[t - 1]!.lossScale!)).toBe(true);

    const first = make();
    const part = await train(first, 30);
    const checkpoint = first.checkpoint();
    await first.release();
    expect(part.steps.length).toBeLessThan(backoff); // the first chunk end after 30 steps
    // skipped updates left the weights and velocities where they started (the forward passes still
    // moved the running activation ranges, as batch-norm statistics move under PyTorch's GradScaler)
    const start = initialCheckpoint(first.options.model, 1);
    const buffers = new Set(first.options.model.buffers().map((b) => b.name));
    for (const [name, t] of start.tensors) if (!buffers.has(name)) expect(checkpoint.tensors.get(name)!.data, name).toEqual(t.data);
    const rest = digitsTrainer({ schedule: 'static:fp16', gradSchedule: makeSchedule('static:fp16'), evalFormat: 'fp16', lossScale: `dynamic:init=${2 ** 60}:interval=8`, epochs: 3, chunkSteps: 5, resumeFrom: checkpoint });
    const second = await train(rest);
    await rest.release();
    expect([...part.steps, ...second.steps].map(({ wallMs: _, ...s }) => s)).toEqual(all.steps.map(({ wallMs: _, ...s }) => s));
    expect(second.accuracy).toBe(all.accuracy);
  });
});

describe('cost by format (review)', () => {
  it('groups steps by their formats in order of appearance and sums their energy and baseline', () => {
    const step = (w: string, g: string, e: number | null) => ({ formatWeights: w, formatActivations: w, formatGrad: g, energyJ: e, baselineEnergyJ: e === null ? null : 2 * e });
    expect(costByFormat([step('fp8-e4m3', 'fp8-e5m2', 1), step('fp16', 'fp8-e5m2', 3), step('fp8-e4m3', 'fp8-e5m2', 2), step('int4', 'int8', null)])).toEqual([
      { label: 'fp8-e4m3 · fp8-e5m2', steps: 2, energyJ: 3, baselineEnergyJ: 6 },
      { label: 'fp16 · fp8-e5m2', steps: 1, energyJ: 3, baselineEnergyJ: 6 },
      { label: 'int4 · int8', steps: 1, energyJ: 0, baselineEnergyJ: 0 },
    ]);
  });
});
