/**
 * Optimizers (src/optim/optimizer.ts, docs/optimizers.md): the spec grammar, K generated steps of
 * SGD with Nesterov momentum, Adam and AdamW against the same steps computed by hand in float64,
 * and runs with each optimizer: state in checkpoints, exact resume, a skipped step that leaves
 * Adam's step count alone.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildTrainingModel } from '../src/artifacts/build.js';
import { readCheckpoint } from '../src/artifacts/checkpoint.js';
import { type TrainFlags, optimizerConfig, trainConfig } from '../src/cli/train-options.js';
import { usageMessage } from './helpers/errors.js';
import { mlp } from '../src/models/mlp.js';
import { type OptimizerSpec, optimizerName, parseOptimizerSpec } from '../src/optim/optimizer.js';
import { optimizerPrecisionName, parseOptimizerPrecision } from '../src/optim/precision.js';
import { quantize } from '../src/formats/reference.js';
import { BF16, FP8_E4M3 } from '../src/formats/number-format.js';
import { runSession } from '../src/runs/session.js';
import { loadDataset } from '../src/data/index.js';
import type { NodeData } from '../src/graph/proto.js';
import { resolveRun } from '../src/runs/resolve.js';
import { linearShape } from '../src/models/shapes.js';
import { loadProfile } from '../src/hw/load.js';
import { optimizerCost } from '../src/hw/optimizer-cost.js';
import { optimizerSetup } from '../src/optim/optimizer.js';
import { CONVERGENCE_RUNS, objectiveCurve } from '../bench/convergence.js';
import { buildArtifacts } from '../src/artifacts/build.js';
import { createModel } from '../src/models/registry.js';
import { modelLayers } from '../src/models/layers.js';
import { formatModelSpec, parseModelSpec } from '../src/models/spec.js';
import { errorSchedule } from '../src/schedule/precision.js';
import { HAND_MLP, type Mat, type Params, forEachElement, fp32StepFeeds, handGradients, mat, zeros } from './helpers/hand-mlp.js';
import { f32, randomValues } from './helpers/onnx.js';
import { digitsTrainer } from './helpers/trainer.js';
import type { AnchorRecord } from '../src/engine/events.js';

// the hand-checked MLP 5-7-3: batch 4, 3 steps, their rates, momentum and weight decay
const { IN, HID, OUT, B, K, LR, MOM, WD } = HAND_MLP;

describe('optimizer specs', () => {
  it('parse to canonical names that read back the same; defaults are left out', () => {
    const cases: [string, string][] = [
      ['sgd', 'sgd'],
      ['SGD:nesterov', 'sgd:nesterov'],
      ['sgd:momentum=0.5,nesterov', 'sgd:momentum=0.5:nesterov'],
      ['adam', 'adam'],
      ['adam:beta1=0.9:beta2=0.99', 'adam:beta2=0.99'],
      ['adamw,eps=1e-6', 'adamw:eps=0.000001'],
      ['svrg:every=1', 'svrg'],
      ['halp', 'halp'],
      ['halp:bits=4:every=2:mu=0.5', 'halp:bits=4:every=2:mu=0.5'],
    ];
    for (const [text, name] of cases) {
      expect(optimizerName(parseOptimizerSpec(text))).toBe(name);
      expect(optimizerName(parseOptimizerSpec(name))).toBe(name);
    }
    expect(parseOptimizerSpec('adamw')).toEqual({ kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  });

  it('a bad spec is one line naming --optimizer and what is allowed', () => {
    const message = (text: string) => usageMessage(() => parseOptimizerSpec(text));
    expect(message('rmsprop')).toMatch(/^--optimizer: unknown optimizer "rmsprop" \(expected sgd\[:momentum=M\]\[:nesterov\] \| adam/);
    expect(message('adam:beta1=1')).toMatch(/beta1 and beta2 must be below 1/);
    expect(message('adam:beta2=x')).toMatch(/beta2 must be a number in \[0, 1\], got "x"/);
    expect(message('sgd:beta1=0.9')).toMatch(/unknown key "beta1" for sgd/);
    expect(message('sgd:nesterov=1')).toMatch(/nesterov takes no value/);
    expect(message('adam:eps=1e-8:eps=1e-6')).toMatch(/"eps" given twice/);
  });

  it('run.json keeps SGD\'s momentum in momentum and leaves plain SGD out', () => {
    expect(optimizerConfig({ optimizer: 'sgd', momentum: '0.9' })).toEqual({ momentum: 0.9 });
    expect(optimizerConfig({ optimizer: 'sgd:momentum=0.5:nesterov', momentum: '0.9' })).toEqual({ momentum: 0.5, optimizer: 'sgd:nesterov' });
    expect(optimizerConfig({ optimizer: 'adam', momentum: '0.9' })).toEqual({ momentum: 0.9, optimizer: 'adam' });
  });
});

/** One step of `spec` by hand (PyTorch's update rules) on the float64 state `s`; t is the step count after it. */
function handUpdate(spec: OptimizerSpec, p: Params, s: { m: Params; v: Params }, grads: Params, lr: number, t: number): void {
  const m = new Map<string, number>();
  const v = new Map<string, number>();
  forEachElement(s.m, grads, (old, _g, key) => (m.set(key, old), old));
  forEachElement(s.v, grads, (old, _g, key) => (v.set(key, old), old));
  if (spec.kind === 'svrg' || spec.kind === 'halp') throw new Error('handUpdate: svrg and halp are checked on their own');
  forEachElement(p, grads, (w, g, key, decay) => {
    if (spec.kind === 'sgd') {
      const gd = g + (decay ? WD * w : 0);
      const vel = MOM * m.get(key)! + gd;
      m.set(key, vel);
      return w - lr * (spec.nesterov ? gd + MOM * vel : vel);
    }
    const base = spec.kind === 'adamw' && decay ? w * (1 - lr * WD) : w;
    const gd = g + (spec.kind === 'adam' && decay ? WD * w : 0);
    const mt = spec.beta1 * m.get(key)! + (1 - spec.beta1) * gd;
    const vt = spec.beta2 * v.get(key)! + (1 - spec.beta2) * gd * gd;
    m.set(key, mt);
    v.set(key, vt);
    const mHat = mt / (1 - spec.beta1 ** t);
    const vHat = vt / (1 - spec.beta2 ** t);
    return base - (lr * mHat) / (Math.sqrt(vHat) + spec.eps);
  });
  forEachElement(s.m, grads, (_o, _g, key) => m.get(key)!);
  forEachElement(s.v, grads, (_o, _g, key) => v.get(key)!);
}

