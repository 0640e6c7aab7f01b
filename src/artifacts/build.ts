/**
 * Training artifacts, in onnxruntime's training vocabulary:
 *   training_model.onnx — K steps of forward + backward + optimizer update (src/optim) in one ONNX `Loop`
 *                         (K = first dimension of the batch inputs, 1 for a single step);
 *   eval_model.onnx     — forward pass, loss and correct count;
 *   checkpoint          — parameters + optimizer state (see checkpoint.ts);
 *   manifest.json       — which input/output is which, derived from the built graphs.
 * Bit-widths, learning rate and the stochastic-rounding noise key are inputs, so one artifact serves every
 * precision schedule. Input/output names come from ./interface.ts (shared with the engine).
 */
import { VERSION } from '../version.js';
import { type Dim, Graph, ONNX_TYPE, type Value } from '../graph/builder.js';
import { gradients } from '../graph/autodiff.js';
import { mul } from '../graph/ops/math.js';
import { correctCount, softmaxCrossEntropy } from '../graph/ops/loss.js';
import { encodeModel } from '../graph/proto.js';
import { LAYERS, bufferValue, forwardEval, layerEntry, layerPrecisions, modelLayers } from '../models/layers.js';
import type { BitCentre, ModelDef, QuantContext } from '../models/model.js';
import type { LayerShape } from '../models/shapes.js';
import { integerProducts } from '../quant/integer.js';
import { NOISE_UNIT, StepNoise } from '../quant/noise.js';
import type { Noise } from '../quant/quantizers.js';
import { type ErrorNumerics, quantizeErrors } from '../quant/quantizers.js';
import { FORMAT_FIELDS } from '../quant/float-quant.js';
import { INPUT, OUTPUT, newName } from './interface.js';
import { type OptimizerSpec, SGD, adamInput, emitGlobal, emitUpdate, globalSlots, optimizerName, parameterSlots, stateName, usesAnchor } from '../optim/optimizer.js';
import { optimizerPrecisionName } from '../optim/precision.js';

export const OPSET = 17;
const GRADIENT_FILE = 'gradient_model.onnx';
export const IR_VERSION = 8;
export const PRODUCER = 'bitcycle';

export interface TensorSpec {
  name: string;
  dtype: 'float32' | 'float64' | 'int64' | 'int32' | 'uint32';
  shape: Dim[];
}

export interface TrainingManifest {
  formatVersion: 4;
  model: { name: string; id: string; inputShape: number[]; classes: number };
  floatType: 'float32' | 'float64';
  /** The optimizer the training model's update is (canonical spec, src/optim/optimizer.ts). */
  optimizer: string;
  /** The precision of its gradient, momentum and weights (src/optim/precision.ts; '' = fp32). */
  optimizerPrecision: string;
  opset: number;
  training: {
    file: string;
    /** Data and per-step inputs (first dim K = steps per call). */
    inputs: TensorSpec[];
    /** Parameter inputs, in order; outputs are `<name>.new`. */
    params: TensorSpec[];
    /**
     * Optimizer state inputs: each parameter's slots (`<param>.velocity` for SGD, `<param>.exp_avg`
     * and `.exp_avg_sq` for Adam), parameter by parameter, then the global state
     * (`optimizer.step`); outputs `.new`.
     */
    optimizerState: TensorSpec[];
    /** Model buffers (running statistics and ranges), inputs after the optimizer state; outputs `.new`. */
    buffers: TensorSpec[];
    /** Per-step outputs of shape [K]. */
    outputs: string[];
    /** Error quantizers in one step (each draws its stochastic-rounding noise from the step's key). */
    errorQuantizers: number;
    /** Quantized layers the `int_kernels` path runs on integer GEMMs (0: that input is ignored). */
    integerLayers: number;
    /**
     * Largest number of rows per sample an integer weight-gradient product reduces over (1 for a
     * linear layer, Ho·Wo for a convolution): batch × this must stay ≤ MAX_INT_REDUCTION.
     */
    integerRowsPerSample: number;
  };
  eval: { file: string; inputs: TensorSpec[]; outputs: string[] };
  /** The gradient model (SVRG's full gradients), when the optimizer takes them. */
  gradient?: { file: string; inputs: TensorSpec[]; outputs: string[] };
  checkpoint: string;
  /**
   * The quantized GEMM layers (those not kept at full precision), in the order of the entries of
   * the per-layer precision inputs (`bits_*` [steps, layers], `format_*` [steps, layers, fields]).
   */
  quantizedLayers: string[];
  params: { name: string; shape: number[]; decay: boolean }[];
  /** Non-trainable state, read by the eval model (batch-norm statistics, activation ranges). */
  buffers: { name: string; shape: number[] }[];
}

export interface BuiltModel {
  bytes: Uint8Array;
  graph: Graph;
  /** GEMM layers recorded while building the forward pass (for the training model: the Loop body's). */
  layers: LayerShape[];
}

