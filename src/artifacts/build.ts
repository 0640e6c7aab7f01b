/**
 * Training artifacts, in onnxruntime's training vocabulary:
 *   training_model.onnx — K steps of forward + backward + SGD-momentum update in one ONNX `Loop`
 *                         (K = first dimension of the batch inputs, 1 for a single step);
 *   eval_model.onnx     — forward pass, loss and correct count;
 *   checkpoint          — parameters + optimizer state (see checkpoint.ts);
 *   manifest.json       — which input/output is which.
 * Bit-widths, learning rate and stochastic-rounding noise are inputs, so one artifact serves every
 * precision schedule.
 */
import { type Dim, Graph, type Value } from '../graph/builder.js';
import { gradients } from '../graph/autodiff.js';
import { correctCount, softmaxCrossEntropy } from '../graph/ops/loss.js';
import { encodeModel } from '../graph/proto.js';
import type { ModelDef, QuantContext } from '../models/model.js';
import { quantizeErrors } from '../quant/quantizers.js';

export const OPSET = 17;
export const IR_VERSION = 8;
export const PRODUCER = 'bitcycle';

export interface TensorSpec {
  name: string;
  dtype: 'float32' | 'float64' | 'int64';
  shape: Dim[];
}

export interface TrainingManifest {
  formatVersion: 1;
  model: { name: string; id: string; inputShape: number[]; classes: number };
  floatType: 'float32' | 'float64';
  opset: number;
  training: {
    file: string;
    /** Data and per-step inputs (first dim K = steps per call). */
    inputs: TensorSpec[];
    /** Parameter inputs, in order; outputs are `<name>.new`. */
    params: TensorSpec[];
    /** Optimizer state inputs (momentum buffers), `<param>.velocity`; outputs `.new`. */
    optimizerState: TensorSpec[];
    /** Per-step outputs of shape [K]. */
    outputs: string[];
    /** Width per sample of the stochastic-rounding noise input. */
    noiseWidth: number;
  };
  eval: { file: string; inputs: TensorSpec[]; outputs: string[] };
  checkpoint: string;
  params: { name: string; shape: number[]; decay: boolean }[];
}

export interface BuiltModel {
  bytes: Uint8Array;
  graph: Graph;
}

function finish(g: Graph, doc: string): Uint8Array {
  return encodeModel({
    irVersion: IR_VERSION,
    opsetVersion: OPSET,
    producerName: PRODUCER,
    producerVersion: '0.1.0',
    graph: g.toGraphData({ docString: doc }),
  });
}

const velocityName = (p: string) => `${p}.velocity`;
const newName = (p: string) => `${p}.new`;

/**
 * The training model: an outer graph whose only work node is a Loop over the K batches given.
 * Loop-carried: parameters and velocities. Scan outputs: loss and correct count per step.
 */
