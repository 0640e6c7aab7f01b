/**
 * 2-D convolution (square kernels; groups = 1 or depthwise) and the two parameter-free reshaping
 * ops of the CIFAR ResNet's "option A" shortcut (`subsample2d`, `padChannels`).
 *
 * Forward: ONNX `Conv` in float32 graphs. onnxruntime's CPU provider has no float64 Conv,
 * ConvTranspose or AveragePool, so float64 graphs (gradient checks) use im2col: the input is
 * zero-padded and cut into k² strided `Slice`s, one per kernel tap t = (i, j),
 * xp[:, :, i : i + s·(Ho−1) + 1 : s, j : j + s·(Wo−1) + 1 : s], each [·, ·, Ho, Wo]; y = Σ_t W_t·x_t.
 *
 * Gradients, two formulations for each part, chosen per layer by `convGradFormulation` (measured
 * with bench/conv.ts; an option of `conv2d` forces one):
 * - "transpose": dx = ConvTranspose(dy, w) with the forward's strides/pads/group and
 *   output_padding = (H + 2p − k) mod s (the rows the forward never read get zero gradient);
 *   dw = Conv(xᵀ, dyᵀ, pads = p, dilations = s) with batch and channel swapped (perm [1,0,2,3]) on
 *   both operands, so Conv's channel reduction sums over the batch, then sliced to k×k and
 *   swapped back.
 * - "im2col", blockwise: the im2col matrix is kept as its k² tap blocks x_t [Cin, N·Ho·Wo] (cut
 *   from xᵀ, channel-major), never concatenated. dW_t = dyᵀ·x_tᵀ (one Gemm transB per tap, stacked
 *   into [Cout, Cin, k, k]); input gradient: dx_t = W_tᵀ·dyᵀ (Gemm transA per tap), then col2im:
 *   each block is dilated by the stride (zeros between rows and columns), zero-padded to its
 *   offset (i, j) in the padded input, the k² blocks are summed (`Sum`) and the padding cropped.
 *   (Concatenating the columns into one [Cin·k², N·Ho·Wo] matrix for a single Gemm measured slower
 *   for Cin ≥ 16: the concatenation is one more copy of k² times the input.)
 * Depthwise (groups = Cin = Cout, w [C, 1, k, k]) works per tap in [N, C, ·, ·] layout: the
 * forward (float64) is Σ_t x_t·w_t, the im2col input gradient places dy·w_t at each tap, and the
 * weight gradient is always the per-tap Σ_{n,h,w} dy·x_t (Mul + ReduceSum): the transposed-Conv
 * recipe would need group = N, and N is symbolic at build time.
 * The bias gradient is Σ_{n,h,w} dy.
 */
import { type Dim, type Graph, type OpDef, type Value } from '../builder.js';

export type ConvGradMethod = 'transpose' | 'im2col';

export interface ConvGradFormulation {
  input: ConvGradMethod;
  weight: ConvGradMethod;
}

/** The numbers of one convolution layer that the choice of gradient formulation may depend on. */
export interface ConvLayerNumbers {
  inChannels: number;
  outChannels: number;
  height: number;
  width: number;
  kernel: number;
  stride: number;
  groups: number;
}

/**
 * The faster float32 gradient formulation per part (bench/conv.ts: one onnxruntime thread, batch
 * 128, 3×3 layers of 1–64 channels on 7×7 to 32×32 maps, stride 1 and 2):
 * - input: ConvTranspose won on every shape, 1.5–2.2× at stride 1 and 8–12× at stride 2 (where
 *   im2col's col2im pads k² dilated, 4× larger blocks), depthwise included.
 * - weight: the per-tap Gemms win 1.3–2.2× from Cin ≥ 4 on (they tie at Cin = 4, also at
 *   stride 2); below that each tap's Gemm has Cin ≤ 3 output columns, a matrix-vector product
 *   that re-reads dy k² times, and the transposed Conv wins (1→32: 4.7 vs 15 ms, 3→16: 8.7 vs
 *   11 ms); the crossover sat at Cin ≈ 4 for every H, W, stride and Cout tried (k was 3).
 *   Depthwise: im2col only.
 */