export interface BuiltTrainingModel extends BuiltModel {
  optimizer: OptimizerSpec;
  /** Error quantizers in one step. */
  errorQuantizers: number;
  /** Layers the integer-kernel Loop runs on integer GEMMs (0: the model has only the fp32 Loop). */
  integerLayers: number;
  /** Rows per sample the integer weight-gradient products reduce over, at most (see the manifest). */
  integerRowsPerSample: number;
}

/** A graph as an ONNX model of this opset and IR version. */
export function finish(g: Graph, doc: string): Uint8Array {
  return encodeModel({
    irVersion: IR_VERSION,
    opsetVersion: OPSET,
    producerName: PRODUCER,
    producerVersion: VERSION,
    graph: g.toGraphData({ docString: doc }),
  });
}

/** The graph inputs a training Loop reads (from its enclosing scope). */
interface LoopInputs {
  x: Value;
  labels: Value;
  bitsW: Value;
  bitsA: Value;
  bitsG: Value;
  formatW: Value;
  formatA: Value;
  formatG: Value;
  lossScaling: Value;
  lossScaleState: Value;
  lr: Value;
  noiseKey: Value;
  momentum: Value;
  weightDecay: Value;
  params: Value[];
  /** Each parameter's optimizer slots, parameter by parameter. */
  slots: Value[];
  /** Global optimizer state (Adam's step count). */
  globals: Value[];
  /** Adam's [beta1, beta2, eps]. */
  adam?: Value;
  buffers: Value[];
}

/**
 * The training model: an outer graph whose only work is a Loop over the K batches given.
 * Loop-carried: parameters, optimizer state and buffers. Scan outputs: loss and correct count per step.
 * The Loop exists twice, in the branches of an `If` on the `int_kernels` input: one body runs the
 * quantized linear layers on integer kernels (src/quant/integer.ts; every bit-width of the chunk
 * ≤ 8, the engine's choice), the other in fp32 on fake-quantized values. Both compute the same
 * quantizers with the same codes and noise. A model without an integer-capable layer (or a
 * float64 graph) has only the fp32 Loop.
 */
export function buildTrainingModel(model: ModelDef, floatType: 'float32' | 'float64' = 'float32', optimizer: OptimizerSpec = SGD): BuiltTrainingModel {
  const outer = new Graph('bitcycle_training', floatType);
  const K = 'steps';
  const B = 'batch';
  const specs = model.params();
  const bufferSpecs = model.buffers();
  const inputs: LoopInputs = {
    x: outer.input(INPUT.x, floatType, [K, B, ...model.inputShape]),
    labels: outer.input(INPUT.labels, 'int64', [K, B]),
    bitsW: outer.input(INPUT.bitsWeights, floatType, [K, LAYERS]),
    bitsA: outer.input(INPUT.bitsActivations, floatType, [K, LAYERS]),
    bitsG: outer.input(INPUT.bitsGrad, floatType, [K, LAYERS]),
    formatW: outer.input(INPUT.formatWeights, floatType, [K, LAYERS, FORMAT_FIELDS]),
    formatA: outer.input(INPUT.formatActivations, floatType, [K, LAYERS, FORMAT_FIELDS]),
    formatG: outer.input(INPUT.formatGrad, floatType, [K, LAYERS, FORMAT_FIELDS]),
    lossScaling: outer.input(INPUT.lossScaling, floatType, [5]),
    lossScaleState: outer.input(INPUT.lossScaleState, floatType, [2]),
    lr: outer.input(INPUT.lr, floatType, [K]),
    noiseKey: outer.input(INPUT.noiseKey, 'uint32', [K]),
    momentum: outer.input(INPUT.momentum, floatType, []),
    weightDecay: outer.input(INPUT.weightDecay, floatType, []),
    params: [],
    slots: [],
    globals: [],
    buffers: [],
  };
  const intKernels = outer.input(INPUT.intKernels, 'int64', []);
  inputs.params = specs.map((p) => outer.input(p.name, floatType, p.shape));
  const slots = parameterSlots(optimizer);
  inputs.slots = specs.flatMap((p) => slots.map((s) => outer.input(stateName(p.name, s), floatType, p.shape)));
  inputs.globals = globalSlots(optimizer).map((name) => outer.input(name, floatType, []));
  if (adamInput(optimizer)) inputs.adam = outer.input(INPUT.adam, floatType, [3]);
  inputs.buffers = bufferSpecs.map((b) => outer.input(b.name, floatType, b.shape));

  const outNames = [
    ...specs.map((p) => newName(p.name)),
    ...specs.flatMap((p) => slots.map((s) => newName(stateName(p.name, s)))),
    ...globalSlots(optimizer).map(newName),
    ...bufferSpecs.map((b) => newName(b.name)),
    newName(INPUT.lossScaleState),
    OUTPUT.loss,
    OUTPUT.correct,
    OUTPUT.lossScale,
    OUTPUT.skipped,
    OUTPUT.underflow,
    OUTPUT.overflow,
  ];
  const docString = `bitcycle training model for ${model.id}: K steps of forward, backward and ${optimizerName(optimizer)} update`;
  // the layers with integer products, by the rule the integer body is built with
  const capable = floatType === 'float32' ? modelLayers(model).filter((l) => integerProducts(l).length > 0) : [];
  if (capable.length === 0) {
    // no integer branch: the fp32 Loop's nodes go straight into the outer graph
    const loop = emitTrainingLoop(model, outer, inputs, false, outNames, optimizer);
    loop.outputs.forEach((v, i) => outer.output(v, outNames[i]));
    return { bytes: finish(outer, docString), graph: outer, layers: loop.layers, errorQuantizers: loop.errorQuantizers, integerLayers: 0, integerRowsPerSample: 0, optimizer };
  }
  // rows per sample of the integer weight-gradient products: 1 (linear), Ho·Wo (convolution)
  const integerRowsPerSample = Math.max(...capable.filter((l) => integerProducts(l).includes('weightGrad')).map((l) => l.positions));
  const integer = new Graph('int_kernels', floatType, 'int/');
  const intLoop = emitTrainingLoop(model, integer, inputs, true, outNames, optimizer);
  const fake = new Graph('fp32_kernels', floatType, 'fp/');
  const fakeLoop = emitTrainingLoop(model, fake, inputs, false, outNames, optimizer);
  fakeLoop.outputs.forEach((v) => fake.output(v));
  intLoop.outputs.forEach((v) => integer.output(v));
  const useInt = outer.emit1('Cast', [intKernels], { to: ONNX_TYPE.bool }, 'bool', [], 'use_int_kernels');
  const outs = outer.emit(
    'If',
    [useInt],
    { then_branch: { kind: 'graph', value: integer.toGraphData() }, else_branch: { kind: 'graph', value: fake.toGraphData() } },
    fakeLoop.outputs.map((v, i) => ({ dtype: v.dtype, shape: v.shape, hint: outNames[i] })),
  );
  // Declared under the interface names (throws if a hint above was taken and renamed).
  outs.forEach((v, i) => outer.output(v, outNames[i]));
  return { bytes: finish(outer, docString), graph: outer, layers: fakeLoop.layers, errorQuantizers: fakeLoop.errorQuantizers, integerLayers: capable.length, integerRowsPerSample, optimizer };
}

