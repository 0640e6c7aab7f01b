/**
 * Hardware profiles: the JSON format (a zod schema, from which hw-profiles/schema.json is generated)
 * and its compilation into plain numbers in SI base units. Pure: the caller reads the file
 * (src/hw/load.ts) and passes the parsed JSON and the file name used in error messages.
 *
 * Every quantity is a unit string evaluated by the restricted mathjs of ./expr.ts. The two compute
 * expressions are functions of the operand formats' bit-widths `ba`, `bw`, of `fp` (1 when either
 * operand format is floating point) and of `clock`; they are compiled once and evaluated for every
 * pair of supported formats here, so the cost model only looks numbers up.
 *
 * A format is a kind (integer or floating point) and a bit-width, so one profile can list int8 and
 * fp8, or fp16 and bf16, side by side: widths ascend, formats of one width follow each other (the
 * cost model places an operand by its kind and width: ./cost.ts, `placeOperands`).
 *
 * The optional `overhead` adds fixed times to every GEMM and every step (the latency a processor that
 * runs kernels one by one pays regardless of their size; see src/hw/calibrate.ts).
 *
 * Every number must be reachable (./limits.ts: within ranges far wider than any real device), also
 * per MAC at every bit-width a run can ask for, so every cost computed from an accepted profile is
 * finite and positive. Every error is one line (./messages.ts).
 */
import { z } from 'zod';
import type { ProfileError } from '../errors.js';
import { type Dimension, MAX_EXPRESSION_LENGTH, type Scope, compileExpression, evaluateQuantity, toBaseNumber, unitOf } from './expr.js';
import { LIMITS, type Limit, checkRequestedBits, limitProblem, rangeText } from './limits.js';
import { num, profileError, quote } from './messages.js';

const quantity = (description: string) => z.string().min(1).max(MAX_EXPRESSION_LENGTH).meta({ description });

export const MAX_FORMATS = 32;
export const MAX_FORMAT_BITS = 64;

const SourceSchema = z
  .strictObject({
    title: z.string().min(1).meta({ description: 'Paper, data sheet or table the numbers come from.' }),
    url: z.string().optional(),
    uses: z.string().optional().meta({ description: 'Which numbers of the profile come from this source, and how they were derived.' }),
  })
  .meta({ description: 'Where numbers of the profile come from.' });

const FormatSchema = z.union([
  z.int().min(1).max(MAX_FORMAT_BITS).meta({ description: 'Shorthand for an integer format of this many bits, named intN.' }),
  z.strictObject({
    name: z.string().min(1).max(32).meta({ description: 'Display name, e.g. int8, fp8, bf16 (distinct among the formats of one width).' }),
    bits: z.int().min(1).max(MAX_FORMAT_BITS).meta({ description: 'Element bit-width: fp8 8, fp16 and bf16 16, tf32 32 (as stored).' }),
    float: z.boolean().optional().meta({
      description: 'Floating point (default false: integer). Floating-point operands go to floating-point formats, integer ones to integer formats; fp = 1 in the compute expressions.',
    }),
  }),
]);

const ComputeSchema = z
  .strictObject({
    formats: z.array(FormatSchema).min(1).max(MAX_FORMATS).meta({
      description:
        'Operand formats the datapath supports, in ascending bit-width; formats of the same width (int8 and fp8, fp16 and bf16) may follow each other. ' +
        'An operand of b bits runs in the narrowest format of its kind (integer or floating point) with at least b bits (an int8-only array runs 3 bits as 8), ' +
        'else, when the profile has no such format of its kind, in the narrowest format of any kind with at least b bits (an integer-only array runs fp8 as int8). ' +
        'Among formats of one kind and width the first listed is used.',
    }),
    operands: z.enum(['independent', 'shared']).optional().meta({
      description:
        'independent (default): each operand is placed in its own format (Bit Fusion, bit-serial). shared: both operands use one format wide enough for both, floating point if either operand is (GPU tensor cores, int8 arrays).',
    }),
    aboveMax: z.enum(['multipass', 'reject']).optional().meta({
      description:
        'A MAC operand wider than the widest format: multipass (default) splits it into ceil(b/max) slices and runs one pass per slice pair; reject refuses it (estimates and runs whose schedules, baseline or error bits exceed the widest format fail before they start). Tensors are stored the same way either way (the fp32 weight gradient as 32 bits).',
    }),
    macEnergy: quantity('Energy of one MAC as an expression of ba, bw (format bit-widths), fp and clock; must come out in joules, e.g. "0.2 pJ * ba * bw / 64".'),
    macThroughput: quantity('MACs per second of the whole device as an expression of ba, bw, fp and clock; MAC/s is written as 1/s or Hz, e.g. "512 * clock" or "156 THz".'),
  })
  .meta({ description: 'The MAC datapath.' });