describe('generated optimizer steps against float64 by hand (MLP 5-7-3, 3 steps, fp32 throughout)', () => {
  it.each(['sgd:nesterov', 'adam', 'adamw', 'adam:beta1=0.5:beta2=0.9:eps=0.001'])('%s', async (text) => {
    const spec = parseOptimizerSpec(text);
    if (spec.kind === 'svrg' || spec.kind === 'halp') throw new Error('not an sgd/adam spec');
    const model = mlp([IN], [HID], OUT, 'none');
    const session = await ort.InferenceSession.create(buildTrainingModel(model, 'float32', spec).bytes);
    const init = { w1: randomValues(IN * HID, 1), b1: randomValues(HID, 2, -0.1, 0.1), w2: randomValues(HID * OUT, 3), b2: randomValues(OUT, 4, -0.1, 0.1) };
    const xs = randomValues(K * B * IN, 5, 0, 1);
    const ys = [0, 1, 2, 1, 2, 2, 0, 1, 1, 0, 0, 2];
    const shapes: Record<string, number[]> = { 'fc1.weight': [IN, HID], 'fc1.bias': [HID], 'fc2.weight': [HID, OUT], 'fc2.bias': [OUT] };
    const values: Record<string, number[]> = { 'fc1.weight': init.w1, 'fc1.bias': init.b1, 'fc2.weight': init.w2, 'fc2.bias': init.b2 };
    const slots = spec.kind === 'sgd' ? ['velocity'] : ['exp_avg', 'exp_avg_sq'];
    const state: Record<string, ort.Tensor> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      state[name] = f32(shape, values[name]!);
      for (const slot of slots) state[`${name}.${slot}`] = f32(shape, new Array(shape.reduce((a, b) => a * b, 1)).fill(0));
    }
    const adam: Record<string, ort.Tensor> = spec.kind === 'sgd' ? {} : { 'optimizer.step': f32([], [0]), adam: f32([3], [spec.beta1, spec.beta2, spec.eps]) };
    const out = await session.run({
      ...fp32StepFeeds({ K, B, inputs: IN, xs, ys, lr: LR, momentum: MOM, weightDecay: WD }),
      ...state,
      ...adam,
    });
    // the same steps by hand from the float32 values the graph saw (hyperparameters as float32 too)
    const f = (a: number[]) => Array.from(Float32Array.from(a));
    const hand: OptimizerSpec = spec.kind === 'sgd' ? spec : { ...spec, beta1: Math.fround(spec.beta1), beta2: Math.fround(spec.beta2), eps: Math.fround(spec.eps) };
    const p: Params = { w1: mat(f(init.w1), IN, HID), b1: f(init.b1), w2: mat(f(init.w2), HID, OUT), b2: f(init.b2) };
    const empty = (): Params => ({ w1: zeros(IN, HID), b1: new Array(HID).fill(0), w2: zeros(HID, OUT), b2: new Array(OUT).fill(0) });
    const s = { m: empty(), v: empty() };
    const fx = f(xs);
    for (let k = 0; k < K; k++) {
      const x: Mat = mat(fx.slice(k * B * IN, (k + 1) * B * IN), B, IN);
      const { loss, grads } = handGradients(p, x, ys.slice(k * B, (k + 1) * B));
      expect((out.loss!.data as Float32Array)[k]).toBeCloseTo(loss, 5);
      handUpdate(hand, p, s, grads, Math.fround(LR[k]!), k + 1);
    }
    const close = (name: string, want: number[]) => {
      const got = out[`${name}.new`]!.data as Float32Array;
      want.forEach((w, i) => expect(Math.abs(got[i]! - w), `${name}[${i}]`).toBeLessThan(2e-5));
    };
    close('fc1.weight', p.w1.flat());
    close('fc1.bias', p.b1);
    close('fc2.weight', p.w2.flat());
    close('fc2.bias', p.b2);
    close(`fc1.weight.${slots[0]}`, s.m.w1.flat());
    close(`fc2.bias.${slots[0]}`, s.m.b2);
    if (spec.kind !== 'sgd') {
      close('fc1.weight.exp_avg_sq', s.v.w1.flat());
      expect(Array.from(out['optimizer.step.new']!.data as Float32Array)).toEqual([K]);
    }
    // the parameters moved by more than the tolerance (the comparison is not vacuous)
    expect(Math.abs((out['fc1.weight.new']!.data as Float32Array)[0]! - init.w1[0]!)).toBeGreaterThan(1e-3);
  });
});