/** One training Loop emitted into `scope` (the outer graph or a branch of its `If`). */
function emitTrainingLoop(
  model: ModelDef,
  scope: Graph,
  { x, labels, bitsW, bitsA, bitsG, formatW, formatA, formatG, lossScaling, lossScaleState, lr, noiseKey, momentum, weightDecay, params, slots, globals, adam, buffers }: LoopInputs,
  integer: boolean,
  names: readonly string[],
  optimizer: OptimizerSpec,
): { outputs: Value[]; layers: LayerShape[]; errorQuantizers: number } {
  const floatType = scope.floatType;
  const K = 'steps';
  const specs = model.params();
  const bufferSpecs = model.buffers();
  // Loop body: one training step on batch `iter`.
  const at = (name: string) => `${scope.prefix}step/${name}`;
  const body = new Graph('train_step', floatType, at(''));
  const iter = body.input(at('iter'), 'int64', []);
  const condIn = body.input(at('cond_in'), 'bool', []);
  const bodyParams = specs.map((p) => body.input(at(p.name), floatType, p.shape));
  const slotNames = parameterSlots(optimizer);
  const globalNames = globalSlots(optimizer);
  const bodySlots = specs.map((p) => slotNames.map((s) => body.input(at(stateName(p.name, s)), floatType, p.shape)));
  const bodyGlobals = globalNames.map((name) => body.input(at(name), floatType, []));
  const bodyBuffers = new Map(bufferSpecs.map((b) => [b.name, body.input(at(b.name), floatType, b.shape)]));
  const bodyScale = body.input(at(INPUT.lossScaleState), floatType, [2]);
  const newBuffers = new Map<string, Value>();
  const pick = (v: Value, hint: string) => body.emit1('Gather', [v, iter], { axis: 0 }, v.dtype, v.shape!.slice(1), hint);
  const xb = pick(x, 'x_batch');
  const yb = pick(labels, 'labels_batch');
  const bw = pick(bitsW, 'bits_w_step');
  const ba = pick(bitsA, 'bits_a_step');
  const bg = pick(bitsG, 'bits_g_step');
  // a float64 graph (gradient checks) quantizes on integer grids only
  const fmt = (v: Value, hint: string) => (floatType === 'float32' ? pick(v, hint) : undefined);
  const fw = fmt(formatW, 'format_w_step');
  const fa = fmt(formatA, 'format_a_step');
  const fg = fmt(formatG, 'format_g_step');
  const lrStep = pick(lr, 'lr_step');
  // stochastic-rounding noise: generated in the graph from the step's key (src/quant/noise.ts)
  const noise = new StepNoise(scope, noiseKey, body, iter);
  const scaling = (i: number, hint: string) => body.emit1('Gather', [lossScaling, body.constant('int64', [], [i], 'index')], { axis: 0 }, floatType, [], hint);
  const numerics: ErrorNumerics | undefined = fg
    ? { layerwise: body.emit1('Greater', [scaling(3, 'ls_layerwise_f'), body.scalar(0)], {}, 'bool', [], 'ls_layerwise'), counts: [] }
    : undefined;
  // each quantized layer's entries of the step's per-layer precisions, gathered once
  const layer = layerPrecisions(body, { bitsWeights: bw, bitsActivations: ba, formatWeights: fw, formatActivations: fa });
  const errorBits = new Map<number, { bits: Value; format?: Value }>();
  const errorsOf = (i: number) => {
    let e = errorBits.get(i);
    if (!e) errorBits.set(i, (e = { bits: layerEntry(body, bg, i, `bits_g_l${i}`), format: fg ? layerEntry(body, fg, i, `format_g_l${i}`) : undefined }));
    return e;
  };
  // HALP: bit-centred linear layers, Q(x) at its B bits shared by the two passes
  const centre = (pass: 'main' | 'anchor'): BitCentre | undefined =>
    optimizer.kind === 'halp' && floatType === 'float32'
      ? { pass, bits: centreBits!, quantized: centreCache, anchorWeight: (name) => bodySlots[specs.findIndex((p) => p.name === name)]![0]! }
      : undefined;
  const centreBits = optimizer.kind === 'halp' ? body.constant(floatType, [], [optimizer.bits], 'halp_bits') : undefined;
  const centreCache = new Map<string, Value>();
  const q: QuantContext = {
    mode: 'train',
    layer,
    centre: centre('main'),
    buffer: (name) => bufferValue(bodyBuffers, name, model),
    setBuffer(name, value) {
      bufferValue(bodyBuffers, name, model);
      if (newBuffers.has(name)) throw new Error(`model ${model.id}: buffer ${name} set twice in one step`);
      newBuffers.set(name, value);
    },
    errors: (v, i) => quantizeErrors(body, v, errorsOf(i).bits, { value: noise.emitRaw(v), unit: NOISE_UNIT }, errorsOf(i).format, numerics),
    integer: integer ? { bitsErrors: (i) => errorsOf(i).bits, noise: (like) => noise.emitRaw(like), noiseUnit: NOISE_UNIT } : undefined,
  };
  const paramMap = new Map(specs.map((p, i) => [p.name, bodyParams[i]!]));
  const logits = model.forward(body, xb, paramMap, q);
  const { loss } = softmaxCrossEntropy(body, logits, yb, model.classes);
  const correct = correctCount(body, logits, yb);
  // Loss scaling (docs/number-formats.md): the backward pass starts from S·loss, so every error is
  // S times larger where it is quantized; the gradients are divided by S again before the update.
  const part = (i: number, hint: string) => body.emit1('Gather', [bodyScale, body.constant('int64', [], [i], 'index')], { axis: 0 }, floatType, [], hint);
  const scale = part(0, 'loss_scale');
  const good = part(1, 'ls_good');
  // the loss weight w multiplies the objective (its gradients stay w times larger): w·S·loss
  const scaledLoss = mul(body, loss, body.emit1('Mul', [scale, scaling(4, 'loss_weight')], {}, floatType, [], 'loss_seed'));
  const grads = gradients(body, scaledLoss, bodyParams) as Value[];
  // SVRG: the same batch's gradient at the anchor p̃ (a second forward and backward pass, through
  // the same quantizers, without error quantizers or buffer updates), for ∇fᵢ(p) − ∇fᵢ(p̃) + μ̃
  const anchorGrads = usesAnchor(optimizer)
    ? body.replay(() => {
        const anchors = bodySlots.map((s) => s[0]!);
        const anchorQ: QuantContext = { mode: 'train', layer, errors: (v) => v, buffer: (name) => bufferValue(bodyBuffers, name, model), setBuffer() {}, centre: centre('anchor') };
        const anchorLogits = model.forward(body, xb, new Map(specs.map((p, i) => [p.name, anchors[i]!])), anchorQ);
        const anchorLoss = softmaxCrossEntropy(body, anchorLogits, yb, model.classes).loss;
        return gradients(body, mul(body, anchorLoss, scaling(4, 'loss_weight_anchor')), anchors) as Value[];
      })
    : null;
  // the error quantizers drew their noise; the optimizer's stochastic roundings draw after them
  const errorQuantizers = noise.layers;
  const precision = optimizer.precision ?? {};
  const draw = (like: Value): Noise => {
    const size = like.shape!.reduce<number>((n, d) => n * (d as number), 1);
    const flat = body.emit1('Reshape', [like, body.ints([1, size])], {}, floatType, [1, size], 'optim_noise_like');
    const raw = noise.emitRaw(flat);
    return { value: body.emit1('Reshape', [raw, body.ints(like.shape as number[])], {}, floatType, like.shape, 'optim_noise'), unit: NOISE_UNIT };
  };
  const optimNoise = bodyParams.map((p) => ({
    ...(precision.grad?.stochastic ? { grad: draw(p) } : {}),
    ...(precision.momentum?.stochastic ? { momentum: slotNames.map(() => draw(p)) } : {}),
    ...(precision.weights?.stochastic ? { weights: draw(p) } : {}),
    ...(optimizer.kind === 'halp' ? { halp: draw(p) } : {}),
  }));

  // The optimizer's update (src/optim/optimizer.ts), emitted into `g`: each parameter and its
  // slots, then the global state; `keep` (a skipped step) keeps an old value instead of the new.
  const optimize = (g: Graph, gradOf: (i: number) => Value, keep?: (next: Value, old: Value, hint: string) => Value): void => {
    const nextGlobals = emitGlobal(optimizer, g, bodyGlobals);
    const context = { lr: lrStep, weightDecay, momentum, adam, step: nextGlobals[0], halpScale: optimizer.kind === 'halp' ? bodyGlobals[0] : undefined };
    specs.forEach((spec, i) => {
      const u = emitUpdate(optimizer, g, { param: bodyParams[i]!, grad: gradOf(i), state: bodySlots[i]!, decay: spec.decay, name: spec.name, noise: optimNoise[i], anchorGrad: anchorGrads?.[i] }, context);
      g.output(keep ? keep(u.param, bodyParams[i]!, `kept_${spec.name}`) : u.param);
      u.state.forEach((v, j) => g.output(keep ? keep(v, bodySlots[i]![j]!, `kept_${slotNames[j]}_${spec.name}`) : v));
    });
    nextGlobals.forEach((v, j) => g.output(keep ? keep(v, bodyGlobals[j]!, `kept_${globalNames[j]}`) : v));
  };
  // Without a static or dynamic loss scale the update takes the gradients as they are and S stays 1: an `If` spares it
  // the division, the finiteness probe, the keep-or-update choice per parameter and the scale's
  // update, so such runs compute what they always did, bit for bit.
  const prefix = at('ls_if/');
  const plain = new Graph('sgd', floatType, `${prefix}p/`);
  optimize(plain, (i) => grads[i]!);
  plain.output(plain.emit1('Identity', [plain.constant('bool', [], [0], 'no_skip')], {}, 'bool', [], 'not_skipped'));
  // With it: the gradients are divided by S; a dynamic scale skips a step whose gradients are not
  // all finite (Σ g·0 is NaN exactly then), keeping the weights and the momentum.
  const scaled = new Graph('sgd_scaled', floatType, `${prefix}s/`);
  const field = (i: number, hint: string) => scaled.emit1('Gather', [lossScaling, scaled.constant('int64', [], [i], 'index')], { axis: 0 }, floatType, [], hint);
  const dynamic = scaled.emit1('Greater', [field(1, 'ls_dynamic_f'), scaled.scalar(0)], {}, 'bool', [], 'ls_dynamic');
  const unscaled = grads.map((g, i) => scaled.emit1('Div', [g, scale], {}, floatType, bodyParams[i]!.shape, 'grad_unscaled'));
  const probe = unscaled.map((g) => scaled.emit1('ReduceSum', [scaled.emit1('Mul', [g, scaled.scalar(0)], {}, floatType, g.shape, 'ls_zeroed')], { keepdims: 0 }, floatType, [], 'ls_probe'));
  const probeSum = probe.reduce((a, b) => scaled.emit1('Add', [a, b], {}, floatType, [], 'ls_probe_sum'));
  const finite = scaled.emit1('Equal', [probeSum, scaled.scalar(0)], {}, 'bool', [], 'ls_grads_finite');
  const skipped = scaled.emit1('And', [dynamic, scaled.emit1('Not', [finite], {}, 'bool', [], 'ls_bad')], {}, 'bool', [], 'ls_skip');
  optimize(scaled, (i) => unscaled[i]!, (next, old, hint) => scaled.emit1('Where', [skipped, old, next], {}, floatType, old.shape, hint));
  scaled.output(scaled.emit1('Identity', [skipped], {}, 'bool', [], 'skipped'));
  // S halves after a skipped step and doubles after `growth interval` good steps in a row
  const nextGood = scaled.emit1('Add', [good, scaled.scalar(1)], {}, floatType, [], 'ls_good_next');
  const grow = scaled.emit1('And', [dynamic, scaled.emit1('GreaterOrEqual', [nextGood, field(2, 'ls_interval')], {}, 'bool', [], 'ls_due')], {}, 'bool', [], 'ls_grow');
  const newScale = scaled.emit1(
    'Where',
    [skipped, scaled.emit1('Mul', [scale, scaled.scalar(0.5)], {}, floatType, [], 'ls_backoff'), scaled.emit1('Where', [grow, scaled.emit1('Mul', [scale, scaled.scalar(2)], {}, floatType, [], 'ls_growth'), scale], {}, floatType, [], 'ls_kept')],
    {},
    floatType,
    [],
    'ls_scale_new',
  );
  const newGood = scaled.emit1('Where', [scaled.emit1('Or', [skipped, grow], {}, 'bool', [], 'ls_reset'), scaled.scalar(0), scaled.emit1('Where', [dynamic, nextGood, good], {}, floatType, [], 'ls_count')], {}, floatType, [], 'ls_good_new');
  const unsqS = (v: Value, hint: string) => scaled.emit1('Unsqueeze', [v, scaled.ints([0])], {}, floatType, [1], hint);
  scaled.output(scaled.emit1('Concat', [unsqS(newScale, 'ls_s'), unsqS(newGood, 'ls_g')], { axis: 0 }, floatType, [2], 'loss_scale_state_new'));
  plain.output(plain.emit1('Identity', [bodyScale], {}, floatType, [2], 'loss_scale_state_kept'));
  // a static or dynamic loss scale (the `active` field): else S stays 1 and nothing is divided
  const active = body.emit1('Greater', [scaling(0, 'ls_active_f'), body.scalar(0)], {}, 'bool', [], 'ls_active');
  const updated = body.emit(
    'If',
    [active],
    { then_branch: { kind: 'graph', value: scaled.toGraphData() }, else_branch: { kind: 'graph', value: plain.toGraphData() } },
    [
      ...specs.flatMap((p) => [{ dtype: floatType, shape: p.shape, hint: `new_${p.name}` }, ...slotNames.map((s) => ({ dtype: floatType, shape: p.shape, hint: `${s}_${p.name}` }))]),
      ...globalNames.map((name) => ({ dtype: floatType, shape: [] as Dim[], hint: `${name}_new` })),
      { dtype: 'bool' as const, shape: [], hint: 'ls_skip' },
      { dtype: floatType, shape: [2], hint: 'loss_scale_state_new' },
    ],
  );
  const perParam = 1 + slotNames.length;
  const newParams = specs.map((_, i) => updated[perParam * i]!);
  const newSlots = specs.flatMap((_, i) => slotNames.map((_s, j) => updated[perParam * i + 1 + j]!));
  const afterParams = perParam * specs.length;
  const newGlobals = globalNames.map((_, j) => updated[afterParams + j]!);
  const skip = updated[afterParams + globalNames.length]!;
  const newScaleState = updated[afterParams + globalNames.length + 1]!;
  const unsq = (v: Value, hint: string) => body.emit1('Unsqueeze', [v, body.ints([0])], {}, floatType, [1], hint);
  body.output(body.emit1('Identity', [condIn], {}, 'bool', [], 'cond_out'));
  newParams.forEach((v) => body.output(v));
  newSlots.forEach((v) => body.output(v));
  newGlobals.forEach((v) => body.output(v));
  // a buffer the step does not set is carried unchanged
  bufferSpecs.forEach((b) => body.output(newBuffers.get(b.name) ?? body.emit1('Identity', [bodyBuffers.get(b.name)!], {}, floatType, b.shape, 'buffer_kept')));
  body.output(newScaleState);
  body.output(loss);
  body.output(correct);
  body.output(body.emit1('Identity', [scale], {}, floatType, [], 'loss_scale_used'));
  body.output(body.emit1('Cast', [skip], { to: ONNX_TYPE[floatType] }, floatType, [], 'skipped'));
  // per error quantizer, in the order the backward pass emitted them (last layer first)
  const counts = numerics?.counts ?? [];
  const stack = (values: Value[], hint: string) =>
    values.length ? body.emit1('Concat', values.map((v) => unsq(v, `${hint}_one`)), { axis: 0 }, floatType, [values.length], hint) : body.constant(floatType, [0], [], hint);
  body.output(stack(counts.map((c) => c.underflow), 'underflow_counts'));
  body.output(stack(counts.map((c) => c.overflow), 'overflow_counts'));
  const batchDim = scope.emit1('Shape', [x], { start: 1, end: 2 }, 'int64', [1], 'batch_1d');
  noise.finish(scope.emit1('Squeeze', [batchDim, scope.ints([0])], {}, 'int64', [], 'batch'));

  const tripCount = scope.emit1('Shape', [x], { start: 0, end: 1 }, 'int64', [1], 'trip_count_1d');
  const trip = scope.emit1('Squeeze', [tripCount, scope.ints([0])], {}, 'int64', [], 'trip_count');
  const cond = scope.constant('bool', [], [1], 'loop_cond');
  // the integer-kernel body counts fewer (its integer layers quantize their own errors, on grids,
  // where nothing underflows): the width is symbolic and the engine reads a missing count as 0
  const quantizers = 'error_quantizers';
  const outputs = scope.emit(
    'Loop',
    [trip, cond, ...params, ...slots, ...globals, ...buffers, lossScaleState],
    { body: { kind: 'graph', value: body.toGraphData() } },
    [
      ...specs.map((p) => ({ dtype: floatType, shape: p.shape })),
      ...specs.flatMap((p) => slotNames.map(() => ({ dtype: floatType, shape: p.shape }))),
      ...globalNames.map(() => ({ dtype: floatType, shape: [] as Dim[] })),
      ...bufferSpecs.map((b) => ({ dtype: floatType, shape: b.shape })),
      { dtype: floatType, shape: [2] },
      { dtype: floatType, shape: [K] },
      { dtype: floatType, shape: [K] },
      { dtype: floatType, shape: [K] },
      { dtype: floatType, shape: [K] },
      { dtype: floatType, shape: [K, quantizers] },
      { dtype: floatType, shape: [K, quantizers] },
    ].map((o, i) => ({ ...o, hint: names[i] })),
  );
  return { outputs, layers: [...body.layers], errorQuantizers };
}

