/**
 * Optimizers, each with its own emitter (onnxruntime training's split: a training step is forward +
 * backward + optimizer, and the optimizer is a graph of its own). An optimizer names the state it
 * keeps (per parameter, and global such as Adam's step count) and emits the update of one
 * parameter from its gradient into a graph; src/artifacts/build.ts puts the updates in the
 * training Loop. Chosen by spec (`--optimizer`, docs/optimizers.md):
 *
 *   sgd[:momentum=M][:nesterov]                 PyTorch's SGD: v ← μv + g + wd·p, p ← p − lr·v (Nesterov: p ← p − lr·(g' + μv))
 *   adam[:beta1=B1][:beta2=B2][:eps=E]          PyTorch's Adam (L2 weight decay added to the gradient)
 *   adamw[:beta1=B1][:beta2=B2][:eps=E]         decoupled weight decay: p ← p·(1 − lr·wd), then Adam
 *   svrg[:every=E]                              SVRG (Johnson & Zhang 2013): p ← p − lr·(∇fᵢ(p) − ∇fᵢ(p̃) + μ̃ + wd·p),
 *                                               anchor p̃ and full gradient μ̃ refreshed every E epochs (default 1)
 *   halp[:bits=B][:every=E][:mu=M]              HALP (De Sa et al. 2018): SVRG with bit centering, p = p̃ + z, z on a
 *                                               B-bit grid of step δ = ‖∇F(p̃)‖/(μ·(2^(B−1) − 1)) re-centred at each
 *                                               anchor (μ: strong convexity, default the weight decay), stochastic rounding
 *
 * Hyperparameters are run-time inputs of the training model (one artifact per optimizer kind).
 * Weight decay applies to the parameters whose `decay` flag is set (weights, not biases). Pure.
 */
import { UsageError } from '../errors.js';
import type { Graph, Value } from '../graph/builder.js';
import { sanitizeShort } from '../util/text.js';
import type { Noise } from '../quant/quantizers.js';
import { type OptimizerPrecision, emitRoleQuantize, parseOptimizerPrecision } from './precision.js';

export type OptimizerKind = 'sgd' | 'adam' | 'adamw' | 'svrg' | 'halp';
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['sgd', 'adam', 'adamw', 'svrg', 'halp'];
export const OPTIMIZER_OPTION = '--optimizer';

export type OptimizerSpec = (
  | {
      kind: 'sgd';
      nesterov: boolean;
      /** Momentum given in the spec (`sgd:momentum=0.5`); else the run's `--momentum`. */
      momentum?: number;
    }
  | { kind: 'adam' | 'adamw'; beta1: number; beta2: number; eps: number }
  | {
      kind: 'svrg';
      /** Epochs between anchors: the full gradient is computed at the start of every `every`-th epoch. */
      every: number;
    }
  | {
      kind: 'halp';
      every: number;
      /** Bits of the offset z = p − p̃. */
      bits: number;
      /** Strong-convexity constant of δ's rule; absent: the run's weight decay. */
      mu?: number;
    }
) & {
  /** The precision of its gradient, momentum and weights (`--optimizer-precision`, ./precision.ts); absent: fp32. */
  precision?: OptimizerPrecision;
};

export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;
export const SGD: OptimizerSpec = { kind: 'sgd', nesterov: false };

