/**
 * A trainable model definition: parameters with their initialisation and a forward pass written
 * with the differentiable ops of src/graph. The per-layer GEMM shapes the cost model uses are not
 * written here: each GEMM layer records its shape in the graph as it is emitted (`Graph.layers`;
 * `modelLayers` in ./layers.ts for a shape-only build).
 * The quantizers are placed by the model through `QuantContext`, so one definition serves the
 * training graph (with error quantizers) and the eval graph (without).
 */
import type { Graph, Value } from '../graph/builder.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Uniform(−bound, bound) with bound = 1/sqrt(fanIn), as PyTorch's Linear/Conv default. */
  fanIn: number;
  /** Weight decay applies to this parameter (weights yes, biases no). */
  decay: boolean;
}

export interface QuantContext {
  bitsWeights: Value;
  bitsActivations: Value;
  /**
   * Wrap a layer output so the error flowing back through it is quantized (identity in the
   * eval graph, where there is no backward pass).
   */
  errors(x: Value): Value;
}

export interface ModelDef {
  /** Registry name plus its shape, e.g. `mlp` → "mlp-64-128-10". */
  readonly name: string;
  readonly id: string;
  readonly description: string;
  /** Per-sample input shape, e.g. [64] or [1, 28, 28]. */
  readonly inputShape: readonly number[];
  readonly classes: number;
  params(): ParamSpec[];
  /**
   * Emit the forward pass; returns logits [batch, classes]. Every GEMM layer records its shape
   * with `g.recordLayer` (names unique within the model).
   */
  forward(g: Graph, x: Value, params: ReadonlyMap<string, Value>, q: QuantContext): Value;
}
