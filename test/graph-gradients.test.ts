/**
 * Every differentiable op's gradient rule against central finite differences, in float64 graphs:
 * L = Σ op(x…) ⊙ R with a fixed random R; autodiff emits dL/dx; FD perturbs each element.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../src/graph/builder.js';
import { gradients } from '../src/graph/autodiff.js';
import { add, flatten, matmul, mul, relu, reshape, sub } from '../src/graph/ops/math.js';
import { softmaxCrossEntropy } from '../src/graph/ops/loss.js';
import { type Case, check } from './helpers/gradcheck.js';
import { i64, randomValues } from './helpers/onnx.js';

const cases: Case[] = [
  { name: 'MatMul (both operands)', inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 5] }], build: (g, [a, b]) => matmul(g, a!, b!) },
  { name: 'Add with bias broadcast', inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4] }], build: (g, [a, b]) => add(g, a!, b!) },
  { name: 'Add with column broadcast', inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [3, 1] }], build: (g, [a, b]) => add(g, a!, b!) },
  { name: 'Sub with broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }], build: (g, [a, b]) => sub(g, a!, b!) },
  { name: 'Mul with broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [1, 3] }], build: (g, [a, b]) => mul(g, a!, b!) },
  {
    name: 'Relu (away from the kink)',
    inputs: [{ name: 'x', shape: [4, 3], values: randomValues(12, 3).map((v) => (Math.abs(v) < 0.05 ? v + 0.2 : v)) }],
    build: (g, [x]) => relu(g, x!),
  },
  { name: 'Reshape', inputs: [{ name: 'x', shape: [2, 6] }], build: (g, [x]) => reshape(g, x!, [3, 4]) },
  { name: 'Flatten', inputs: [{ name: 'x', shape: [2, 3, 2] }], build: (g, [x]) => flatten(g, x!) },
  {
    name: 'a tensor used twice (gradient accumulation with Sum)',
    inputs: [{ name: 'x', shape: [3, 3] }],
    build: (g, [x]) => add(g, matmul(g, x!, x!), mul(g, x!, x!)),
  },
  {
    name: 'Softmax cross-entropy (mean) w.r.t. logits',
    inputs: [{ name: 'logits', shape: [4, 5] }],
    scalar: true,
    extra: () => [],
    build: (g, [logits]) => {
      const labels = g.constant('int64', [4], [0, 3, 4, 1], 'labels');
      return softmaxCrossEntropy(g, logits!, labels, 5).loss;
    },
  },
  {
    name: 'two-layer MLP end to end',
    inputs: [
      { name: 'x', shape: [3, 4] },
      { name: 'w1', shape: [4, 6] },
      { name: 'w2', shape: [6, 3] },
    ],
    scalar: true,
    build: (g, [x, w1, w2]) => {
      const h = relu(g, matmul(g, x!, w1!));
      const labels = g.constant('int64', [3], [2, 0, 1], 'labels');
      return softmaxCrossEntropy(g, matmul(g, h, w2!), labels, 3).loss;
    },
  },
];

describe('gradient rules vs central finite differences (float64)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      expect(await check(c)).toBeLessThan(1e-6);
    });
  }

  it('detects a wrong gradient rule (the check can fail)', async () => {
    const { MulOp } = await import('../src/graph/ops/math.js');
    const broken = { ...MulOp, backward: (g: Graph, ctx: Parameters<typeof MulOp.backward>[1], dys: Parameters<typeof MulOp.backward>[2], needs: boolean[]) => MulOp.backward(g, ctx, dys, needs).map((v) => (v ? g.emit1('Add', [v, g.scalar(0.01)], {}, v.dtype, v.shape) : v)) };
    const worst = await check({ name: 'broken', inputs: [{ name: 'a', shape: [2, 2] }, { name: 'b', shape: [2, 2] }], build: (g, [a, b]) => g.apply1(broken, [a!, b!], undefined) });
    expect(worst).toBeGreaterThan(1e-3);
  });
});

describe('autodiff', () => {
  it('refuses a loss that does not depend on the parameters', () => {
    const g = new Graph('x', 'float64');
    const a = g.input('a', 'float64', [2]);
    const b = g.input('b', 'float64', [2]);
    const y = relu(g, a);
    expect(() => gradients(g, y, [b])).toThrow(/does not depend/);
  });

  it('only emits gradients that are needed (no input gradient for the data)', () => {
    const g = new Graph('x', 'float32');
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.input('w', 'float32', [3, 4]);
    const y = matmul(g, x, w);
    const before = g.nodes.length;
    const ones = g.emit1('Expand', [g.scalar(1), g.ints([2, 4])], {}, 'float32', [2, 4]);
    gradients(g, y, [w], { seed: ones });
    const gemms = g.nodes.slice(before).filter((n) => n.opType === 'Gemm');
    expect(gemms).toHaveLength(1);
    expect(gemms[0]!.attributes.transA).toEqual({ kind: 'int', value: 1 });
  });

  void i64;
});