const MemoryLevelSchema = z
  .strictObject({
    name: z.string().min(1).max(64),
    capacity: quantity('Size, e.g. "112 KiB" or "40 MB". Required for every level but the last (outermost), which is unbounded when omitted.').optional(),
    readEnergy: quantity('Energy per bit read, e.g. "15 pJ/bit".'),
    writeEnergy: quantity('Energy per bit written, e.g. "15 pJ/bit".'),
    bandwidth: quantity('Bits or bytes per second, e.g. "2.04 TB/s" or "1024 bit * clock".'),
  })
  .meta({ description: 'One level of the memory hierarchy.' });

const OverheadSchema = z
  .strictObject({
    perGemm: quantity('Fixed time of every GEMM (dispatching a kernel, setting it up), added to its latency, e.g. "2 us". Default 0.').optional(),
    perStep: quantity('Fixed time of every training step outside its GEMMs (starting the step), added once per step, e.g. "10 us". Default 0.').optional(),
  })
  .meta({ description: 'Fixed times the roofline does not see: a processor that runs kernels one by one pays them per GEMM and per step.' });

export const ProfileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).max(64).meta({ description: 'Profile name (letters, digits, . _ -).' }),
    description: z.string().min(1).max(500),
    sources: z.array(SourceSchema).min(1),
    clock: quantity('Clock frequency, e.g. "500 MHz". Available to the other expressions as `clock`.'),
    compute: ComputeSchema,
    memory: z.array(MemoryLevelSchema).min(1).max(8).meta({
      description: 'Memory levels from the one nearest the MACs (first) to the backing store (last).',
    }),
    staticPower: quantity('Power drawn regardless of activity, e.g. "60 W"; adds staticPower × latency to the energy.').optional(),
    overhead: OverheadSchema.optional(),
    notes: z.array(z.string()).optional().meta({ description: 'Free-form remarks: assumptions, simplifications.' }),
  })
  .meta({ title: 'bitcycle hardware profile', description: 'An accelerator for the bitcycle cost model (see docs/hardware-model.md).' });

export type ProfileJson = z.input<typeof ProfileSchema>;

/** The JSON Schema committed as hw-profiles/schema.json. */
export function profileJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ProfileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}

export interface NumberFormat {
  name: string;
  bits: number;
  float: boolean;
}

export interface MemoryLevel {
  name: string;
  /** Infinity for an unbounded (outermost) level. */
  capacityBits: number;
  readEnergyPerBitJ: number;
  writeEnergyPerBitJ: number;
  bandwidthBitsPerS: number;
}

export interface ProfileSource {
  title: string;
  url?: string;
  uses?: string;
}

/** A validated profile with every quantity in SI base units (J, s, Hz, W, bit). */
export interface HardwareProfile {
  name: string;
  description: string;
  sources: ProfileSource[];
  notes: string[];
  /** File the profile came from (for messages). */
  file: string;
  clockHz: number;
  /**
   * Supported operand formats by ascending bit-width; formats of one width differ in kind (int8,
   * fp8) or name (fp16, bf16), and the first of a kind and width is the one placement uses.
   */
  formats: NumberFormat[];
  operands: 'independent' | 'shared';
  aboveMax: 'multipass' | 'reject';
  macEnergyExpr: string;
  macThroughputExpr: string;
  /** Energy per MAC (J) for formats i (first operand) and j (second): index i * formats.length + j; NaN where not used. */
  macEnergyJ: Float64Array;
  /** MACs per second for formats i and j, same indexing. */
  macThroughputPerS: Float64Array;
  memory: MemoryLevel[];
  staticPowerW: number;
  /** Fixed time added to every GEMM's latency (`overhead.perGemm`; 0 when not given). */
  overheadPerGemmS: number;
  /** Fixed time added once to every training step's latency (`overhead.perStep`; 0 when not given). */
  overheadPerStepS: number;
  /** The JSON as given. */
  json: ProfileJson;
}

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function zodIssueToError(file: string, issue: z.core.$ZodIssue, input: unknown): ProfileError {
  const path = [...issue.path];
  let detail = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return profileError(file, jsonPath([...path, key]), `unknown field ${quote(key, 60)}${issue.keys.length > 1 ? ` (and ${issue.keys.length - 1} more)` : ''}`);
  }
  if (issue.code === 'invalid_type') {
    const value = lookup(input, path);
    detail = value === undefined ? `missing required field (expected ${issue.expected})` : `expected ${issue.expected}, got ${describeJson(value)}`;
  } else if (issue.code === 'invalid_union') {
    detail = `expected an integer bit-width or {"name", "bits", "float"?}, got ${describeJsonAt(input, path)}`;
  } else if (issue.code === 'too_big' && issue.origin === 'string') {
    const value = lookup(input, path);
    detail = `too long: ${typeof value === 'string' ? value.length : '?'} characters, at most ${String(issue.maximum)} are allowed`;
  } else if (issue.code === 'invalid_value') {
    detail = `${issue.message} (got ${describeJsonAt(input, path)})`;
  } else if (issue.code === 'invalid_format' && path.length === 1 && path[0] === 'name') {
    detail = `expected letters, digits, ".", "_" and "-", starting with a letter or digit, got ${describeJsonAt(input, path)}`;
  }
  return profileError(file, jsonPath(path), detail);
}

