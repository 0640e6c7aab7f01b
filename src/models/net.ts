/**
 * Models written once, as a forward pass that declares what it uses (micrograd / PyTorch-module
 * style): `net.linear`, `net.conv`, `net.batchNorm` create their parameters and buffers by name
 * as they are emitted, and record their GEMM shapes in the graph. `defineModel` traces the body
 * on a throwaway graph to learn the parameter and buffer lists (order = order of first use), so
 * no shape is written twice; building the real graphs then looks the same names up.
 *
 * Quantization (CPT's QConv2d / nn.Linear, see docs/models.md): a quantized GEMM layer quantizes
 * its input per tensor with a running range (`quantizeActivations`), its weight per output
 * channel, and the error flowing back into its output (stochastic rounding, `q.errors`). Layers
 * the model's `fpLayers` keeps at full precision do none of this, and their recorded shape says
 * so (`fullPrecision`), so the cost model counts them at 32 bits. Batch norm stays in full
 * precision (batch statistics in training, running statistics in eval).
 */
import { Graph, type Value } from '../graph/builder.js';
import { add, matmul, sub } from '../graph/ops/math.js';
import { type ConvAttrs, conv2d, convAttrs } from '../graph/ops/conv.js';
import { batchNormEval, batchNormTrain } from '../graph/ops/norm.js';
import { IntConvOp, IntLinearOp, integerProducts } from '../quant/integer.js';
import { FakeQuantOp, RANGE_SHAPE, activationRange, quantizeActivations, quantizeWeights } from '../quant/quantizers.js';
import { type BitCentre, type BufferSpec, type FpLayers, type Init, type ModelDef, type ParamSpec, type QuantContext, isFullPrecision } from './model.js';
import { type LayerShape, convShapeOf, linearShapeOf } from './shapes.js';

/** PyTorch's default for Linear/Conv weights and biases: U(−1/√fanIn, 1/√fanIn). */
export const uniformFanIn = (fanIn: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(fanIn) });
/** He et al.'s initialisation for conv weights as the CIFAR ResNet code has it: N(0, 2/(k²·Cout)). */
export const heFanOut = (fanOut: number): Init => ({ kind: 'normal', std: Math.sqrt(2 / fanOut) });

export interface ConvOptions {
  kernel: number;
  stride?: number;
  /** Zero padding on each side (default kernel/2, rounded down: "same" for stride 1). */
  pad?: number;
  groups?: number;
  bias?: boolean;
  /** Weight initialisation (default PyTorch's uniform fan-in). */
  init?: 'uniform-fan-in' | 'he-fan-out';
}

/** What a layer's integer kernels take besides its input and weight: its bias, a convolution's attributes. */
interface IntegerLayer {
  bias: Value | null;
  conv?: ConvAttrs;
}

export interface LinearOptions {
  bias?: boolean;
  /** Weight initialisation (default PyTorch's uniform fan-in). */
  init?: Init;
  /** Bias initialisation (default PyTorch's uniform fan-in). */
  biasInit?: Init;
}

/** What a model body emits with: the graph, the quantization context and the layers. */
export class Net {
  private gemmIndex = 0;
  /** Index of the next quantized GEMM layer (its entry of the per-layer precision inputs). */
  private quantIndex = 0;
  constructor(
    readonly g: Graph,
    readonly q: QuantContext,
    private readonly lookup: Lookup,
    private readonly gemmCount: number,
    readonly fpLayers: FpLayers,
  ) {}

  /** A parameter (declared on first use in a trace; looked up, shape-checked, when building). */
  param(name: string, shape: number[], init: Init, decay: boolean): Value {
    return this.lookup({ kind: 'param', name, shape, init, decay });
  }

  /** A buffer's current value (declared on first use in a trace). */
  buffer(name: string, shape: number[], init: number): Value {
    return this.lookup({ kind: 'buffer', name, shape, init });
  }

