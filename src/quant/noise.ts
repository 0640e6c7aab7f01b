/**
 * Stochastic-rounding noise made inside the training graph by a counter-based hash: the host feeds
 * one uint32 key per step instead of a [K, B, W] noise tensor.
 *
 *   u(key, layer, i) = ⌊Q(rot16(P(H(i)))) / 2^8⌋ · 2^-24  ∈ [0, 1 − 2^-24]
 *
 * in uint32 arithmetic (mod 2^32), from the only integer ops onnxruntime runs at opset 17: Mul, Add,
 * BitShift (no BitwiseXor/BitwiseAnd before opset 18).
 * - rot16(x) = x·2^16 + (x >> 16): a 16-bit rotation (the halves do not overlap, so + acts as |).
 * - (A·x + B)·x + C with A even and B odd is a permutation of Z/2^32 (Rivest, "Permutation
 *   polynomials modulo 2^w", 2001; RC6's x(2x+1) is one), the cheapest nonlinear bijection Mul and
 *   Add can build. All coefficients A here are ≡ 2 mod 4.
 * - H(i) = mix(i), the hashed element counter; mix = 3 rounds of x ← rot16((Aᵣ·x + Bᵣ)·x + Cᵣ)
 *   with fixed constants. From 3 rounds on, every input bit flips every output bit with
 *   probability ½ (2 rounds leave output bits that some input bits never reach).
 * - P(x) = (A₁·x + B₁)·x and Q(x) = (A₂·x + B₂)·x are keyed quadratics: (A₁, B₁, A₂, B₂) =
 *   (4m₀ + 2, 2m₁ + 1, 4m₂ + 2, 2m₃ + 1) with mⱼ = mix(key + cₗⱼ), where the offsets
 *   cₗⱼ = mixSeed(NOISE_PURPOSE, layer, j) are constants of the graph. Neither has a constant term:
 *   0 is their only zero, and H(i) = 0 only at i = NOISE_COUNTER_ZERO ≥ 2^31, beyond every
 *   counter (mix is a permutation; the counter is an int32 Range). So no element's noise is
 *   pinned to 0 at every key.
 *
 * No reuse pattern. For one (key, layer), i ↦ Q(rot16(P(H(i)))) composes permutations of Z/2^32:
 * no two elements of a tensor share a 32-bit hash, and as i runs over Z/2^32 each 24-bit value
 * of u occurs exactly 256 times. The key enters through the coefficients of two quadratics,
 * so noise(k₂)[i] = noise(k₁)[j] needs P₂(H(i)) = P₁(H(j)), a nonlinear relation between hashed
 * counters met by chance (like any two hash values), never along a shift j = i + d. This is why the
 * key is not simply added: a hash of (i + key) makes every step a shifted copy of the others, and
 * a Mul/Add/shift finalizer applied to H(i) + key is close to affine in the key (u₂ ≈ u₁ + c),
 * because without Xor every op except a product of two data values is nearly linear mod 2^32.
 * The rotation and the second quadratic are there because Mul, Add and P are T-functions (bit k of
 * the result depends only on bits ≤ k of the operands). With P alone, elements whose hashed
 * counters agree in their low s bits would, at every step, have noise differences that are
 * multiples of 2^(s−32). rot16 hands the high bits of P's result down and Q mixes them up again.
 * test/noise.test.ts checks these properties against the graph and shows the checks reject the
 * weaker variants.
 *
 * Resumable: u is a pure function of (key, layer, i), with key = mixSeed(seed, purpose, step) from
 * the host, layer = index of the error quantizer in emission order and i = row-major element index.
 * It does not depend on the chunk length K, the position in the chunk, the batch size or the
 * other layers, so a resumed run regenerates exactly the noise of the uninterrupted one.
 *
 * Memory and work: the key-independent counter H(0 … rows·W − 1), with W the largest per-row size
 * among the dithered tensors, is computed once per run() in the outer graph. That is one uint32
 * tensor the size of the largest error tensor, whatever K is. The coefficients of all K steps and
 * layers form a small [K, 4·layers] table. Each step then spends, per dithered tensor, one Slice of
 * the counter and 12 elementwise passes: 3 for P, 3 for rot16, 3 for Q, and BitShift, Cast, Mul
 * for u (the quantizers take the raw values, `emitRaw`, and fold the Mul into their own scaling).
 */
