import * as ort from 'onnxruntime-node';
import type { Graph } from '../../src/graph/builder.js';
import { encodeModel } from '../../src/graph/proto.js';
import { IR_VERSION, OPSET } from '../../src/artifacts/build.js';

export function modelBytes(g: Graph): Uint8Array {
  return encodeModel({ irVersion: IR_VERSION, opsetVersion: OPSET, producerName: 'bitcycle-test', producerVersion: '0', graph: g.toGraphData() });
}

export async function session(g: Graph): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelBytes(g), { intraOpNumThreads: 1 });
}

export function f64(shape: number[], data: ArrayLike<number>): ort.Tensor {
  return new ort.Tensor('float64', Float64Array.from(data), shape);
}

export function f32(shape: number[], data: ArrayLike<number>): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(data), shape);
}

export function i64(shape: number[], data: ArrayLike<number>): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(data, (v) => BigInt(v))), shape);
}

/** Deterministic pseudo-random values in [lo, hi). */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 16777216) * (hi - lo);
  });
}

/**
 * The training model's format and loss-scaling inputs for K steps on the integer grids (the
 * descriptors' kind 0) without loss scaling: with these, a graph computes what it did before
 * number formats existed.
 */
export function gridFeeds(K: number, dtype: 'float32' | 'float64' = 'float32', layers = 1): Record<string, ort.Tensor> {
  const t = (shape: number[], data: number[]) => (dtype === 'float32' ? f32(shape, data) : f64(shape, data));
  const zeros = (n: number) => new Array<number>(n).fill(0);
  return {
    format_w: t([K, layers, 6], zeros(K * layers * 6)),
    format_a: t([K, layers, 6], zeros(K * layers * 6)),
    format_g: t([K, layers, 6], zeros(K * layers * 6)),
    loss_scaling: t([5], [0, 0, 0, 0, 1]),
    loss_scale_state: t([2], [1, 0]),
  };
}

/** A per-layer bits feed [steps, layers]: step k's value for every layer. */
export function layerBits(perStep: readonly number[], layers: number): ort.Tensor {
  return f32([perStep.length, layers], perStep.flatMap((b) => new Array<number>(layers).fill(b)));
}
