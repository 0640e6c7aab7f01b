/** The specs parsed in one place: model specs, precision policies, run.json (format 1 upgrade), and the shared cost comparisons. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { createCostModel } from '../src/hw/cost.js';
import { loadProfile } from '../src/hw/load.js';
import { baselineBits, savingPct, savingsPct } from '../src/hw/savings.js';
import { CostTally } from '../src/hw/tally.js';
import { modelLayers } from '../src/models/layers.js';
import { createModel } from '../src/models/registry.js';
import { formatModelSpec, parseModelSpec } from '../src/models/spec.js';
import { parseRunJson } from '../src/runs/run-format.js';
import { errorSchedule, precisionPolicy } from '../src/schedule/precision.js';
import { makeSchedule } from '../src/schedule/schedule.js';
import { makeSyntheticRun } from './fixtures/synthetic.js';

describe('model specs', () => {
  it('parse, defaults and canonical text round-trip', () => {
    expect(parseModelSpec('mlp')).toEqual({ name: 'mlp', hidden: [128] });
    expect(parseModelSpec('mlp:hidden=256,128')).toEqual({ name: 'mlp', hidden: [256, 128] });
    for (const text of ['mlp', 'mlp:hidden=7', 'mlp:hidden=256,128,64']) {
      const spec = parseModelSpec(text);
      expect(parseModelSpec(formatModelSpec(spec))).toEqual(spec);
      expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    }
    expect(formatModelSpec(parseModelSpec('mlp'))).toBe('mlp:hidden=128');
  });

  it.each([
    ['vgg', /--model: unknown model "vgg" \(allowed: mlp, cnn, resnet, logreg\)/],
    ['cnn:width=3', /--model: cnn: unknown option "width=3" \(allowed: none\)/],
    ['resnet:depth=21', /depth must be 6n\+2 in 8\.\.1202 .*got "21"/],
    ['resnet:depth=2', /depth must be 6n\+2/],
    ['hasOwnProperty', /unknown model "hasOwnProperty"/],
    ['constructor', /unknown model "constructor"/],
    ['mlp:depth=3', /--model: mlp: unknown option "depth=3" \(allowed: hidden=…\)/],
    ['mlp:hidden=0', /hidden must be comma-separated integers in 1\.\.65536, got "0"/],
    ['mlp:hidden=12,x', /hidden must be comma-separated integers/],
    ['mlp:hidden=8:hidden=9', /option hidden given twice/],
  ])('%s is a UsageError naming --model', (text, message) => {
    expect(() => parseModelSpec(text)).toThrow(UsageError);
    expect(() => parseModelSpec(text)).toThrow(message);
  });

  it('builds the model the spec names, and its layer shapes come from the graph', () => {
    const model = createModel(parseModelSpec('mlp:hidden=32,16'), [64], 10);
    expect(model.id).toBe('mlp-64-32-16-10');
    expect(modelLayers(model).map((l) => [l.name, l.inFeatures, l.outFeatures])).toEqual([
      ['fc1', 64, 32],
      ['fc2', 32, 16],
      ['fc3', 16, 10],
    ]);
  });
});

describe('precision policy', () => {
  it('a bare number of error bits is a static schedule; a spec is a schedule', () => {
    expect(errorSchedule('8').name).toBe('static:8');
    expect(errorSchedule(' 6 ').name).toBe('static:6');
    expect(errorSchedule('cpt:6-8').name).toBe('cpt:6-8');
    expect(() => errorSchedule('0')).toThrow(/--grad-bits: expected an integer in 1\.\.32 or a schedule spec, got 0/);
    expect(() => errorSchedule('33', '--x')).toThrow(/^--x: /);
  });

  it('the baseline defaults to static at the schedule maximum', () => {
    const p = precisionPolicy({ schedule: 'cpt:3-6', gradBits: '8' });
    expect([p.weightsActivations.name, p.errors.name, p.baseline.name]).toEqual(['cpt:3-6', 'static:8', 'static:6']);
    expect(precisionPolicy({ schedule: 'cpt:3-6', gradBits: 'ramp:4-8', baseline: 'static:8' }).baseline.name).toBe('static:8');
  });
});

describe('baseline and savings (one definition each)', () => {
  it('the baseline keeps the step error bits and takes the baseline schedule W/A bits', () => {
    expect(baselineBits(makeSchedule('static:8'), 5, 100, 6)).toEqual({ bitsWeights: 8, bitsActivations: 8, bitsGrad: 6 });
    expect(baselineBits(makeSchedule('ramp:2-8'), 99, 100, 8).bitsWeights).toBe(8);
  });

  it('savings are positive when cheaper, null/0 without a baseline, 0 for equal costs', () => {
    expect(savingPct(75, 100)).toBe(25);
    expect(savingPct(125, 100)).toBe(-25);
    expect(savingPct(1, 0)).toBeNull();
    expect(savingPct(1, Number.NaN)).toBeNull();
    expect(savingPct(0.1 + 0.2, 0.3)).toBe(0);
    expect(savingsPct({ energyJ: 1, latencyS: 2, bitops: 3 }, { energyJ: 2, latencyS: 0, bitops: 3 })).toEqual({ energyPct: 50, latencyPct: 0, bitopsPct: 0 });
  });
});

describe('CostTally', () => {
  const run = makeSyntheticRun({ id: 'x', schedule: 'cpt:3-8', epochs: 4 });
  const model = createCostModel(loadProfile('bit-fusion-45nm'), run.run.layers, 64);
  const fresh = () => new CostTally(model, makeSchedule('static:8'), run.run.progress.totalSteps);

  it('restoring from stored steps, then adding the rest, equals tallying in one go (bit for bit)', () => {
    const whole = fresh();
    whole.add(run.steps);
    const resumed = fresh();
    resumed.add(run.steps.slice(0, 37));
    resumed.add(run.steps.slice(37));
    expect(resumed.totals()).toEqual(whole.totals());
    expect(resumed.breakdown()).toEqual(whole.breakdown());
    expect(whole.totals().steps).toBe(run.steps.length);
  });

  it('per-step costs sum to the totals; a static run at the baseline saves nothing', () => {
    const t = fresh();
    const costs = t.add(run.steps);
    expect(costs.reduce((a, c) => a + c.energyJ, 0)).toBe(t.totals().energyJ);
    expect(t.totals().savings.energyPct).toBeGreaterThan(0);
    const s = fresh();
    s.add(run.steps.map((x) => ({ ...x, bitsWeights: 8, bitsActivations: 8 })));
    expect(s.totals().savings).toEqual({ energyPct: 0, latencyPct: 0, bitopsPct: 0 });
  });
});

describe('run.json format', () => {
  const v2 = makeSyntheticRun({ id: 'r', schedule: 'cpt:3-8', epochs: 2 }).run;

  it('format 2 round-trips', () => {
    const parsed = parseRunJson(JSON.stringify(v2));
    expect(parsed.ok && parsed.run).toEqual(v2);
  });

  it('format 1 (model name + hidden, cost without steps) is upgraded on read', () => {
    const { model: _m, ...config } = v2.config;
    const { steps: _s, ...cost } = v2.cost!;
    const v1 = { ...v2, formatVersion: 1, config: { ...config, model: 'mlp', hidden: [64] }, cost };
    const parsed = parseRunJson(JSON.stringify(v1));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.run.formatVersion).toBe(2);
    expect(parsed.run.config.model).toEqual({ name: 'mlp', hidden: [64] });
    expect(parsed.run.cost!.steps).toBe(v2.progress.step);
  });

  it('an unknown model or format is a reason, not an exception', () => {
    const bad = parseRunJson(JSON.stringify({ ...v2, config: { ...v2.config, model: { name: 'vgg' } } }));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^run\.json: \$\.config\.model/);
    const future = parseRunJson(JSON.stringify({ ...v2, formatVersion: 9 }));
    expect(!future.ok && future.reason).toMatch(/unsupported formatVersion 9/);
    expect(parseRunJson('[]').ok).toBe(false);
  });
});