/** `sgd`, `sgd:nesterov`, `adam:beta2=0.99`, …: a spec's parts (`:` or `,` between them) → the spec; a bad one names `option`. */
export function parseOptimizerSpec(text: string, option = OPTIMIZER_OPTION): OptimizerSpec {
  const parts = text.trim().split(/[:,]/).map((p) => p.trim());
  const kind = parts[0]!.toLowerCase();
  const bad = (detail: string): never => {
    throw new UsageError(option, `${detail} (expected sgd[:momentum=M][:nesterov] | adam[:beta1=B][:beta2=B][:eps=E] | adamw[…] | svrg[:every=E] | halp[:bits=B][:every=E][:mu=M], got "${sanitizeShort(text, 60)}")`);
  };
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(kind)) bad(`unknown optimizer "${sanitizeShort(parts[0]!, 20)}"`);
  const keys = new Map<string, string>();
  for (const p of parts.slice(1)) {
    if (p === '') bad('an empty part');
    const [key, value] = p.includes('=') ? [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()] : [p, ''];
    if (keys.has(key)) bad(`"${sanitizeShort(key, 20)}" given twice`);
    keys.set(key, value);
  }
  const number = (key: string, lo: number, hi: number, open: boolean): number | undefined => {
    const v = keys.get(key);
    keys.delete(key);
    if (v === undefined) return undefined;
    const x = v === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(x) || x < lo || x > hi || (open && (x === lo || x === hi))) bad(`${key} must be a number in ${open ? '(' : '['}${lo}, ${hi}${open ? ')' : ']'}, got "${sanitizeShort(v, 20)}"`);
    return x;
  };
  let spec: OptimizerSpec;
  if (kind === 'sgd') {
    const momentum = number('momentum', 0, 1, false);
    const nesterov = keys.has('nesterov');
    if (nesterov && keys.get('nesterov') !== '') bad('nesterov takes no value');
    keys.delete('nesterov');
    spec = { kind: 'sgd', nesterov, ...(momentum !== undefined ? { momentum } : {}) };
  } else if (kind === 'svrg' || kind === 'halp') {
    const every = number('every', 1, 1e6, false) ?? 1;
    if (!Number.isInteger(every)) bad(`every must be a whole number of epochs, got ${every}`);
    if (kind === 'svrg') spec = { kind: 'svrg', every };
    else {
      const bits = number('bits', 2, 32, false) ?? 8;
      if (!Number.isInteger(bits)) bad(`bits must be a whole number, got ${bits}`);
      const mu = number('mu', 0, 1e6, true);
      spec = { kind: 'halp', every, bits, ...(mu !== undefined ? { mu } : {}) };
    }
  } else {
    spec = {
      kind: kind as 'adam' | 'adamw',
      beta1: number('beta1', 0, 1, false) ?? ADAM_DEFAULTS.beta1,
      beta2: number('beta2', 0, 1, false) ?? ADAM_DEFAULTS.beta2,
      eps: number('eps', 0, 1, false) ?? ADAM_DEFAULTS.eps,
    };
    if (spec.beta1 >= 1 || spec.beta2 >= 1) bad('beta1 and beta2 must be below 1');
  }
  if (keys.size > 0) bad(`unknown key "${sanitizeShort([...keys.keys()][0]!, 20)}" for ${kind}`);
  return spec;
}

/** The canonical text of a spec (what run.json stores; `parseOptimizerSpec` reads it back). Defaults are left out. */
export function optimizerName(spec: OptimizerSpec): string {
  if (spec.kind === 'sgd') return ['sgd', ...(spec.momentum !== undefined ? [`momentum=${spec.momentum}`] : []), ...(spec.nesterov ? ['nesterov'] : [])].join(':');
  if (spec.kind === 'svrg') return spec.every === 1 ? 'svrg' : `svrg:every=${spec.every}`;
  if (spec.kind === 'halp') return ['halp', ...(spec.bits !== 8 ? [`bits=${spec.bits}`] : []), ...(spec.every !== 1 ? [`every=${spec.every}`] : []), ...(spec.mu !== undefined ? [`mu=${spec.mu}`] : [])].join(':');
  const extra = (['beta1', 'beta2', 'eps'] as const).filter((k) => spec[k] !== ADAM_DEFAULTS[k]).map((k) => `${k}=${spec[k]}`);
  return [spec.kind, ...extra].join(':');
}

/** The spec of `--optimizer` with the precision of `--optimizer-precision` (canonical texts; absent: `sgd`, fp32). */
export function optimizerSetup(optimizer: string | undefined, precision: string | undefined): OptimizerSpec {
  const spec = parseOptimizerSpec(optimizer ?? 'sgd');
  if (precision === undefined) return spec;
  const parsed = parseOptimizerPrecision(precision);
  if (spec.kind === 'svrg' && parsed.momentum) throw new UsageError('--optimizer-precision', 'svrg keeps no momentum (its state is the anchor and the full gradient); give grad= and weights= only');
  return { ...spec, precision: parsed };
}

/** The state an optimizer keeps for each parameter, by slot name: `<param>.<slot>` in checkpoints, all starting at 0. */
export function parameterSlots(spec: OptimizerSpec): readonly string[] {
  return spec.kind === 'sgd' ? ['velocity'] : spec.kind === 'svrg' || spec.kind === 'halp' ? [ANCHOR, FULL_GRADIENT] : ['exp_avg', 'exp_avg_sq'];
}

/** SVRG's slots: the anchor p̃ and the full gradient μ̃ at it (set by the engine at each anchor, carried by the graph). */
export const ANCHOR = 'anchor';
export const FULL_GRADIENT = 'full_grad';

/** Whether the optimizer needs the gradient at the anchor on every batch and full gradients (SVRG). */
export function usesAnchor(spec: OptimizerSpec): spec is OptimizerSpec & { kind: 'svrg' | 'halp' } {
  return spec.kind === 'svrg' || spec.kind === 'halp';
}

/** HALP's grid step δ (global state, shape []; set by the engine at each anchor). */
export const HALP_SCALE = 'halp.scale';