/**
 * The eval model: quantized forward pass (no error quantizers; batch norm and activation ranges
 * from the running buffers), mean loss and correct count.
 */
export function buildEvalModel(model: ModelDef, floatType: 'float32' | 'float64' = 'float32'): BuiltModel {
  const g = new Graph('bitcycle_eval', floatType);
  const x = g.input(INPUT.x, floatType, ['batch', ...model.inputShape]);
  const labels = g.input(INPUT.labels, 'int64', ['batch']);
  const bitsWeights = g.input(INPUT.bitsWeights, floatType, [LAYERS]);
  const bitsActivations = g.input(INPUT.bitsActivations, floatType, [LAYERS]);
  const formatWeights = g.input(INPUT.formatWeights, floatType, [LAYERS, FORMAT_FIELDS]);
  const formatActivations = g.input(INPUT.formatActivations, floatType, [LAYERS, FORMAT_FIELDS]);
  // a float64 graph (gradient checks) quantizes on integer grids only
  const formats = floatType === 'float32' ? { formatWeights, formatActivations } : {};
  const logits = forwardEval(g, model, x, { bitsWeights, bitsActivations, ...formats });
  const { loss } = softmaxCrossEntropy(g, logits, labels, model.classes);
  const correct = correctCount(g, logits, labels);
  g.output(loss, OUTPUT.loss);
  g.output(correct, OUTPUT.correct);
  g.output(logits, OUTPUT.logits);
  return { bytes: finish(g, `bitcycle eval model for ${model.id}`), graph: g, layers: [...g.layers] };
}

