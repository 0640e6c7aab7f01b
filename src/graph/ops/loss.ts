/**
 * Softmax cross-entropy with integer labels, mean over the batch.
 * Forward: LogSoftmax + NegativeLogLikelihoodLoss(mean). Gradient: (softmax − onehot) / B · dL.
 */
import type { Graph, OpDef, Value } from '../builder.js';

export const SoftmaxCrossEntropyOp: OpDef<{ classes: number }> = {
  name: 'SoftmaxCrossEntropy',
  forward(g, [logits, labels]) {
    const logp = g.emit1('LogSoftmax', [logits!], { axis: 1 }, logits!.dtype, logits!.shape, 'log_probs');
    const loss = g.emit1('NegativeLogLikelihoodLoss', [logp, labels!], { reduction: 'mean' }, logits!.dtype, [], 'loss');
    return [loss, logp];
  },
  backward(g, { inputs: [logits, labels], outputs: [, logp], attrs }, [dLoss], needs) {
    if (!needs[0] || !dLoss) return [null, null];
    const dtype = logits!.dtype;
    const probs = g.emit1('Exp', [logp!], {}, dtype, logits!.shape, 'probs');
    const classes = g.constant('int64', [attrs.classes], Array.from({ length: attrs.classes }, (_, i) => i), 'class_ids');
    const labelCol = g.emit1('Unsqueeze', [labels!, g.ints([1])], {}, 'int64', [labels!.shape![0]!, 1], 'labels_col');
    const hit = g.emit1('Equal', [labelCol, classes], {}, 'bool', logits!.shape, 'onehot_mask');
    const onehot = g.emit1('Cast', [hit], { to: dtype === 'float64' ? 11 : 1 }, dtype, logits!.shape, 'onehot');
    const diff = g.emit1('Sub', [probs, onehot], {}, dtype, logits!.shape, 'probs_minus_onehot');
    const batch = g.emit1('Shape', [logits!], { start: 0, end: 1 }, 'int64', [1], 'batch');
    const batchF = g.emit1('Cast', [batch], { to: dtype === 'float64' ? 11 : 1 }, dtype, [1], 'batch_f');
    const scale = g.emit1('Div', [dLoss, batchF], {}, dtype, [1], 'dloss_over_b');
    return [g.emit1('Mul', [diff, scale], {}, dtype, logits!.shape, 'grad_logits'), null];
  },
};

/** Returns [loss (scalar), logProbs]. */
export function softmaxCrossEntropy(g: Graph, logits: Value, labels: Value, classes: number): { loss: Value; logProbs: Value } {
  const [loss, logProbs] = g.apply(SoftmaxCrossEntropyOp, [logits, labels], { classes });
  return { loss: loss!, logProbs: logProbs! };
}

/** Number of rows whose arg-max equals the label (a float scalar). Not differentiable. */
export function correctCount(g: Graph, logits: Value, labels: Value): Value {
  const pred = g.emit1('ArgMax', [logits], { axis: 1, keepdims: 0 }, 'int64', [logits.shape![0]!], 'pred');
  const eq = g.emit1('Equal', [pred, labels], {}, 'bool', pred.shape, 'is_correct');
  const eqF = g.emit1('Cast', [eq], { to: logits.dtype === 'float64' ? 11 : 1 }, logits.dtype, pred.shape, 'is_correct_f');
  return g.emit1('ReduceSum', [eqF], { keepdims: 0 }, logits.dtype, [], 'correct');
}