import { type Dim, type Graph, ONNX_TYPE, type Value } from '../graph/builder.js';
import { mixSeed } from '../util/random.js';

/** Purpose tag of the per-layer key offsets cₗⱼ (mixSeed's first part). */
export const NOISE_PURPOSE = 0x6e6f6973;
/** u = (h >> 8) · 2^-24. */
export const NOISE_UNIT = 2 ** -24;
/** Coefficients per (step, layer): A₁, B₁, A₂, B₂. */
const COEFFICIENTS = 4;
/** The index whose hashed counter is 0 (the only one: mix is a permutation of Z/2^32). */
export const NOISE_COUNTER_ZERO = 2447976036;
/** mix rounds: (Aᵣ·x + Bᵣ)·x + Cᵣ, then rot16. Aᵣ = 2·(odd) ≡ 2 mod 4, Bᵣ odd. */
const MIX: readonly (readonly [number, number, number])[] = [
  [0x3c6ef372, 0x7feb352d, 0x632be5ab],
  [0x0bd794d6, 0x846ca68b, 0x9e3779b9],
  [0x85655c6a, 0x68e31da5, 0x27d4eb2f],
];
/** mⱼ ↦ coefficient j: 4m + 2 (A) or 2m + 1 (B). */
const COEFFICIENT_SCALE = [4, 2, 4, 2];
const COEFFICIENT_SHIFT = [2, 1, 2, 1];

// ---------------------------------------------------------------------------------------------
// Reference implementation (plain JS, bit for bit the graph's arithmetic)

function quadratic(x: number, a: number, b: number, c: number): number {
  return (Math.imul((Math.imul(a, x) + b) >>> 0, x) + c) >>> 0;
}

function rot16(x: number): number {
  return ((x << 16) + (x >>> 16)) >>> 0;
}

function mix(x: number): number {
  for (const [a, b, c] of MIX) x = rot16(quadratic(x, a, b, c));
  return x;
}

/** H(i): the hashed element counter (independent of key and layer). */
export function noiseCounter(i: number): number {
  return mix(i >>> 0);
}

/** cₗⱼ: what the key is offset by before mixing, for coefficient j of a layer. */
function keyOffset(layer: number, j: number): number {
  return mixSeed(NOISE_PURPOSE, layer, j);
}

/** [A₁, B₁, A₂, B₂] of one (key, layer). */
export function noiseCoefficients(key: number, layer: number): Uint32Array {
  const out = new Uint32Array(COEFFICIENTS);
  for (let j = 0; j < COEFFICIENTS; j++) out[j] = Math.imul(mix((key + keyOffset(layer, j)) >>> 0), COEFFICIENT_SCALE[j]!) + COEFFICIENT_SHIFT[j]!; // wraps mod 2^32
  return out;
}