function flags(over: Partial<TrainFlags> = {}): TrainFlags {
  return { model: 'mlp:hidden=32', dataset: 'digits', schedule: 'cpt:3-8', gradBits: '8', epochs: '2', batchSize: '64', lr: '0.01', lrSchedule: 'constant', momentum: '0.9', weightDecay: '0.0005', seed: '1', profile: 'none', ...over };
}

const withoutWall = (dir: string) => {
  const [header, ...rows] = readFileSync(join(dir, 'steps.csv'), 'utf8').trim().split('\n');
  const wall = header!.split(',').indexOf('wall_ms');
  return rows.map((r) => r.split(',').filter((_, i) => i !== wall).join(','));
};

describe('runs with each optimizer (digits MLP 64-32-10)', () => {
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-optim-'));
  it.each([
    // every optimizer (plain SGD's resume is checked by the CLI and crash tests): Adam's global
    // state, SVRG's anchors, HALP's grid step, stochastic rounding of the optimizer's values
    ['adam', ''],
    ['adamw', ''],
    ['sgd:nesterov', 'momentum=8,weights=8:stochastic'],
    ['svrg', ''],
    ['halp:mu=0.1', ''],
  ])('%s %s: the checkpoint holds its state; a run stopped mid-epoch resumes to the uninterrupted run', async (optimizer, precisionText) => {
    const optimizerPrecision = precisionText || undefined;
    const anchored = optimizer === 'svrg' || optimizer.startsWith('halp');
    const lr = optimizer.startsWith('sgd') ? '0.1' : anchored ? '1' : '0.01';
    // SVRG and HALP take their second anchor at step 22: two epochs; one for the others
    const epochs = anchored ? '2' : '1';
    // SVRG also tracks the objective (--objective): objective.csv must survive the resume too
    const objective = optimizer === 'svrg' ? true : undefined;
    // HALP computes bit-centred at its own bits: the schedule must be fp32
    const schedule = optimizer.startsWith('halp') ? 'static:32' : 'cpt:3-8';
    const config = trainConfig(flags({ optimizer, lr, optimizerPrecision, epochs, objective, schedule }));
    expect(config.optimizer).toBe(optimizer);
    const tag = `${optimizer.replace(/[:=]/g, '-')}${optimizerPrecision ? '-lp' : ''}`;
    // one build of the artifacts serves the three sessions
    const resolved = resolveRun(config);
    const artifacts = buildArtifacts(resolved.model, resolved.optimizer, { gradient: objective === true });
    const whole = await runSession(config, { outDir: out, name: `${tag}-whole`, artifacts });
    const control = { stopRequested: false, paused: false };
    const stopped = await runSession(trainConfig(flags({ optimizer, lr, optimizerPrecision, epochs, objective, schedule, chunkSteps: '4' })), {
      outDir: out,
      name: `${tag}-stopped`,
      artifacts,
      control,
      onEvent: (e) => {
        if (e.type === 'steps' && e.steps.at(-1)!.step >= 9) control.stopRequested = true;
      },
    });
    expect(stopped.summary.steps).toBe(12);
    const ckpt = readCheckpoint(join(stopped.runDir, 'checkpoint.safetensors'));
    const slots = optimizer === 'sgd:nesterov' ? ['velocity'] : anchored ? ['anchor', 'full_grad'] : ['exp_avg', 'exp_avg_sq'];
    for (const slot of slots) expect(ckpt.tensors.get(`fc1.weight.${slot}`)!.data.some((v) => v !== 0)).toBe(true);
    if (optimizer.startsWith('adam')) expect(Array.from(ckpt.tensors.get('optimizer.step')!.data)).toEqual([12]);
    const resumed = await runSession(null, { resumeDir: stopped.runDir, artifacts });
    expect(resumed.status).toBe('completed');
    expect(withoutWall(resumed.runDir)).toEqual(withoutWall(whole.runDir));
    expect(resumed.summary.testAccuracy).toBe(whole.summary.testAccuracy);
    expect(resumed.summary.testAccuracy!).toBeGreaterThan(optimizer === 'svrg' ? 0.8 : 0.5);
    if (optimizerPrecision) expect(new Set(ckpt.tensors.get('fc1.weight')!.data).size).toBeLessThanOrEqual(256);
    // SVRG's anchors (steps 0 and 22): the resumed run's anchors.csv is the uninterrupted one's
    if (anchored) {
      const anchors = (dir: string) => readFileSync(join(dir, 'anchors.csv'), 'utf8');
      expect(anchors(resumed.runDir).trim().split('\n').map((l) => l.split(',')[0])).toEqual(['step', '0', '22']);
      expect(anchors(resumed.runDir)).toBe(anchors(whole.runDir));
    }
    if (objective) {
      const rows = (dir: string) => readFileSync(join(dir, 'objective.csv'), 'utf8');
      expect(rows(resumed.runDir).trim().split('\n').map((l) => l.split(',')[0])).toEqual(['step', '0', '22', '44']);
      expect(rows(resumed.runDir)).toBe(rows(whole.runDir));
    }
  });

  it('a step a dynamic loss scale skips does not advance Adam\'s step count', async () => {
    // fp16 errors from a scale of 2^40: the first steps overflow and are skipped, the scale halving each time
    const t = digitsTrainer({ schedule: 'static:fp16', gradSchedule: errorSchedule('fp16'), epochs: 1, lr: 0.01, optimizer: 'adam', lossScale: 'dynamic:init=1099511627776:interval=1000', evalBits: 16 });
    let skipped = 0;
    t.on((e) => {
      if (e.type === 'steps') skipped += e.steps.filter((s) => s.skipped).length;
    });
    await t.init();
    await t.run();
    const ckpt = t.checkpoint();
    await t.release();
    expect(skipped).toBeGreaterThan(0);
    expect(Array.from(ckpt.tensors.get('optimizer.step')!.data)).toEqual([t.totalSteps - skipped]);
  });
});