/** HALP's δ = ‖∇F(p̃)‖ / (μ·(2^(B−1) − 1)) for the objective's gradient norm at the anchor; μ defaults to the weight decay. */
export function halpScale(spec: OptimizerSpec & { kind: 'halp' }, gradientNorm: number, weightDecay: number): number {
  const mu = spec.mu ?? weightDecay;
  return gradientNorm / (mu * (2 ** (spec.bits - 1) - 1));
}

/** Global optimizer state (scalars, starting at 0): Adam's step count, which a skipped step does not advance. */
export function globalSlots(spec: OptimizerSpec): readonly string[] {
  return spec.kind === 'adam' || spec.kind === 'adamw' ? [ADAM_STEP] : spec.kind === 'halp' ? [HALP_SCALE] : [];
}

/** Adam's step count t (checkpoint tensor, shape []). */
export const ADAM_STEP = 'optimizer.step';

/** The state tensor of `param` in `slot`: `<param>.<slot>` (`fc1.weight.velocity`, `fc1.weight.exp_avg`). */
export function stateName(param: string, slot: string): string {
  return `${param}.${slot}`;
}

/**
 * Hyperparameter inputs of the training model for `spec`: SGD reads `momentum`; Adam and AdamW an
 * `adam` vector [beta1, beta2, eps]. Both read `weight_decay` and the step's learning rate.
 */
export function adamInput(spec: OptimizerSpec): Float32Array | null {
  return spec.kind === 'adam' || spec.kind === 'adamw' ? Float32Array.of(spec.beta1, spec.beta2, spec.eps) : null;
}

/** The values an update reads besides its parameter, gradient and state. */
export interface UpdateContext {
  lr: Value;
  weightDecay: Value;
  /** SGD momentum μ (scalar). */
  momentum: Value;
  /** Adam: [beta1, beta2, eps]. */
  adam?: Value;
  /** Adam: the step count t after this step (scalar; `emitGlobal`'s first value). */
  step?: Value;
  /** HALP: the grid step δ (scalar). */
  halpScale?: Value;
}

/** The next values of the global state (Adam: t + 1), emitted once per step before the updates. */
export function emitGlobal(spec: OptimizerSpec, g: Graph, state: readonly Value[]): Value[] {
  if (spec.kind === 'halp') return [g.emit1('Identity', [state[0]!], {}, g.floatType, [], 'halp_scale_kept')];
  if (spec.kind !== 'adam' && spec.kind !== 'adamw') return [];
  return [g.emit1('Add', [state[0]!, g.scalar(1)], {}, g.floatType, [], 'adam_t')];
}

/**
 * One parameter's update: the new parameter and its new slot values (in `parameterSlots` order).
 * `decay`: weight decay applies to it.
 */
export function emitUpdate(spec: OptimizerSpec, g: Graph, p: ParamUpdate, c: UpdateContext): { param: Value; state: Value[] } {
  const precision = spec.precision ?? {};
  const q = (role: 'grad' | 'momentum' | 'weights', x: Value, noise: Noise | undefined) => (precision[role] ? emitRoleQuantize(g, x, precision[role]!, noise) : x);
  const grad = q('grad', p.grad, p.noise?.grad);
  const u = emitFullUpdate(spec, g, { ...p, grad }, c);
  // the momentum role: SGD's velocity, Adam's moments (SVRG's anchor and full gradient are not momenta)
  const state = usesAnchor(spec) ? u.state : u.state.map((s, i) => q('momentum', s, p.noise?.momentum?.[i]));
  return { param: q('weights', u.param, p.noise?.weights), state };
}

/** One parameter's update as `emitUpdate` takes it. */
export interface ParamUpdate {
  param: Value;
  grad: Value;
  state: readonly Value[];
  /** Weight decay applies to it. */
  decay: boolean;
  name: string;
  /** Stochastic-rounding noise of the roles `spec.precision` rounds stochastically (the parameter's shape). */
  noise?: { grad?: Noise; momentum?: Noise[]; weights?: Noise; halp?: Noise };
  /** SVRG: the gradient of the same batch at the anchor. */
  anchorGrad?: Value;
}