export function convGradFormulation(layer: Pick<ConvLayerNumbers, 'inChannels' | 'groups'>): ConvGradFormulation {
  return { input: 'transpose', weight: layer.groups > 1 || layer.inChannels >= 4 ? 'im2col' : 'transpose' };
}

/** Geometry of a k×k window sliding over the last two axes of a [·, ·, H, W] tensor. */
export interface SlidingWindow {
  kernel: number;
  stride: number;
  pad: number;
  height: number;
  width: number;
  outHeight: number;
  outWidth: number;
}

/** [H, W] of a [N, C, H, W] tensor; throws unless both are static. */
export function spatialDims(x: Value): [number, number] {
  const [, , height, width] = x.shape ?? [];
  if (x.shape?.length !== 4 || typeof height !== 'number' || typeof width !== 'number') {
    throw new Error(`expected a [N, C, H, W] tensor with static H and W, got ${x.name} [${x.shape?.join(', ') ?? 'unknown'}]`);
  }
  return [height, width];
}

export function windowOf(x: Value, kernel: number, stride: number, pad: number): SlidingWindow {
  const [height, width] = spatialDims(x);
  const outHeight = Math.floor((height + 2 * pad - kernel) / stride) + 1;
  const outWidth = Math.floor((width + 2 * pad - kernel) / stride) + 1;
  if (outHeight < 1 || outWidth < 1) throw new Error(`a ${kernel}×${kernel} window (pad ${pad}) does not fit ${x.name} [${x.shape!.join(', ')}]`);
  return { kernel, stride, pad, height, width, outHeight, outWidth };
}

/** a·b for a build-time dim (a symbolic dim stays symbolic). */
export function mulDim(a: Dim, b: number): Dim {
  return typeof a === 'number' ? a * b : `${a}*${b}`;
}

/** Zero-pad the last two axes of a rank-4 tensor by `pad` on each side. */
export function padSpatial(g: Graph, x: Value, pad: number): Value {
  if (pad === 0) return x;
  const [a, b, h, w] = x.shape!;
  return g.emit1('Pad', [x, g.ints([0, 0, pad, pad, 0, 0, pad, pad])], { mode: 'constant' }, x.dtype, [a!, b!, (h as number) + 2 * pad, (w as number) + 2 * pad], 'padded');
}

/** The block of the padded input `xp` that kernel tap (i, j) sees: [·, ·, Ho, Wo]. */
export function tapSlice(g: Graph, xp: Value, win: SlidingWindow, i: number, j: number): Value {
  const s = win.stride;
  const ends = [i + s * (win.outHeight - 1) + 1, j + s * (win.outWidth - 1) + 1];
  const [a, b] = xp.shape!;
  return g.emit1('Slice', [xp, g.ints([i, j]), g.ints(ends), g.ints([2, 3]), g.ints([s, s])], {}, xp.dtype, [a!, b!, win.outHeight, win.outWidth], 'tap');
}

/** [A, B, h, w] → [A, B, h·s, w·s] with v[a, b, y, x] at (y·s, x·s) and zeros elsewhere. */
export function dilate(g: Graph, v: Value, stride: number): Value {
  if (stride === 1) return v;
  const [a, b, h, w] = v.shape! as [Dim, Dim, number, number];
  const split = g.emit1('Reshape', [v, g.ints([0, 0, h, 1, w, 1])], {}, v.dtype, [a, b, h, 1, w, 1]);
  const spread = g.emit1('Pad', [split, g.ints([0, 0, 0, 0, 0, 0, 0, 0, 0, stride - 1, 0, stride - 1])], { mode: 'constant' }, v.dtype, [a, b, h, stride, w, stride]);
  return g.emit1('Reshape', [spread, g.ints([0, 0, h * stride, w * stride])], {}, v.dtype, [a, b, h * stride, w * stride], 'dilated');
}

/**
 * col2im: `blocks[i·k + j]` ([A, B, Ho·s, Wo·s], already dilated) is tap (i, j)'s gradient;
 * each is zero-padded to its offset in the padded input, the k² are summed and the padding is
 * cropped: → [A, B, H, W].
 */
