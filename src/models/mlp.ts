/**
 * Multi-layer perceptron: Linear → ReLU → … → Linear. Every Linear layer quantizes its input
 * activations (per tensor) and weights (per output channel), and quantizes the error flowing back
 * into its output.
 */
import type { Graph, Value } from '../graph/builder.js';
import { add, matmul, relu } from '../graph/ops/math.js';
import { quantizeActivations, quantizeWeights } from '../quant/quantizers.js';
import type { ModelDef, ParamSpec, QuantContext } from './model.js';
import { linearShapeOf } from './shapes.js';

/**
 * A quantized linear layer `x · weight + bias`; records its GEMM shape in `g` under `name`, from
 * the shapes of `x` [batch, in] and `weight` [in, out].
 */
export function linearLayer(g: Graph, name: string, x: Value, weight: Value, bias: Value, q: QuantContext): Value {
  g.recordLayer(linearShapeOf(name, x, weight));
  const xq = quantizeActivations(g, x, q.bitsActivations);
  const wq = quantizeWeights(g, weight, q.bitsWeights);
  return q.errors(add(g, matmul(g, xq, wq), bias));
}

export function mlp(inputs: number, hidden: readonly number[], classes: number): ModelDef {
  const widths = [inputs, ...hidden, classes];
  const layerNames = widths.slice(1).map((_, i) => `fc${i + 1}`);
  return {
    name: 'mlp',
    id: `mlp-${widths.join('-')}`,
    description: `MLP ${widths.join('-')} with ReLU, quantized weights/activations/errors in every layer`,
    inputShape: [inputs],
    classes,
    params(): ParamSpec[] {
      return layerNames.flatMap((name, i) => [
        { name: `${name}.weight`, shape: [widths[i]!, widths[i + 1]!], fanIn: widths[i]!, decay: true },
        { name: `${name}.bias`, shape: [widths[i + 1]!], fanIn: widths[i]!, decay: false },
      ]);
    },
    forward(g, x, params, q) {
      let h = x;
      layerNames.forEach((name, i) => {
        h = linearLayer(g, name, h, params.get(`${name}.weight`)!, params.get(`${name}.bias`)!, q);
        if (i < layerNames.length - 1) h = relu(g, h);
      });
      return h;
    },
  };
}