function emitFullUpdate(spec: OptimizerSpec, g: Graph, p: ParamUpdate, c: UpdateContext): { param: Value; state: Value[] } {
  const ft = g.floatType;
  const shape = p.param.shape;
  const op = (type: string, inputs: Value[], hint: string, s = shape) => g.emit1(type, inputs, {}, ft, s, hint);
  const decayed = (grad: Value) => (p.decay ? op('Add', [grad, op('Mul', [p.param, c.weightDecay], 'decay')], 'grad_decayed') : grad);
  if (spec.kind === 'sgd') {
    // PyTorch: g' = g + wd·p; v' = μ·v + g'; p' = p − lr·v' (Nesterov: p' = p − lr·(g' + μ·v'))
    const grad = decayed(p.grad);
    const v = op('Add', [op('Mul', [p.state[0]!, c.momentum], 'mom'), grad], `vel_${p.name}`);
    const step = spec.nesterov ? op('Add', [grad, op('Mul', [v, c.momentum], 'nesterov_mom')], 'nesterov') : v;
    return { param: op('Sub', [p.param, op('Mul', [step, c.lr], 'update')], `new_${p.name}`), state: [v] };
  }
  if (spec.kind === 'svrg' || spec.kind === 'halp') {
    // variance-reduced gradient g − g̃ + μ̃ (+ wd·p); the anchor and μ̃ are carried unchanged
    if (!p.anchorGrad) throw new Error(`${spec.kind} update of ${p.name}: no gradient at the anchor`);
    const reduced = op('Add', [op('Sub', [p.grad, p.anchorGrad], 'svrg_diff'), p.state[1]!], 'svrg_grad');
    const grad = decayed(reduced);
    const kept = p.state.map((v, i) => op('Identity', [v], i === 0 ? 'anchor_kept' : 'full_grad_kept'));
    const next = op('Sub', [p.param, op('Mul', [grad, c.lr], 'update')], `new_${p.name}`);
    if (spec.kind === 'svrg') return { param: next, state: kept };
    // HALP: the offset z' = p' − p̃ on the grid δ·{−Q … Q}, Q = 2^(B−1) − 1, rounded stochastically
    if (!c.halpScale || !p.noise?.halp) throw new Error(`halp update of ${p.name}: no grid step or noise`);
    const q = 2 ** (spec.bits - 1) - 1;
    const step = g.emit1('Max', [c.halpScale, g.scalar(1e-30)], {}, ft, [], 'halp_delta');
    const offset = op('Sub', [next, p.state[0]!], 'halp_offset');
    const dither = op('Mul', [p.noise.halp.value, g.scalar(p.noise.halp.unit)], 'halp_dither');
    const code = op('Floor', [op('Add', [op('Div', [offset, step], 'halp_scaled'), dither], 'halp_dithered')], 'halp_code');
    const clipped = g.emit1('Clip', [code, g.scalar(-q), g.scalar(q)], {}, ft, shape, 'halp_code_clipped');
    return { param: op('Add', [p.state[0]!, op('Mul', [clipped, step], 'halp_z')], `new_${p.name}`), state: kept };
  }
  // Adam (PyTorch): g' = g + wd·p (adam) | p ← p·(1 − lr·wd) (adamw); m' = β1·m + (1 − β1)·g';
  // v' = β2·v + (1 − β2)·g'²; p' = p − lr/(1 − β1^t) · m' / (√v' / √(1 − β2^t) + ε)
  const hyper = (i: number, hint: string) => g.emit1('Gather', [c.adam!, g.constant('int64', [], [i], 'index')], { axis: 0 }, ft, [], hint);
  const beta1 = hyper(0, 'beta1');
  const beta2 = hyper(1, 'beta2');
  const eps = hyper(2, 'eps');
  const one = g.scalar(1);
  const scalar = (type: string, inputs: Value[], hint: string) => g.emit1(type, inputs, {}, ft, [], hint);
  const base = spec.kind === 'adamw' && p.decay ? op('Mul', [p.param, scalar('Sub', [one, scalar('Mul', [c.lr, c.weightDecay], 'lr_wd')], 'adamw_keep')], 'adamw_decayed') : p.param;
  const grad = spec.kind === 'adam' ? decayed(p.grad) : p.grad;
  const m = op('Add', [op('Mul', [p.state[0]!, beta1], 'm_kept'), op('Mul', [grad, scalar('Sub', [one, beta1], 'one_minus_beta1')], 'm_new_part')], `exp_avg_${p.name}`);
  const v = op('Add', [op('Mul', [p.state[1]!, beta2], 'v_kept'), op('Mul', [op('Mul', [grad, grad], 'grad_sq'), scalar('Sub', [one, beta2], 'one_minus_beta2')], 'v_new_part')], `exp_avg_sq_${p.name}`);
  const bias1 = scalar('Sub', [one, scalar('Pow', [beta1, c.step!], 'beta1_t')], 'bias1');
  const bias2 = scalar('Sub', [one, scalar('Pow', [beta2, c.step!], 'beta2_t')], 'bias2');
  const denom = op('Add', [op('Div', [op('Sqrt', [v], 'v_sqrt'), scalar('Sqrt', [bias2], 'bias2_sqrt')], 'v_hat_sqrt'), eps], 'denom');
  const stepSize = scalar('Div', [c.lr, bias1], 'step_size');
  const next = op('Sub', [base, op('Mul', [op('Div', [m, denom], 'adam_dir'), stepSize], 'update')], `new_${p.name}`);
  return { param: next, state: [m, v] };
}
