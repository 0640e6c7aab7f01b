/**
 * Elementwise and linear-algebra ops: forward emission and gradient rule side by side.
 */
import { type Dim, type Graph, type OpDef, type Value, broadcastShapes } from '../builder.js';

/** Reduce a broadcast gradient back to the shape of the operand it belongs to. */
export function sumToShape(g: Graph, grad: Value, target: readonly Dim[] | null): Value {
  if (target === null || grad.shape === null) throw new Error('sumToShape needs known ranks');
  const shape = grad.shape;
  if (shape.length === target.length && shape.every((d, i) => d === target[i])) return grad;
  const lead = shape.length - target.length;
  const axes: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (i < lead) axes.push(i);
    else if (target[i - lead] === 1 && shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return grad;
  const reduced = g.emit1('ReduceSum', [grad, g.ints(axes)], { keepdims: 1 }, grad.dtype, shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  return g.emit1('Reshape', [reduced, g.ints(target.map((d) => (typeof d === 'number' ? d : -1)))], {}, grad.dtype, target);
}

function binary(opType: 'Add' | 'Sub' | 'Mul' | 'Div'): (g: Graph, inputs: readonly Value[]) => Value[] {
  return (g, [a, b]) => [g.emit1(opType, [a!, b!], {}, a!.dtype, broadcastShapes(a!.shape, b!.shape), opType.toLowerCase())];
}

export const AddOp: OpDef = {
  name: 'Add',
  forward: binary('Add'),
  backward(g, { inputs }, [dy], needs) {
    return inputs.map((x, i) => (needs[i] ? sumToShape(g, dy!, x.shape) : null));
  },
};

export const SubOp: OpDef = {
  name: 'Sub',
  forward: binary('Sub'),
  backward(g, { inputs: [a, b] }, [dy], needs) {
    return [
      needs[0] ? sumToShape(g, dy!, a!.shape) : null,
      needs[1] ? sumToShape(g, g.emit1('Neg', [dy!], {}, dy!.dtype, dy!.shape), b!.shape) : null,
    ];
  },
};

export const MulOp: OpDef = {
  name: 'Mul',
  forward: binary('Mul'),
  backward(g, { inputs: [a, b] }, [dy], needs) {
    const part = (other: Value, self: Value) => sumToShape(g, g.emit1('Mul', [dy!, other], {}, dy!.dtype, dy!.shape), self.shape);
    return [needs[0] ? part(b!, a!) : null, needs[1] ? part(a!, b!) : null];
  },
};

/** MatMul of 2-D operands [M,K]·[K,N]; gradients use Gemm with transposes folded in. */
export const MatMulOp: OpDef = {
  name: 'MatMul',
  forward(g, [a, b]) {
    if (a!.shape?.length !== 2 || b!.shape?.length !== 2) throw new Error('MatMul: bitcycle supports 2-D operands');
    return [g.emit1('MatMul', [a!, b!], {}, a!.dtype, [a!.shape[0]!, b!.shape[1]!], 'matmul')];
  },
  backward(g, { inputs: [a, b] }, [dy], needs) {
    return [
      needs[0] ? g.emit1('Gemm', [dy!, b!], { transB: 1 }, dy!.dtype, a!.shape, 'grad_a') : null,
      needs[1] ? g.emit1('Gemm', [a!, dy!], { transA: 1 }, dy!.dtype, b!.shape, 'grad_b') : null,
    ];
  },
};

export const ReluOp: OpDef = {
  name: 'Relu',
  forward(g, [x]) {
    return [g.emit1('Relu', [x!], {}, x!.dtype, x!.shape, 'relu')];
  },
  backward(g, { outputs: [y] }, [dy]) {
    const positive = g.emit1('Greater', [y!, g.scalar(0)], {}, 'bool', y!.shape, 'relu_mask');
    return [g.emit1('Where', [positive, dy!, g.scalar(0)], {}, dy!.dtype, dy!.shape, 'grad_relu')];
  },
};

/** Reshape to a static target shape (-1 allowed once, 0 copies the input dim). */
export const ReshapeOp: OpDef<{ shape: readonly number[] }> = {
  name: 'Reshape',
  forward(g, [x], { shape }) {
    const outShape: Dim[] = shape.map((d, i) => (d === 0 ? x!.shape![i]! : d === -1 ? 'reshaped' : d));
    if (shape.includes(-1) && x!.shape && x!.shape.every((d) => typeof d === 'number')) {
      const known = outShape.reduce<number>((n, d) => (typeof d === 'number' ? n * d : n), 1);
      const total = (x!.shape as number[]).reduce((n, d) => n * d, 1);
      outShape[shape.indexOf(-1)] = total / known;
    } else if (shape.includes(-1) && x!.shape && shape.indexOf(-1) === 0 && shape.length >= 1) {
      outShape[0] = x!.shape[0]!;
    }
    return [g.emit1('Reshape', [x!, g.ints(shape)], {}, x!.dtype, outShape, 'reshape')];
  },
  backward(g, { inputs: [x] }, [dy]) {
    const shape = g.emit1('Shape', [x!], {}, 'int64', [x!.shape!.length], 'shape');
    return [g.emit1('Reshape', [dy!, shape], {}, dy!.dtype, x!.shape, 'grad_reshape')];
  },
};

/** Flatten to [N, rest] (ONNX Flatten, axis 1). */
export const FlattenOp: OpDef = {
  name: 'Flatten',
  forward(g, [x]) {
    const s = x!.shape!;
    const rest = s.slice(1).reduce<Dim>((n, d) => (typeof n === 'number' && typeof d === 'number' ? n * d : 'flat'), 1);
    return [g.emit1('Flatten', [x!], { axis: 1 }, x!.dtype, [s[0]!, rest], 'flatten')];
  },
  backward: ReshapeOp.backward as OpDef['backward'],
};

export const add = (g: Graph, a: Value, b: Value): Value => g.apply1(AddOp, [a, b], undefined);
export const sub = (g: Graph, a: Value, b: Value): Value => g.apply1(SubOp, [a, b], undefined);
export const mul = (g: Graph, a: Value, b: Value): Value => g.apply1(MulOp, [a, b], undefined);
export const matmul = (g: Graph, a: Value, b: Value): Value => g.apply1(MatMulOp, [a, b], undefined);
export const relu = (g: Graph, x: Value): Value => g.apply1(ReluOp, [x], undefined);
export const reshape = (g: Graph, x: Value, shape: readonly number[]): Value => g.apply1(ReshapeOp, [x], { shape });
export const flatten = (g: Graph, x: Value): Value => g.apply1(FlattenOp, [x], undefined);
