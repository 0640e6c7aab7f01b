/**
 * A model's GEMM layer shapes, derived from its graph: the forward pass is built once (float32,
 * eval mode: no error quantizers, scalar bit-widths) and the layers it recorded are returned. For
 * callers that need only shapes (the cost model, `estimate`); the training artifacts carry the
 * layers recorded while building the training step itself (`Artifacts.layers`).
 */
import { Graph, type Value } from '../graph/builder.js';
import { type FpLayers, type LayerPrecision, type ModelDef, isFullPrecision } from './model.js';
import type { LayerShape } from './shapes.js';

export function modelLayers(model: ModelDef): LayerShape[] {
  const g = new Graph(`${model.id}_layers`, 'float32');
  const x = g.input('x', 'float32', ['batch', ...model.inputShape]);
  forwardEval(g, model, x, { bitsWeights: g.input('bits_w', 'float32', [LAYERS]), bitsActivations: g.input('bits_a', 'float32', [LAYERS]) });
  return [...g.layers];
}

/** A buffer's graph value by name; throws naming the model if it did not declare it. */
export function bufferValue(buffers: ReadonlyMap<string, Value>, name: string, model: ModelDef): Value {
  const v = buffers.get(name);
  if (!v) throw new Error(`model ${model.id}: no buffer ${name} (declare it in buffers())`);
  return v;
}

/** The symbolic dimension of per-layer precision inputs: one entry per quantized GEMM layer. */
export const LAYERS = 'layers';

/** Entry `index` of a per-layer input: [layers] → scalar, [layers, F] → [F]. */
export function layerEntry(g: Graph, v: Value, index: number, hint: string): Value {
  return g.emit1('Gather', [v, g.constant('int64', [], [index], 'layer_index')], { axis: 0 }, v.dtype, v.shape!.slice(1), hint);
}

/**
 * `QuantContext.layer` over per-layer inputs (bits [layers], formats [layers, FORMAT_FIELDS]):
 * each layer's entries are gathered once, when the layer first asks.
 */
export function layerPrecisions(g: Graph, inputs: LayerPrecision): (index: number) => LayerPrecision {
  const picked = new Map<number, LayerPrecision>();
  return (index) => {
    let p = picked.get(index);
    if (!p) {
      const pick = (v: Value | undefined, hint: string) => (v ? layerEntry(g, v, index, `${hint}_l${index}`) : undefined);
      p = {
        bitsWeights: pick(inputs.bitsWeights, 'bits_w')!,
        bitsActivations: pick(inputs.bitsActivations, 'bits_a')!,
        formatWeights: pick(inputs.formatWeights, 'format_w'),
        formatActivations: pick(inputs.formatActivations, 'format_a'),
      };
      picked.set(index, p);
    }
    return p;
  };
}

/**
 * The eval-mode forward pass (no error quantizers; batch norm and activation ranges read from the
 * buffers): declares every parameter, then every buffer, as graph inputs and returns the logits.
 * `precision` holds the per-layer inputs (bits [layers], formats [layers, FORMAT_FIELDS]; no
 * formats: integer grids only). Shared by the eval model (src/artifacts/build.ts) and `modelLayers`.
 */
export function forwardEval(g: Graph, model: ModelDef, x: Value, precision: LayerPrecision): Value {
  const params = new Map(model.params().map((p) => [p.name, g.input(p.name, g.floatType, p.shape)]));
  const buffers = new Map(model.buffers().map((b) => [b.name, g.input(b.name, g.floatType, b.shape)]));
  return model.forward(g, x, params, {
    mode: 'eval',
    layer: layerPrecisions(g, precision),
    errors: (v) => v,
    buffer: (name) => bufferValue(buffers, name, model),
    setBuffer: () => {
      throw new Error('the eval forward pass does not update buffers');
    },
  });
}

/** Layers with `fullPrecision` set as `fp` says (the rule trainable models apply while emitting). */
export function withFpLayers(layers: readonly LayerShape[], fp: FpLayers): LayerShape[] {
  return layers.map(({ fullPrecision: _, ...layer }, i) => (isFullPrecision(fp, i, layers.length) ? { ...layer, fullPrecision: true } : layer));
}