  /**
   * A GEMM layer `gemm(x, weight)` with its recorded shape: at full precision as it is, else with
   * its input quantized per tensor with a running range (`<layer>.input_range`), its weight per
   * output channel (min/max over `weightAxes`) and the error flowing back into its output. A layer
   * with integer products (`integerProducts`: linear layers, dense convolutions with the per-tap
   * weight gradient) computes them on integer codes in the integer-kernel body of the training
   * graph (`q.integer`), with the same quantizers and the same codes.
   */
  private gemmLayer(name: string, x: Value, weight: Value, weightAxes: number[], shape: LayerShape, gemm: (x: Value, w: Value) => Value, integer: IntegerLayer): Value {
    const fp = isFullPrecision(this.fpLayers, this.gemmIndex++, this.gemmCount);
    const recorded = fp ? { ...shape, fullPrecision: true } : shape;
    this.g.recordLayer(recorded);
    if (fp) return gemm(x, weight);
    const index = this.quantIndex++;
    const p = this.q.layer(index);
    const rangeName = `${name}.input_range`;
    if (this.q.integer && this.q.mode === 'train' && integerProducts(recorded).length > 0) {
      const range = activationRange(this.g, x, 'train', this.buffer(rangeName, RANGE_SHAPE, 0));
      this.q.setBuffer(rangeName, range.running!);
      const { bitsErrors, noise, noiseUnit } = this.q.integer;
      const inputs = [x, weight, p.bitsActivations, p.bitsWeights, bitsErrors(index), range.min, range.max, ...(integer.bias ? [integer.bias] : [])];
      return integer.conv ? this.g.apply1(IntConvOp, inputs, { noise, noiseUnit, conv: integer.conv }) : this.g.apply1(IntLinearOp, inputs, { noise, noiseUnit });
    }
    const input = quantizeActivations(this.g, x, p.bitsActivations, this.q.mode, this.buffer(rangeName, RANGE_SHAPE, 0), p.formatActivations);
    if (input.running) this.q.setBuffer(rangeName, input.running);
    return this.q.errors(gemm(input.y, quantizeWeights(this.g, weight, p.bitsWeights, weightAxes, p.formatWeights)), index);
  }

  /** x [batch, in] → [batch, out]: `x · weight + bias`, weight [in, out]. */
  linear(name: string, x: Value, outFeatures: number, o: LinearOptions = {}): Value {
    const inFeatures = x.shape?.[1];
    if (typeof inFeatures !== 'number' || x.shape!.length !== 2) throw new Error(`layer ${name}: input ${x.name} must be [batch, features]`);
    const weight = this.param(`${name}.weight`, [inFeatures, outFeatures], o.init ?? uniformFanIn(inFeatures), true);
    const bias = o.bias === false ? null : this.param(`${name}.bias`, [outFeatures], o.biasInit ?? uniformFanIn(inFeatures), false);
    const centre = this.q.centre;
    if (centre && !isFullPrecision(this.fpLayers, this.gemmIndex, this.gemmCount)) {
      this.gemmIndex++;
      this.quantIndex++;
      this.g.recordLayer(linearShapeOf(name, x, weight));
      const y = this.centred(centre, `${name}.weight`, x, weight);
      return this.q.errors(bias ? add(this.g, y, bias) : y, this.quantIndex - 1);
    }
    return this.gemmLayer(
      name,
      x,
      weight,
      [0],
      linearShapeOf(name, x, weight),
      (xx, ww) => {
        const y = matmul(this.g, xx, ww);
        return bias ? add(this.g, y, bias) : y;
      },
      { bias },
    );
  }

  /**
   * A bit-centred product (HALP; `QuantContext.centre`): x·W̃ + Q(x)·(W − W̃) in the main pass,
   * and in the pass at the anchor (`weight` = W̃) the value x·W̃ with the gradient Q(x)ᵀ·dỹ.
   */
  private centred(centre: BitCentre, weightName: string, x: Value, weight: Value): Value {
    const g = this.g;
    let qx = centre.quantized.get(x.name);
    if (!qx) centre.quantized.set(x.name, (qx = g.apply1(FakeQuantOp, [x, centre.bits], { reduceAxes: null })));
    if (centre.pass === 'main') {
      const anchor = centre.anchorWeight(weightName);
      return add(g, matmul(g, x, anchor), matmul(g, qx, sub(g, weight, anchor)));
    }
    // value x·W̃, gradient through Q(x)·W̃ only: the difference is not on the tape
    const exact = matmul(g, x, weight);
    const low = matmul(g, qx, weight);
    const rest = g.emit1('Sub', [exact, low], {}, g.floatType, exact.shape, 'centre_rest');
    return add(g, low, rest);
  }

  /** x [batch, Cin, H, W] → [batch, Cout, Ho, Wo]; weight [Cout, Cin/groups, k, k]. */
  conv(name: string, x: Value, outChannels: number, o: ConvOptions): Value {
    const inChannels = x.shape?.[1];
    if (typeof inChannels !== 'number' || x.shape!.length !== 4) throw new Error(`layer ${name}: input ${x.name} must be [batch, channels, height, width]`);
    const { kernel } = o;
    const stride = o.stride ?? 1;
    const pad = o.pad ?? Math.floor(kernel / 2);
    const groups = o.groups ?? 1;
    const fanIn = (inChannels / groups) * kernel * kernel;
    const init = o.init === 'he-fan-out' ? heFanOut(kernel * kernel * outChannels) : uniformFanIn(fanIn);
    const weight = this.param(`${name}.weight`, [outChannels, inChannels / groups, kernel, kernel], init, true);
    const bias = o.bias ? this.param(`${name}.bias`, [outChannels], uniformFanIn(fanIn), false) : null;
    const attrs = { stride, pad, groups };
    const conv = { bias, conv: convAttrs(this.g, x, weight, bias, attrs) };
    return this.gemmLayer(name, x, weight, [1, 2, 3], convShapeOf(name, x, weight, attrs), (xx, ww) => conv2d(this.g, xx, ww, bias, attrs), conv);
  }

