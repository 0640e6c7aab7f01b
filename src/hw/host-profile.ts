/**
 * A hardware profile of this machine from measurements: the fit of measured GEMM times and the
 * profile JSON, in the ordinary format. Pure; src/hw/calibrate.ts measures (onnxruntime, sysfs)
 * and `bitcycle profile calibrate` writes the result. See docs/hardware-model.md, "Calibrating a
 * profile to this machine".
 *
 * The host runs a quantized GEMM on one of two paths: every operand of at most 8 bits as
 * uint8 × int8 (`MatMulInteger`), anything wider as fp32 (`MatMul`). So the profile has the formats
 * int8 and fp32, shared by both operands, and refuses wider operands (nothing here runs them).
 *
 * Latency is measured; energy is not (nothing here reads power counters): the MAC and memory
 * energies are Horowitz's 45 nm figures, and the profile's sources and notes say so.
 */
import type { ProfileJson } from './profile.js';

/** The two GEMM paths: fp32 `MatMul`, and uint8 × int8 `MatMulInteger` (every operand of ≤ 8 bits). */
export type GemmKind = 'fp32' | 'int8';
export const GEMM_KINDS: readonly GemmKind[] = ['fp32', 'int8'];
export const GEMM_OPS: Record<GemmKind, string> = { fp32: 'fp32 MatMul', int8: 'uint8×int8 MatMulInteger' };

/** Widest operand the int8 path runs. */
export const INT_PATH_MAX_BITS = 8;

/** One measured GEMM: `timeS` is the GEMM alone (a run's time less an empty run with the same inputs). */
export interface GemmTiming {
  kind: GemmKind;
  m: number;
  k: number;
  n: number;
  timeS: number;
}

export interface GemmFit {
  /** Fixed time of every GEMM, shared by both paths. */
  perGemmS: number;
  macsPerS: Record<GemmKind, number>;
  /** How the numbers were obtained ("weighted least squares", or the fallback taken). */
  method: string;
}

export const gemmMacs = (g: { m: number; k: number; n: number }): number => g.m * g.k * g.n;