/**
 * The gradient model (SVRG's full gradient, src/optim): the training-mode forward pass of one batch
 * (batch statistics; buffers read, not updated; no error quantizers), its mean loss and the
 * gradient of that loss for every parameter (`<param>.grad`). Inputs: x, labels, bits_w, bits_a
 * [layers], format_w, format_a [layers, FORMAT_FIELDS], every parameter, every buffer.
 */
export function buildGradientModel(model: ModelDef): BuiltModel {
  const g = new Graph('bitcycle_gradient', 'float32');
  const x = g.input(INPUT.x, 'float32', ['batch', ...model.inputShape]);
  const labels = g.input(INPUT.labels, 'int64', ['batch']);
  const precision = {
    bitsWeights: g.input(INPUT.bitsWeights, 'float32', [LAYERS]),
    bitsActivations: g.input(INPUT.bitsActivations, 'float32', [LAYERS]),
    formatWeights: g.input(INPUT.formatWeights, 'float32', [LAYERS, FORMAT_FIELDS]),
    formatActivations: g.input(INPUT.formatActivations, 'float32', [LAYERS, FORMAT_FIELDS]),
  };
  const specs = model.params();
  const params = specs.map((p) => g.input(p.name, 'float32', p.shape));
  const buffers = new Map(model.buffers().map((b) => [b.name, g.input(b.name, 'float32', b.shape)]));
  const q: QuantContext = { mode: 'train', layer: layerPrecisions(g, precision), errors: (v) => v, buffer: (name) => bufferValue(buffers, name, model), setBuffer() {} };
  const logits = model.forward(g, x, new Map(specs.map((p, i) => [p.name, params[i]!])), q);
  const { loss } = softmaxCrossEntropy(g, logits, labels, model.classes);
  g.output(loss, OUTPUT.loss);
  (gradients(g, loss, params) as Value[]).forEach((v, i) => g.output(v, gradName(specs[i]!.name)));
  return { bytes: finish(g, `bitcycle gradient model for ${model.id}`), graph: g, layers: [...g.layers] };
}

