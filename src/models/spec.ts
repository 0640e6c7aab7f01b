/**
 * Model specs: a trainable model named as data. One grammar, parsed in one place:
 *
 *   mlp                      the default MLP (one hidden layer of 128 units)
 *   mlp:hidden=256,128       hidden layer widths
 *
 * `name[:key=value]…`; values of list options are comma-separated integers. A spec is stored in
 * run.json as the object `parseModelSpec` returns and printed by `formatModelSpec`; the two
 * round-trip. Pure.
 */
import { UsageError } from '../errors.js';

export interface MlpSpec {
  name: 'mlp';
  /** Hidden layer widths, input side first. */
  hidden: number[];
}

export type ModelSpec = MlpSpec;
export type ModelName = ModelSpec['name'];

/** Largest layer width a spec accepts. */
export const MAX_WIDTH = 1 << 16;

interface ModelGrammar {
  description: string;
  defaults: () => ModelSpec;
  /** Option name → how to apply its text to the spec (throws a detail message). */
  options: Record<string, (spec: ModelSpec, text: string) => void>;
  format: (spec: ModelSpec) => string[];
}

function intList(text: string, what: string): number[] {
  const parts = text.split(',');
  return parts.map((p) => {
    if (!/^\d+$/.test(p.trim())) throw new Error(`${what} must be comma-separated integers in 1..${MAX_WIDTH}, got "${text}"`);
    const v = Number(p);
    if (v < 1 || v > MAX_WIDTH) throw new Error(`${what} must be comma-separated integers in 1..${MAX_WIDTH}, got "${text}"`);
    return v;
  });
}

const GRAMMARS: Record<ModelName, ModelGrammar> = {
  mlp: {
    description: 'multi-layer perceptron with ReLU (mlp:hidden=W1,W2,…; default hidden=128)',
    defaults: () => ({ name: 'mlp', hidden: [128] }),
    options: {
      hidden: (spec, text) => {
        spec.hidden = intList(text, 'hidden');
      },
    },
    format: (spec) => [`hidden=${spec.hidden.join(',')}`],
  },
};

/** Names of the trainable models, for help texts and errors. */
export const MODEL_NAMES = Object.keys(GRAMMARS) as ModelName[];

export function modelDescription(name: ModelName): string {
  return GRAMMARS[name].description;
}

/** Parse `mlp:hidden=256,128`; throws UsageError naming `option` and what is allowed. */
export function parseModelSpec(text: string, option = '--model'): ModelSpec {
  const [name = '', ...parts] = text.trim().split(':');
  if (!Object.hasOwn(GRAMMARS, name)) throw new UsageError(option, `unknown model "${name}" (allowed: ${MODEL_NAMES.join(', ')})`);
  const grammar = GRAMMARS[name as ModelName];
  const spec = grammar.defaults();
  const seen = new Set<string>();
  for (const part of parts) {
    const m = /^([a-z][a-z-]*)=(.+)$/.exec(part);
    const allowed = Object.keys(grammar.options).map((o) => `${o}=…`).join(', ');
    if (!m || !Object.hasOwn(grammar.options, m[1]!)) throw new UsageError(option, `${name}: unknown option "${part}" (allowed: ${allowed})`);
    if (seen.has(m[1]!)) throw new UsageError(option, `${name}: option ${m[1]} given twice`);
    seen.add(m[1]!);
    try {
      grammar.options[m[1]!]!(spec, m[2]!);
    } catch (err) {
      throw new UsageError(option, `${name}: ${(err as Error).message}`);
    }
  }
  return spec;
}

/** Canonical text of a spec, every option spelled out: `mlp:hidden=128`. */
export function formatModelSpec(spec: ModelSpec): string {
  return [spec.name, ...GRAMMARS[spec.name].format(spec)].join(':');
}