  /** Batch norm over the channels of [batch, C, …], full precision; γ = 1, β = 0 at the start. */
  batchNorm(name: string, x: Value): Value {
    const channels = x.shape?.[1];
    if (typeof channels !== 'number') throw new Error(`layer ${name}: input ${x.name} has no static channel count`);
    const gamma = this.param(`${name}.weight`, [channels], { kind: 'constant', value: 1 }, false);
    const beta = this.param(`${name}.bias`, [channels], { kind: 'constant', value: 0 }, false);
    const mean = this.buffer(`${name}.running_mean`, [channels], 0);
    const variance = this.buffer(`${name}.running_var`, [channels], 1);
    if (this.q.mode === 'eval') return batchNormEval(this.g, x, gamma, beta, mean, variance, {});
    const out = batchNormTrain(this.g, x, gamma, beta, mean, variance, {});
    this.q.setBuffer(`${name}.running_mean`, out.mean);
    this.q.setBuffer(`${name}.running_var`, out.variance);
    return out.y;
  }
}

export interface ModelMeta {
  name: string;
  id: string;
  description: string;
  inputShape: readonly number[];
  classes: number;
  fpLayers: FpLayers;
}

type Declaration = { kind: 'param'; name: string; shape: number[]; init: Init; decay: boolean } | { kind: 'buffer'; name: string; shape: number[]; init: number };
type Lookup = (d: Declaration) => Value;

interface Trace {
  params: ParamSpec[];
  buffers: BufferSpec[];
  gemms: number;
}

/** Run `body` on a throwaway float32 graph to collect its parameters, buffers and GEMM count. */
function trace(meta: ModelMeta, body: (net: Net, x: Value) => Value, gemmCount: number): Trace {
  const g = new Graph(`${meta.id}_trace`, 'float32');
  const x = g.input('x', 'float32', ['batch', ...meta.inputShape]);
  const params: ParamSpec[] = [];
  const buffers: BufferSpec[] = [];
  const declared = new Set<string>();
  const bits = { bitsWeights: g.input('bits_w', 'float32', []), bitsActivations: g.input('bits_a', 'float32', []) };
  const q: QuantContext = {
    mode: 'train',
    layer: () => bits,
    errors: (v) => v,
    buffer: () => {
      throw new Error('a model body reads buffers through net.buffer');
    },
    setBuffer() {},
  };
  const lookup: Lookup = (d) => {
    if (declared.has(d.name)) throw new Error(`model ${meta.id}: ${d.name} declared twice`);
    declared.add(d.name);
    if (d.kind === 'param') params.push({ name: d.name, shape: d.shape, init: d.init, decay: d.decay });
    else buffers.push({ name: d.name, shape: d.shape, init: d.init });
    return g.input(d.name, 'float32', d.shape);
  };
  body(new Net(g, q, lookup, gemmCount, meta.fpLayers), x);
  return { params, buffers, gemms: g.layers.length };
}

/** A ModelDef from a body that declares its parameters and buffers as it goes. */
export function defineModel(meta: ModelMeta, body: (net: Net, x: Value) => Value): ModelDef {
  let traced: Trace | null = null;
  const specs = (): Trace => {
    if (!traced) {
      const counted = trace(meta, body, Number.MAX_SAFE_INTEGER);
      traced = trace(meta, body, counted.gemms);
    }
    return traced;
  };
  return {
    ...meta,
    params: () => specs().params.map((p) => ({ ...p, shape: [...p.shape] })),
    buffers: () => specs().buffers.map((b) => ({ ...b, shape: [...b.shape] })),
    forward(g, x, params, q) {
      const { gemms } = specs();
      const lookup: Lookup = ({ kind, name, shape }) => {
        const v = kind === 'param' ? params.get(name) : q.buffer(name);
        if (!v) throw new Error(`model ${meta.id}: no parameter ${name}`);
        if (v.shape?.join(',') !== shape.join(',')) throw new Error(`model ${meta.id}: ${name} is [${v.shape?.join(', ')}], the layer wants [${shape.join(', ')}]`);
        return v;
      };
      return body(new Net(g, q, lookup, gemms, meta.fpLayers), x);
    },
  };
}
