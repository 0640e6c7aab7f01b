/**
 * Pooling over [N, C, H, W] (square windows, floor output size as PyTorch's default).
 *
 * - maxPool2d: ONNX MaxPool with its `Indices` output (flat positions in the whole input,
 *   batch and channel included). Gradient: dy scattered into a flat zero tensor at those
 *   indices with ScatterElements(reduction = 'add'), so an element that is the maximum of several
 *   overlapping windows collects every window's gradient, and ties go to the one element MaxPool
 *   reported. MaxPool and ScatterElements both run in float64.
 *   Non-overlapping windows (kernel = stride, no padding: the usual 2×2/2) take a faster path:
 *   MaxPool without `Indices` (onnxruntime's MaxPool with Indices is a slow generic kernel: 17 ms
 *   of the MNIST CNN's step at batch 128, plus 6 ms of ScatterElements), and a gradient from the
 *   k² strided taps of x: each tap equal to the window's max takes dy, the first such tap in
 *   row-major order only (MaxPool's and PyTorch's tie-break), and the k² tap gradients are
 *   interleaved back (Concat, Transpose, Reshape; rows and columns past the last window get 0).
 * - avgPool2d: count_include_pad = 1 (PyTorch's default: the divisor is always k², padded zeros
 *   count), which also keeps the gradient a constant-weight col2im. Forward: ONNX AveragePool in
 *   float32 graphs; onnxruntime has no float64 AveragePool, so float64 graphs sum the k² strided
 *   slices of the padded input (as conv's im2col). Gradient (both): dy/k² dilated by the stride,
 *   placed at each tap's offset, summed and cropped (`placeTaps`).
 * - globalAvgPool: ReduceMean over H, W → [N, C, 1, 1]; gradient dy/(H·W) expanded back.
 */
import { type Dim, type Graph, type OpDef, type Value } from '../builder.js';
import { type SlidingWindow, dilate, padSpatial, placeTaps, spatialDims, tapSlice, windowOf } from './conv.js';

export interface PoolOptions {
  kernel: number;
  stride: number;
  pad?: number;
}

function pooledShape(x: Value, win: SlidingWindow): Dim[] {
  return [x.shape![0]!, x.shape![1]!, win.outHeight, win.outWidth];
}

function windowAttrs(win: SlidingWindow) {
  return { kernel_shape: [win.kernel, win.kernel], strides: [win.stride, win.stride], pads: [win.pad, win.pad, win.pad, win.pad] };
}

const MaxPoolOp: OpDef<{ win: SlidingWindow }> = {
  name: 'MaxPool',
  forward(g, [x], { win }) {
    const shape = pooledShape(x!, win);
    return g.emit('MaxPool', [x!], windowAttrs(win), [
      { dtype: x!.dtype, shape, hint: 'maxpool' },
      { dtype: 'int64', shape, hint: 'maxpool_indices' },
    ]);
  },
  backward(g, { inputs: [x], outputs: [, indices] }, [dy]) {
    const dtype = dy!.dtype;
    const size = g.emit1('Size', [x!], {}, 'int64', [], 'numel');
    const flatShape = g.emit1('Reshape', [size, g.ints([1])], {}, 'int64', [1], 'numel');
    const zeros = g.emit1('Expand', [g.scalar(0), flatShape], {}, dtype, ['numel'], 'zeros');
    const flatIndices = g.emit1('Reshape', [indices!, g.ints([-1])], {}, 'int64', ['pooled'], 'indices_flat');
    const flatDy = g.emit1('Reshape', [dy!, g.ints([-1])], {}, dtype, ['pooled'], 'dy_flat');
    const scattered = g.emit1('ScatterElements', [zeros, flatIndices, flatDy], { axis: 0, reduction: 'add' }, dtype, ['numel'], 'grad_maxpool_flat');
    const shape = g.emit1('Shape', [x!], {}, 'int64', [4], 'shape');
    return [g.emit1('Reshape', [scattered, shape], {}, dtype, x!.shape, 'grad_maxpool')];
  },
};