export function placeTaps(g: Graph, win: SlidingWindow, blocks: readonly Value[]): Value {
  const { kernel: k, stride: s, pad: p } = win;
  const [a, b] = blocks[0]!.shape!;
  const bh = win.outHeight * s;
  const bw = win.outWidth * s;
  const fullH = Math.max(p + win.height, k - 1 + bh);
  const fullW = Math.max(p + win.width, k - 1 + bw);
  const dtype = blocks[0]!.dtype;
  const placed = blocks.map((block, t) => {
    const i = Math.floor(t / k);
    const j = t % k;
    const pads = [0, 0, i, j, 0, 0, fullH - i - bh, fullW - j - bw];
    return g.emit1('Pad', [block, g.ints(pads)], { mode: 'constant' }, dtype, [a!, b!, fullH, fullW], 'placed');
  });
  const sum = placed.length === 1 ? placed[0]! : g.emit1('Sum', placed, {}, dtype, [a!, b!, fullH, fullW], 'col2im');
  if (p === 0 && fullH === win.height && fullW === win.width) return sum;
  const starts = g.ints([p, p]);
  const ends = g.ints([p + win.height, p + win.width]);
  return g.emit1('Slice', [sum, starts, ends, g.ints([2, 3])], {}, dtype, [a!, b!, win.height, win.width], 'cropped');
}

export function transpose01(g: Graph, v: Value, hint: string): Value {
  const [a, b, ...rest] = v.shape!;
  return g.emit1('Transpose', [v], { perm: [1, 0, 2, 3] }, v.dtype, [b!, a!, ...rest], hint);
}

export interface ConvAttrs {
  win: SlidingWindow;
  groups: number;
  depthwise: boolean;
  grads: ConvGradFormulation;
}

export function forEachTap<T>(win: SlidingWindow, f: (i: number, j: number) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < win.kernel; i++) for (let j = 0; j < win.kernel; j++) out.push(f(i, j));
  return out;
}

/** Weight tap (i, j), w[:, :, i, j]: [Cout, Cin] (dense) or a per-channel factor [C, 1, 1] (depthwise). */
function weightTap(g: Graph, w: Value, a: ConvAttrs, i: number, j: number): Value {
  const [cout, cinPerGroup] = w.shape! as [number, number];
  const tap = g.emit1('Slice', [w, g.ints([i, j]), g.ints([i + 1, j + 1]), g.ints([2, 3])], {}, w.dtype, [cout, cinPerGroup, 1, 1], 'w_tap');
  const shape = a.depthwise ? [cout, 1, 1] : [cout, cinPerGroup];
  return g.emit1('Reshape', [tap, g.ints(shape)], {}, w.dtype, shape, 'w_tap');
}

/**
 * The input block each kernel tap sees, in tap order: dense, a column block [Cin, N·Ho·Wo] cut
 * from xᵀ; depthwise, [N, C, Ho, Wo] cut from x.
 */
function inputTaps(g: Graph, x: Value, a: ConvAttrs): Value[] {
  const { win } = a;
  if (a.depthwise) {
    const xp = padSpatial(g, x, win.pad);
    return forEachTap(win, (i, j) => tapSlice(g, xp, win, i, j));
  }
  const [n, cin] = x.shape! as [Dim, number];
  const xp = padSpatial(g, transpose01(g, x, 'x_t'), win.pad);
  const shape = [cin, mulDim(n, win.outHeight * win.outWidth)];
  return forEachTap(win, (i, j) => g.emit1('Reshape', [tapSlice(g, xp, win, i, j), g.ints([cin, -1])], {}, x.dtype, shape, 'tap_cols'));
}

