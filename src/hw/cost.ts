/**
 * The analytic cost of training steps: pure functions of (layer shapes, batch size, bit tuple,
 * compiled profile). See docs/hardware-model.md for the equations.
 *
 * One training step runs three GEMMs per layer:
 *   forward      activations (b_a) × weights (b_w)  → outputs, stored at b_a
 *   inputGrad    errors (b_g)      × weights (b_w)  → input errors, stored at b_g
 *   weightGrad   activations (b_a) × errors (b_g)   → weight gradient, stored at WEIGHT_GRAD_BITS
 * Each GEMM costs compute (MACs × energy per MAC; MACs / throughput) and memory (each tensor moves
 * once between its home level and the MACs); its latency is max(compute, slowest memory level) plus
 * the profile's fixed per-GEMM overhead, and a step adds the fixed per-step overhead once.
 *
 * Operands have a kind as well as a width: a bit tuple's `float*` flags (absent: integer) say which
 * of weights, activations and errors are floating point, and `placeOperands` puts an operand in the
 * narrowest profile format of its kind that is wide enough, or — when the profile has none of its
 * kind — in the narrowest wide-enough format of any kind (recorded as a fallback). The fp32 weight
 * gradient and every operand of a full-precision layer are floating point.
 */
import type { ProfileError } from '../errors.js';
import { type LayerShape, macsPerSample } from '../models/shapes.js';
import { profileError } from './messages.js';
import type { HardwareProfile } from './profile.js';

export type Phase = 'forward' | 'inputGrad' | 'weightGrad';
export const PHASES: readonly Phase[] = ['forward', 'inputGrad', 'weightGrad'];

/** Full-precision weight gradients (summed into fp32 master weights by the optimizer): floating point. */
export const WEIGHT_GRAD_BITS = 32;
export const MAX_OPERAND_BITS = 64;
/** Bit-width of every operand of a layer kept at full precision (`LayerShape.fullPrecision`): fp32, floating point. */
export const FULL_PRECISION_BITS = 32;

/**
 * Which operands of a step are floating point; an absent or false flag is an integer operand (what
 * every bit-width schedule trains), so a tuple without flags costs what it always has.
 */
export interface OperandKinds {
  floatWeights?: boolean;
  floatActivations?: boolean;
  floatGrad?: boolean;
}

/**
 * The precision of one training step: element bit-widths (fp8 → 8, fp16 and bf16 → 16, MX formats
 * → their element bits, fp32 → 32) and the operands' kinds.
 */
export interface BitTuple extends OperandKinds {
  bitsWeights: number;
  bitsActivations: number;
  bitsGrad: number;
}

/** A copy of a bit tuple with only its true flags: the form histograms and breakdowns hold. */
export function normalizeBitTuple(t: BitTuple): BitTuple {
  const out: BitTuple = { bitsWeights: t.bitsWeights, bitsActivations: t.bitsActivations, bitsGrad: t.bitsGrad };
  if (t.floatWeights) out.floatWeights = true;
  if (t.floatActivations) out.floatActivations = true;
  if (t.floatGrad) out.floatGrad = true;
  return out;
}

/** The kind flags of a tuple as 3 bits (weights 4, activations 2, errors 1). */
function kindBits(t: OperandKinds | undefined): number {
  return t === undefined ? 0 : (t.floatWeights ? 4 : 0) + (t.floatActivations ? 2 : 0) + (t.floatGrad ? 1 : 0);
}

/**
 * One number per (bit-widths, kinds) tuple, for maps that group steps: equal tuples (flags absent
 * and false alike) get equal keys. Bit-widths must be integers in 1..127.
 */
export function bitTupleKey(bitsWeights: number, bitsActivations: number, bitsGrad: number, kinds?: OperandKinds): number {
  return ((bitsWeights * 128 + bitsActivations) * 128 + bitsGrad) * 8 + kindBits(kinds);
}

/** `8`, or `f8` for a floating-point operand: how a tuple's operand is written (`8/8/8`, `f8/f8/8`). */
export function operandText(bits: number, float: boolean | undefined): string {
  return float ? `f${bits}` : String(bits);
}

/** `w/a/g` of a tuple, floating-point operands marked `f` (`4/4/8`, `f8/f8/f16`). */
export function bitTupleText(t: BitTuple): string {
  return `${operandText(t.bitsWeights, t.floatWeights)}/${operandText(t.bitsActivations, t.floatActivations)}/${operandText(t.bitsGrad, t.floatGrad)}`;
}