/** Solve the small dense system `a x = b` (Gaussian elimination with partial pivoting); null if singular. */
function solve(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (!(Math.abs(m[pivot]![col]!) > 0)) return null;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/**
 * Fit `time = perGemm + MACs / rate(kind)` to measured GEMM times: one fixed time shared by both
 * paths and one rate per path, by least squares on relative errors (weights 1/time², so a 20 µs
 * GEMM counts as much as a 2 ms one). A negative intercept (noise) is refitted as 0; a path whose
 * fitted rate is not positive falls back to its fastest measured rate, MACs / time. Throws for
 * fewer than two shapes of a path or non-positive times (a bug in the caller).
 */
export function fitGemmTimes(timings: readonly GemmTiming[]): GemmFit {
  for (const kind of GEMM_KINDS) {
    const sizes = new Set(timings.filter((t) => t.kind === kind).map(gemmMacs));
    if (sizes.size < 2) throw new RangeError(`fitting GEMM times needs at least two GEMM sizes per path, got ${sizes.size} for ${kind}`);
  }
  for (const t of timings) if (!(t.timeS > 0 && Number.isFinite(t.timeS))) throw new RangeError(`GEMM times must be positive, got ${t.timeS} s for ${t.kind} ${t.m}×${t.k}×${t.n}`);
  // unknowns: [c, s_fp32, s_int8] (s = 1 / rate); row of a timing: [1, macs if fp32, macs if int8] / t
  const rows = timings.map((t) => ({ x: [1, t.kind === 'fp32' ? gemmMacs(t) : 0, t.kind === 'int8' ? gemmMacs(t) : 0].map((v) => v / t.timeS), y: 1 }));
  const normal = (cols: number[]) => {
    const a = cols.map((i) => cols.map((j) => rows.reduce((s, r) => s + r.x[i]! * r.x[j]!, 0)));
    const b = cols.map((i) => rows.reduce((s, r) => s + r.x[i]! * r.y, 0));
    return solve(a, b);
  };
  let method = 'weighted least squares (weights 1/time²) of time = perGemm + MACs / rate';
  let x = normal([0, 1, 2]);
  let perGemmS = x?.[0] ?? -1;
  let slopes = x ? [x[1]!, x[2]!] : null;
  if (!(perGemmS >= 0) || slopes === null) {
    x = normal([1, 2]);
    perGemmS = 0;
    slopes = x;
    method += '; the fitted perGemm was negative, refitted with perGemm = 0';
  }
  const macsPerS = {} as Record<GemmKind, number>;
  GEMM_KINDS.forEach((kind, i) => {
    const s = slopes?.[i];
    if (s !== undefined && s > 0 && Number.isFinite(1 / s)) {
      macsPerS[kind] = 1 / s;
    } else {
      macsPerS[kind] = Math.max(...timings.filter((t) => t.kind === kind).map((t) => gemmMacs(t) / t.timeS));
      method += `; the fitted ${kind} rate was not positive, its fastest measured rate is used`;
    }
  });
  return { perGemmS, macsPerS, method };
}

/** What a calibration found out about the machine it ran on. */
export interface HostInfo {
  hostname: string;
  /** From os.cpus() (/proc/cpuinfo on Linux); null when not reported. */
  cpuModel: string | null;
  logicalCpus: number;
  /** Clock the OS reports for the first CPU, MHz; null when not reported. */
  cpuMHz: number | null;
  platform: string;
  arch: string;
  node: string;
  onnxruntime: string;
}

/** Capacity of the cache level and where it comes from. */
export interface CacheCapacity {
  bytes: number;
  /** e.g. "/sys/devices/system/cpu/cpu0/cache (L3 Unified, the largest data cache)" or "measured: …". */
  source: string;
}

/** The bandwidth one memory level delivered to an elementwise Add. */
export interface BandwidthMeasurement {
  level: 'cache' | 'dram';
  /** Size of each of the Add's three arrays (two read, one written). */
  arrayBytes: number;
  /** (bytes read + bytes written) / time. */
  bytesPerS: number;
}

export interface HostMeasurements {
  /** ISO 8601 date-time the calibration started. */
  measuredAt: string;
  host: HostInfo;
  /** onnxruntime intra-op threads. */
  threads: number;
  /** Tiny shapes and few repeats: a check that calibration works, not a description of the machine. */
  quick: boolean;
  /** How each time was taken from its repeats, e.g. "minimum of 5 to 200 runs after 2 warm-up runs". */
  statistic: string;
  /** `session.run()` of a graph with a GEMM's inputs and no work, per path. */
  emptyRunS: Record<GemmKind, number>;
  /** Raw run times of each GEMM graph (a GEMM and a one-element Slice of its result). */
  gemmRuns: GemmTiming[];
  /** Time of one iteration of an onnxruntime Loop with an empty body (the training step's frame). */
  loopIterationS: number;
  /** Tensors the measured Loop carried. */
  loopCarried: number;
  /** Training steps per session.run() the engine uses by default (the run's fixed cost is shared by them). */
  chunkSteps: number;
  /** Capacity of the cache level, or null (then the profile has only the dram level). */
  cache: CacheCapacity | null;
  bandwidth: BandwidthMeasurement[];
}

/** The GEMM times less the empty run of each path (at least 1 ns): what the fit sees. */
export function gemmTimes(m: HostMeasurements): GemmTiming[] {
  return m.gemmRuns.map((r) => ({ ...r, timeS: Math.max(1e-9, r.timeS - m.emptyRunS[r.kind]) }));
}

/** The profile's per-step overhead: one Loop iteration plus the run's fixed cost shared by a chunk of steps. */
export function perStepOverheadS(m: HostMeasurements): number {
  return m.loopIterationS + m.emptyRunS.fp32 / m.chunkSteps;
}

// Energy is not measured: Horowitz's 45 nm table (ISSCC 2014), as hw-profiles/horowitz-45nm.json.
const HOROWITZ = {
  title: 'M. Horowitz, "Computing\'s energy problem (and what we can do about it)", ISSCC 2014, energy table for 45 nm',
  url: 'https://doi.org/10.1109/ISSCC.2014.6757323',
  macEnergy: 'ba <= 8 ? 0.2 pJ + 0.1 pJ : 3.7 pJ + 0.9 pJ',
  cacheAccess: '100 pJ / 64 bit',
  dramAccess: '1.95 nJ / 64 bit',
  uses:
    'NOT MEASURED, ASSUMED: every energy of this profile. MAC: int8 path 0.2 pJ (8-bit multiply) + 0.1 pJ (32-bit add: the accumulator is int32), ' +
    'fp32 path 3.7 pJ (fp32 multiply) + 0.9 pJ (fp32 add); cache 100 pJ per 64-bit access (1 MB SRAM, the largest in the table); ' +
    'DRAM 1.95 nJ per 64-bit access (midpoint of 1.3-2.6 nJ). No static power.',
} as const;

/** `x` with `digits` significant digits, as a plain decimal string ("208.6", "0.0123"). */
function sig(x: number, digits = 4): string {
  return String(Number(x.toPrecision(digits)));
}

/** A byte count as a profile quantity: "32 MiB", "1 GiB", "48 KiB" or "1234 B". */
function bytesQuantity(bytes: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}

/** A profile name from a file name: its base name without `.json`, made of letters, digits, `.`, `_`, `-`. */
export function profileNameFor(file: string): string {
  const base = (file.split(/[\\/]/).pop() ?? '').replace(/\.json$/i, '');
  const name = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return name === '' ? 'host' : name;
}

const plainText = (text: string, max: number): string => {
  // eslint-disable-next-line no-control-regex
  const one = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** "AMD EPYC, 2 logical CPUs at 2596 MHz, linux-x64, Node v20.20.2, onnxruntime-node 1.30.0, 1 intra-op thread". */
export function hostDescription(m: HostMeasurements): string {
  const h = m.host;
  const cpu = `${plainText(h.cpuModel ?? 'CPU model not reported', 80)}, ${h.logicalCpus} logical CPU${h.logicalCpus === 1 ? '' : 's'}${h.cpuMHz ? ` at ${Math.round(h.cpuMHz)} MHz` : ''}`;
  return `${cpu}, ${h.platform}-${h.arch}, Node ${h.node}, onnxruntime-node ${h.onnxruntime}, ${m.threads} intra-op thread${m.threads === 1 ? '' : 's'}`;
}

/**
 * The profile of the measured machine, in the ordinary format: formats int8 and fp32 (shared,
 * wider operands refused), the fitted rates, a cache level (when its capacity is known) and dram
 * with the measured bandwidths, the fitted per-GEMM overhead and the per-step overhead. Energies
 * are Horowitz's (assumed, and said so). `name` must be a valid profile name (`profileNameFor`).
 */
export function hostProfileJson(m: HostMeasurements, name: string): ProfileJson {
  const fit = fitGemmTimes(gemmTimes(m));
  const host = plainText(m.host.hostname, 64) || 'unnamed host';
  const where = hostDescription(m);
  const bandwidth = (level: 'cache' | 'dram') => m.bandwidth.find((b) => b.level === level);
  const dram = bandwidth('dram');
  if (!dram) throw new RangeError('host measurements need the dram bandwidth');
  const cache = bandwidth('cache');
  const memory: ProfileJson['memory'] = [];
  if (m.cache && cache) {
    memory.push({ name: 'cache', capacity: bytesQuantity(m.cache.bytes), readEnergy: HOROWITZ.cacheAccess, writeEnergy: HOROWITZ.cacheAccess, bandwidth: `${sig(cache.bytesPerS / 1e9)} GB/s` });
  }
  memory.push({ name: 'dram', readEnergy: HOROWITZ.dramAccess, writeEnergy: HOROWITZ.dramAccess, bandwidth: `${sig(dram.bytesPerS / 1e9)} GB/s` });
  const perStepS = perStepOverheadS(m);
  const us = (s: number) => `${sig(s * 1e6)} us`;
  const shapes = (kind: GemmKind) => m.gemmRuns.filter((r) => r.kind === kind);
  const bandwidthText = m.bandwidth.map((b) => `${b.level} ${sig(b.bytesPerS / 1e9)} GB/s with arrays of ${bytesQuantity(b.arrayBytes)}`).join(', ');
  const sources: ProfileJson['sources'] = [
    {
      title: `measured by bitcycle profile calibrate${m.quick ? ' --quick' : ''} at ${m.measuredAt} on host ${JSON.stringify(host)}: ${where}`,
      uses:
        `macThroughput: ${GEMM_OPS.fp32} (operands wider than ${INT_PATH_MAX_BITS} bits) at ${sig(fit.macsPerS.fp32 / 1e9)} G MAC/s and ` +
        `${GEMM_OPS.int8} (operands of at most ${INT_PATH_MAX_BITS} bits) at ${sig(fit.macsPerS.int8 / 1e9)} G MAC/s, and overhead.perGemm ${us(fit.perGemmS)}: ` +
        `${fit.method}, over ${shapes('fp32').length} and ${shapes('int8').length} shapes (each run's time less an empty run with the same inputs; times: ${m.statistic}). ` +
        `overhead.perStep ${us(perStepS)}: one iteration of an onnxruntime Loop with an empty body carrying ${m.loopCarried} tensors (${us(m.loopIterationS)}) ` +
        `+ the empty run (${us(m.emptyRunS.fp32)}) / ${m.chunkSteps} steps per run. ` +
        `memory bandwidth = (bytes read + bytes written) / time of one elementwise fp32 Add, from the difference of two chains of Adds: ${bandwidthText}.`,
    },
  ];
  if (m.cache) sources.push({ title: m.cache.source, uses: `capacity of the cache level: ${bytesQuantity(m.cache.bytes)}` });
  sources.push({ title: HOROWITZ.title, url: HOROWITZ.url, uses: HOROWITZ.uses });
  const runs = (kind: GemmKind) => shapes(kind).map((r) => `${r.m}×${r.k}×${r.n} ${sig(r.timeS * 1e6, 3)}`).join(', ');
  const notes = [
    'Energy is NOT measured: calibration reads no power counters. Every energy here is from Horowitz\'s 45 nm table (see sources), not of this CPU: use this profile for latency, and its energy only as an order of magnitude.',
    `Run times in µs (m×k×n, ${m.statistic}; empty run ${sig(m.emptyRunS.fp32 * 1e6, 3)} µs fp32, ${sig(m.emptyRunS.int8 * 1e6, 3)} µs int8): ${GEMM_OPS.fp32} ${runs('fp32')}; ${GEMM_OPS.int8} ${runs('int8')}.`,
    'Not modelled, so a measured training step takes longer than this profile predicts: element-wise work (quantizers, ReLU, pooling, batch norm, the optimizer update), data-layout transforms of convolutions, and each kernel\'s dispatch beyond the GEMMs (docs/hardware-model.md).',
  ];
  if (m.quick) notes.unshift('--quick: tiny shapes and arrays, few repeats; a check that calibration works, the numbers do not describe this machine.');
  return {
    name,
    description: plainText(`This machine (${host}) as onnxruntime runs training steps on it: ${where}. Latency measured; energy assumed (Horowitz 45 nm).`, 500),
    sources,
    clock: m.host.cpuMHz ? `${Math.round(m.host.cpuMHz)} MHz` : '1 GHz',
    compute: {
      formats: [{ name: 'int8', bits: INT_PATH_MAX_BITS }, { name: 'fp32', bits: 32, float: true }],
      operands: 'shared',
      aboveMax: 'reject',
      macEnergy: HOROWITZ.macEnergy,
      macThroughput: `(ba <= ${INT_PATH_MAX_BITS} ? ${sig(fit.macsPerS.int8 / 1e9)} : ${sig(fit.macsPerS.fp32 / 1e9)}) GHz`,
    },
    memory,
    overhead: { perGemm: us(fit.perGemmS), perStep: us(perStepS) },
    notes: m.host.cpuMHz ? notes : [...notes, 'The clock is not reported by this system; "1 GHz" stands in for it, and no expression of this profile uses it.'],
  };
}
