/**
 * The shape of one GEMM layer as the graph records it when the layer is emitted (see
 * `Graph.recordLayer`). A convolution is an implicit GEMM: per sample, `positions` output pixels,
 * each a dot product of length `inFeatures` (= Cin/groups · kh · kw) for each of `outFeatures`
 * output channels. The constructors (`linearShape`, `convShape`) and the cost model's use of these
 * numbers live in src/models/shapes.ts and src/hw; the graph only keeps the records.
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
  /** Input channels of a convolution (Cin). */
  inChannels?: number;
  /** Kept at full precision (`--fp-layers`): the cost model counts its operands at 32 bits. */
  fullPrecision?: boolean;
}