export function buildTrainingModel(model: ModelDef, floatType: 'float32' | 'float64' = 'float32'): BuiltModel & { noiseWidth: number } {
  const outer = new Graph('bitcycle_training', floatType);
  const K = 'steps';
  const B = 'batch';
  const x = outer.input('x', floatType, [K, B, ...model.inputShape]);
  const labels = outer.input('labels', 'int64', [K, B]);
  const bitsW = outer.input('bits_w', floatType, [K]);
  const bitsA = outer.input('bits_a', floatType, [K]);
  const bitsG = outer.input('bits_g', floatType, [K]);
  const lr = outer.input('lr', floatType, [K]);
  const noiseShape: Dim[] = [K, B, 0];
  const noise = outer.input('noise', floatType, noiseShape);
  const momentum = outer.input('momentum', floatType, []);
  const weightDecay = outer.input('weight_decay', floatType, []);
  const specs = model.params();
  const params = specs.map((p) => outer.input(p.name, floatType, p.shape));
  const velocities = specs.map((p) => outer.input(velocityName(p.name), floatType, p.shape));

  // Loop body: one training step on batch `iter`.
  const body = new Graph('train_step', floatType, 'step/');
  const iter = body.input('step/iter', 'int64', []);
  const condIn = body.input('step/cond_in', 'bool', []);
  const bodyParams = specs.map((p) => body.input(`step/${p.name}`, floatType, p.shape));
  const bodyVel = specs.map((p) => body.input(`step/${velocityName(p.name)}`, floatType, p.shape));
  const pick = (v: Value, hint: string) => body.emit1('Gather', [v, iter], { axis: 0 }, v.dtype, v.shape!.slice(1), hint);
  const xb = pick(x, 'x_batch');
  const yb = pick(labels, 'labels_batch');
  const bw = pick(bitsW, 'bits_w_step');
  const ba = pick(bitsA, 'bits_a_step');
  const bg = pick(bitsG, 'bits_g_step');
  const lrStep = pick(lr, 'lr_step');
  const noiseStep = pick(noise, 'noise_step');

  let noiseOffset = 0;
  const q: QuantContext = {
    bitsWeights: bw,
    bitsActivations: ba,
    errors(v) {
      const perSample = v.shape!.slice(1);
      const width = perSample.reduce<number>((n, d) => n * (d as number), 1);
      const start = noiseOffset;
      noiseOffset += width;
      let u = body.emit1('Slice', [noiseStep, body.ints([start]), body.ints([start + width]), body.ints([1])], {}, floatType, [B, width], 'noise_slice');
      if (perSample.length !== 1) u = body.emit1('Reshape', [u, body.ints([-1, ...(perSample as number[])])], {}, floatType, v.shape, 'noise_shaped');
      return quantizeErrors(body, v, bg, u);
    },
  };
  const paramMap = new Map(specs.map((p, i) => [p.name, bodyParams[i]!]));
  const logits = model.forward(body, xb, paramMap, q);
  const { loss } = softmaxCrossEntropy(body, logits, yb, model.classes);
  const correct = correctCount(body, logits, yb);
  const grads = gradients(body, loss, bodyParams);

  // SGD with momentum and (decoupled-from-bias) weight decay, PyTorch convention:
  //   g' = g + wd·p (weights only);  v' = μ·v + g';  p' = p − lr·v'
  const newParams: Value[] = [];
  const newVel: Value[] = [];
  specs.forEach((spec, i) => {
    const p = bodyParams[i]!;
    let g = grads[i]!;
    if (spec.decay) g = body.emit1('Add', [g, body.emit1('Mul', [p, weightDecay], {}, floatType, p.shape, 'decay')], {}, floatType, p.shape, 'grad_decayed');
    const v = body.emit1('Add', [body.emit1('Mul', [bodyVel[i]!, momentum], {}, floatType, p.shape, 'mom'), g], {}, floatType, p.shape, `vel_${spec.name}`);
    const step = body.emit1('Mul', [v, lrStep], {}, floatType, p.shape, 'update');
    newParams.push(body.emit1('Sub', [p, step], {}, floatType, p.shape, `new_${spec.name}`));
    newVel.push(v);
  });
  body.output(body.emit1('Identity', [condIn], {}, 'bool', [], 'cond_out'));
  newParams.forEach((v) => body.output(v));
  newVel.forEach((v) => body.output(v));
  body.output(loss);
  body.output(correct);
  noiseShape[2] = noiseOffset;

  const tripCount = outer.emit1('Shape', [x], { start: 0, end: 1 }, 'int64', [1], 'trip_count_1d');
  const trip = outer.emit1('Squeeze', [tripCount, outer.ints([0])], {}, 'int64', [], 'trip_count');
  const cond = outer.constant('bool', [], [1], 'loop_cond');
  const outs = outer.emit(
    'Loop',
    [trip, cond, ...params, ...velocities],
    { body: { kind: 'graph', value: body.toGraphData() } },
    [
      ...specs.map((p) => ({ dtype: floatType, shape: p.shape, hint: newName(p.name) })),
      ...specs.map((p) => ({ dtype: floatType, shape: p.shape, hint: newName(velocityName(p.name)) })),
      { dtype: floatType, shape: [K], hint: 'loss' },
      { dtype: floatType, shape: [K], hint: 'correct' },
    ],
  );
  outs.forEach((v) => outer.output(v));
  return {
    bytes: finish(outer, `bitcycle training model for ${model.id}: K steps of forward, backward and SGD-momentum update`),
    graph: outer,
    noiseWidth: noiseOffset,
  };
}