function forwardIm2col(g: Graph, x: Value, w: Value, a: ConvAttrs): Value {
  const { win } = a;
  const [n] = x.shape!;
  const cout = w.shape![0] as number;
  const taps = inputTaps(g, x, a);
  const terms = taps.map((tap, t) => {
    const wt = weightTap(g, w, a, Math.floor(t / win.kernel), t % win.kernel);
    return a.depthwise ? g.emit1('Mul', [tap, wt], {}, x.dtype, tap.shape, 'tap_term') : g.emit1('MatMul', [wt, tap], {}, x.dtype, [cout, tap.shape![1]!], 'tap_term');
  });
  const sum = terms.length === 1 ? terms[0]! : g.emit1('Sum', terms, {}, x.dtype, terms[0]!.shape, 'conv');
  if (a.depthwise) return sum;
  const yT = g.emit1('Reshape', [sum, g.ints([cout, -1, win.outHeight, win.outWidth])], {}, x.dtype, [cout, n!, win.outHeight, win.outWidth]);
  return transpose01(g, yT, 'conv');
}

export function inputGradTranspose(g: Graph, x: Value, w: Value, dy: Value, a: ConvAttrs): Value {
  const { win } = a;
  const { stride: s, pad: p, kernel: k } = win;
  return g.emit1(
    'ConvTranspose',
    [dy, w],
    {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [p, p, p, p],
      group: a.groups,
      output_padding: [(win.height + 2 * p - k) % s, (win.width + 2 * p - k) % s],
    },
    dy.dtype,
    x.shape,
    'grad_conv_x',
  );
}

function weightGradTranspose(g: Graph, x: Value, w: Value, dy: Value, a: ConvAttrs): Value {
  const { win } = a;
  const { stride: s, pad: p, kernel: k } = win;
  const [cout, cin] = w.shape! as [number, number];
  // The "kernel" is dyᵀ (Ho×Wo dilated by s): the result has H + 2p − s·(Ho−1) ≥ k taps per axis.
  const kh = win.height + 2 * p - s * (win.outHeight - 1);
  const kw = win.width + 2 * p - s * (win.outWidth - 1);
  const full = g.emit1('Conv', [transpose01(g, x, 'x_t'), transpose01(g, dy, 'dy_t')], { pads: [p, p, p, p], dilations: [s, s] }, dy.dtype, [cin, cout, kh, kw], 'grad_conv_w_t');
  const cut = kh === k && kw === k ? full : g.emit1('Slice', [full, g.ints([0, 0]), g.ints([k, k]), g.ints([2, 3])], {}, dy.dtype, [cin, cout, k, k], 'grad_conv_w_t');
  return transpose01(g, cut, 'grad_conv_w');
}

/** dy with batch and channel swapped and flattened: [Cout, N·Ho·Wo]. */
function dyColumns(g: Graph, dy: Value): Value {
  const [n, cout, ho, wo] = dy.shape! as [Dim, number, number, number];
  return g.emit1('Reshape', [transpose01(g, dy, 'dy_t'), g.ints([cout, -1])], {}, dy.dtype, [cout, mulDim(n, ho * wo)], 'dy_cols');
}

function inputGradIm2col(g: Graph, x: Value, w: Value, dy: Value, a: ConvAttrs): Value {
  const { win } = a;
  const s = win.stride;
  if (a.depthwise) {
    const dyd = dilate(g, dy, s);
    return placeTaps(g, win, forEachTap(win, (i, j) => g.emit1('Mul', [dyd, weightTap(g, w, a, i, j)], {}, dy.dtype, dyd.shape, 'tap_grad')));
  }
  const [n, cin] = x.shape! as [Dim, number];
  const dyc = dyColumns(g, dy);
  const blocks = forEachTap(win, (i, j) => {
    const cols = g.emit1('Gemm', [weightTap(g, w, a, i, j), dyc], { transA: 1 }, dy.dtype, [cin, dyc.shape![1]!], 'tap_grad');
    const block = g.emit1('Reshape', [cols, g.ints([cin, -1, win.outHeight, win.outWidth])], {}, dy.dtype, [cin, n, win.outHeight, win.outWidth], 'tap_grad');
    return dilate(g, block, s);
  });
  return transpose01(g, placeTaps(g, win, blocks), 'grad_conv_x');
}

