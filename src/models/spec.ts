/**
 * Model specs: a trainable model named as data. One grammar, parsed in one place:
 *
 *   mlp                      the default MLP (one hidden layer of 128 units)
 *   mlp:hidden=256,128       hidden layer widths
 *   cnn                      2 conv + 2 FC layers (src/models/cnn.ts)
 *   resnet:depth=20          CIFAR ResNet of depth 6n+2 (src/models/resnet.ts; default 20)
 *   logreg                   softmax regression: one Linear layer (src/models/logreg.ts)
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

export interface CnnSpec {
  name: 'cnn';
}

export interface ResnetSpec {
  name: 'resnet';
  /** 6n+2. */
  depth: number;
}

export interface LogregSpec {
  name: 'logreg';
}

export type ModelSpec = MlpSpec | CnnSpec | ResnetSpec | LogregSpec;
export type ModelName = ModelSpec['name'];

/** Largest layer width a spec accepts. */
export const MAX_WIDTH = 1 << 16;
/** Deepest ResNet a spec accepts (He et al.'s deepest CIFAR ResNet). */
export const MAX_RESNET_DEPTH = 1202;

interface ModelGrammar<S extends ModelSpec = ModelSpec> {
  description: string;
  defaults: () => S;
  /** Option name → how to apply its text to the spec (throws a detail message). */
  options: Record<string, (spec: S, text: string) => void>;
  format: (spec: S) => string[];
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

const GRAMMARS: { [N in ModelName]: ModelGrammar<Extract<ModelSpec, { name: N }>> } = {
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
  cnn: {
    description: 'CNN: conv3×3 32 – maxpool – conv3×3 64 – maxpool – FC 128 – FC (images only)',
    defaults: () => ({ name: 'cnn' }),
    options: {},
    format: () => [],
  },
  resnet: {
    description: 'CIFAR ResNet of He et al. with batch norm (resnet:depth=N, N = 6n+2, default 20; images ≥ 28×28)',
    defaults: () => ({ name: 'resnet', depth: 20 }),
    options: {
      depth: (spec, text) => {
        const v = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
        if (!(v >= 8 && v <= MAX_RESNET_DEPTH && (v - 2) % 6 === 0)) throw new Error(`depth must be 6n+2 in 8..${MAX_RESNET_DEPTH} (8, 14, 20, 32, 38, 44, 56, 74, 110, …), got "${text}"`);
        spec.depth = v;
      },
    },
    format: (spec) => [`depth=${spec.depth}`],
  },
  logreg: {
    description: 'softmax regression: one Linear layer on the flattened input (convex with --weight-decay; --fp-layers none quantizes it)',
    defaults: () => ({ name: 'logreg' }),
    options: {},
    format: () => [],
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
  const grammar = GRAMMARS[name as ModelName] as unknown as ModelGrammar;
  const spec = grammar.defaults();
  const seen = new Set<string>();
  for (const part of parts) {
    const m = /^([a-z][a-z-]*)=(.+)$/.exec(part);
    const keys = Object.keys(grammar.options);
    const allowed = keys.length === 0 ? 'none' : keys.map((o) => `${o}=…`).join(', ');
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
  return [spec.name, ...(GRAMMARS[spec.name] as unknown as ModelGrammar).format(spec)].join(':');
}

/** A short label for narrow table columns: `mlp`, `cnn`, `resnet-20`. */
export function shortModelLabel(spec: ModelSpec): string {
  return spec.name === 'resnet' ? `resnet-${spec.depth}` : spec.name;
}