/** The eval model: quantized forward pass (no error quantizers), mean loss and correct count. */
export function buildEvalModel(model: ModelDef, floatType: 'float32' | 'float64' = 'float32'): BuiltModel {
  const g = new Graph('bitcycle_eval', floatType);
  const x = g.input('x', floatType, ['batch', ...model.inputShape]);
  const labels = g.input('labels', 'int64', ['batch']);
  const bitsW = g.input('bits_w', floatType, []);
  const bitsA = g.input('bits_a', floatType, []);
  const specs = model.params();
  const params = new Map(specs.map((p) => [p.name, g.input(p.name, floatType, p.shape)]));
  const logits = model.forward(g, x, params, { bitsWeights: bitsW, bitsActivations: bitsA, errors: (v) => v });
  const { loss } = softmaxCrossEntropy(g, logits, labels, model.classes);
  const correct = correctCount(g, logits, labels);
  g.output(loss, 'loss');
  g.output(correct, 'correct');
  g.output(logits, 'logits');
  return { bytes: finish(g, `bitcycle eval model for ${model.id}`), graph: g };
}

export function trainingManifest(model: ModelDef, noiseWidth: number, floatType: 'float32' | 'float64' = 'float32'): TrainingManifest {
  const specs = model.params();
  const f = floatType;
  return {
    formatVersion: 1,
    model: { name: model.name, id: model.id, inputShape: [...model.inputShape], classes: model.classes },
    floatType,
    opset: OPSET,
    training: {
      file: 'training_model.onnx',
      inputs: [
        { name: 'x', dtype: f, shape: ['steps', 'batch', ...model.inputShape] },
        { name: 'labels', dtype: 'int64', shape: ['steps', 'batch'] },
        { name: 'bits_w', dtype: f, shape: ['steps'] },
        { name: 'bits_a', dtype: f, shape: ['steps'] },
        { name: 'bits_g', dtype: f, shape: ['steps'] },
        { name: 'lr', dtype: f, shape: ['steps'] },
        { name: 'noise', dtype: f, shape: ['steps', 'batch', noiseWidth] },
        { name: 'momentum', dtype: f, shape: [] },
        { name: 'weight_decay', dtype: f, shape: [] },
      ],
      params: specs.map((p) => ({ name: p.name, dtype: f, shape: p.shape })),
      optimizerState: specs.map((p) => ({ name: velocityName(p.name), dtype: f, shape: p.shape })),
      outputs: [...specs.map((p) => newName(p.name)), ...specs.map((p) => newName(velocityName(p.name))), 'loss', 'correct'],
      noiseWidth,
    },
    eval: {
      file: 'eval_model.onnx',
      inputs: [
        { name: 'x', dtype: f, shape: ['batch', ...model.inputShape] },
        { name: 'labels', dtype: 'int64', shape: ['batch'] },
        { name: 'bits_w', dtype: f, shape: [] },
        { name: 'bits_a', dtype: f, shape: [] },
        ...specs.map((p) => ({ name: p.name, dtype: f, shape: p.shape })),
      ],
      outputs: ['loss', 'correct', 'logits'],
    },
    checkpoint: 'checkpoint.safetensors',
    params: specs.map((p) => ({ name: p.name, shape: p.shape, decay: p.decay })),
  };
}