describe('logreg, the convex model', () => {
  it('is one Linear layer on the flattened input; with the classifier quantized it trains on integer grids too', async () => {
    const spec = parseModelSpec('logreg');
    expect(formatModelSpec(spec)).toBe('logreg');
    const model = createModel(spec, [1, 8, 8], 10, 'none');
    expect(model.id).toBe('logreg-64-10');
    expect(model.params().map((p) => `${p.name} [${p.shape.join(',')}] ${p.decay ? 'decay' : ''}`)).toEqual(['fc.weight [64,10] decay', 'fc.bias [10] ']);
    expect(modelLayers(model).map((l) => `${l.name} ${l.kind} ${l.fullPrecision === true}`)).toEqual(['fc linear false']);
    // by default (--fp-layers last) its one layer is the full-precision classifier: no quantized layer at all
    expect(buildArtifacts(createModel(spec, [64], 10)).manifest.quantizedLayers).toEqual([]);
    const accuracy = async (schedule: string, fpLayers: 'none' | 'last') => {
      const t = digitsTrainer({ model: 'logreg', schedule, epochs: 5, weightDecay: 1e-4, evalBits: 8, fpLayers });
      await t.init();
      const r = await t.run();
      await t.release();
      return r.summary.testAccuracy!;
    };
    expect(await accuracy('static:32', 'last')).toBeGreaterThan(0.9);
    expect(await accuracy('static:8', 'none')).toBeGreaterThan(0.9);
  });
});