/** The noise of elements 0 … count−1 of error quantizer `layer` at the step with this key. */
export function noiseReference(key: number, layer: number, count: number): Float32Array {
  const [a1, b1, a2, b2] = noiseCoefficients(key, layer);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (quadratic(rot16(quadratic(noiseCounter(i), a1, b1, 0)), a2, b2, 0) >>> 8) * NOISE_UNIT;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Graph emission

function u32(g: Graph, value: number): Value {
  return g.constant('uint32', [], [value >>> 0], 'noise_c');
}

/** (a·x + b)·x (+ c); a, b, c broadcast against x. */
function emitQuadratic(g: Graph, x: Value, a: Value, b: Value, c?: Value): Value {
  const s = x.shape;
  const ax = g.emit1('Mul', [x, a], {}, 'uint32', s, 'noise_ax');
  const q = g.emit1('Mul', [g.emit1('Add', [ax, b], {}, 'uint32', s, 'noise_axb'), x], {}, 'uint32', s, 'noise_quad');
  return c ? g.emit1('Add', [q, c], {}, 'uint32', s, 'noise_quad') : q;
}

function emitRot16(g: Graph, x: Value): Value {
  const s = x.shape;
  const high = g.emit1('BitShift', [x, u32(g, 16)], { direction: 'RIGHT' }, 'uint32', s, 'noise_high');
  const low = g.emit1('Mul', [x, u32(g, 0x10000)], {}, 'uint32', s, 'noise_low');
  return g.emit1('Add', [low, high], {}, 'uint32', s, 'noise_rot');
}

function emitMix(g: Graph, x: Value): Value {
  for (const [a, b, c] of MIX) x = emitRot16(g, emitQuadratic(g, x, u32(g, a), u32(g, b), u32(g, c)));
  return x;
}

/** Declare `value` under `name`, a name the Loop body already refers to (reserved in `g` earlier). */
function bind(g: Graph, value: Value, name: string): void {
  g.nodes.push({ opType: 'Identity', name: g.fresh('n_Identity'), inputs: [value.name], outputs: [name], attributes: {} });
}

/**
 * The noise of one training step, for the error quantizers of an ONNX Loop body.
 *
 * - `new StepNoise(outer, keys, body, iter)` before building the body: `keys` is the outer graph's
 *   uint32 [K] input (one key per step), `iter` the body's int64 [] iteration number.
 * - `emit(like)` in the body, once per error quantizer: U[0,1) of `like`'s dtype and run-time
 *   shape, for layer = number of earlier calls. `like` is [rows, …static dims].
 * - `finish(rows)` in the outer graph once the body is complete and before the Loop node: emits
 *   the counter and the coefficient table the body reads from the enclosing scope. `rows` (int64 [])
 *   is the run-time leading dim of every `like` (the batch).
 */
export class StepNoise {
  private readonly counterName: string;
  private readonly tableName: string;
  /** Elements per row of each layer's tensor. */
  private readonly widths: number[] = [];
  /** This step's row of the coefficient table, [4·layers] (emitted on first use). */
  private row: Value | null = null;
  private finished = false;

  constructor(
    private readonly outer: Graph,
    private readonly keys: Value,
    private readonly body: Graph,
    private readonly iter: Value,
  ) {
    if (keys.dtype !== 'uint32' || keys.shape?.length !== 1) throw new Error(`noise keys ${keys.name} must be uint32 [steps]`);
    this.counterName = outer.fresh('noise_counter');
    this.tableName = outer.fresh('noise_coefficients');
  }

  /** Error quantizers given noise so far. */
  get layers(): number {
    return this.widths.length;
  }

  emit(like: Value): Value {
    const raw = this.emitRaw(like);
    return this.body.emit1('Mul', [raw, this.body.constant(raw.dtype, [], [NOISE_UNIT])], {}, raw.dtype, raw.shape, 'noise');
  }

  /**
   * The noise of `emit` before its last pass: `Cast(h >> 8)`, uniform on {0, …, 2^24 − 1}; times
   * NOISE_UNIT it is `emit`'s U[0,1). The quantizers fold that factor into their own scaling.
   */
  emitRaw(like: Value): Value {
    if (this.finished) throw new Error(`noise for ${like.name}: asked for after finish()`);
    const g = this.body;
    const shape = like.shape;
    if (like.dtype !== 'float32' && like.dtype !== 'float64') throw new Error(`noise for ${like.name}: ${like.dtype} is not a float type`);
    if (shape === null || shape.length === 0 || shape.slice(1).some((d) => typeof d !== 'number')) {
      throw new Error(`noise for ${like.name}: shape must be [rows, …static dims], got ${shape === null ? 'unknown' : `[${shape.join(', ')}]`}`);
    }
    const layer = this.widths.length;
    this.widths.push((shape.slice(1) as number[]).reduce((n, d) => n * d, 1));

    this.row ??= g.emit1('Gather', [this.table(), this.iter], { axis: 0 }, 'uint32', ['noise_coefficients'], 'noise_row');
    const mine = g.emit1('Slice', [this.row, g.ints([COEFFICIENTS * layer]), g.ints([COEFFICIENTS * (layer + 1)])], {}, 'uint32', [COEFFICIENTS], 'noise_layer');
    const [a1, b1, a2, b2] = g.emit('Split', [mine], { axis: 0 }, Array.from({ length: COEFFICIENTS }, () => ({ dtype: 'uint32' as const, shape: [1], hint: 'noise_k' })));

    const size = g.emit1('Reshape', [g.emit1('Size', [like], {}, 'int64', [], 'noise_size'), g.ints([1])], {}, 'int64', [1], 'noise_size');
    const flat = g.emit1('Slice', [this.counter(), g.ints([0]), size], {}, 'uint32', ['noise_size'], 'noise_counter_slice');
    const counter = g.emit1('Reshape', [flat, g.emit1('Shape', [like], {}, 'int64', [shape.length], 'noise_shape')], {}, 'uint32', shape, 'noise_counter_shaped');

    const h = emitQuadratic(g, emitRot16(g, emitQuadratic(g, counter, a1, b1)), a2, b2);
    const top = g.emit1('BitShift', [h, u32(g, 8)], { direction: 'RIGHT' }, 'uint32', h.shape, 'noise_top');
    return g.emit1('Cast', [top], { to: ONNX_TYPE[like.dtype] }, like.dtype, h.shape, 'noise_raw');
  }

  /** Counters are an int32 Range: rows·(largest per-row size) must stay below 2^31. */
  finish(rows: Value): void {
    this.finished = true;
    if (this.widths.length === 0) return;
    const g = this.outer;
    // H(0 … rows·W − 1)
    const count = g.emit1('Mul', [rows, g.constant('int64', [], [Math.max(...this.widths)])], {}, 'int64', [], 'noise_count');
    const count32 = g.emit1('Cast', [count], { to: ONNX_TYPE.int32 }, 'int32', [], 'noise_count');
    const index = g.emit1('Range', [g.constant('int32', [], [0]), count32, g.constant('int32', [], [1])], {}, 'int32', ['noise_count'], 'noise_index');
    bind(g, emitMix(g, g.emit1('Cast', [index], { to: ONNX_TYPE.uint32 }, 'uint32', ['noise_count'], 'noise_index')), this.counterName);

    // coefficients [K, 4·layers]: mix(key + cₗⱼ) · scaleⱼ + shiftⱼ
    const width = COEFFICIENTS * this.widths.length;
    const offsets: number[] = [];
    for (let layer = 0; layer < this.widths.length; layer++) for (let j = 0; j < COEFFICIENTS; j++) offsets.push(keyOffset(layer, j));
    const repeat = (v: readonly number[]) => this.widths.flatMap(() => v);
    const steps: Dim = this.keys.shape![0]!;
    const column = g.emit1('Reshape', [this.keys, g.ints([-1, 1])], {}, 'uint32', [steps, 1], 'noise_keys');
    const keyed = g.emit1('Add', [column, g.constant('uint32', [1, width], offsets, 'noise_offsets')], {}, 'uint32', [steps, width], 'noise_keyed');
    const scaled = g.emit1('Mul', [emitMix(g, keyed), g.constant('uint32', [1, width], repeat(COEFFICIENT_SCALE), 'noise_scale')], {}, 'uint32', [steps, width], 'noise_scaled');
    bind(g, g.emit1('Add', [scaled, g.constant('uint32', [1, width], repeat(COEFFICIENT_SHIFT), 'noise_shift')], {}, 'uint32', [steps, width], 'noise_table'), this.tableName);
  }

  private counter(): Value {
    return { name: this.counterName, dtype: 'uint32', shape: ['noise_count'] };
  }

  private table(): Value {
    return { name: this.tableName, dtype: 'uint32', shape: [this.keys.shape![0]!, 'noise_coefficients'] };
  }
}
