/**
 * A model's GEMM layer shapes, derived from its graph: the forward pass is built once (float32,
 * eval mode: no error quantizers, scalar bit-widths) and the layers it recorded are returned. For
 * callers that need only shapes (the cost model, `estimate`); the training artifacts carry the
 * layers recorded while building the training step itself (`Artifacts.layers`).
 */
import { Graph } from '../graph/builder.js';
import { type FpLayers, type ModelDef, isFullPrecision } from './model.js';
import type { LayerShape } from './shapes.js';

export function modelLayers(model: ModelDef): LayerShape[] {
  const g = new Graph(`${model.id}_layers`, 'float32');
  const x = g.input('x', 'float32', ['batch', ...model.inputShape]);
  const bitsWeights = g.input('bits_w', 'float32', []);
  const bitsActivations = g.input('bits_a', 'float32', []);
  const params = new Map(model.params().map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
  const buffers = new Map(model.buffers().map((b) => [b.name, g.input(b.name, 'float32', b.shape)]));
  model.forward(g, x, params, {
    mode: 'eval',
    bitsWeights,
    bitsActivations,
    errors: (v) => v,
    buffer: (name) => buffers.get(name)!,
    setBuffer: () => {},
  });
  return [...g.layers];
}

/** Layers with `fullPrecision` set as `fp` says (the rule trainable models apply while emitting). */
export function withFpLayers(layers: readonly LayerShape[], fp: FpLayers): LayerShape[] {
  return layers.map(({ fullPrecision: _, ...layer }, i) => (isFullPrecision(fp, i, layers.length) ? { ...layer, fullPrecision: true } : layer));
}