function lookup(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

function describeJsonAt(input: unknown, path: readonly PropertyKey[]): string {
  return describeJson(lookup(input, path));
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return quote(value, 60);
  return JSON.stringify(value) ?? String(value);
}

/** Compile one quantity field and hold it to its reachable range; errors name the file and JSON path. */
function quantityAt(file: string, path: readonly PropertyKey[], source: string, dimension: Dimension, scope: Scope, limit: Limit): number {
  let value: number;
  try {
    value = evaluateQuantity(source, dimension, scope);
  } catch (err) {
    const message = (err as Error).message;
    throw profileError(file, jsonPath(path), message.includes('not finite') ? `${message}; ${rangeText(limit)}` : message);
  }
  const problem = limitProblem(value, limit);
  if (problem !== null) throw profileError(file, jsonPath(path), `${problem}, got ${quote(source, 240)} = ${num(value)} ${limit.unit}`);
  return value;
}

/**
 * Validate parsed JSON and compile it into a HardwareProfile. Throws ProfileError (file, JSON path,
 * detail) for the first problem found; never anything else for any JSON input.
 */
export function compileProfile(input: unknown, file: string): HardwareProfile {
  const parsed = ProfileSchema.safeParse(input);
  if (!parsed.success) throw zodIssueToError(file, parsed.error.issues[0]!, input);
  const json = parsed.data;

  const clockHz = quantityAt(file, ['clock'], json.clock, 'frequency', {}, LIMITS.clock);
  const clockScope: Scope = { clock: unitOf(clockHz, 'Hz') };

  const formats: NumberFormat[] = json.compute.formats.map((f) =>
    typeof f === 'number' ? { name: `int${f}`, bits: f, float: false } : { name: f.name, bits: f.bits, float: f.float ?? false },
  );
  for (let i = 1; i < formats.length; i++) {
    const f = formats[i]!;
    if (f.bits < formats[i - 1]!.bits) {
      throw profileError(file, jsonPath(['compute', 'formats', i]), `formats must be listed by ascending bit-width (${f.bits} follows ${formats[i - 1]!.bits})`);
    }
    // Formats of one width must differ by name (int8 and fp8, fp16 and bf16): the name is what a placement reports.
    for (let j = i - 1; j >= 0 && formats[j]!.bits === f.bits; j--) {
      if (formats[j]!.name === f.name) throw profileError(file, jsonPath(['compute', 'formats', i]), `duplicate format ${quote(f.name, 40)} (${f.bits} bits)`);
    }
  }
  const operands = json.compute.operands ?? 'independent';
  const aboveMax = json.compute.aboveMax ?? 'multipass';

  // The constant quantities first: they cost one evaluation each, the compute expressions one per format pair.
  const memory: MemoryLevel[] = json.memory.map((level, i) => {
    const at = (key: string) => ['memory', i, key];
    let capacityBits = Number.POSITIVE_INFINITY;
    if (level.capacity !== undefined) {
      capacityBits = quantityAt(file, at('capacity'), level.capacity, 'data', clockScope, LIMITS.capacity);
    } else if (i < json.memory.length - 1) {
      throw profileError(file, jsonPath(at('capacity')), 'missing required field: every level but the last (outermost) needs a capacity');
    }
    const readEnergyPerBitJ = quantityAt(file, at('readEnergy'), level.readEnergy, 'energyPerBit', clockScope, LIMITS.accessEnergy);
    const writeEnergyPerBitJ = quantityAt(file, at('writeEnergy'), level.writeEnergy, 'energyPerBit', clockScope, LIMITS.accessEnergy);
    const bandwidthBitsPerS = quantityAt(file, at('bandwidth'), level.bandwidth, 'bandwidth', clockScope, LIMITS.bandwidth);
    return { name: level.name, capacityBits, readEnergyPerBitJ, writeEnergyPerBitJ, bandwidthBitsPerS };
  });
  for (let i = 1; i < memory.length; i++) {
    if (memory[i]!.capacityBits < memory[i - 1]!.capacityBits) {
      throw profileError(
        file,
        jsonPath(['memory', i, 'capacity']),
        `levels go from the MACs outward, so capacities must not shrink (${quote(memory[i]!.name, 40)} is smaller than ${quote(memory[i - 1]!.name, 40)})`,
      );
    }
  }
  const names = new Set<string>();
  memory.forEach((level, i) => {
    if (names.has(level.name)) throw profileError(file, jsonPath(['memory', i, 'name']), `duplicate level name ${quote(level.name, 60)}`);
    names.add(level.name);
  });

  const staticPowerW = json.staticPower === undefined ? 0 : quantityAt(file, ['staticPower'], json.staticPower, 'power', clockScope, LIMITS.staticPower);
  const overheadAt = (key: 'perGemm' | 'perStep'): number => {
    const source = json.overhead?.[key];
    return source === undefined ? 0 : quantityAt(file, ['overhead', key], source, 'time', clockScope, LIMITS.overhead);
  };
  const overheadPerGemmS = overheadAt('perGemm');
  const overheadPerStepS = overheadAt('perStep');

  const n = formats.length;
  const macEnergyJ = new Float64Array(n * n).fill(Number.NaN);
  const macThroughputPerS = new Float64Array(n * n).fill(Number.NaN);
  const variables = ['ba', 'bw', 'fp', 'clock'];
  const fields = [
    { key: 'macEnergy', source: json.compute.macEnergy, dimension: 'energy' as const, table: macEnergyJ, limit: LIMITS.macEnergy },
    { key: 'macThroughput', source: json.compute.macThroughput, dimension: 'rate' as const, table: macThroughputPerS, limit: LIMITS.macThroughput },
  ];
  // Parse and check both expressions before evaluating either at every format pair.
  const compiled = fields.map((field) => {
    try {
      return compileExpression(field.source, variables);
    } catch (err) {
      throw profileError(file, jsonPath(['compute', field.key]), (err as Error).message);
    }
  });
  for (const [f, field] of fields.entries()) {
    const path = jsonPath(['compute', field.key]);
    const expr = compiled[f]!;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (operands === 'shared' && i !== j) continue;
        const fa = formats[i]!;
        const fw = formats[j]!;
        const fp = fa.float || fw.float ? 1 : 0;
        // fp only where it is 1, so messages about integer-only profiles read as they always have
        const at = `at ba=${fa.bits}, bw=${fw.bits}${fp ? ', fp=1' : ''}`;
        let value: unknown;
        try {
          value = expr.evaluate({ ba: fa.bits, bw: fw.bits, fp, ...clockScope });
        } catch (err) {
          throw profileError(file, path, `cannot evaluate ${quote(field.source, 240)} ${at}: ${(err as Error).message}`);
        }
        const v = toBaseNumber(value, field.dimension, field.source);
        // Name the bit-widths only when the problem depends on them (an earlier pair was fine).
        if (typeof v === 'string') {
          if (v.includes('not finite')) throw profileError(file, path, `${v} ${at}; ${rangeText(field.limit)}`);
          throw profileError(file, path, i + j > 0 ? `${v} ${at}` : v);
        }
        const problem = limitProblem(v, field.limit);
        if (problem !== null) throw profileError(file, path, `${problem}, got ${quote(field.source, 240)} = ${num(v)} ${field.limit.unit} ${at}`);
        field.table[i * n + j] = v;
      }
    }
  }

  const profile: HardwareProfile = {
    name: json.name,
    description: json.description,
    sources: json.sources,
    notes: json.notes ?? [],
    file,
    clockHz,
    formats,
    operands,
    aboveMax,
    macEnergyExpr: json.compute.macEnergy,
    macThroughputExpr: json.compute.macThroughput,
    macEnergyJ,
    macThroughputPerS,
    memory,
    staticPowerW,
    overheadPerGemmS,
    overheadPerStepS,
    json: input as ProfileJson,
  };
  // The per-MAC cost at every bit-width a run can ask for (multipass included) must be reachable too.
  checkRequestedBits(profile);
  return profile;
}