export interface Cost {
  energyJ: number;
  latencyS: number;
  /** MACs × product of the two operand bit-widths (as requested, before rounding to formats). */
  bitops: number;
}

/** How an operand pair runs on the datapath. */
export interface OperandPlacement {
  /** Index into profile.formats of each operand's slices. */
  formatA: number;
  formatB: number;
  /** Slices per operand (1 unless wider than the widest format and split). */
  slicesA: number;
  slicesB: number;
  /** slicesA × slicesB passes of the datapath per MAC. */
  passes: number;
  /**
   * The operand runs in a format of the other kind: the profile has no format of its kind wide
   * enough (an fp8 operand on an integer-only array runs as int8; an int16 one on a GPU as fp16),
   * or, with shared operands, an integer operand shares a floating-point format with the other one.
   * An approximation the caller may want to say out loud (`estimate` does).
   */
  fallbackA: boolean;
  fallbackB: boolean;
}

/** The kinds of a MAC's two operands (absent: integer). */
export interface OperandPairKinds {
  floatA?: boolean;
  floatB?: boolean;
}

/**
 * The format an operand of `bits` bits (at most the widest format) and kind `float` runs in: the
 * narrowest format of its kind with at least `bits` bits, the first listed among equals; if the
 * profile has none of its kind, the narrowest of any kind (the first listed among equals).
 */
function placeFormat(profile: HardwareProfile, bits: number, float: boolean): number {
  const formats = profile.formats;
  let anyKind = -1;
  for (let i = 0; i < formats.length; i++) {
    const f = formats[i]!;
    if (f.bits < bits) continue;
    if (f.float === float) return i;
    if (anyKind < 0) anyKind = i;
  }
  return anyKind >= 0 ? anyKind : formats.length - 1;
}

/**
 * The same profile with format `index` listed first among the formats of its kind and width, so
 * that placement picks it (a tie otherwise goes to the first listed: a profile listing fp16 before
 * bf16 runs 16-bit floating-point operands as fp16). The per-pair tables are permuted with the
 * formats; `json` stays the file's. This is how `estimate` prices every format tier of a profile.
 */
export function preferFormat(profile: HardwareProfile, index: number): HardwareProfile {
  const formats = profile.formats;
  const f = formats[index];
  if (f === undefined) throw new RangeError(`format index ${index} is not in 0..${formats.length - 1}`);
  const first = formats.findIndex((g) => g.bits === f.bits && g.float === f.float);
  if (first === index) return profile;
  const order = formats.map((_, i) => i).filter((i) => i !== index);
  order.splice(first, 0, index);
  const n = formats.length;
  const permute = (table: Float64Array) => {
    const out = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = table[order[i]! * n + order[j]!]!;
    return out;
  };
  return { ...profile, formats: order.map((i) => formats[i]!), macEnergyJ: permute(profile.macEnergyJ), macThroughputPerS: permute(profile.macThroughputPerS) };
}

function checkBits(bits: number, what: string): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > MAX_OPERAND_BITS) {
    throw new RangeError(`${what} must be an integer in 1..${MAX_OPERAND_BITS}, got ${bits}`);
  }
}

/**
 * Slices of `bits` on this profile and the bit-width of each slice (before rounding to a format):
 * one slice up to the widest format, else ceil(bits / widest). This is also how a tensor wider
 * than the widest format is laid out in memory, whatever `aboveMax` says.
 */
function slice(profile: HardwareProfile, bits: number): { slices: number; sliceBits: number } {
  const widest = profile.formats[profile.formats.length - 1]!.bits;
  if (bits <= widest) return { slices: 1, sliceBits: bits };
  const slices = Math.ceil(bits / widest);
  return { slices, sliceBits: Math.ceil(bits / slices) };
}

/** The ProfileError for an operand of `bits` bits on a profile whose aboveMax is "reject". */
function rejectedOperand(profile: HardwareProfile, bits: number, what: string): ProfileError {
  const widest = profile.formats[profile.formats.length - 1]!;
  return profileError(
    profile.file,
    '$.compute.aboveMax',
    `"reject" refuses MAC operands wider than the widest format ${widest.name} (${widest.bits} bits), and ${what} asks for ${bits} bits; ` +
      `keep --schedule, --baseline and --grad-bits at most ${widest.bits} bits, or set aboveMax to "multipass"`,
  );
}

