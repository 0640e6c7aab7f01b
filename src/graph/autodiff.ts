/**
 * Generic reverse-mode sweep over the builder's tape (micrograd's shape: find what is on the path,
 * walk it backwards, call each op's own gradient rule). Nothing here knows any op's math.
 * A tensor that feeds several consumers gets the ONNX `Sum` of its gradient contributions.
 */
import type { Graph, TapeEntry, Value } from './builder.js';

export interface GradientOptions {
  /** Gradient of the loss (default: a scalar 1, so `loss` must be a scalar). */
  seed?: Value;
}

/** Emit the gradients of `loss` with respect to each of `wrt`; returns them in the same order. */
export function gradients(g: Graph, loss: Value, wrt: readonly Value[], options: GradientOptions = {}): Value[] {
  // Forward: which values depend on some wrt value.
  const requires = new Set(wrt.map((v) => v.name));
  const onForwardPath: TapeEntry[] = [];
  for (const entry of g.tape) {
    if (entry.inputs.some((i) => requires.has(i.name))) {
      onForwardPath.push(entry);
      for (const o of entry.outputs) requires.add(o.name);
    }
  }
  if (!requires.has(loss.name)) throw new Error(`autodiff: ${loss.name} does not depend on the requested values`);

  // Backward: which of those entries lead to the loss.
  const leadsToLoss = new Set([loss.name]);
  const relevant: TapeEntry[] = [];
  for (let i = onForwardPath.length - 1; i >= 0; i--) {
    const entry = onForwardPath[i]!;
    if (entry.outputs.some((o) => leadsToLoss.has(o.name))) {
      relevant.push(entry);
      for (const inp of entry.inputs) if (requires.has(inp.name)) leadsToLoss.add(inp.name);
    }
  }

  const contributions = new Map<string, Value[]>();
  const add = (v: Value, grad: Value) => {
    const list = contributions.get(v.name);
    if (list) list.push(grad);
    else contributions.set(v.name, [grad]);
  };
  const total = (v: Value): Value | null => {
    const list = contributions.get(v.name);
    if (!list || list.length === 0) return null;
    if (list.length === 1) return list[0]!;
    const sum = g.emit1('Sum', list, {}, list[0]!.dtype, v.shape, `grad_${v.name}`);
    contributions.set(v.name, [sum]);
    return sum;
  };

  add(loss, options.seed ?? g.scalar(1));
  for (const entry of relevant) {
    const outputGrads = entry.outputs.map(total);
    if (outputGrads.every((x) => x === null)) continue;
    const needs = entry.inputs.map((i) => requires.has(i.name) && leadsToLoss.has(i.name));
    const inputGrads = entry.op.backward(g, entry, outputGrads, needs);
    entry.inputs.forEach((inp, k) => {
      const grad = inputGrads[k];
      if (needs[k] && grad) add(inp, grad);
    });
  }
  return wrt.map((v) => {
    const grad = total(v);
    if (!grad) throw new Error(`autodiff: no gradient reaches ${v.name}`);
    return grad;
  });
}