/** The gradient model's output for a parameter: `<param>.grad`. */
export function gradName(param: string): string {
  return `${param}.grad`;
}

/** Training model, eval model and manifest of a model: everything but the checkpoint. */
export interface Artifacts {
  training: BuiltTrainingModel;
  eval: BuiltModel;
  /** The gradient model, for optimizers that take full gradients (SVRG). */
  gradient?: BuiltModel;
  manifest: TrainingManifest;
  /** GEMM layer shapes of one training step, as recorded while building it (for the cost model). */
  layers: LayerShape[];
}

export function buildArtifacts(model: ModelDef, optimizer: OptimizerSpec = SGD, options: { gradient?: boolean } = {}): Artifacts {
  const training = buildTrainingModel(model, 'float32', optimizer);
  const evalModel = buildEvalModel(model);
  const gradient = usesAnchor(optimizer) || options.gradient ? { gradient: buildGradientModel(model) } : {};
  return { training, eval: evalModel, ...gradient, manifest: trainingManifest(model, training, evalModel, gradient.gradient), layers: training.layers };
}

function tensorSpec(v: Value, file: string): TensorSpec {
  if (v.dtype === 'bool' || v.dtype === 'uint8' || v.dtype === 'int8') throw new Error(`${file}: ${v.name} is ${v.dtype}, which the manifest does not describe`);
  if (v.shape === null) throw new Error(`${file}: ${v.name} has no build-time shape`);
  return { name: v.name, dtype: v.dtype, shape: [...v.shape] };
}