/** An operand's slices; with aboveMax "reject", an operand wider than the widest format is a ProfileError. */
function operandSlices(profile: HardwareProfile, bits: number): { slices: number; sliceBits: number } {
  const s = slice(profile, bits);
  if (s.slices > 1 && profile.aboveMax === 'reject') throw rejectedOperand(profile, bits, 'a MAC operand');
  return s;
}

/**
 * Refuse, before any cost is computed, precisions a profile cannot run: with aboveMax "reject",
 * every operand must fit the widest format. `uses` names where each bit-width comes from, e.g.
 * `{ what: '--schedule cpt:3-16', bits: 16 }` (a schedule's bitsMax); the error names the
 * profile's file, `$.compute.aboveMax` and the first use that does not fit. The weight gradient
 * (stored at WEIGHT_GRAD_BITS) is a result, not an operand, and always fits.
 */
export function requireOperandBits(profile: HardwareProfile, uses: readonly { what: string; bits: number }[]): void {
  if (profile.aboveMax !== 'reject') return;
  const widest = profile.formats[profile.formats.length - 1]!.bits;
  for (const use of uses) if (use.bits > widest) throw rejectedOperand(profile, use.bits, use.what);
}

/** The operand width `--fp-layers` asks of a profile, for `requireOperandBits` (none for `none`). */
export function fullPrecisionUses(fpLayers: string): { what: string; bits: number }[] {
  return fpLayers === 'none' ? [] : [{ what: `--fp-layers ${fpLayers} (full precision is ${FULL_PRECISION_BITS} bits)`, bits: FULL_PRECISION_BITS }];
}

/**
 * Which formats and how many passes a MAC of a `bitsA`-bit by `bitsB`-bit operand uses, the
 * operands of the kinds `kinds` says (absent: integer). Each operand wider than the widest format
 * (of any kind) is first split into slices (aboveMax); each slice then goes to the narrowest
 * format of its kind with enough bits, else to the narrowest of any kind (`fallbackA/B`). With
 * shared operands both go to the one format an operand of the wider slice and of the shared kind
 * — floating point if either operand is — is placed in.
 */
export function placeOperands(profile: HardwareProfile, bitsA: number, bitsB: number, kinds: OperandPairKinds = {}): OperandPlacement {
  checkBits(bitsA, 'operand bit-width');
  checkBits(bitsB, 'operand bit-width');
  const floatA = kinds.floatA === true;
  const floatB = kinds.floatB === true;
  const a = operandSlices(profile, bitsA);
  const b = operandSlices(profile, bitsB);
  let formatA: number;
  let formatB: number;
  if (profile.operands === 'shared') formatA = formatB = placeFormat(profile, Math.max(a.sliceBits, b.sliceBits), floatA || floatB);
  else {
    formatA = placeFormat(profile, a.sliceBits, floatA);
    formatB = placeFormat(profile, b.sliceBits, floatB);
  }
  const formats = profile.formats;
  return {
    formatA,
    formatB,
    slicesA: a.slices,
    slicesB: b.slices,
    passes: a.slices * b.slices,
    fallbackA: formats[formatA]!.float !== floatA,
    fallbackB: formats[formatB]!.float !== floatB,
  };
}

/**
 * Bits a tensor element of `bits` bits and kind `float` occupies in memory on this profile (the
 * width of the format it is placed in × slices). Storage is not the datapath: aboveMax does not
 * apply (the fp32 weight gradient is stored as 32 bits on an int8 profile that rejects 32-bit operands).
 */
export function storedBits(profile: HardwareProfile, bits: number, float = false): number {
  checkBits(bits, 'tensor bit-width');
  const s = slice(profile, bits);
  return s.slices * profile.formats[placeFormat(profile, s.sliceBits, float)]!.bits;
}

/** Energy (J) and time (s) of one MAC of a `bitsA` × `bitsB` operand pair of `kinds`, multipass included. */
export function macCost(profile: HardwareProfile, bitsA: number, bitsB: number, kinds: OperandPairKinds = {}): { energyJ: number; timeS: number; placement: OperandPlacement } {
  const placement = placeOperands(profile, bitsA, bitsB, kinds);
  const k = placement.formatA * profile.formats.length + placement.formatB;
  return {
    energyJ: placement.passes * profile.macEnergyJ[k]!,
    timeS: placement.passes / profile.macThroughputPerS[k]!,
    placement,
  };
}

