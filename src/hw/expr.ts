/**
 * Restricted mathjs for the quantities and expressions in hardware profiles.
 *
 * A profile is user input, so its strings are parsed by a mathjs instance whose dangerous functions
 * (import, createUnit, evaluate, parse, compile, …: DISABLED_FUNCTIONS) are replaced by functions
 * that throw, and every parsed expression is checked against an allow-list of node types, operators,
 * functions and symbols before it is compiled (once). The allow-list is what refuses them in a
 * profile; the replacements are a second wall, so nothing that slips past the allow-list (or code
 * that gets hold of the instance) can import, define units or evaluate further strings.
 * Expressions are capped at MAX_EXPRESSION_LENGTH characters.
 *
 * Dimensions are checked by comparing a result's base units with a reference unit, so `"3 ns"`
 * where an energy is expected fails with a message naming both dimensions.
 */
import { createRequire } from 'node:module';
import type { MathJsInstance, MathNode, Unit } from 'mathjs';
import { sanitizeShort } from '../util/text.js';
import { quote } from './messages.js';

export const MAX_EXPRESSION_LENGTH = 200;

/**
 * The restricted instance is built on first use: loading mathjs costs most of a second, which
 * commands that never read a profile should not pay.
 */
interface Restricted {
  math: MathJsInstance;
  parse: MathJsInstance['parse'];
  referenceUnits: Map<Dimension, Unit>;
}
let restricted: Restricted | null = null;

function instance(): Restricted {
  if (restricted) return restricted;
  const { all, create } = createRequire(import.meta.url)('mathjs') as typeof import('mathjs');
  const math = create(all, { number: 'number', predictable: false });
  // Capture what we need before the public entry points are replaced.
  const parse = math.parse;
  const referenceUnits = new Map<Dimension, Unit>(
    (Object.entries(DIMENSIONS) as [Dimension, DimensionInfo][])
      .filter(([, info]) => info.reference !== null)
      .map(([dim, info]) => [dim, math.unit(info.reference!)]),
  );
  math.import(Object.fromEntries(DISABLED_FUNCTIONS.map((name) => [name, disabled(name)])), { override: true });
  restricted = { math, parse, referenceUnits };
  return restricted;
}
const isValuelessUnit = (name: string): boolean => instance().math.Unit.isValuelessUnit(name);

function disabled(name: string) {
  return () => {
    throw new Error(`function ${name} is not allowed in a profile`);
  };
}

/**
 * Functions of the instance replaced by ones that throw `function NAME is not allowed in a
 * profile`: everything that imports, defines units, changes the configuration or parses and
 * evaluates further strings.
 */
export const DISABLED_FUNCTIONS: readonly string[] = [
  'import', 'createUnit', 'config', 'evaluate', 'parse', 'parser', 'compile', 'simplify', 'simplifyConstant', 'simplifyCore',
  'rationalize', 'derivative', 'resolve', 'symbolicEqual', 'leafCount', 'chain', 'help', 'reviver', 'replacer',
];

/**
 * The restricted mathjs instance (built on first use), with DISABLED_FUNCTIONS replaced. For
 * inspection and tests: profile code goes through compileExpression / evaluateQuantity.
 */
export function restrictedMath(): MathJsInstance {
  return instance().math;
}

/** Functions an expression may call. All are pure, total on numbers/units, and finish at once. */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  'floor', 'ceil', 'round', 'fix', 'min', 'max', 'abs', 'sqrt', 'cbrt', 'exp', 'log', 'log2', 'log10', 'pow', 'mod', 'sign',
]);

const ALLOWED_OPERATORS: ReadonlySet<string> = new Set([
  'add', 'subtract', 'multiply', 'divide', 'pow', 'unaryMinus', 'unaryPlus', 'mod',
  'smaller', 'larger', 'smallerEq', 'largerEq', 'equal', 'unequal', 'and', 'or', 'not', 'to',
]);

const ALLOWED_CONSTANTS: ReadonlySet<string> = new Set(['pi']);

/** The physical dimensions a profile quantity can be asked for. */
export type Dimension = 'energy' | 'rate' | 'frequency' | 'power' | 'energyPerBit' | 'bandwidth' | 'data' | 'time' | 'number';

interface DimensionInfo {
  label: string;
  /** Reference unit whose base dimensions the value must have (null: dimensionless number). */
  reference: string | null;
}

const DIMENSIONS: Record<Dimension, DimensionInfo> = {
  energy: { label: 'energy (J)', reference: 'J' },
  rate: { label: 'a rate in MAC/s (1/s, e.g. "156 THz" or "512 * clock")', reference: 'Hz' },
  frequency: { label: 'frequency (Hz)', reference: 'Hz' },
  power: { label: 'power (W)', reference: 'W' },
  energyPerBit: { label: 'energy per bit (J/bit)', reference: 'J/bit' },
  bandwidth: { label: 'bandwidth (bit/s or B/s)', reference: 'bit/s' },
  data: { label: 'a data size (bit or B)', reference: 'bit' },
  time: { label: 'time (s)', reference: 's' },
  number: { label: 'a plain number', reference: null },
};


/** Order matters for naming: 'rate' and 'frequency' share a base, the first match names it. */
const NAMING_ORDER: Dimension[] = ['energy', 'time', 'frequency', 'power', 'energyPerBit', 'bandwidth', 'data'];

function isUnit(value: unknown): value is Unit {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Unit';
}

