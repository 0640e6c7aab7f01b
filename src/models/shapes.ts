/**
 * Per-layer GEMM shapes, shared by trainable models (src/models) and the cost model (src/hw).
 * A convolution is an implicit GEMM: per sample, `positions` output pixels, each a dot product of
 * length `inFeatures` (= Cin/groups · kh · kw) for each of `outFeatures` output channels.
 * MACs per sample of each of the three training GEMMs = positions · inFeatures · outFeatures.
 */
export interface LayerShape {
  name: string;
  kind: 'linear' | 'conv';
  /** K: reduction length of one output element (Cin/groups·kh·kw for conv, fan-in for linear). */
  inFeatures: number;
  /** N: output channels / units. */
  outFeatures: number;
  /** P: output positions per sample (Hout·Wout for conv, 1 for linear). */
  positions: number;
  /** Activation elements read per sample (Cin·Hin·Win for conv, fan-in for linear). */
  inputElements: number;
  /** Weight elements (K·N; bias not counted). */
  weightElements: number;
  /** Output elements per sample (P·N). */
  outputElements: number;
  /** Convolution groups (1 unless depthwise/grouped). */
  groups?: number;
}

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
    outHeight,
    outWidth,
  };
}