describe('optimizer precision (--optimizer-precision)', () => {
  it('parses roles to canonical text; fp32 roles are left out; bad roles name the option', () => {
    const name = (t: string) => optimizerPrecisionName(parseOptimizerPrecision(t));
    expect(name('weights=8:stochastic, grad=8 ,momentum=fp16')).toBe('grad=int8,momentum=fp16,weights=int8:stochastic');
    expect(name('weights=32,grad=fp32')).toBe('');
    expect(name('momentum=bf16:nearest')).toBe('momentum=bf16');
    const message = (t: string) => usageMessage(() => parseOptimizerPrecision(t));
    expect(message('velocity=8')).toMatch(/^--optimizer-precision: unknown role "velocity" \(expected ROLE=PRECISION/);
    expect(message('grad=0')).toMatch(/grad: a bit-width must be in 1\.\.32, got 0/);
    expect(message('grad=8,grad=4')).toMatch(/grad given twice/);
    expect(message('weights=fp9')).toMatch(/^--optimizer-precision: /);
    expect(optimizerConfig({ momentum: '0.9', optimizerPrecision: 'weights=8' })).toEqual({ momentum: 0.9, optimizerPrecision: 'weights=int8' });
    expect(() => optimizerConfig({ momentum: '0.9', optimizer: 'svrg', optimizerPrecision: 'momentum=8' })).toThrow(/^--optimizer-precision: svrg keeps no momentum/);
  });

  const run = async (optimizerPrecision: string | undefined, epochs = 10) => {
    const t = digitsTrainer({ schedule: 'static:32', gradSchedule: errorSchedule('32'), epochs, optimizerPrecision });
    const losses: number[] = [];
    t.on((e) => {
      if (e.type === 'steps') losses.push(...e.steps.map((s) => s.loss));
    });
    await t.init();
    const r = await t.run();
    const ckpt = t.checkpoint();
    await t.release();
    return { accuracy: r.summary.testAccuracy!, losses, tensor: (name: string) => ckpt.tensors.get(name)!.data };
  };
  const distinct = (a: Float32Array) => new Set(a).size;

  it('weights, momentum and gradients are rounded where the update stores them', async () => {
    const full = await run(undefined, 1);
    expect(distinct(full.tensor('fc1.weight'))).toBeGreaterThan(4000);
    const low = await run('grad=6,momentum=8,weights=4', 1);
    for (const name of ['fc1.weight', 'fc1.bias', 'fc2.weight']) expect(distinct(low.tensor(name)), name).toBeLessThanOrEqual(16);
    for (const name of ['fc1.weight.velocity', 'fc2.bias.velocity']) expect(distinct(low.tensor(name)), name).toBeLessThanOrEqual(256);
    // a format: every weight is an fp8-e4m3 value, every momentum a bf16 value
    const fp8 = await run('weights=fp8-e4m3,momentum=bf16', 1);
    const w = fp8.tensor('fc1.weight');
    expect(Array.from(w).every((x) => quantize(x, FP8_E4M3) === x)).toBe(true);
    expect(Array.from(fp8.tensor('fc1.weight.velocity')).every((x) => quantize(x, BF16) === x)).toBe(true);
    expect(distinct(w)).toBeGreaterThan(16);
    // the gradient's rounding alone changes the steps
    const grad = await run('grad=2', 1);
    expect(grad.losses.slice(1)).not.toEqual(full.losses.slice(1));
  });

  it('4-bit weights stall rounded to nearest and train rounded stochastically (10 epochs)', async () => {
    const nearest = await run('weights=4');
    const stochastic = await run('weights=4:stochastic');
    const full = await run(undefined);
    expect(nearest.accuracy).toBeLessThan(full.accuracy - 0.05);
    expect(stochastic.accuracy).toBeGreaterThan(full.accuracy - 0.02);
  });
});

describe('svrg', () => {
  it('the full gradient at the anchor is the training split\'s mean gradient (float64 by hand), and the first step after an anchor is a full-gradient step', async () => {
    const lr = 0.5;
    const wd = 1e-4;
    const t = digitsTrainer({ model: 'logreg', fpLayers: 'none', schedule: 'static:32', gradSchedule: errorSchedule('32'), epochs: 1, lr, weightDecay: wd, optimizer: 'svrg', chunkSteps: 1, evalBits: 32 });
    const anchors: AnchorRecord[] = [];
    const control = { stopRequested: false, paused: false };
    t.on((e) => {
      if (e.type === 'anchor') anchors.push(e.anchor);
      if (e.type === 'steps') control.stopRequested = true;
    });
    await t.init();
    await t.run(control);
    const c = t.checkpoint();
    await t.release();
    expect(anchors.map((a) => a.step)).toEqual([0]);
    const get = (name: string) => Array.from(c.tensors.get(name)!.data);
    const [w0, b0, mu, muB, w1] = [get('fc.weight.anchor'), get('fc.bias.anchor'), get('fc.weight.full_grad'), get('fc.bias.full_grad'), get('fc.weight')];
    // by hand: softmax(x·W + b) − onehot(y), averaged over the split
    const { train } = t.options.dataset;
    const [D, C, N] = [64, 10, train.count];
    const gw = new Float64Array(D * C);
    const gb = new Float64Array(C);
    let loss = 0;
    for (let n = 0; n < N; n++) {
      const x = train.x.subarray(n * D, (n + 1) * D);
      const z = Array.from({ length: C }, (_, k) => b0[k]! + x.reduce((s, v, d) => s + v * w0[d * C + k]!, 0));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, b) => a + b, 0);
      const y = Number(train.y[n]);
      loss -= Math.log(e[y]! / sum) / N;
      for (let k = 0; k < C; k++) {
        const d = (e[k]! / sum - (k === y ? 1 : 0)) / N;
        gb[k]! += d;
        for (let j = 0; j < D; j++) gw[j * C + k]! += d * x[j]!;
      }
    }
    const maxAbs = Math.max(...Array.from(gw, Math.abs));
    mu.forEach((v, i) => expect(Math.abs(v - gw[i]!), `fc.weight.full_grad[${i}]`).toBeLessThan(1e-6 * maxAbs + 1e-9));
    muB.forEach((v, i) => expect(Math.abs(v - gb[i]!)).toBeLessThan(1e-6));
    expect(anchors[0]!.loss).toBeCloseTo(loss, 5); // float32 sums of ln 10 (the zero start)
    expect(anchors[0]!.objective).toBeCloseTo(loss + (wd / 2) * w0.reduce((s, v) => s + v * v, 0), 5);
    // step 0 starts at the anchor: ∇fᵢ(p) − ∇fᵢ(p̃) = 0, so p₁ = p₀ − lr·(μ̃ + wd·p₀)
    w1.forEach((v, i) => expect(Math.abs(v - (w0[i]! - lr * (gw[i]! + wd * w0[i]!))), `fc.weight[${i}]`).toBeLessThan(1e-6));
    expect(w1.some((v, i) => Math.abs(v - w0[i]!) > 1e-3)).toBe(true);
  });
});

