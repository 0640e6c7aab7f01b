/**
 * Loss-scaling policies for low-precision errors (docs/number-formats.md), parsed once:
 *
 *   none                              the errors as they are (default)
 *   static:S                          the backward pass starts from S·loss; gradients are divided by S
 *   dynamic[:init=S][:interval=N]     S starts at `init` (default 2^16), halves on a step whose
 *                                     gradients are not all finite (that step's update is skipped)
 *                                     and doubles after N good steps in a row (default 2000): the
 *                                     policy of PyTorch's GradScaler and NVIDIA's AMP
 *   layer                             adaptive layer-wise: each error tensor gets its own
 *                                     power-of-two scale from its largest magnitude before it is
 *                                     rounded to a float format (src/quant/quantizers.ts)
 *
 * Pure.
 */
import { UsageError } from '../errors.js';

export type LossScale = { kind: 'none' } | { kind: 'static'; scale: number } | { kind: 'dynamic'; init: number; interval: number } | { kind: 'layer' };

export const DEFAULT_DYNAMIC_INIT = 65536;
export const DEFAULT_GROWTH_INTERVAL = 2000;
/** Largest scale accepted (float32 stays finite for any loss below 10^38 / 2^64). */
const MAX_SCALE = 2 ** 64;

const HELP = 'none | static:S | dynamic[:init=S][:interval=N] | layer';

function scaleValue(option: string, text: string, what: string): number {
  const v = Number(text);
  if (!/^[0-9.e+-]+$/i.test(text) || !Number.isFinite(v) || v <= 0 || v > MAX_SCALE) throw new UsageError(option, `${what} must be a number in (0, 2^64], got "${text}"`);
  return v;
}

export function parseLossScale(text: string, option = '--loss-scale'): LossScale {
  const parts = text.trim().toLowerCase().split(':');
  const kind = parts[0];
  if (kind === 'none' && parts.length === 1) return { kind: 'none' };
  if (kind === 'layer' && parts.length === 1) return { kind: 'layer' };
  if (kind === 'static') {
    if (parts.length !== 2) throw new UsageError(option, `expected static:S, e.g. static:1024, got "${text}"`);
    return { kind: 'static', scale: scaleValue(option, parts[1]!, 'S') };
  }
  if (kind === 'dynamic') {
    let init = DEFAULT_DYNAMIC_INIT;
    let interval = DEFAULT_GROWTH_INTERVAL;
    const seen = new Set<string>();
    for (const part of parts.slice(1)) {
      const m = /^(init|interval)=(.+)$/.exec(part);
      if (!m || seen.has(m[1]!)) throw new UsageError(option, `unknown or repeated option "${part}" of dynamic (allowed: init=S, interval=N)`);
      seen.add(m[1]!);
      if (m[1] === 'init') init = scaleValue(option, m[2]!, 'init');
      else {
        interval = Number(m[2]);
        if (!/^\d+$/.test(m[2]!) || interval < 1 || interval > 1e9) throw new UsageError(option, `interval must be a positive integer, got "${m[2]}"`);
      }
    }
    return { kind: 'dynamic', init, interval };
  }
  throw new UsageError(option, `expected ${HELP}, got "${text}"`);
}

/** The canonical spec (options at their default dropped). */
export function lossScaleName(s: LossScale): string {
  switch (s.kind) {
    case 'none':
    case 'layer':
      return s.kind;
    case 'static':
      return `static:${s.scale}`;
    case 'dynamic':
      return ['dynamic', ...(s.init !== DEFAULT_DYNAMIC_INIT ? [`init=${s.init}`] : []), ...(s.interval !== DEFAULT_GROWTH_INTERVAL ? [`interval=${s.interval}`] : [])].join(':');
  }
}

/**
 * The graph's `loss_scaling` input: [active (0/1: a static or dynamic scale), dynamic (0/1), growth
 * interval, layer-wise (0/1), loss weight].
 * The loss weight multiplies the training objective (Caffe's `loss_weight`): its gradients, unlike
 * a loss scale's, are not divided again — with the learning rate divided by it, SGD without weight
 * decay is unchanged in exact arithmetic, while every error is that many times smaller.
 */
export function lossScalingInput(s: LossScale, lossWeight = 1): Float32Array {
  const active = s.kind === 'static' || s.kind === 'dynamic';
  return Float32Array.of(active ? 1 : 0, s.kind === 'dynamic' ? 1 : 0, s.kind === 'dynamic' ? s.interval : 0, s.kind === 'layer' ? 1 : 0, lossWeight);
}

/** The scale a run starts with. */
export function initialScale(s: LossScale): number {
  return s.kind === 'static' ? s.scale : s.kind === 'dynamic' ? s.init : 1;
}
