/**
 * The artifacts' interface: names of the non-parameter inputs and outputs of the training and
 * eval models, and of the inputs/outputs derived from parameter names. The builder
 * (./build.ts) declares the graphs' inputs and outputs with these names, the manifest lists them
 * as the built graphs have them, and the engine (src/engine/trainer.ts) feeds and fetches by them.
 *
 * Training model inputs, in order: x, labels, bits_w, bits_a, bits_g, format_w, format_a,
 * format_g, loss_scaling, loss_scale_state, lr, noise_key, momentum, weight_decay, int_kernels,
 * every parameter, the optimizer's state (each parameter's slots, e.g. `velocityName(parameter)`,
 * then its global state), adam (Adam/AdamW), every model buffer; outputs: `newName(...)` of each
 * parameter, optimizer state and buffer, then loss and correct and the numerics. Eval model inputs: x, labels, bits_w, bits_a, format_w,
 * format_a, every parameter, every buffer; outputs: loss, correct, logits.
 */
export const INPUT = {
  /** Samples: [steps, batch, …] (training), [batch, …] (eval). */
  x: 'x',
  /** Class indices (int64): [steps, batch] (training), [batch] (eval). */
  labels: 'labels',
  /**
   * Bit-widths per quantized layer (`TrainingManifest.quantizedLayers`, in that order):
   * [steps, layers] (training), [layers] (eval). A precision plan (src/formats/layer-plan.ts) gives
   * layers different values; without one every layer has the run's.
   */
  bitsWeights: 'bits_w',
  bitsActivations: 'bits_a',
  /** Error (gradient) bit-width; training only. */
  bitsGrad: 'bits_g',
  /**
   * Format descriptors (src/quant/float-quant.ts `formatDescriptor`) per quantized layer:
   * [steps, layers, FORMAT_FIELDS] (training), [layers, FORMAT_FIELDS] (eval). Kind 0 quantizes on
   * the integer grid of the bits input.
   */
  formatWeights: 'format_w',
  formatActivations: 'format_a',
  /** Training only. */
  formatGrad: 'format_g',
  /**
   * Loss scaling (training only, float [5]): [active (0/1), dynamic (0/1), growth interval,
   * layer-wise (0/1), loss weight] (`lossScalingInput`); docs/number-formats.md.
   */
  lossScaling: 'loss_scaling',
  /** Loss-scale state carried from step to step (float [2]): [scale, good steps since the last change]; output `.new`. */
  lossScaleState: 'loss_scale_state',
  /** Learning rate per step; training only. */
  lr: 'lr',
  /** Stochastic-rounding noise key per step (uint32 [steps]); training only (src/quant/noise.ts). */
  noiseKey: 'noise_key',
  /** SGD momentum μ (scalar); training only. */
  momentum: 'momentum',
  /** Adam and AdamW: [beta1, beta2, eps] (training models of those optimizers only; src/optim/optimizer.ts). */
  adam: 'adam',
  /** Weight decay (scalar, weights only); training only. */
  weightDecay: 'weight_decay',
  /**
   * int64 scalar; training only. 1: run the chunk's quantized linear layers on integer kernels
   * (every bit-width of the chunk must be ≤ 8); 0: fp32 on fake-quantized values.
   */
  intKernels: 'int_kernels',
} as const;

export const OUTPUT = {
  /** Mean cross-entropy: [steps] (training), scalar (eval). */
  loss: 'loss',
  /** Correctly classified samples: [steps] (training), scalar (eval). */
  correct: 'correct',
  /** [batch, classes]; eval only. */
  logits: 'logits',
  /** Training, per step [steps]: the loss scale the step's backward pass used. */
  lossScale: 'loss_scale',
  /** Training, per step [steps]: 1 when a dynamic loss scale found a non-finite gradient and the update was skipped. */
  skipped: 'skipped',
  /** Training, per step and error quantizer [steps, quantizers] (backward order): values that underflowed to 0 / overflowed. */
  underflow: 'underflow',
  overflow: 'overflow',
} as const;

/** The optimizer-state input (momentum buffer) of a parameter: `<param>.velocity`. */
export function velocityName(param: string): string {
  return `${param}.velocity`;
}

/** The training output carrying the updated value of a parameter or velocity input: `<name>.new`. */
export function newName(input: string): string {
  return `${input}.new`;
}
