/**
 * Per-layer precision plans (docs/number-formats.md § Per-layer precision): rules that give GEMM
 * layers, picked by position, kind or name, their own precision schedule for weights and
 * activations and/or for the errors flowing back into them. The run's `--schedule` / `--grad-bits`
 * are every layer's default; rules apply in order, a later one overriding an earlier one.
 *
 * Written inline (`first=static:8;conv=cpt:3-8;fc*:grad=fp8-e5m2`) or as a JSON file
 * (`{"rules": [{"match": "conv", "schedule": "cpt:3-8", "grad": "8"}]}`); either is stored in
 * run.json as the canonical inline text, schedules by their canonical names. Pure.
 *
 * Selectors (comma-separated in one rule): `all`, `first`, `last` (by position among the GEMM
 * layers), `conv`, `fc` (= `linear`), or a layer name with `*` and `?` wildcards (`layer1.*`).
 * Layers `--fp-layers` keeps at full precision are not in the plan: a rule that selects only such
 * layers is an error, as is a rule that selects nothing.
 */
import { z } from 'zod';
import { BitcycleError, UsageError } from '../errors.js';
import type { LayerShape } from '../graph/layers.js';
import { errorSchedule } from '../schedule/precision.js';
import type { Schedule } from '../schedule/schedule.js';
import { sanitizeShort } from '../util/text.js';

export const LAYER_PLAN_OPTION = '--layer-precision';

/** One rule: the layers it selects and what it sets (at least one of the two schedules). */
export interface LayerRule {
  /** Selectors, e.g. ['first', 'last'] or ['layer1.*']. */
  match: string[];
  /** Weights and activations of the selected layers (a schedule spec, a bit-width or a format). */
  schedule?: string;
  /** Errors of the selected layers. */
  grad?: string;
}

/** A quantized layer's schedules under a plan. */
export interface PlannedLayer {
  name: string;
  schedule: Schedule;
  errors: Schedule;
}

export const SELECTOR_WORDS = ['all', 'first', 'last', 'conv', 'fc', 'linear'] as const;

const SELECTOR = /^[A-Za-z0-9_.*?-]+$/;

function checkSelector(selector: string, where: string, option: string): string {
  const s = selector.trim();
  if (!SELECTOR.test(s)) throw new UsageError(option, `${where}: "${sanitizeShort(selector, 60)}" is not a selector (${SELECTOR_WORDS.join(', ')}, or a layer name with * and ? wildcards)`);
  return s;
}

/** A schedule spec of a rule, canonical; a bad one is a UsageError naming the rule. */
function canonicalSchedule(spec: string, where: string, option: string): string {
  try {
    return errorSchedule(spec.trim(), option).name;
  } catch (err) {
    if (err instanceof BitcycleError) throw new UsageError(option, `${where}: ${err.message}`);
    throw err;
  }
}

/**
 * Inline rules: `SELECTORS=SPEC` (weights and activations) or `SELECTORS:grad=SPEC` (errors),
 * separated by `;`; SELECTORS is a comma-separated list. SPEC is a schedule spec, a bit-width
 * (= static:B) or a format name (= static:F). Returns the rules with canonical schedules.
 */
export function parseLayerPlan(text: string, option = LAYER_PLAN_OPTION): LayerRule[] {
  const parts = text.split(';').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new UsageError(option, 'expected rules SELECTORS=SPEC or SELECTORS:grad=SPEC separated by ";" (e.g. "first=static:8;conv=cpt:3-8"), or a JSON file');
  return parts.map((part) => {
    const eq = part.indexOf('=');
    const where = `rule "${sanitizeShort(part, 60)}"`;
    if (eq <= 0) throw new UsageError(option, `${where}: expected SELECTORS=SPEC or SELECTORS:grad=SPEC`);
    let key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    const grad = /:\s*grad$/.test(key);
    if (grad) key = key.replace(/:\s*grad$/, '');
    if (value === '') throw new UsageError(option, `${where}: no schedule after "="`);
    const match = key.split(',').map((s) => checkSelector(s, where, option));
    const spec = canonicalSchedule(value, where, option);
    return grad ? { match, grad: spec } : { match, schedule: spec };
  });
}

const fileSchema = z.strictObject({
  rules: z
    .array(
      z.strictObject({
        match: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
        schedule: z.union([z.string().min(1), z.number().int()]).optional(),
        grad: z.union([z.string().min(1), z.number().int()]).optional(),
      }),
    )
    .min(1),
});

