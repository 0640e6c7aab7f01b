/**
 * Pooling over [N, C, H, W] (square windows, floor output size as PyTorch's default).
 *
 * - maxPool2d: ONNX MaxPool with its `Indices` output (flat positions in the whole input,
 *   batch and channel included). Gradient: dy scattered into a flat zero tensor at those
 *   indices with ScatterElements(reduction = 'add'), so an element that is the maximum of several
 *   overlapping windows collects every window's gradient, and ties go to the one element MaxPool
 *   reported. MaxPool and ScatterElements both run in float64.
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

/** Max over k×k windows; returns [N, C, Ho, Wo]. */
export function maxPool2d(g: Graph, x: Value, o: PoolOptions): Value {
  return g.apply1(MaxPoolOp, [x], { win: windowOf(x, o.kernel, o.stride, o.pad ?? 0) });
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
