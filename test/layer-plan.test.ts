/**
 * Per-layer precision plans (docs/number-formats.md § Per-layer precision): the rule grammar and
 * JSON files, resolution against a model's layers, training with each layer at its own precision
 * (the graph's per-layer inputs), the per-layer cost, steps.csv's `layers` cells and exact resume.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageMessage } from './helpers/errors.js';
import { layerPlanFromJson, layerPlanText, parseLayerPlan, resolveLayerPlan } from '../src/formats/layer-plan.js';
import { type TrainFlags, trainConfig } from '../src/cli/train-options.js';
import { convShape, linearShape } from '../src/models/shapes.js';
import { resolveRun } from '../src/runs/resolve.js';
import { readSteps } from '../src/runs/read.js';
import { STEPS_HEADER, STEPS_HEADER_V1, STEPS_HEADER_V2 } from '../src/runs/run-format.js';
import { runSession, type SessionResult } from '../src/runs/session.js';
import { makeSchedule } from '../src/schedule/index.js';

const base = { schedule: makeSchedule('cpt:3-8'), errors: makeSchedule('static:8') };
// a small CNN's GEMM layers: conv1, conv2, fc1, fc2 (the classifier kept at full precision)
const conv = (name: string) => convShape({ name, inChannels: 1, outChannels: 2, kernel: 3, inHeight: 4, inWidth: 4 });
const layers = [conv('conv1'), conv('conv2'), linearShape('fc1', 8, 4), { ...linearShape('fc2', 4, 2), fullPrecision: true }];

function flags(over: Partial<TrainFlags> = {}): TrainFlags {
  return { model: 'mlp:hidden=32,16', dataset: 'digits', schedule: 'cpt:3-8', gradBits: '8', epochs: '1', batchSize: '64', lr: '0.1', lrSchedule: 'constant', momentum: '0.9', weightDecay: '0.0005', seed: '1', profile: 'bit-fusion-45nm', ...over };
}

const usage = usageMessage;

describe('layer plans: rules and resolution', () => {
  it('inline rules parse to canonical schedules and print back to the same rules', () => {
    const rules = parseLayerPlan(' first = 8 ; conv,fc1=cpt:4-8:cycles=2; fc*:grad=fp8-e5m2 ');
    expect(rules).toEqual([
      { match: ['first'], schedule: 'static:8' },
      { match: ['conv', 'fc1'], schedule: 'cpt:4-8:cycles=2' },
      { match: ['fc*'], grad: 'static:fp8-e5m2' },
    ]);
    const text = layerPlanText(rules);
    expect(text).toBe('first=static:8;conv,fc1=cpt:4-8:cycles=2;fc*:grad=static:fp8-e5m2');
    expect(parseLayerPlan(text)).toEqual(rules);
  });

  it('later rules win; selectors pick by position, kind and name; full-precision layers stay out', () => {
    const plan = resolveLayerPlan(parseLayerPlan('all=static:6;conv=cpt:3-8;first=static:8;fc?:grad=static:fp8-e5m2'), layers, base);
    expect(plan.map((l) => [l.name, l.schedule.name, l.errors.name])).toEqual([
      ['conv1', 'static:8', 'static:8'],
      ['conv2', 'cpt:3-8', 'static:8'],
      ['fc1', 'static:6', 'static:fp8-e5m2'],
    ]);
    // no rule: every quantized layer has the run's schedules
    expect(resolveLayerPlan([], layers, base).map((l) => l.schedule.name)).toEqual(['cpt:3-8', 'cpt:3-8', 'cpt:3-8']);
  });

  it('a rule that selects nothing, or only full-precision layers, or has a bad schedule, is one line naming it', () => {
    expect(usage(() => resolveLayerPlan(parseLayerPlan('fc9=4'), layers, base))).toBe('--layer-precision: rule "fc9=static:4" selects no layer (the model\'s GEMM layers: conv1, conv2, fc1, fc2)');
    expect(usage(() => resolveLayerPlan(parseLayerPlan('last=4'), layers, base))).toMatch(/^--layer-precision: rule "last=static:4" selects only layers kept at full precision by --fp-layers \(fc2\); give --fp-layers none/);
    expect(usage(() => parseLayerPlan('conv=cpt:9-3'))).toMatch(/^--layer-precision: rule "conv=cpt:9-3": schedule "cpt:9-3"/);
    expect(usage(() => parseLayerPlan('conv'))).toBe('--layer-precision: rule "conv": expected SELECTORS=SPEC or SELECTORS:grad=SPEC');
    expect(usage(() => parseLayerPlan('co nv=8'))).toMatch(/"co nv" is not a selector/);
    expect(usage(() => parseLayerPlan(' ; '))).toMatch(/^--layer-precision: expected rules/);
  });

  it('a JSON plan file gives the same rules; its errors name the file and the JSON path', () => {
    const rules = layerPlanFromJson({ rules: [{ match: 'first,last', schedule: 8 }, { match: ['conv'], schedule: 'cpt:3-8', grad: 'fp8-e5m2' }] }, 'plan.json');
    expect(layerPlanText(rules)).toBe('first,last=static:8;conv=cpt:3-8;conv:grad=static:fp8-e5m2');
    expect(usage(() => layerPlanFromJson({ rules: [{ match: 'conv' }] }, 'plan.json'))).toBe('--layer-precision: plan.json: $.rules[0]: give "schedule" (weights and activations), "grad" (errors) or both');
    expect(usage(() => layerPlanFromJson({ rules: [{ match: 'conv', schedule: 'x:1' }] }, 'plan.json'))).toMatch(/^--layer-precision: plan.json: \$.rules\[0\].schedule: schedule "x:1"/);
    expect(usage(() => layerPlanFromJson({ rules: [{ match: 'conv', bits: 4 }] }, 'plan.json'))).toMatch(/^--layer-precision: plan.json: \$.rules\[0\]: /);
    expect(usage(() => layerPlanFromJson({ layers: [] }, 'plan.json'))).toMatch(/^--layer-precision: plan.json: \$/);
  });

  it('the CLI reads inline rules or a file, stores the canonical text, refuses --eval-bits with a plan, and resolves against the model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-plan-'));
    const file = join(dir, 'plan.json');
    writeFileSync(file, JSON.stringify({ rules: [{ match: 'fc1', schedule: 'static:4' }] }));
    expect(trainConfig(flags({ layerPrecision: file })).layerPrecision).toBe('fc1=static:4');
    expect(trainConfig(flags({ layerPrecision: 'fc2 = 6' })).layerPrecision).toBe('fc2=static:6');
    // the default baseline: the widest top of the plan's schedules and the default one
    expect(trainConfig(flags({ schedule: 'static:4', layerPrecision: 'first=8' })).baseline).toBe('static:8');
    expect(trainConfig(flags({ schedule: 'static:4', layerPrecision: 'first=2;first:grad=16' })).baseline).toBe('static:4');
    expect(trainConfig(flags({ schedule: 'static:4', layerPrecision: 'first=8', baseline: 'static:6' })).baseline).toBe('static:6');
    expect(usage(() => trainConfig(flags({ layerPrecision: join(dir, 'missing.json') })))).toMatch(/^--layer-precision: cannot read plan file ".*missing\.json" \(ENOENT\)/);
    expect(usage(() => trainConfig(flags({ layerPrecision: 'fc1=4', evalBits: '8' })))).toMatch(/^--eval-bits: with --layer-precision each layer is evaluated/);
    expect(usage(() => resolveRun(trainConfig(flags({ layerPrecision: 'conv=4' }))))).toMatch(/^--layer-precision: rule "conv=static:4" selects no layer \(the model's GEMM layers: fc1, fc2, fc3\)/);
    const run = resolveRun(trainConfig(flags({ layerPrecision: 'fc2=4' })));
    expect(run.layerPlan?.map((l) => `${l.name} ${l.schedule.name}`)).toEqual(['fc1 cpt:3-8', 'fc2 static:4']);
  });
});

/** steps.csv without its wall-clock column, and the named column's cells. */
function stepsCsv(dir: string): { rows: string[]; column: (name: string) => string[] } {
  const [header, ...rows] = readFileSync(join(dir, 'steps.csv'), 'utf8').trim().split('\n');
  const names = header!.split(',');
  const wall = names.indexOf('wall_ms');
  return {
    rows: rows.map((r) => r.split(',').filter((_, i) => i !== wall).join(',')),
    column: (name) => rows.map((r) => r.split(',')[names.indexOf(name)]!),
  };
}