describe('halp', () => {
  it('keeps p − p̃ on a B-bit grid whose step is ‖∇F(p̃)‖/(μ·(2^(B−1) − 1)), re-centred at each anchor', async () => {
    const t = digitsTrainer({ model: 'logreg', fpLayers: 'none', schedule: 'static:32', gradSchedule: errorSchedule('32'), epochs: 2, lr: 0.5, weightDecay: 1e-4, optimizer: 'halp:bits=4:mu=1', chunkSteps: 5, evalBits: 32 });
    const anchors: AnchorRecord[] = [];
    const control = { stopRequested: false, paused: false };
    t.on((e) => {
      if (e.type === 'anchor') anchors.push(e.anchor);
      if (e.type === 'steps' && e.steps.at(-1)!.step >= 24) control.stopRequested = true;
    });
    await t.init();
    await t.run(control);
    const c = t.checkpoint();
    await t.release();
    expect(anchors.map((a) => a.step)).toEqual([0, 22]);
    const delta = c.tensors.get('halp.scale')!.data[0]!;
    expect(delta).toBeCloseTo(anchors[1]!.gradientNorm / (1 * 7), 6);
    const w = c.tensors.get('fc.weight')!.data;
    const anchor = c.tensors.get('fc.weight.anchor')!.data;
    const codes = Array.from(w, (v, i) => (v - anchor[i]!) / delta);
    expect(codes.every((k) => Math.abs(k - Math.round(k)) < 1e-3 && Math.abs(k) <= 7 + 1e-3)).toBe(true);
    expect(new Set(codes.map(Math.round)).size).toBeGreaterThan(2); // the offsets moved off the anchor
    // the objective still falls (HALP follows SVRG here)
    expect(anchors[1]!.objective).toBeLessThan(anchors[0]!.objective / 2);
  });

  it('without μ it needs a weight decay, and it needs --schedule static:32; it says so', () => {
    expect(() => resolveRun(trainConfig(flags({ optimizer: 'halp', weightDecay: '0', schedule: 'static:32' })))).toThrow(/^--optimizer: halp sets its grid from the strong-convexity constant μ: give halp:mu=M or a positive --weight-decay/);
    expect(() => resolveRun(trainConfig(flags({ optimizer: 'halp:mu=1' })))).toThrow(/^--schedule: halp computes its linear layers bit-centred at its own 8 bits; give --schedule static:32 \(got cpt:3-8\)/);
  });

  it('bit-centres linear layers: Q(x)·(W − W̃) in the step, Q(x)ᵀ·dỹ at the anchor, so coarse activations still converge', async () => {
    // with 3-bit activations in the centred products the objective still falls as SVRG's does
    const objective = async (optimizer: string) => {
      const t = digitsTrainer({ model: 'logreg', fpLayers: 'none', schedule: 'static:32', gradSchedule: errorSchedule('32'), epochs: 20, lr: 8, weightDecay: 1e-4, momentum: 0, optimizer, trackObjective: true, evalBits: 32 });
      const values: number[] = [];
      t.on((e) => {
        if (e.type === 'objective') values.push(e.objective.objective);
      });
      await t.init();
      await t.run();
      await t.release();
      return values;
    };
    const svrg = await objective('svrg');
    const halp3 = await objective('halp:bits=3:mu=1');
    expect(halp3[20]!).toBeLessThan(svrg[0]! / 10);
    expect(halp3[20]! - svrg[20]!).toBeLessThan(0.05);
    // the training graph holds the anchor pass's centred product (value x·W̃, gradient through Q(x)·W̃ only)
    const digits = loadDataset('digits');
    const model = createModel(parseModelSpec('logreg'), digits.inputShape, digits.classes, 'none');
    const outputs = (nodes: readonly NodeData[]): string[] => nodes.flatMap((n) => [...n.outputs, ...Object.values(n.attributes).flatMap((a) => (a.kind === 'graph' ? outputs(a.value.nodes) : []))]);
    const centred = (optimizer: string) => outputs(buildTrainingModel(model, 'float32', optimizerSetup(optimizer, undefined)).graph.nodes).filter((o) => o.includes('centre_rest')).length;
    expect(centred('halp:mu=1')).toBeGreaterThan(0);
    expect(centred('svrg')).toBe(0);
  });
});

