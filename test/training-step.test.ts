/**
 * The generated training model (forward + backward + SGD-momentum update inside an ONNX Loop) at
 * 32 bits against the same steps computed by hand in TypeScript (float64).
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildTrainingModel, buildEvalModel } from '../src/artifacts/build.js';
import { mlp } from '../src/models/mlp.js';
import { f32, gridFeeds, i64, layerBits, randomValues } from './helpers/onnx.js';
import { HAND_MLP, type Mat, type Params, forEachElement, fp32StepFeeds, handGradients, mat, zeros } from './helpers/hand-mlp.js';

// the hand-checked MLP 5-7-3: batch 4, 3 steps, their rates, momentum and weight decay
const { IN, HID, OUT, B, K, LR, MOM, WD } = HAND_MLP;

/** One SGD step with momentum and weight decay (PyTorch's convention), by hand; `v` holds the velocities. */
function handStep(p: Params, v: Params, x: Mat, y: number[], lr: number): { loss: number; correct: number } {
  const { loss, correct, grads } = handGradients(p, x, y);
  const vel = new Map<string, number>();
  forEachElement(v, grads, (old, _g, key) => (vel.set(key, old), old));
  forEachElement(p, grads, (val, g, key, decay) => {
    const next = MOM * vel.get(key)! + g + (decay ? WD * val : 0);
    vel.set(key, next);
    return val - lr * next;
  });
  forEachElement(v, grads, (_old, _g, key) => vel.get(key)!);
  return { loss, correct };
}