function weightGradIm2col(g: Graph, x: Value, w: Value, dy: Value, a: ConvAttrs): Value {
  const [cout, cinPerGroup] = w.shape! as [number, number];
  const taps = inputTaps(g, x, a);
  const dyc = a.depthwise ? dy : dyColumns(g, dy);
  const perTap = taps.map((tap) => {
    const dwTap = a.depthwise
      ? g.emit1('ReduceSum', [g.emit1('Mul', [dy, tap], {}, dy.dtype, dy.shape, 'tap_prod'), g.ints([0, 2, 3])], { keepdims: 0 }, dy.dtype, [cout], 'grad_w_tap')
      : g.emit1('Gemm', [dyc, tap], { transB: 1 }, dy.dtype, [cout, cinPerGroup], 'grad_w_tap');
    return g.emit1('Reshape', [dwTap, g.ints([cout, cinPerGroup, 1])], {}, dy.dtype, [cout, cinPerGroup, 1], 'grad_w_tap');
  });
  const stacked = perTap.length === 1 ? perTap[0]! : g.emit1('Concat', perTap, { axis: 2 }, dy.dtype, [cout, cinPerGroup, perTap.length], 'grad_w_taps');
  return g.emit1('Reshape', [stacked, g.ints(w.shape as number[])], {}, dy.dtype, w.shape, 'grad_conv_w');
}

export const Conv2dOp: OpDef<ConvAttrs> = {
  name: 'Conv2d',
  forward(g, [x, w, bias], a) {
    const { win } = a;
    const outShape: Dim[] = [x!.shape![0]!, w!.shape![0]!, win.outHeight, win.outWidth];
    if (g.floatType === 'float32') {
      const attrs = { kernel_shape: [win.kernel, win.kernel], strides: [win.stride, win.stride], pads: [win.pad, win.pad, win.pad, win.pad], group: a.groups };
      return [g.emit1('Conv', bias ? [x!, w!, bias] : [x!, w!], attrs, x!.dtype, outShape, 'conv')];
    }
    const y = forwardIm2col(g, x!, w!, a);
    if (!bias) return [y];
    const b3 = g.emit1('Reshape', [bias, g.ints([-1, 1, 1])], {}, bias.dtype, [outShape[1]!, 1, 1], 'bias');
    return [g.emit1('Add', [y, b3], {}, x!.dtype, outShape, 'conv')];
  },
  backward(g, { inputs: [x, w], attrs: a }, [dy], needs) {
    const dx = !needs[0] ? null : a.grads.input === 'transpose' ? inputGradTranspose(g, x!, w!, dy!, a) : inputGradIm2col(g, x!, w!, dy!, a);
    const dw = !needs[1] ? null : a.grads.weight === 'transpose' ? weightGradTranspose(g, x!, w!, dy!, a) : weightGradIm2col(g, x!, w!, dy!, a);
    const db = needs[2] ? g.emit1('ReduceSum', [dy!, g.ints([0, 2, 3])], { keepdims: 0 }, dy!.dtype, [w!.shape![0]!], 'grad_conv_b') : null;
    return [dx, dw, db];
  },
};

export interface Conv2dOptions {
  stride: number;
  pad: number;
  groups: number;
  /** Force a gradient formulation (default: `convGradFormulation`; float64 graphs: im2col). */
  formulation?: ConvGradFormulation;
}

/**
 * The attributes of a convolution of x by w in graph `g`: its window, whether it is depthwise, and
 * its gradient formulation. Throws on shapes that do not fit. Shared by `conv2d` and the integer
 * kernels (src/quant/integer.ts), so both make the same choices.
 */