export interface MemoryLevelCost {
  level: string;
  readBits: number;
  writeBits: number;
  energyJ: number;
  latencyS: number;
}

export interface TensorTraffic {
  role: 'a' | 'b' | 'result';
  elements: number;
  bits: number;
  /** Floating point (placed, and so stored, by kind as an operand is). */
  float: boolean;
  /** Bits per element in memory (format width × slices). */
  storedBits: number;
  /** Index of the memory level the tensor lives in. */
  homeLevel: number;
}

export interface GemmCost extends Cost {
  layer: string;
  phase: Phase;
  macs: number;
  bitsA: number;
  bitsB: number;
  bitsResult: number;
  /** The operands' kinds. */
  floatA: boolean;
  floatB: boolean;
  formatA: string;
  formatB: string;
  /** The operand runs in a format of the other kind (OperandPlacement). */
  fallbackA: boolean;
  fallbackB: boolean;
  passes: number;
  computeEnergyJ: number;
  computeLatencyS: number;
  memoryEnergyJ: number;
  /** Latency of the slowest memory level. */
  memoryLatencyS: number;
  /** The profile's per-GEMM overhead, added to max(compute, memory). */
  overheadLatencyS: number;
  staticEnergyJ: number;
  bound: 'compute' | 'memory';
  memory: MemoryLevelCost[];
  tensors: TensorTraffic[];
}

export interface PartsCost extends Cost {
  computeEnergyJ: number;
  memoryEnergyJ: number;
  staticEnergyJ: number;
  computeLatencyS: number;
  memoryLatencyS: number;
  /** Fixed times of the profile's `overhead` included in latencyS (per GEMM; a step's total also the per-step one). */
  overheadLatencyS: number;
}

export interface StepBreakdown extends PartsCost {
  /** The step's tuple (with per-layer tuples: the first quantized layer's). */
  bits: BitTuple;
  /** layers × phases, in layer order then PHASES order. */
  gemms: GemmCost[];
  byPhase: Record<Phase, PartsCost>;
  byLayer: ({ layer: string } & PartsCost)[];
}

export function zeroParts(): PartsCost {
  return { energyJ: 0, latencyS: 0, bitops: 0, computeEnergyJ: 0, memoryEnergyJ: 0, staticEnergyJ: 0, computeLatencyS: 0, memoryLatencyS: 0, overheadLatencyS: 0 };
}

export function addParts(into: PartsCost, c: PartsCost, times = 1): void {
  into.energyJ += c.energyJ * times;
  into.latencyS += c.latencyS * times;
  into.bitops += c.bitops * times;
  into.computeEnergyJ += c.computeEnergyJ * times;
  into.memoryEnergyJ += c.memoryEnergyJ * times;
  into.staticEnergyJ += c.staticEnergyJ * times;
  into.computeLatencyS += c.computeLatencyS * times;
  into.memoryLatencyS += c.memoryLatencyS * times;
  into.overheadLatencyS += c.overheadLatencyS * times;
}

/** The innermost level whose capacity holds `totalBits` (the last level if none does). */
/** The memory level a tensor of `totalBits` lives in: the nearest one that holds it, else the last. */
export function homeLevel(profile: HardwareProfile, totalBits: number): number {
  const levels = profile.memory;
  for (let i = 0; i < levels.length - 1; i++) if (levels[i]!.capacityBits >= totalBits) return i;
  return levels.length - 1;
}

/** A tensor of a GEMM: elements, bit-width and kind (absent: integer). */
interface TensorSpec {
  elements: number;
  bits: number;
  float?: boolean;
}

interface GemmSpec {
  layer: string;
  phase: Phase;
  macs: number;
  a: TensorSpec;
  b: TensorSpec;
  result: TensorSpec;
}

/** A tensor moved once: its stored bits, read from and/or written to its home level. */
export interface TensorMove {
  bits: number;
  read: boolean;
  write: boolean;
}

/**
 * The memory levels' traffic for tensors each read and/or written once at their home level
 * (`homeLevel`), passing through every level nearer the datapath once per access (one write and
 * one read there): bits, energy and bandwidth time per level, their energy sum and slowest level.
 */
