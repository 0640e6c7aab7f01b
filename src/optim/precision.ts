/**
 * The precision of an optimizer's values (`--optimizer-precision`, docs/optimizers.md), as
 * QPyTorch's OptimLP quantizes them: the gradient before the update reads it, the momentum (SGD's
 * velocity; Adam's two moments) after each update, and the weights themselves after each update
 * (the master copy: no fp32 weights are kept). Each role takes a bit-width (the integer grid of
 * src/quant, per tensor) or a number format (src/formats), rounded to nearest or, with
 * `:stochastic`, stochastically (the in-graph noise of src/quant/noise.ts). Roles left out stay
 * fp32. The precision is part of the training graph (quantizers exist only for the roles given).
 */
import { UsageError } from '../errors.js';
import type { Graph, Value } from '../graph/builder.js';
import { type NumberFormat, formatName, parseNumberFormat } from '../formats/number-format.js';
import { FULL_BITS, elementBits, gridFormat, isGridFormat } from '../formats/precision.js';
import { FORMAT_FIELDS, emitFloatQuantize, formatDescriptor } from '../quant/float-quant.js';
import { type Noise, bitsTerms, emitGrid } from '../quant/quantizers.js';
import { sanitizeShort } from '../util/text.js';

export const OPTIMIZER_PRECISION_OPTION = '--optimizer-precision';
export const STATE_ROLES = ['grad', 'momentum', 'weights'] as const;
export type StateRole = (typeof STATE_ROLES)[number];

export interface RolePrecision {
  format: NumberFormat;
  stochastic: boolean;
}

export type OptimizerPrecision = Partial<Record<StateRole, RolePrecision>>;

/**
 * `grad=8,momentum=16,weights=8:stochastic`, `weights=fp16`: roles separated by `,`; a role at 32
 * bits or fp32 is the same as leaving it out. Throws a UsageError naming the option.
 */
export function parseOptimizerPrecision(text: string, option = OPTIMIZER_PRECISION_OPTION): OptimizerPrecision {
  const out: OptimizerPrecision = {};
  const bad = (detail: string): never => {
    throw new UsageError(option, `${detail} (expected ROLE=PRECISION[:stochastic],… with ROLE grad, momentum or weights and PRECISION a bit-width 1..32 or a number format, e.g. grad=8,momentum=16,weights=8:stochastic)`);
  };
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) bad('no roles');
  for (const part of parts) {
    const m = /^([a-z]+)\s*=\s*([^:]+?)\s*(?::\s*(stochastic|nearest))?$/i.exec(part);
    if (!m) bad(`"${sanitizeShort(part, 40)}" is not ROLE=PRECISION`);
    const role = m![1]!.toLowerCase() as StateRole;
    if (!(STATE_ROLES as readonly string[]).includes(role)) bad(`unknown role "${sanitizeShort(role, 20)}"`);
    if (out[role]) bad(`${role} given twice`);
    const value = m![2]!;
    let format: NumberFormat;
    if (/^\d+$/.test(value)) {
      const bits = Number(value);
      if (bits < 1 || bits > FULL_BITS) bad(`${role}: a bit-width must be in 1..${FULL_BITS}, got ${bits}`);
      format = gridFormat(bits);
    } else {
      format = parseNumberFormat(value, option);
    }
    const full = elementBits(format) >= FULL_BITS && isGridFormat(format);
    if (!full) out[role] = { format, stochastic: m![3]?.toLowerCase() === 'stochastic' };
  }
  return out;
}

/** Canonical text (`grad=int8,weights=int8:stochastic`), roles in STATE_ROLES order; '' for none. */
export function optimizerPrecisionName(p: OptimizerPrecision): string {
  return STATE_ROLES.filter((r) => p[r]).map((r) => `${r}=${formatName(p[r]!.format)}${p[r]!.stochastic ? ':stochastic' : ''}`).join(',');
}

/** Whether any role is quantized. */
export function hasOptimizerPrecision(p: OptimizerPrecision | undefined): p is OptimizerPrecision {
  return p !== undefined && STATE_ROLES.some((r) => p[r]);
}

/**
 * `x` rounded to the role's precision: the integer grid per tensor (min/max of x) or the format
 * itself; `noise` (of x's shape) for stochastic rounding.
 */
export function emitRoleQuantize(g: Graph, x: Value, p: RolePrecision, noise: Noise | undefined): Value {
  if (isGridFormat(p.format)) {
    const bits = g.constant(x.dtype as 'float32', [], [elementBits(p.format)], 'optim_bits');
    return emitGrid(g, x, bitsTerms(g, bits), { reduceAxes: null, ...(noise ? { noise } : {}) });
  }
  const descriptor = g.constant('float32', [FORMAT_FIELDS], Array.from(formatDescriptor(p.format)), 'optim_format');
  const blockAxis = Math.max(0, (x.shape?.length ?? 1) - 1);
  return emitFloatQuantize(g, x, descriptor, { noise, blockAxis });
}