describe('training model at 32 bits', () => {
  it('matches K steps of SGD with momentum and weight decay computed by hand', async () => {
    const model = mlp([IN], [HID], OUT, 'none');
    const built = buildTrainingModel(model);
    const session = await ort.InferenceSession.create(built.bytes);
    const init = {
      w1: randomValues(IN * HID, 1),
      b1: randomValues(HID, 2, -0.1, 0.1),
      w2: randomValues(HID * OUT, 3),
      b2: randomValues(OUT, 4, -0.1, 0.1),
    };
    const xs = randomValues(K * B * IN, 5, 0, 1);
    const ys = [0, 1, 2, 1, 2, 2, 0, 1, 1, 0, 0, 2];
    const feeds: Record<string, ort.Tensor> = {
      ...fp32StepFeeds({ K, B, inputs: IN, xs, ys, lr: LR, momentum: MOM, weightDecay: WD }),
      'fc1.weight': f32([IN, HID], init.w1),
      'fc1.bias': f32([HID], init.b1),
      'fc2.weight': f32([HID, OUT], init.w2),
      'fc2.bias': f32([OUT], init.b2),
      'fc1.weight.velocity': f32([IN, HID], new Array(IN * HID).fill(0)),
      'fc1.bias.velocity': f32([HID], new Array(HID).fill(0)),
      'fc2.weight.velocity': f32([HID, OUT], new Array(HID * OUT).fill(0)),
      'fc2.bias.velocity': f32([OUT], new Array(OUT).fill(0)),
    };
    const out = await session.run(feeds);

    // The same steps by hand, starting from the float32 values the graph saw.
    const f = (a: number[]) => Array.from(Float32Array.from(a));
    const p: Params = { w1: mat(f(init.w1), IN, HID), b1: f(init.b1), w2: mat(f(init.w2), HID, OUT), b2: f(init.b2) };
    const v: Params = { w1: zeros(IN, HID), b1: new Array(HID).fill(0), w2: zeros(HID, OUT), b2: new Array(OUT).fill(0) };
    const fx = f(xs);
    for (let k = 0; k < K; k++) {
      const x = mat(fx.slice(k * B * IN, (k + 1) * B * IN), B, IN);
      const { loss, correct } = handStep(p, v, x, ys.slice(k * B, (k + 1) * B), Math.fround(LR[k]!));
      expect((out.loss!.data as Float32Array)[k]).toBeCloseTo(loss, 5);
      expect((out.correct!.data as Float32Array)[k]).toBe(correct);
    }
    const close = (got: ort.Tensor, want: number[]) => {
      const g = got.data as Float32Array;
      want.forEach((w, i) => expect(Math.abs(g[i]! - w)).toBeLessThan(2e-5));
    };
    close(out['fc1.weight.new']!, p.w1.flat());
    close(out['fc1.bias.new']!, p.b1);
    close(out['fc2.weight.new']!, p.w2.flat());
    close(out['fc2.bias.new']!, p.b2);
    close(out['fc1.weight.velocity.new']!, v.w1.flat());
    close(out['fc2.bias.velocity.new']!, v.b2);
    // The parameters really moved (the comparison is not vacuous).
    expect(Math.abs((out['fc1.weight.new']!.data as Float32Array)[0]! - init.w1[0]!)).toBeGreaterThan(1e-6);
  });

  it('at low precision the update differs from the 32-bit one (bits are live inputs)', async () => {
    const model = mlp([IN], [HID], OUT, 'none');
    const built = buildTrainingModel(model);
    const session = await ort.InferenceSession.create(built.bytes);
    const run = async (bits: number) => {
      const out = await session.run({
        x: f32([1, B, IN], randomValues(B * IN, 5, 0, 1)),
        labels: i64([1, B], [0, 1, 2, 1]),
        bits_w: layerBits([bits], 2),
        bits_a: layerBits([bits], 2),
        bits_g: layerBits([bits], 2),
        ...gridFeeds(1, 'float32', 2),
        lr: f32([1], [0.1]),
        noise_key: new ort.Tensor('uint32', Uint32Array.of(7), [1]),
        'fc1.input_range': f32([3], [0, 0, 0]),
        'fc2.input_range': f32([3], [0, 0, 0]),
        momentum: f32([], [0.9]),
        weight_decay: f32([], [0]),
        int_kernels: i64([], [0]),
        'fc1.weight': f32([IN, HID], randomValues(IN * HID, 1)),
        'fc1.bias': f32([HID], randomValues(HID, 2)),
        'fc2.weight': f32([HID, OUT], randomValues(HID * OUT, 3)),
        'fc2.bias': f32([OUT], randomValues(OUT, 4)),
        'fc1.weight.velocity': f32([IN, HID], new Array(IN * HID).fill(0)),
        'fc1.bias.velocity': f32([HID], new Array(HID).fill(0)),
        'fc2.weight.velocity': f32([HID, OUT], new Array(HID * OUT).fill(0)),
        'fc2.bias.velocity': f32([OUT], new Array(OUT).fill(0)),
      });
      return Array.from(out['fc1.weight.new']!.data as Float32Array);
    };
    const full = await run(32);
    const low = await run(2);
    expect(low).not.toEqual(full);
    expect(await run(32)).toEqual(full);
  });

  it('eval model reports mean loss and correct count', async () => {
    const model = mlp([IN], [HID], OUT, 'none');
    const s = await ort.InferenceSession.create(buildEvalModel(model).bytes);
    const out = await s.run({
      x: f32([B, IN], randomValues(B * IN, 5, 0, 1)),
      labels: i64([B], [0, 1, 2, 1]),
      bits_w: f32([2], [32, 32]),
      bits_a: f32([2], [32, 32]),
      format_w: f32([2, 6], new Array(12).fill(0)),
      format_a: f32([2, 6], new Array(12).fill(0)),
      'fc1.weight': f32([IN, HID], randomValues(IN * HID, 1)),
      'fc1.bias': f32([HID], randomValues(HID, 2)),
      'fc2.weight': f32([HID, OUT], randomValues(HID * OUT, 3)),
      'fc2.bias': f32([OUT], randomValues(OUT, 4)),
      'fc1.input_range': f32([3], [0, 0, 0]),
      'fc2.input_range': f32([3], [0, 0, 0]),
    });
    const logits = out.logits!.data as Float32Array;
    let loss = 0;
    let correct = 0;
    const labels = [0, 1, 2, 1];
    for (let i = 0; i < B; i++) {
      const row = Array.from(logits.slice(i * OUT, (i + 1) * OUT));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      loss += (lse - row[labels[i]!]!) / B;
      if (row.indexOf(m) === labels[i]) correct++;
    }
    expect(Number(out.loss!.data[0])).toBeCloseTo(loss, 5);
    expect(Number(out.correct!.data[0])).toBe(correct);
  });
});