/** A short name for what a value is, for error messages: "time", "a plain number", "J/m". */
export function describeValue(value: unknown): string {
  if (typeof value === 'number') return 'a plain number';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'string') return 'a string';
  if (isUnit(value)) {
    for (const dim of NAMING_ORDER) {
      if (value.equalBase(instance().referenceUnits.get(dim)!)) return dim === 'frequency' ? 'frequency or rate (1/s)' : DIMENSIONS[dim].label.replace(/ \(.*\)$/, '');
    }
    return `units of ${value.formatUnits() || 'nothing'}`;
  }
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' && value !== null ? (value.constructor?.name ?? 'an object') : String(value);
}

export function dimensionLabel(dimension: Dimension): string {
  return DIMENSIONS[dimension].label;
}

/**
 * Value of `value` in SI base units (J, 1/s, W, J/bit, bit/s, bit, s) if it has `dimension`,
 * else an error message. Values must be finite; callers check signs.
 */
export function toBaseNumber(value: unknown, dimension: Dimension, source: string): number | string {
  const expected = `expected ${DIMENSIONS[dimension].label}, got ${quote(source, 240)}`;
  let n: number;
  if (dimension === 'number') {
    if (typeof value !== 'number') return `${expected} (${describeValue(value)})`;
    n = value;
  } else {
    if (!isUnit(value) || !value.equalBase(instance().referenceUnits.get(dimension)!)) return `${expected} (${describeValue(value)})`;
    if (value.value === null) return `${expected} (a unit without a value)`;
    n = value.value as number;
  }
  if (typeof n !== 'number' || !Number.isFinite(n)) return `${quote(source, 240)} is not finite (${String(n)})`;
  return n;
}

export type Scope = Readonly<Record<string, number | Unit>>;

export interface CompiledExpression {
  readonly source: string;
  evaluate(scope: Scope): unknown;
}

/** Why an expression was refused, or null if it is fine. */
function checkNode(node: MathNode, variables: ReadonlySet<string>): string | null {
  let problem: string | null = null;
  node.traverse((n: MathNode, _path: string, parent: MathNode | null) => {
    if (problem !== null) return;
    switch (n.type) {
      case 'ConstantNode': {
        const v = (n as unknown as { value: unknown }).value;
        if (typeof v !== 'number') problem = `only numbers, units and ${[...variables].join(', ') || 'no variables'} are allowed, got ${typeof v === 'string' ? quote(v) : String(v)}`;
        return;
      }
      case 'ParenthesisNode':
      case 'ConditionalNode':
        return;
      case 'OperatorNode': {
        const fn = (n as unknown as { fn: string; op: string }).fn;
        if (!ALLOWED_OPERATORS.has(fn)) problem = `operator ${quote((n as unknown as { op: string }).op)} is not allowed`;
        return;
      }
      case 'FunctionNode': {
        const fnNode = (n as unknown as { fn: MathNode }).fn;
        const name = fnNode.type === 'SymbolNode' ? (fnNode as unknown as { name: string }).name : null;
        if (name === null || !ALLOWED_FUNCTIONS.has(name)) {
          problem = `unknown or disallowed function ${quote(name ?? fnNode.toString())} (allowed: ${[...ALLOWED_FUNCTIONS].join(', ')})`;
        }
        return;
      }
      case 'SymbolNode': {
        const name = (n as unknown as { name: string }).name;
        // The callee symbol of a FunctionNode was checked above.
        if (parent && parent.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === n) return;
        if (variables.has(name) || ALLOWED_CONSTANTS.has(name)) return;
        if (!(name in instance().math) && isValuelessUnit(name)) return;
        problem = `unknown symbol ${quote(name)} (variables: ${[...variables].join(', ') || 'none'}; or a unit such as pJ, ns, MHz, bit, GB)`;
        return;
      }
      default:
        problem = `${n.type.replace(/Node$/, '').toLowerCase()} expressions are not allowed`;
    }
  });
  return problem;
}

/**
 * Parse and check `source` once; throws an Error with a readable message if it is too long,
 * does not parse, or uses anything outside the allow-lists. `variables` are the names the
 * expression may use (e.g. ba, bw, clock).
 */
export function compileExpression(source: string, variables: readonly string[]): CompiledExpression {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new Error(`expression is ${source.length} characters long, at most ${MAX_EXPRESSION_LENGTH} are allowed`);
  }
  if (source.trim() === '') throw new Error('expression is empty');
  let node: MathNode;
  try {
    node = instance().parse(source);
  } catch (err) {
    throw new Error(`cannot parse ${quote(source, 240)}: ${sanitizeShort((err as Error).message)}`);
  }
  const problem = checkNode(node, new Set(variables));
  if (problem !== null) throw new Error(`${quote(source, 240)}: ${problem}`);
  const code = node.compile();
  return {
    source,
    evaluate(scope: Scope): unknown {
      return code.evaluate({ ...scope });
    },
  };
}

/** Evaluate `source` as a constant quantity of `dimension` in SI base units (throws on problems). */
export function evaluateQuantity(source: string, dimension: Dimension, scope: Scope = {}): number {
  const expr = compileExpression(source, Object.keys(scope));
  let value: unknown;
  try {
    value = expr.evaluate(scope);
  } catch (err) {
    throw new Error(`cannot evaluate ${quote(source, 240)}: ${sanitizeShort((err as Error).message)}`);
  }
  const n = toBaseNumber(value, dimension, source);
  if (typeof n === 'string') throw new Error(n);
  return n;
}

/** A unit value (for scopes), e.g. the clock as `unitOf(5e8, 'Hz')`. */
export function unitOf(value: number, unit: string): Unit {
  return instance().math.unit(value, unit);
}