describe('convergence on logreg (digits, L2 1e-4, lr 8: bench/convergence.ts, short)', () => {
  it('SVRG converges linearly, HALP at 8 bits follows it, SGD with 8-bit weights stalls (60 epochs, gradient norms)', async () => {
    const norms = async (name: string) => (await objectiveCurve(CONVERGENCE_RUNS.find((r) => r.name === name)!, 60)).map((r) => r.gradientNorm);
    const [svrg, halp, sgd8] = [await norms('svrg'), await norms('halp-8'), await norms('sgd-8')];
    expect(svrg).toHaveLength(61);
    // ‖∇F‖ from 0.447 at the zero start: SVRG below 1/500 of it by epoch 60, and still falling
    expect(svrg[60]!).toBeLessThan(svrg[0]! / 500);
    expect(svrg[60]!).toBeLessThan(svrg[30]! / 1.5);
    // HALP within 20× of SVRG at every epoch
    expect(Math.max(...halp.map((h, e) => h / svrg[e]!))).toBeLessThan(20);
    // SGD at 8 bits (same step size): never within 30× of SVRG's end over its last 30 epochs
    expect(Math.min(...sgd8.slice(30))).toBeGreaterThan(30 * svrg[60]!);
  });
});

describe('what an optimizer adds to the cost (src/hw/optimizer-cost.ts)', () => {
  const layers = [linearShape('fc1', 64, 32), linearShape('fc2', 32, 10)];
  const weights = 64 * 32 + 32 * 10;
  it('is nothing for fp32 SGD, a moment\'s traffic for Adam, less traffic for 8-bit state, two passes and a full pass per anchor for SVRG', () => {
    const profile = loadProfile('bit-fusion-45nm');
    const cost = (optimizer: string, precision?: string) => optimizerCost(profile, layers, optimizerSetup(optimizer, precision), 22);
    const sgd = cost('sgd');
    expect([sgd.gemmPasses, sgd.anchorEvery, sgd.perStep.energyJ, sgd.perStep.latencyS]).toEqual([1, 0, 0, 0]);
    expect(cost('sgd:nesterov').perStep.energyJ).toBe(0);
    const adam = cost('adam');
    expect(adam.perStep.energyJ).toBeGreaterThan(0);
    // one more fp32 tensor read and written: a third of SGD's update traffic (weights, velocity read and written, gradient read)
    const level = profile.memory.findIndex((l) => l.capacityBits >= weights * 32);
    const perBit = (i: number) => profile.memory[i]!.readEnergyPerBitJ + profile.memory[i]!.writeEnergyPerBitJ;
    const moment = weights * 32 * (perBit(level) + profile.memory.slice(0, level).reduce((a, _l, i) => a + 2 * perBit(i), 0));
    expect(adam.perStep.memoryEnergyJ).toBeCloseTo(moment, 18);
    expect(cost('sgd', 'weights=8,momentum=8').perStep.energyJ).toBeLessThan(0);
    const svrg = cost('svrg:every=2');
    expect([svrg.gemmPasses, svrg.anchorEvery, svrg.anchorPasses]).toEqual([2, 44, 22]);
    expect(svrg.perStep.energyJ).toBeGreaterThan(0);
  });

  it('an SVRG run costs two passes per step, an epoch of passes per anchor and its traffic, against SGD\'s one', async () => {
    const run = async (optimizer: string) => runSession(trainConfig(flags({ optimizer, schedule: 'static:8', epochs: '2', profile: 'bit-fusion-45nm' })), { outDir: mkdtempSync(join(tmpdir(), 'bitcycle-optcost-')) });
    const sgd = await run('sgd');
    const svrg = await run('svrg');
    const profile = loadProfile('bit-fusion-45nm');
    const extra = optimizerCost(profile, modelLayers(resolveRun(trainConfig(flags({ profile: 'none' }))).model), optimizerSetup('svrg', undefined), 22);
    const steps = 44;
    const perStep = sgd.cost!.energyJ / steps;
    expect(svrg.cost!.energyJ).toBeCloseTo(steps * (2 * perStep + extra.perStep.energyJ) + 2 * 22 * perStep, 12);
    expect(svrg.cost!.bitops).toBe((2 * steps + 2 * 22) * (sgd.cost!.bitops / steps));
    // the savings against the baseline (static:8, the same optimizer) are SGD's: both sides pay the passes
    expect(svrg.cost!.savings.bitopsPct).toBeCloseTo(sgd.cost!.savings.bitopsPct, 9);
  });

  it('a HALP run costs one bit-centred pass per step at its bits and a full pass per anchor, against full-precision SVRG', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bitcycle-optcost-'));
    const run = (over: Partial<TrainFlags>) => runSession(trainConfig(flags({ model: 'logreg', fpLayers: 'none', epochs: '2', profile: 'bit-fusion-45nm', ...over })), { outDir: out });
    const halp = await run({ optimizer: 'halp:bits=8:mu=1', schedule: 'static:32' });
    const sgd8 = await run({ schedule: 'static:8' });
    const sgd32 = await run({ schedule: 'static:32' });
    const profile = loadProfile('bit-fusion-45nm');
    const layers = modelLayers(resolveRun(trainConfig(flags({ model: 'logreg', fpLayers: 'none', profile: 'none' }))).model);
    const traffic = optimizerCost(profile, layers, optimizerSetup('halp:bits=8:mu=1', undefined), 22).perStep.energyJ;
    const [c8, c32] = [sgd8.cost!.energyJ / 44, sgd32.cost!.energyJ / 44];
    expect(halp.cost!.energyJ).toBeCloseTo(44 * (c8 + traffic) + 2 * 22 * c32, 12);
    expect(halp.cost!.baseline.energyJ).toBeCloseTo(44 * (2 * c32 + traffic) + 2 * 22 * c32, 12);
    expect(halp.cost!.savings.energyPct).toBeGreaterThan(0);
  });
});