export function convAttrs(g: Graph, x: Value, w: Value, bias: Value | null, o: Conv2dOptions): ConvAttrs {
  const [cout, cinPerGroup, k, k2] = w.shape ?? [];
  if (w.shape?.length !== 4 || typeof cout !== 'number' || typeof cinPerGroup !== 'number' || typeof k !== 'number' || k !== k2) {
    throw new Error(`conv2d: weight ${w.name} must have a static shape [Cout, Cin/groups, k, k], got [${w.shape?.join(', ') ?? 'unknown'}]`);
  }
  const win = windowOf(x, k, o.stride, o.pad);
  const cin = x.shape![1];
  if (cin !== cinPerGroup * o.groups) throw new Error(`conv2d: input ${x.name} has ${String(cin)} channels, weight ${w.name} expects ${cinPerGroup * o.groups}`);
  const depthwise = o.groups > 1 && o.groups === cin && cout === cin;
  if (o.groups !== 1 && !depthwise) throw new Error(`conv2d: groups must be 1 or depthwise (groups = Cin = Cout), got groups ${o.groups} for ${cin}→${cout}`);
  if (bias && (bias.shape?.length !== 1 || bias.shape[0] !== cout)) throw new Error(`conv2d: bias ${bias.name} must have shape [${cout}]`);
  const layer = { inChannels: cin, outChannels: cout, height: win.height, width: win.width, kernel: k, stride: o.stride, groups: o.groups };
  const grads: ConvGradFormulation = o.formulation ?? (g.floatType === 'float64' ? { input: 'im2col', weight: 'im2col' } : convGradFormulation(layer));
  if (g.floatType === 'float64' && (grads.input === 'transpose' || grads.weight === 'transpose')) {
    throw new Error('conv2d: float64 graphs have no Conv/ConvTranspose in onnxruntime; only the im2col gradients run there');
  }
  if (depthwise && grads.weight === 'transpose') throw new Error('conv2d: the depthwise weight gradient has only the im2col formulation');
  return { win, groups: o.groups, depthwise, grads };
}

/**
 * x [N, Cin, H, W] ∗ w [Cout, Cin/groups, k, k] (+ bias [Cout]) → [N, Cout, Ho, Wo], with
 * Ho = ⌊(H + 2·pad − k)/stride⌋ + 1. groups is 1 or Cin = Cout (depthwise).
 */
export function conv2d(g: Graph, x: Value, w: Value, bias: Value | null, o: Conv2dOptions): Value {
  return g.apply1(Conv2dOp, bias ? [x, w, bias] : [x, w], convAttrs(g, x, w, bias, o));
}

const SubsampleOp: OpDef<{ stride: number }> = {
  name: 'Subsample2d',
  forward(g, [x], { stride }) {
    const [n, c, h, w] = x!.shape! as [Dim, Dim, number, number];
    const shape = [n, c, Math.ceil(h / stride), Math.ceil(w / stride)];
    return [g.emit1('Slice', [x!, g.ints([0, 0]), g.ints([h, w]), g.ints([2, 3]), g.ints([stride, stride])], {}, x!.dtype, shape, 'subsampled')];
  },
  backward(g, { inputs: [x], attrs: { stride } }, [dy]) {
    const [n, c, h, w] = x!.shape! as [Dim, Dim, number, number];
    const spread = dilate(g, dy!, stride);
    return [g.emit1('Slice', [spread, g.ints([0, 0]), g.ints([h, w]), g.ints([2, 3])], {}, dy!.dtype, [n, c, h, w], 'grad_subsample')];
  },
};

/** x[:, :, ::stride, ::stride]; the gradient is dy at the kept positions and zero elsewhere. */
export function subsample2d(g: Graph, x: Value, stride: number): Value {
  spatialDims(x);
  return g.apply1(SubsampleOp, [x], { stride });
}

const PadChannelsOp: OpDef<{ before: number; after: number }> = {
  name: 'PadChannels',
  forward(g, [x], { before, after }) {
    const s = x!.shape!;
    const pads = new Array<number>(2 * s.length).fill(0);
    pads[1] = before;
    pads[s.length + 1] = after;
    return [g.emit1('Pad', [x!, g.ints(pads)], { mode: 'constant' }, x!.dtype, [s[0]!, (s[1] as number) + before + after, ...s.slice(2)], 'channel_padded')];
  },
  backward(g, { inputs: [x], attrs: { before } }, [dy]) {
    const c = x!.shape![1] as number;
    return [g.emit1('Slice', [dy!, g.ints([before]), g.ints([before + c]), g.ints([1])], {}, dy!.dtype, x!.shape, 'grad_pad_channels')];
  },
};

/** Zero-pad the channel axis (axis 1) of x with `before` and `after` channels. */
export function padChannels(g: Graph, x: Value, before: number, after: number): Value {
  if (typeof x.shape?.[1] !== 'number') throw new Error(`padChannels: ${x.name} needs a static channel axis`);
  return g.apply1(PadChannelsOp, [x], { before, after });
}