export function memoryTraffic(profile: HardwareProfile, tensors: readonly TensorMove[]): { memory: MemoryLevelCost[]; memoryEnergyJ: number; memoryLatencyS: number } {
  const levels = profile.memory;
  const memory: MemoryLevelCost[] = levels.map((l) => ({ level: l.name, readBits: 0, writeBits: 0, energyJ: 0, latencyS: 0 }));
  for (const t of tensors) {
    const home = homeLevel(profile, t.bits);
    if (t.read) memory[home]!.readBits += t.bits;
    if (t.write) memory[home]!.writeBits += t.bits;
    const passes = (t.read ? 1 : 0) + (t.write ? 1 : 0);
    for (let i = 0; i < home; i++) {
      memory[i]!.readBits += t.bits * passes;
      memory[i]!.writeBits += t.bits * passes;
    }
  }
  let memoryEnergyJ = 0;
  let memoryLatencyS = 0;
  memory.forEach((m, i) => {
    const l = levels[i]!;
    m.energyJ = m.readBits * l.readEnergyPerBitJ + m.writeBits * l.writeEnergyPerBitJ;
    m.latencyS = (m.readBits + m.writeBits) / l.bandwidthBitsPerS;
    memoryEnergyJ += m.energyJ;
    memoryLatencyS = Math.max(memoryLatencyS, m.latencyS);
  });
  return { memory, memoryEnergyJ, memoryLatencyS };
}

/** Cost of one GEMM: compute, memory traffic through the levels, roofline latency plus the per-GEMM overhead, static energy. */
export function gemmCost(profile: HardwareProfile, g: GemmSpec): GemmCost {
  if (profile.aboveMax === 'reject') {
    const widest = profile.formats[profile.formats.length - 1]!.bits;
    for (const [operand, bits] of [['first', g.a.bits], ['second', g.b.bits]] as const) {
      if (bits > widest) throw rejectedOperand(profile, bits, `the ${operand} operand of the ${g.phase} GEMM of layer ${g.layer}`);
    }
  }
  const mac = macCost(profile, g.a.bits, g.b.bits, { floatA: g.a.float, floatB: g.b.float });
  const computeEnergyJ = g.macs * mac.energyJ;
  const computeLatencyS = g.macs * mac.timeS;

  const tensors: TensorTraffic[] = [];
  const moved: TensorMove[] = [];
  for (const [role, t] of [['a', g.a], ['b', g.b], ['result', g.result]] as const) {
    const float = t.float === true;
    const perElement = storedBits(profile, t.bits, float);
    const total = t.elements * perElement;
    tensors.push({ role, elements: t.elements, bits: t.bits, float, storedBits: perElement, homeLevel: homeLevel(profile, total) });
    // operands are read from their home level, the result written to it
    moved.push({ bits: total, read: role !== 'result', write: role === 'result' });
  }
  const { memory, memoryEnergyJ, memoryLatencyS } = memoryTraffic(profile, moved);
  const overheadLatencyS = profile.overheadPerGemmS;
  const latencyS = Math.max(computeLatencyS, memoryLatencyS) + overheadLatencyS;
  const staticEnergyJ = profile.staticPowerW * latencyS;
  return {
    layer: g.layer,
    phase: g.phase,
    macs: g.macs,
    bitsA: g.a.bits,
    bitsB: g.b.bits,
    bitsResult: g.result.bits,
    floatA: g.a.float === true,
    floatB: g.b.float === true,
    formatA: profile.formats[mac.placement.formatA]!.name,
    formatB: profile.formats[mac.placement.formatB]!.name,
    fallbackA: mac.placement.fallbackA,
    fallbackB: mac.placement.fallbackB,
    passes: mac.placement.passes,
    computeEnergyJ,
    computeLatencyS,
    memoryEnergyJ,
    memoryLatencyS,
    overheadLatencyS,
    staticEnergyJ,
    energyJ: computeEnergyJ + memoryEnergyJ + staticEnergyJ,
    latencyS,
    bitops: g.macs * g.a.bits * g.b.bits,
    bound: computeLatencyS >= memoryLatencyS ? 'compute' : 'memory',
    memory,
    tensors,
  };
}