/**
 * The manifest, read off the built graphs: names, dtypes and build-time shapes of their inputs and
 * outputs. Training inputs are split into data/per-step inputs, parameters and optimizer state by
 * the parameter names of `model`.
 */
export function trainingManifest(model: ModelDef, training: BuiltTrainingModel, evalModel: BuiltModel, gradient?: BuiltModel): TrainingManifest {
  const trainingFile = 'training_model.onnx';
  const evalFile = 'eval_model.onnx';
  const specs = model.params();
  const inputs = new Map(training.graph.inputs.map((v) => [v.name, v]));
  const input = (name: string): TensorSpec => {
    const v = inputs.get(name);
    if (!v) throw new Error(`${trainingFile}: no input ${name}`);
    return tensorSpec(v, trainingFile);
  };
  const bufferSpecs = model.buffers();
  const optimizerState = [...specs.flatMap((p) => parameterSlots(training.optimizer).map((s) => stateName(p.name, s))), ...globalSlots(training.optimizer)];
  const stateNames = new Set([...specs.map((p) => p.name), ...optimizerState, ...bufferSpecs.map((b) => b.name)]);
  return {
    formatVersion: 4,
    model: { name: model.name, id: model.id, inputShape: [...model.inputShape], classes: model.classes },
    floatType: training.graph.floatType,
    optimizer: optimizerName(training.optimizer),
    optimizerPrecision: optimizerPrecisionName(training.optimizer.precision ?? {}),
    opset: OPSET,
    training: {
      file: trainingFile,
      inputs: training.graph.inputs.filter((v) => !stateNames.has(v.name)).map((v) => tensorSpec(v, trainingFile)),
      params: specs.map((p) => input(p.name)),
      optimizerState: optimizerState.map(input),
      buffers: bufferSpecs.map((b) => input(b.name)),
      outputs: training.graph.outputs.map((v) => v.name),
      errorQuantizers: training.errorQuantizers,
      integerLayers: training.integerLayers,
      integerRowsPerSample: training.integerRowsPerSample,
    },
    eval: {
      file: evalFile,
      inputs: evalModel.graph.inputs.map((v) => tensorSpec(v, evalFile)),
      outputs: evalModel.graph.outputs.map((v) => v.name),
    },
    ...(gradient
      ? { gradient: { file: GRADIENT_FILE, inputs: gradient.graph.inputs.map((v) => tensorSpec(v, GRADIENT_FILE)), outputs: gradient.graph.outputs.map((v) => v.name) } }
      : {}),
    checkpoint: 'checkpoint.safetensors',
    quantizedLayers: training.layers.filter((l) => !l.fullPrecision).map((l) => l.name),
    params: specs.map((p) => ({ name: p.name, shape: p.shape, decay: p.decay })),
    buffers: bufferSpecs.map((b) => ({ name: b.name, shape: b.shape })),
  };
}
