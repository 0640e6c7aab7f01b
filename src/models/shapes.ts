/**
 * Per-layer GEMM shapes, shared by trainable models (src/models) and the cost model (src/hw).
 * A convolution is an implicit GEMM: per sample, `positions` output pixels, each a dot product of
 * length `inFeatures` (= Cin/groups · kh · kw) for each of `outFeatures` output channels.
 * MACs per sample of each of the three training GEMMs = positions · inFeatures · outFeatures.
 * `LayerShape` itself is defined next to the graph (src/graph/layers.ts), which records one per GEMM
 * layer it emits; `linearShapeOf` computes it from the operands' build-time shapes.
 */
import type { Value } from '../graph/builder.js';
import type { LayerShape } from '../graph/layers.js';

export type { LayerShape };

export function macsPerSample(layer: LayerShape): number {
  return layer.positions * layer.inFeatures * layer.outFeatures;
}

export function linearShape(name: string, inFeatures: number, outFeatures: number): LayerShape {
  return {
    name,
    kind: 'linear',
    inFeatures,
    outFeatures,
    positions: 1,
    inputElements: inFeatures,
    weightElements: inFeatures * outFeatures,
    outputElements: outFeatures,
  };
}

/**
 * The shape of a linear layer `x · weight` from its operands' build-time shapes: weight [in, out],
 * x [batch, in]. Throws when the weight's shape is not static or x does not match it.
 */
export function linearShapeOf(name: string, x: Value, weight: Value): LayerShape {
  const w = weight.shape;
  if (w === null || w.length !== 2 || typeof w[0] !== 'number' || typeof w[1] !== 'number') {
    throw new Error(`layer ${name}: weight ${weight.name} must have a static shape [in, out], got ${w === null ? 'unknown' : `[${w.join(', ')}]`}`);
  }
  const xIn = x.shape === null ? undefined : x.shape[x.shape.length - 1];
  if (x.shape === null || x.shape.length !== 2 || xIn !== w[0]) {
    throw new Error(`layer ${name}: input ${x.name} must have shape [batch, ${w[0]}], got ${x.shape === null ? 'unknown' : `[${x.shape.join(', ')}]`}`);
  }
  return linearShape(name, w[0], w[1]);
}

export interface ConvShapeOptions {
  name: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  padding?: number;
  groups?: number;
  inHeight: number;
  inWidth: number;
}

export function convShape(o: ConvShapeOptions): LayerShape & { outHeight: number; outWidth: number } {
  const stride = o.stride ?? 1;
  const padding = o.padding ?? Math.floor(o.kernel / 2);
  const groups = o.groups ?? 1;
  const outHeight = Math.floor((o.inHeight + 2 * padding - o.kernel) / stride) + 1;
  const outWidth = Math.floor((o.inWidth + 2 * padding - o.kernel) / stride) + 1;
  const inFeatures = (o.inChannels / groups) * o.kernel * o.kernel;
  return {
    name: o.name,
    kind: 'conv',
    inFeatures,
    outFeatures: o.outChannels,
    positions: outHeight * outWidth,
    inputElements: o.inChannels * o.inHeight * o.inWidth,
    weightElements: inFeatures * o.outChannels,
    outputElements: outHeight * outWidth * o.outChannels,
    groups,
    inChannels: o.inChannels,
    outHeight,
    outWidth,
  };
}

/**
 * The shape of a convolution from its operands' build-time shapes: x [batch, Cin, H, W], weight
 * [Cout, Cin/groups, k, k]. Throws when a shape is not static or they do not match.
 */
export function convShapeOf(name: string, x: Value, weight: Value, o: { stride: number; pad: number; groups: number }): LayerShape {
  const w = weight.shape;
  const s = x.shape;
  const fixed = (d: unknown): d is number => typeof d === 'number';
  if (w === null || w.length !== 4 || !w.every(fixed) || w[2] !== w[3]) {
    throw new Error(`layer ${name}: weight ${weight.name} must have a static square-kernel shape [out, in/groups, k, k], got ${w === null ? 'unknown' : `[${w.join(', ')}]`}`);
  }
  if (s === null || s.length !== 4 || !s.slice(1).every(fixed) || (s[1] as number) !== (w[1] as number) * o.groups) {
    throw new Error(`layer ${name}: input ${x.name} must have shape [batch, ${(w[1] as number) * o.groups}, H, W], got ${s === null ? 'unknown' : `[${s.join(', ')}]`}`);
  }
  const { outHeight: _h, outWidth: _w, ...shape } = convShape({ name, inChannels: s[1] as number, outChannels: w[0] as number, kernel: w[2] as number, stride: o.stride, padding: o.pad, groups: o.groups, inHeight: s[2] as number, inWidth: s[3] as number });
  return shape;
}