const FULL_PRECISION_TUPLE: BitTuple = {
  bitsWeights: FULL_PRECISION_BITS,
  bitsActivations: FULL_PRECISION_BITS,
  bitsGrad: FULL_PRECISION_BITS,
  floatWeights: true,
  floatActivations: true,
  floatGrad: true,
};

/**
 * The three GEMMs of one layer at a bit tuple, for a batch of `batchSize` samples. A layer kept at
 * full precision runs at FULL_PRECISION_BITS, floating point, whatever the step's bits. Outputs
 * and input errors are stored at their operand's width and kind, the weight gradient as fp32.
 */
export function layerGemms(layer: LayerShape, batchSize: number, stepBits: BitTuple): GemmSpec[] {
  const bits = layer.fullPrecision ? FULL_PRECISION_TUPLE : stepBits;
  const macs = macsPerSample(layer) * batchSize;
  const floatA = bits.floatActivations === true;
  const floatG = bits.floatGrad === true;
  const activations = { elements: layer.inputElements * batchSize, bits: bits.bitsActivations, float: floatA };
  const weights = { elements: layer.weightElements, bits: bits.bitsWeights, float: bits.floatWeights === true };
  const errors = { elements: layer.outputElements * batchSize, bits: bits.bitsGrad, float: floatG };
  return [
    { layer: layer.name, phase: 'forward', macs, a: activations, b: weights, result: { elements: layer.outputElements * batchSize, bits: bits.bitsActivations, float: floatA } },
    { layer: layer.name, phase: 'inputGrad', macs, a: errors, b: weights, result: { elements: layer.inputElements * batchSize, bits: bits.bitsGrad, float: floatG } },
    { layer: layer.name, phase: 'weightGrad', macs, a: activations, b: errors, result: { elements: layer.weightElements, bits: WEIGHT_GRAD_BITS, float: true } },
  ];
}

function partsOf(g: GemmCost): PartsCost {
  return {
    energyJ: g.energyJ,
    latencyS: g.latencyS,
    bitops: g.bitops,
    computeEnergyJ: g.computeEnergyJ,
    memoryEnergyJ: g.memoryEnergyJ,
    staticEnergyJ: g.staticEnergyJ,
    computeLatencyS: g.computeLatencyS,
    memoryLatencyS: g.memoryLatencyS,
    overheadLatencyS: g.overheadLatencyS,
  };
}

/**
 * Full per-layer × per-phase breakdown of one training step. GEMMs run one after another. The
 * profile's per-step overhead belongs to no layer or phase: it is in the step's totals only
 * (latency, its static energy, overheadLatencyS), so they exceed the sum of the phases by it.
 */
export function stepBreakdown(profile: HardwareProfile, layers: readonly LayerShape[], batchSize: number, stepBits: BitTuple | readonly BitTuple[]): StepBreakdown {
  // one tuple for every layer, or one per layer (a per-layer precision plan)
  const perLayer = isTupleList(stepBits) ? stepBits : null;
  if (perLayer && perLayer.length !== layers.length) throw new RangeError(`${perLayer.length} bit tuples for ${layers.length} layers`);
  for (const bits of perLayer ?? [stepBits as BitTuple]) {
    checkBits(bits.bitsWeights, 'bitsWeights');
    checkBits(bits.bitsActivations, 'bitsActivations');
    checkBits(bits.bitsGrad, 'bitsGrad');
  }
  const bits = perLayer ? (perLayer.find((_, i) => !layers[i]!.fullPrecision) ?? perLayer[0]!) : (stepBits as BitTuple);
  const total = zeroParts();
  const byPhase = { forward: zeroParts(), inputGrad: zeroParts(), weightGrad: zeroParts() };
  const byLayer: ({ layer: string } & PartsCost)[] = [];
  const gemms: GemmCost[] = [];
  layers.forEach((layer, i) => {
    const sum = { layer: layer.name, ...zeroParts() };
    for (const spec of layerGemms(layer, batchSize, perLayer ? perLayer[i]! : bits)) {
      const g = gemmCost(profile, spec);
      gemms.push(g);
      const parts = partsOf(g);
      addParts(total, parts);
      addParts(byPhase[g.phase], parts);
      addParts(sum, parts);
    }
    byLayer.push(sum);
  });
  const perStepS = profile.overheadPerStepS;
  if (perStepS > 0) {
    const staticEnergyJ = profile.staticPowerW * perStepS;
    addParts(total, { ...zeroParts(), latencyS: perStepS, overheadLatencyS: perStepS, staticEnergyJ, energyJ: staticEnergyJ });
  }
  return { bits: normalizeBitTuple(bits), ...total, gemms, byPhase, byLayer };
}