/** Max over non-overlapping k×k windows (kernel = stride, no padding). */
const MaxPoolTilesOp: OpDef<{ win: SlidingWindow }> = {
  name: 'MaxPoolTiles',
  forward(g, [x], { win }) {
    return [g.emit1('MaxPool', [x!], windowAttrs(win), x!.dtype, pooledShape(x!, win), 'maxpool')];
  },
  backward(g, { inputs: [x], outputs: [y], attrs: { win } }, [dy]) {
    const dtype = dy!.dtype;
    const k = win.kernel;
    const [n, c] = x!.shape! as [Dim, Dim];
    const pooled = pooledShape(x!, win);
    const zero = g.scalar(0);
    let rest = dy!; // the gradient no earlier tap has taken
    const taps: Value[] = [];
    for (let t = 0; t < k * k; t++) {
      const hit = g.emit1('Equal', [tapSlice(g, x!, win, Math.floor(t / k), t % k), y!], {}, 'bool', pooled, 'is_max');
      taps.push(g.emit1('Unsqueeze', [g.emit1('Where', [hit, rest, zero], {}, dtype, pooled, 'tap_grad'), g.ints([4])], {}, dtype, [...pooled, 1], 'tap_grad'));
      if (t < k * k - 1) rest = g.emit1('Where', [hit, zero, rest], {}, dtype, pooled, 'grad_left');
    }
    const { outHeight: ho, outWidth: wo } = win;
    const stacked = g.emit1('Concat', taps, { axis: 4 }, dtype, [n, c, ho, wo, k * k], 'tap_grads');
    const split = g.emit1('Reshape', [stacked, g.ints([0, 0, ho, wo, k, k])], {}, dtype, [n, c, ho, wo, k, k], 'tap_grads');
    const tiles = g.emit1('Transpose', [split], { perm: [0, 1, 2, 4, 3, 5] }, dtype, [n, c, ho, k, wo, k], 'tiles');
    const dx = g.emit1('Reshape', [tiles, g.ints([0, 0, ho * k, wo * k])], {}, dtype, [n, c, ho * k, wo * k], 'grad_maxpool');
    const [h, w] = spatialDims(x!);
    if (h === ho * k && w === wo * k) return [dx];
    return [g.emit1('Pad', [dx, g.ints([0, 0, 0, 0, 0, 0, h - ho * k, w - wo * k])], { mode: 'constant' }, dtype, x!.shape, 'grad_maxpool')];
  },
};

/** Max over k×k windows; returns [N, C, Ho, Wo]. */
export function maxPool2d(g: Graph, x: Value, o: PoolOptions): Value {
  const win = windowOf(x, o.kernel, o.stride, o.pad ?? 0);
  return g.apply1(win.kernel === win.stride && win.pad === 0 ? MaxPoolTilesOp : MaxPoolOp, [x], { win });
}

const AvgPoolOp: OpDef<{ win: SlidingWindow }> = {
  name: 'AvgPool',
  forward(g, [x], { win }) {
    const shape = pooledShape(x!, win);
    if (g.floatType === 'float32') return [g.emit1('AveragePool', [x!], { ...windowAttrs(win), count_include_pad: 1 }, x!.dtype, shape, 'avgpool')];
    const xp = padSpatial(g, x!, win.pad);
    const taps: Value[] = [];
    for (let i = 0; i < win.kernel; i++) for (let j = 0; j < win.kernel; j++) taps.push(tapSlice(g, xp, win, i, j));
    const sum = taps.length === 1 ? taps[0]! : g.emit1('Sum', taps, {}, x!.dtype, shape, 'window_sum');
    return [g.emit1('Mul', [sum, g.scalar(1 / win.kernel ** 2)], {}, x!.dtype, shape, 'avgpool')];
  },
  backward(g, { attrs: { win } }, [dy]) {
    const share = g.emit1('Mul', [dy!, g.scalar(1 / win.kernel ** 2)], {}, dy!.dtype, dy!.shape, 'dy_share');
    const block = dilate(g, share, win.stride);
    return [placeTaps(g, win, new Array<Value>(win.kernel ** 2).fill(block))];
  },
};

/** Mean over k×k windows, padded zeros included in the divisor (count_include_pad = 1). */
export function avgPool2d(g: Graph, x: Value, o: PoolOptions): Value {
  return g.apply1(AvgPoolOp, [x], { win: windowOf(x, o.kernel, o.stride, o.pad ?? 0) });
}

const GlobalAvgPoolOp: OpDef = {
  name: 'GlobalAvgPool',
  forward(g, [x]) {
    return [g.emit1('ReduceMean', [x!], { axes: [2, 3], keepdims: 1 }, x!.dtype, [x!.shape![0]!, x!.shape![1]!, 1, 1], 'global_avgpool')];
  },
  backward(g, { inputs: [x] }, [dy]) {
    const [h, w] = spatialDims(x!);
    const share = g.emit1('Mul', [dy!, g.scalar(1 / (h * w))], {}, dy!.dtype, dy!.shape, 'dy_share');
    const shape = g.emit1('Shape', [x!], {}, 'int64', [4], 'shape');
    return [g.emit1('Expand', [share, shape], {}, dy!.dtype, x!.shape, 'grad_global_avgpool')];
  },
};

/** Mean over H and W: [N, C, H, W] → [N, C, 1, 1]. */
export function globalAvgPool(g: Graph, x: Value): Value {
  spatialDims(x);
  return g.apply1(GlobalAvgPoolOp, [x], undefined);
}