describe('layer plans: training, cost and resume (digits MLP 64-32-16-10, fc3 at full precision)', () => {
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-plan-runs-'));
  const session = (name: string, over: Partial<TrainFlags>, stopAt?: number): Promise<SessionResult> => {
    const control = { stopRequested: false, paused: false };
    return runSession(trainConfig(flags(over)), {
      outDir: out,
      name,
      control,
      onEvent: (e) => {
        if (stopAt !== undefined && e.type === 'steps' && e.steps.at(-1)!.step + 1 >= stopAt) control.stopRequested = true;
      },
    });
  };

  it('each layer trains and is costed at its own precision; a plan giving every layer the same schedule changes nothing', async () => {
    const mixed = await session('mixed', { layerPrecision: 'fc1=static:4;fc2=static:8' });
    const four = await session('four', { schedule: 'static:4' });
    const eight = await session('eight', { schedule: 'static:8' });
    const allFour = await session('all-four', { schedule: 'static:8', layerPrecision: 'all=static:4' });
    const m = stepsCsv(mixed.runDir);
    expect(new Set(m.column('layers'))).toEqual(new Set(['int4/int8 int8/int8']));
    expect(new Set(stepsCsv(four.runDir).column('layers'))).toEqual(new Set(['']));
    // the losses of the mixed plan are neither the 4-bit run's nor the 8-bit run's
    expect(m.column('loss')).not.toEqual(stepsCsv(four.runDir).column('loss'));
    expect(m.column('loss')).not.toEqual(stepsCsv(eight.runDir).column('loss'));
    // every layer at static:4 through a plan trains exactly as --schedule static:4
    expect(stepsCsv(allFour.runDir).column('loss')).toEqual(stepsCsv(four.runDir).column('loss'));
    expect(allFour.summary.testAccuracy).toBe(four.summary.testAccuracy);
    // a layer's cost depends on its own precision only: fc1 as in the 4-bit run, fc2 as in the 8-bit run
    const energy = (r: SessionResult, layer: string) => r.costByLayer!.find((l) => l.layer === layer)!.energyJ;
    expect(energy(mixed, 'fc1')).toBeCloseTo(energy(four, 'fc1'), 15);
    expect(energy(mixed, 'fc2')).toBeCloseTo(energy(eight, 'fc2'), 15);
    expect(energy(mixed, 'fc3')).toBeCloseTo(energy(eight, 'fc3'), 15);
    expect(energy(mixed, 'fc1')).toBeLessThan(energy(eight, 'fc1'));
    // the total is the layers' sum; the baseline (static:8 everywhere) is the 8-bit run's
    expect(mixed.cost!.energyJ).toBeCloseTo(mixed.costByLayer!.reduce((a, l) => a + l.energyJ, 0), 15);
    expect(mixed.cost!.baseline.energyJ).toBeCloseTo(eight.cost!.energyJ, 15);
    expect(mixed.cost!.savings.energyPct).toBeGreaterThan(0);
    // steps.csv's cost cells sum to run.json's total
    expect(m.column('energy_j').reduce((a, v) => a + Number(v), 0)).toBeCloseTo(mixed.cost!.energyJ, 15);
    expect(mixed.layerPrecision).toBe('fc1=static:4;fc2=static:8');
  });

  it('a plan run stopped mid-epoch resumes to the uninterrupted run\'s steps.csv and cost', async () => {
    const plan = { layerPrecision: 'fc1=cpt:3-8:cycles=2;fc2:grad=6', epochs: '2' };
    const whole = await session('whole', plan);
    const stopped = await session('stopped', { ...plan, chunkSteps: '5' }, 10);
    expect(stopped.status).toBe('stopped');
    expect(stopped.summary.steps).toBe(10);
    const resumed = await runSession(null, { resumeDir: stopped.runDir });
    expect(resumed.status).toBe('completed');
    expect(stepsCsv(resumed.runDir).rows).toEqual(stepsCsv(whole.runDir).rows);
    expect(resumed.cost!.energyJ).toBeCloseTo(whole.cost!.energyJ, 15);
    expect(resumed.summary.testAccuracy).toBe(whole.summary.testAccuracy);
    expect(new Set(stepsCsv(whole.runDir).column('layers')).size).toBeGreaterThan(1);
  });

  it('steps.csv files of older headers (before layer plans, before formats) are upgraded on resume', async () => {
    const whole = await session('plain-whole', {});
    for (const [name, keep] of [['v2', STEPS_HEADER_V2.length], ['v1', STEPS_HEADER_V1.length]] as const) {
      const stopped = await session(`plain-${name}`, { chunkSteps: '5' }, 10);
      const file = join(stopped.runDir, 'steps.csv');
      writeFileSync(file, readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(',').slice(0, keep).join(',')).join('\n') + '\n');
      const resumed = await runSession(null, { resumeDir: stopped.runDir });
      expect(resumed.status).toBe('completed');
      const rows = stepsCsv(resumed.runDir).rows;
      expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(STEPS_HEADER.join(','));
      expect(rows.every((r) => r.split(',').length === STEPS_HEADER.length - 1)).toBe(true);
      // the resumed steps are the uninterrupted run's; the upgraded ones lack only cells their header had not
      const at = stopped.summary.steps;
      expect(at).toBeGreaterThan(0);
      expect(rows.slice(at)).toEqual(stepsCsv(whole.runDir).rows.slice(at));
      if (name === 'v2') expect(rows).toEqual(stepsCsv(whole.runDir).rows);
      else expect(stepsCsv(resumed.runDir).column('format_w').slice(0, at)).toEqual(stepsCsv(whole.runDir).column('format_w').slice(0, at));
      expect((await readSteps(resumed.runDir)).length).toBe(22);
    }
  });
});