function isTupleList(b: BitTuple | readonly BitTuple[]): b is readonly BitTuple[] {
  return Array.isArray(b);
}

/** One key per list of per-layer tuples (equal lists, equal keys). */
export function layerTuplesKey(tuples: readonly BitTuple[]): string {
  return tuples.map((t) => bitTupleKey(t.bitsWeights, t.bitsActivations, t.bitsGrad, t)).join(',');
}

export interface CostModel {
  readonly profile: HardwareProfile;
  readonly layers: readonly LayerShape[];
  readonly batchSize: number;
  /**
   * Cost of one step; memoized per bit tuple, so O(1) after the first call with a tuple. `kinds`
   * says which operands are floating point (absent: all integer); a BitTuple can be passed as it.
   */
  stepCost(bitsWeights: number, bitsActivations: number, bitsGrad: number, kinds?: OperandKinds): Cost;
  /** Per-layer × phase × compute/memory breakdown of one step (memoized too). */
  breakdown(bitsWeights: number, bitsActivations: number, bitsGrad: number, kinds?: OperandKinds): StepBreakdown;
  /** A step whose layers have tuples of their own (one per layer, in `layers` order; memoized). */
  layersBreakdown(tuples: readonly BitTuple[]): StepBreakdown;
  layersCost(tuples: readonly BitTuple[]): Cost;
}

function tupleKey(bw: number, ba: number, bg: number, kinds: OperandKinds | undefined): number {
  checkBits(bw, 'bitsWeights');
  checkBits(ba, 'bitsActivations');
  checkBits(bg, 'bitsGrad');
  return bitTupleKey(bw, ba, bg, kinds);
}

/**
 * A cost model for one profile, model and batch size. Throws RangeError for a batch size or
 * layer list that makes no sense (a bug in the caller), ProfileError for bits a profile rejects.
 */
export function createCostModel(profile: HardwareProfile, layers: readonly LayerShape[], batchSize: number): CostModel {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  if (layers.length === 0) throw new RangeError('a cost model needs at least one layer');
  const frozenLayers = layers.map((l) => ({ ...l }));
  const breakdowns = new Map<number, StepBreakdown>();
  const costs = new Map<number, Cost>();
  const breakdown = (bitsWeights: number, bitsActivations: number, bitsGrad: number, kinds?: OperandKinds): StepBreakdown => {
    const key = tupleKey(bitsWeights, bitsActivations, bitsGrad, kinds);
    let b = breakdowns.get(key);
    if (b === undefined) {
      b = stepBreakdown(profile, frozenLayers, batchSize, {
        bitsWeights,
        bitsActivations,
        bitsGrad,
        floatWeights: kinds?.floatWeights,
        floatActivations: kinds?.floatActivations,
        floatGrad: kinds?.floatGrad,
      });
      breakdowns.set(key, b);
    }
    return b;
  };
  const layered = new Map<string, StepBreakdown>();
  const layersBreakdown = (tuples: readonly BitTuple[]): StepBreakdown => {
    const key = layerTuplesKey(tuples);
    let b = layered.get(key);
    if (b === undefined) layered.set(key, (b = stepBreakdown(profile, frozenLayers, batchSize, tuples.map(normalizeBitTuple))));
    return b;
  };
  return {
    profile,
    layers: frozenLayers,
    batchSize,
    breakdown,
    layersBreakdown,
    layersCost(tuples) {
      const b = layersBreakdown(tuples);
      return { energyJ: b.energyJ, latencyS: b.latencyS, bitops: b.bitops };
    },
    stepCost(bitsWeights, bitsActivations, bitsGrad, kinds) {
      const key = tupleKey(bitsWeights, bitsActivations, bitsGrad, kinds);
      let c = costs.get(key);
      if (c === undefined) {
        const b = breakdown(bitsWeights, bitsActivations, bitsGrad, kinds);
        c = Object.freeze({ energyJ: b.energyJ, latencyS: b.latencyS, bitops: b.bitops });
        costs.set(key, c);
      }
      return c;
    },
  };
}
