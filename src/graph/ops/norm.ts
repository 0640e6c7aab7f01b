/**
 * Batch normalization over the channel axis (axis 1) of [N, C, H, W] or [N, C], as PyTorch's
 * BatchNorm2d/BatchNorm1d. Statistics are taken over the M = N·H·W (or N) values per channel.
 *
 * Training (`batchNormTrain`): y = γ·x̂ + β with x̂ = (x − μ)·σ⁻¹, μ the batch mean,
 * σ⁻¹ = 1/√(v + ε) and v the biased batch variance. Its gradient is one fused rule (written with
 * means rather than sums so the run-time M, which depends on the symbolic batch, is not needed):
 *   dx̂ = dy·γ,  dx = σ⁻¹·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy,
 * i.e. σ⁻¹/M·(M·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)). The running statistics it also returns are not on the
 * tape: (1 − momentum)·running + momentum·batch, with the batch variance made unbiased (×M/(M−1),
 * M from the run-time element count) for the running variance, as PyTorch does.
 *
 * Evaluation (`batchNormEval`): y = x·s + (β − μ_run·s) with s = γ/√(v_run + ε), composed of the
 * tape's Mul/Add/Sub/Reshape ops, so it has gradients for x, γ and β at no extra cost.
 */
import type { Graph, OpDef, Value } from '../builder.js';
import { add, mul, reshape, sub } from './math.js';

