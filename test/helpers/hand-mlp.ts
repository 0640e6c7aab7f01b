/**
 * A one-hidden-layer MLP (x·W1 + b1 → ReLU → ·W2 + b2 → softmax cross-entropy) computed by hand in
 * float64: the reference the generated training steps are checked against (SGD in
 * test/training-step.test.ts, the other optimizers in test/optimizers.test.ts).
 */
import * as ort from 'onnxruntime-node';
import { f32, gridFeeds, i64, layerBits } from './onnx.js';
/** The sizes and hyperparameters of the hand-checked steps: MLP 5-7-3, batch 4, 3 steps. */
export const HAND_MLP = { IN: 5, HID: 7, OUT: 3, B: 4, K: 3, LR: [0.1, 0.05, 0.2], MOM: 0.9, WD: 0.01 } as const;

export type Mat = number[][];
export const zeros = (r: number, c: number): Mat => Array.from({ length: r }, () => new Array(c).fill(0));
export const mat = (flat: number[], r: number, c: number): Mat => Array.from({ length: r }, (_, i) => flat.slice(i * c, (i + 1) * c));
const mm = (a: Mat, b: Mat): Mat => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const tr = (a: Mat): Mat => a[0]!.map((_, j) => a.map((row) => row[j]!));

export interface Params {
  w1: Mat;
  b1: number[];
  w2: Mat;
  b2: number[];
}

/** Loss, correct count and gradients of a batch (mean cross-entropy). */
export function handGradients(p: Params, x: Mat, y: number[]): { loss: number; correct: number; grads: Params } {
  const B = x.length;
  const z1 = mm(x, p.w1).map((row) => row.map((val, j) => val + p.b1[j]!));
  const h = z1.map((row) => row.map((val) => Math.max(0, val)));
  const z2 = mm(h, p.w2).map((row) => row.map((val, j) => val + p.b2[j]!));
  let loss = 0;
  let correct = 0;
  const dz2 = z2.map((row, i) => {
    const m = Math.max(...row);
    const e = row.map((val) => Math.exp(val - m));
    const sum = e.reduce((a, b) => a + b, 0);
    loss -= Math.log(e[y[i]!]! / sum) / B;
    if (row.indexOf(m) === y[i]) correct++;
    return e.map((val, j) => (val / sum - (j === y[i] ? 1 : 0)) / B);
  });
  const dw2 = mm(tr(h), dz2);
  const db2 = dz2[0]!.map((_, j) => dz2.reduce((s, row) => s + row[j]!, 0));
  const dh = mm(dz2, tr(p.w2));
  const dz1 = dh.map((row, i) => row.map((val, j) => (z1[i]![j]! > 0 ? val : 0)));
  const dw1 = mm(tr(x), dz1);
  const db1 = dz1[0]!.map((_, j) => dz1.reduce((s, row) => s + row[j]!, 0));
  return { loss, correct, grads: { w1: dw1, b1: db1, w2: dw2, b2: db2 } };
}

/** Apply `update(value, grad, index, decay)` to every element of every parameter (weights decay, biases do not). */
export function forEachElement(p: Params, g: Params, update: (value: number, grad: number, key: string, decay: boolean) => number): void {
  const m = (w: Mat, gw: Mat, name: string) => w.forEach((row, i) => row.forEach((v, j) => (row[j] = update(v, gw[i]![j]!, `${name}/${i}/${j}`, true))));
  const v = (b: number[], gb: number[], name: string) => b.forEach((val, j) => (b[j] = update(val, gb[j]!, `${name}/${j}`, false)));
  m(p.w1, g.w1, 'w1');
  v(p.b1, g.b1, 'b1');
  m(p.w2, g.w2, 'w2');
  v(p.b2, g.b2, 'b2');
}

/**
 * The feeds of K training steps of the generated MLP at 32 bits (everything but its parameters and
 * optimizer state): both quantized layers' bits, grid formats, no loss scaling, the rates given.
 */
export function fp32StepFeeds(o: { K: number; B: number; inputs: number; xs: number[]; ys: number[]; lr: readonly number[]; momentum: number; weightDecay: number }): Record<string, ort.Tensor> {
  const bits = new Array<number>(o.K).fill(32);
  return {
    x: f32([o.K, o.B, o.inputs], o.xs),
    labels: i64([o.K, o.B], o.ys),
    bits_w: layerBits(bits, 2),
    bits_a: layerBits(bits, 2),
    bits_g: layerBits(bits, 2),
    ...gridFeeds(o.K, 'float32', 2),
    lr: f32([o.K], [...o.lr]),
    noise_key: new ort.Tensor('uint32', Uint32Array.from({ length: o.K }, (_, k) => 11 + k), [o.K]),
    'fc1.input_range': f32([3], [0, 0, 0]),
    'fc2.input_range': f32([3], [0, 0, 0]),
    momentum: f32([], [o.momentum]),
    weight_decay: f32([], [o.weightDecay]),
    int_kernels: i64([], [0]),
  };
}