/** Rules from a plan file's JSON (`{"rules": [{"match", "schedule"?, "grad"?}, …]}`); errors name the file and the JSON path. */
export function layerPlanFromJson(value: unknown, file: string, option = LAYER_PLAN_OPTION): LayerRule[] {
  const parsed = fileSchema.safeParse(value);
  const name = sanitizeShort(file, 120);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = ['$', ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))].join('').replace(/\.\[/g, '[');
    throw new UsageError(option, `${name}: ${path}: ${issue.message}`);
  }
  return parsed.data.rules.map((r, i) => {
    const where = `${name}: $.rules[${i}]`;
    if (r.schedule === undefined && r.grad === undefined) throw new UsageError(option, `${where}: give "schedule" (weights and activations), "grad" (errors) or both`);
    const match = (typeof r.match === 'string' ? r.match.split(',') : r.match).map((s) => checkSelector(s, `${where}.match`, option));
    return {
      match,
      ...(r.schedule !== undefined ? { schedule: canonicalSchedule(String(r.schedule), `${where}.schedule`, option) } : {}),
      ...(r.grad !== undefined ? { grad: canonicalSchedule(String(r.grad), `${where}.grad`, option) } : {}),
    };
  });
}

/** The canonical inline text of rules (what run.json stores; `parseLayerPlan` reads it back to the same rules). */
export function layerPlanText(rules: readonly LayerRule[]): string {
  return rules
    .flatMap((r) => {
      const key = r.match.join(',');
      return [...(r.schedule !== undefined ? [`${key}=${r.schedule}`] : []), ...(r.grad !== undefined ? [`${key}:grad=${r.grad}`] : [])];
    })
    .join(';');
}

function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Whether `selector` picks the GEMM layer at `index` of `layers`. */
function selects(selector: string, layer: LayerShape, index: number, count: number): boolean {
  switch (selector) {
    case 'all':
      return true;
    case 'first':
      return index === 0;
    case 'last':
      return index === count - 1;
    case 'conv':
      return layer.kind === 'conv';
    case 'fc':
    case 'linear':
      return layer.kind === 'linear';
    default:
      return globRegExp(selector).test(layer.name);
  }
}

/**
 * Each quantized layer's schedules under `rules`, in the order of `layers` (the model's GEMM
 * layers as recorded, full-precision ones marked): `base` for every layer, then each rule in
 * order. Throws a UsageError naming the rule that selects no layer, or only full-precision ones.
 */
export function resolveLayerPlan(rules: readonly LayerRule[], layers: readonly LayerShape[], base: { schedule: Schedule; errors: Schedule }, option = LAYER_PLAN_OPTION): PlannedLayer[] {
  const planned = layers.map((l) => ({ name: l.name, schedule: base.schedule, errors: base.errors, fp: l.fullPrecision === true }));
  for (const rule of rules) {
    const where = `rule "${sanitizeShort(layerPlanText([rule]), 80)}"`;
    const picked = planned.filter((_, i) => rule.match.some((s) => selects(s, layers[i]!, i, layers.length)));
    if (picked.length === 0) throw new UsageError(option, `${where} selects no layer (the model's GEMM layers: ${sanitizeShort(layers.map((l) => l.name).join(', '), 200)})`);
    const quantized = picked.filter((p) => !p.fp);
    if (quantized.length === 0) {
      throw new UsageError(option, `${where} selects only layers kept at full precision by --fp-layers (${sanitizeShort(picked.map((p) => p.name).join(', '), 120)}); give --fp-layers none to plan their precision`);
    }
    const schedule = rule.schedule !== undefined ? errorSchedule(rule.schedule, option) : undefined;
    const errors = rule.grad !== undefined ? errorSchedule(rule.grad, option) : undefined;
    for (const p of quantized) {
      if (schedule) p.schedule = schedule;
      if (errors) p.errors = errors;
    }
  }
  return planned.filter((p) => !p.fp).map(({ name, schedule, errors }) => ({ name, schedule, errors }));
}

/** `fc1 cpt:3-8 / static:8`: one line per quantized layer, for the start of a run. */
export function plannedLayerLines(layers: readonly PlannedLayer[]): string[] {
  const width = Math.max(0, ...layers.map((l) => l.name.length));
  return layers.map((l) => `${l.name.padEnd(width)}  ${l.schedule.name}, errors ${l.errors.name}`);
}