export interface BatchNormOptions {
  /** Weight of the batch statistic in the running-statistics update (default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/** Reduction axes and the broadcast shape of a per-channel statistic for x [N, C, …]. */
function channelLayout(x: Value): { axes: number[]; statShape: number[]; channels: number } {
  const s = x.shape;
  const channels = s?.[1];
  if (s === null || (s.length !== 2 && s.length !== 4) || typeof channels !== 'number') {
    throw new Error(`batch norm: ${x.name} must be [N, C] or [N, C, H, W] with a static C, got [${s?.join(', ') ?? 'unknown'}]`);
  }
  return s.length === 4 ? { axes: [0, 2, 3], statShape: [1, channels, 1, 1], channels } : { axes: [0], statShape: [1, channels], channels };
}

function perChannel(g: Graph, v: Value, statShape: number[], hint: string): Value {
  return g.emit1('Reshape', [v, g.ints(statShape)], {}, v.dtype, statShape, hint);
}

/** Outputs: y, x̂, σ⁻¹, batch mean, biased batch variance (the last four [1, C(, 1, 1)]). */
const BatchNormTrainOp: OpDef<{ eps: number }> = {
  name: 'BatchNormTrain',
  forward(g, [x, gamma, beta], { eps }) {
    const { axes, statShape } = channelLayout(x!);
    const dtype = x!.dtype;
    const mean = g.emit1('ReduceMean', [x!], { axes, keepdims: 1 }, dtype, statShape, 'bn_mean');
    const centered = g.emit1('Sub', [x!, mean], {}, dtype, x!.shape, 'bn_centered');
    const squares = g.emit1('Mul', [centered, centered], {}, dtype, x!.shape, 'bn_squares');
    const variance = g.emit1('ReduceMean', [squares], { axes, keepdims: 1 }, dtype, statShape, 'bn_var');
    const std = g.emit1('Sqrt', [g.emit1('Add', [variance, g.scalar(eps)], {}, dtype, statShape)], {}, dtype, statShape, 'bn_std');
    const invstd = g.emit1('Reciprocal', [std], {}, dtype, statShape, 'bn_invstd');
    const xhat = g.emit1('Mul', [centered, invstd], {}, dtype, x!.shape, 'bn_xhat');
    const scaled = g.emit1('Mul', [xhat, perChannel(g, gamma!, statShape, 'bn_gamma')], {}, dtype, x!.shape, 'bn_scaled');
    const y = g.emit1('Add', [scaled, perChannel(g, beta!, statShape, 'bn_beta')], {}, dtype, x!.shape, 'bn_y');
    return [y, xhat, invstd, mean, variance];
  },
  backward(g, { inputs: [x, gamma], outputs: [, xhat, invstd] }, [dy], needs) {
    if (!dy) return [null, null, null];
    const { axes, statShape, channels } = channelLayout(x!);
    const dtype = dy.dtype;
    const sumOver = (v: Value, hint: string) => g.emit1('ReduceSum', [v, g.ints(axes)], { keepdims: 0 }, dtype, [channels], hint);
    const meanOver = (v: Value, hint: string) => g.emit1('ReduceMean', [v], { axes, keepdims: 1 }, dtype, statShape, hint);
    const dyXhat = needs[0] || needs[1] ? g.emit1('Mul', [dy, xhat!], {}, dtype, x!.shape, 'bn_dy_xhat') : null;
    let dx: Value | null = null;
    if (needs[0]) {
      const gammaB = perChannel(g, gamma!, statShape, 'bn_gamma');
      const dxhat = g.emit1('Mul', [dy, gammaB], {}, dtype, x!.shape, 'bn_dxhat');
      // mean(dx̂·x̂) = γ·mean(dy·x̂) per channel.
      const projection = g.emit1('Mul', [meanOver(dyXhat!, 'bn_mean_dy_xhat'), gammaB], {}, dtype, statShape, 'bn_mean_dxhat_xhat');
      const centered = g.emit1('Sub', [dxhat, meanOver(dxhat, 'bn_mean_dxhat')], {}, dtype, x!.shape);
      const residual = g.emit1('Sub', [centered, g.emit1('Mul', [xhat!, projection], {}, dtype, x!.shape)], {}, dtype, x!.shape);
      dx = g.emit1('Mul', [residual, invstd!], {}, dtype, x!.shape, 'grad_bn_x');
    }
    return [dx, needs[1] ? sumOver(dyXhat!, 'grad_bn_gamma') : null, needs[2] ? sumOver(dy, 'grad_bn_beta') : null];
  },
};

export interface BatchNormTrainResult {
  /** Normalized output (on the tape). */
  y: Value;
  /** Updated running mean [C] (not on the tape). */
  mean: Value;
  /** Updated running variance [C] (not on the tape; unbiased batch variance). */
  variance: Value;
}

/** Batch norm with batch statistics; gamma, beta, runningMean, runningVar are [C]. */
export function batchNormTrain(g: Graph, x: Value, gamma: Value, beta: Value, runningMean: Value, runningVar: Value, o: BatchNormOptions = {}): BatchNormTrainResult {
  const { channels } = channelLayout(x);
  const momentum = o.momentum ?? 0.1;
  const [y, , , batchMean, batchVar] = g.apply(BatchNormTrainOp, [x, gamma, beta], { eps: o.eps ?? 1e-5 });
  const dtype = x.dtype;
  const flat = (v: Value, hint: string) => g.emit1('Reshape', [v, g.ints([channels])], {}, dtype, [channels], hint);
  const size = g.emit1('Cast', [g.emit1('Size', [x], {}, 'int64', [], 'numel')], { to: dtype === 'float64' ? 11 : 1 }, dtype, [], 'numel_f');
  const m = g.emit1('Div', [size, g.scalar(channels)], {}, dtype, [], 'bn_count');
  const bessel = g.emit1('Div', [m, g.emit1('Sub', [m, g.scalar(1)], {}, dtype, [])], {}, dtype, [], 'bn_bessel');
  const unbiased = g.emit1('Mul', [flat(batchVar!, 'bn_batch_var'), bessel], {}, dtype, [channels], 'bn_var_unbiased');
  const blend = (running: Value, batch: Value, hint: string) => {
    const kept = g.emit1('Mul', [running, g.scalar(1 - momentum)], {}, dtype, [channels]);
    const fresh = g.emit1('Mul', [batch, g.scalar(momentum)], {}, dtype, [channels]);
    return g.emit1('Add', [kept, fresh], {}, dtype, [channels], hint);
  };
  return {
    y: y!,
    mean: blend(runningMean, flat(batchMean!, 'bn_batch_mean'), 'bn_running_mean'),
    variance: blend(runningVar, unbiased, 'bn_running_var'),
  };
}

/** Batch norm with the running statistics (inference). */
export function batchNormEval(g: Graph, x: Value, gamma: Value, beta: Value, runningMean: Value, runningVar: Value, o: Pick<BatchNormOptions, 'eps'> = {}): Value {
  const { statShape, channels } = channelLayout(x);
  const dtype = x.dtype;
  const std = g.emit1('Sqrt', [g.emit1('Add', [runningVar, g.scalar(o.eps ?? 1e-5)], {}, dtype, [channels])], {}, dtype, [channels], 'bn_std');
  const invstd = g.emit1('Reciprocal', [std], {}, dtype, [channels], 'bn_invstd');
  const scale = mul(g, gamma, invstd);
  const shift = sub(g, beta, mul(g, runningMean, scale));
  return add(g, mul(g, x, reshape(g, scale, statShape)), reshape(g, shift, statShape));
}
