/**
 * A trainable model definition: parameters and buffers with their initialisation and a forward
 * pass written with the differentiable ops of src/graph. The per-layer GEMM shapes the cost model
 * uses are not written here: each GEMM layer records its shape in the graph as it is emitted
 * (`Graph.layers`; `modelLayers` in ./layers.ts for a shape-only build).
 * The quantizers are placed by the model through `QuantContext`, so one definition serves the
 * training graph (error quantizers, batch statistics, running statistics updated) and the eval
 * graph (no backward pass, running statistics read).
 */
import type { Graph, Value } from '../graph/builder.js';

/** How a tensor starts: U(−bound, bound), N(0, std²) or a constant. */
export type Init = { kind: 'uniform'; bound: number } | { kind: 'normal'; std: number } | { kind: 'constant'; value: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
  /** Weight decay applies to this parameter (weights yes; biases and batch-norm scales no). */
  decay: boolean;
}

/**
 * Non-trainable state carried from step to step and read by the eval model: batch-norm running
 * statistics and the running activation ranges of the quantizers. Stored in checkpoints with the
 * parameters; not touched by the optimizer.
 */
export interface BufferSpec {
  name: string;
  shape: number[];
  /** Every element starts at this value. */
  init: number;
}

/** Which GEMM layers stay at full precision (no weight, activation or error quantization). */
export type FpLayers = 'none' | 'last' | 'first,last';
export const FP_LAYERS: readonly FpLayers[] = ['none', 'last', 'first,last'];
/** Default `--fp-layers`: the classifier stays at full precision, as in CPT's CIFAR models. */
export const DEFAULT_FP_LAYERS: FpLayers = 'last';

/** One quantized layer's precision at the current step: scalar bit-widths and format descriptors. */
export interface LayerPrecision {
  bitsWeights: Value;
  bitsActivations: Value;
  /** The step's format descriptors (src/quant/float-quant.ts); absent: integer grids only. */
  formatWeights?: Value;
  formatActivations?: Value;
}

export interface QuantContext {
  /** `train`: batch statistics, running statistics updated; `eval`: running statistics used. */
  mode: 'train' | 'eval';
  /**
   * The precision of the quantized GEMM layer with this index (0, 1, … in the order the forward
   * pass emits the layers not kept at full precision): each layer has its own entry of the
   * `bits_*` / `format_*` inputs, so a precision plan (src/formats/layer-plan.ts) can give layers
   * different schedules.
   */
  layer(index: number): LayerPrecision;
  /**
   * Wrap the output of quantized layer `index` so the error flowing back through it is quantized
   * (identity in the eval graph, where there is no backward pass).
   */
  errors(x: Value, index: number): Value;
  /** The current value of a buffer (every name of `ModelDef.buffers()` is present). */
  buffer(name: string): Value;
  /** Set a buffer's value after this step (training graph; each buffer at most once). */
  setBuffer(name: string, value: Value): void;
  /**
   * Present in the training graph's integer-kernel body (src/quant/integer.ts): quantized linear
   * and convolution layers run GEMMs on integer codes, quantizing their output's error themselves
   * with the layer's error bit-width and the noise of the next error quantizer (in the same order
   * as `errors`; `noise(like) · noiseUnit` ~ U[0,1)).
   */
  integer?: { bitsErrors(index: number): Value; noise(like: Value): Value; noiseUnit: number };
  /**
   * HALP's bit centring (src/optim, docs/optimizers.md), in the training graph of `halp` runs:
   * quantized linear layers compute y = x·W̃ + Q(x)·(W − W̃) (`main`) and, in the pass at the anchor,
   * ỹ = x·W̃ with the gradient Q(x)ᵀ·dỹ (`anchor`), Q the per-tensor grid of `bits` bits, so the
   * difference of the two passes' gradients is Q(x)ᵀ(dy − dỹ), computed on B-bit activations.
   */
  centre?: BitCentre;
}

export interface BitCentre {
  pass: 'main' | 'anchor';
  /** Scalar bit-width input of Q. */
  bits: Value;
  /** A layer's anchor weight (its `<layer>.weight` anchor slot). */
  anchorWeight(layer: string): Value;
  /** Q(x) by the name of x, shared by the two passes where they read the same tensor (the first layer's input). */
  quantized: Map<string, Value>;
}

export interface ModelDef {
  /** Registry name, e.g. `mlp`. */
  readonly name: string;
  /** Name plus its shape, e.g. "mlp-64-128-10". */
  readonly id: string;
  readonly description: string;
  /** Per-sample input shape, e.g. [64] or [1, 28, 28]. */
  readonly inputShape: readonly number[];
  readonly classes: number;
  /** Layers kept at full precision. */
  readonly fpLayers: FpLayers;
  params(): ParamSpec[];
  buffers(): BufferSpec[];
  /**
   * Emit the forward pass; returns logits [batch, classes]. Every GEMM layer records its shape
   * with `g.recordLayer` (names unique within the model).
   */
  forward(g: Graph, x: Value, params: ReadonlyMap<string, Value>, q: QuantContext): Value;
}

/** Whether the layer at `index` of `count` GEMM layers stays at full precision under `fp`. */
export function isFullPrecision(fp: FpLayers, index: number, count: number): boolean {
  if (fp === 'none') return false;
  if (index === count - 1) return true;
  return fp === 'first,last' && index === 0;
}
