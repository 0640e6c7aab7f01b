/**
 * Central finite-difference check of a gradient rule in a float64 graph:
 * L = Σ op(x…) ⊙ R with a fixed random R (or the op's own scalar output); autodiff emits dL/dx;
 * FD perturbs each element. Returns the worst relative error.
 */
import type * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../../src/graph/builder.js';
import { gradients } from '../../src/graph/autodiff.js';
import { mul } from '../../src/graph/ops/math.js';
import { f64, randomValues, session } from './onnx.js';

export interface Case {
  name: string;
  inputs: { name: string; shape: number[]; values?: number[] }[];
  build(g: Graph, xs: Value[]): Value;
  /** Extra non-differentiated feeds. */
  extra?: (g: Graph) => { value: Value; tensor: ort.Tensor }[];
  /** Output is already a scalar loss (no random projection). */
  scalar?: boolean;
}

export async function check(c: Case): Promise<number> {
  const g = new Graph('gradcheck', 'float64');
  const xs = c.inputs.map((i) => g.input(i.name, 'float64', i.shape));
  const extras = c.extra?.(g) ?? [];
  const y = c.build(g, xs);
  let loss = y;
  const feeds: Record<string, ort.Tensor> = {};
  if (!c.scalar) {
    const size = y.shape!.reduce<number>((n, d) => n * (d as number), 1);
    const r = g.input('projection', 'float64', y.shape);
    feeds.projection = f64(y.shape as number[], randomValues(size, 99));
    const prod = mul(g, y, r);
    loss = g.emit1('ReduceSum', [prod], { keepdims: 0 }, 'float64', [], 'loss');
    // ReduceSum is not on the tape: seed the gradient of `prod` with ones explicitly.
    const ones = g.emit1('Expand', [g.scalar(1), g.ints(y.shape as number[])], {}, 'float64', y.shape);
    const grads = gradients(g, prod, xs, { seed: ones });
    g.output(loss, 'L');
    grads.forEach((gr, i) => g.output(gr, `grad_${i}`));
  } else {
    const grads = gradients(g, loss, xs);
    g.output(loss, 'L');
    grads.forEach((gr, i) => g.output(gr, `grad_${i}`));
  }
  for (const e of extras) feeds[e.value.name] = e.tensor;
  const s = await session(g);
  const values = c.inputs.map((inp, k) => inp.values ?? randomValues(inp.shape.reduce((a, b) => a * b, 1), 7 + k));
  const run = async (vals: number[][]) => {
    const f: Record<string, ort.Tensor> = { ...feeds };
    c.inputs.forEach((inp, k) => (f[inp.name] = f64(inp.shape, vals[k]!)));
    return s.run(f);
  };
  const base = await run(values);
  let worst = 0;
  const h = 1e-6;
  for (let k = 0; k < values.length; k++) {
    const analytic = base[`grad_${k}`]!.data as Float64Array;
    for (let j = 0; j < values[k]!.length; j++) {
      const plus = values.map((v) => [...v]);
      const minus = values.map((v) => [...v]);
      plus[k]![j]! += h;
      minus[k]![j]! -= h;
      const lp = Number((await run(plus)).L!.data[0]);
      const lm = Number((await run(minus)).L!.data[0]);
      const numeric = (lp - lm) / (2 * h);
      const err = Math.abs(numeric - analytic[j]!) / Math.max(1, Math.abs(numeric));
      worst = Math.max(worst, err);
    }
  }
  await s.release();
  return worst;
}

