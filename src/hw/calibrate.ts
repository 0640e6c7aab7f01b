/**
 * Measuring this machine for `bitcycle profile calibrate`: tiny ONNX models, built with our graph
 * builder and run by onnxruntime with the session options the engine uses, time
 *   - GEMMs of several shapes on both paths the host has: fp32 `MatMul` and uint8 × int8
 *     `MatMulInteger` (each model is the GEMM and a one-element Slice of its result, so no large
 *     output is copied out; an empty model with the same inputs gives the run's fixed cost);
 *   - one iteration of an onnxruntime Loop with an empty body (a training step's frame);
 *   - memory bandwidth: an elementwise Add on arrays that fit the largest cache and on arrays far
 *     beyond it, as the difference of two chains of Adds (so the run's fixed cost cancels).
 * The cache capacity comes from /sys/devices/system/cpu/cpu0/cache when readable, else from the
 * bandwidth measured over a ladder of array sizes. Each time is the minimum over repeats (the run
 * least disturbed by the rest of the machine). The profile itself is built by ./host-profile.ts.
 *
 * I/O (onnxruntime, os, sysfs): like ./load.ts an edge of src/hw, and not exported by ./index.ts
 * (loading onnxruntime is for the commands that measure).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { arch, cpus, hostname, platform } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { IR_VERSION, OPSET, PRODUCER } from '../artifacts/build.js';
import { DEFAULT_CHUNK_STEPS } from '../engine/trainer.js';
import { Graph, type Value } from '../graph/builder.js';
import { encodeModel } from '../graph/proto.js';
import { VERSION } from '../version.js';
import { type BandwidthMeasurement, type CacheCapacity, type GemmKind, type GemmTiming, GEMM_KINDS, type HostInfo, type HostMeasurements } from './host-profile.js';

export interface CalibrateOptions {
  /** onnxruntime intra-op threads (default 1, as training). */
  threads?: number;
  /** Tiny shapes and arrays, few repeats (well under a second of measuring): checks that calibration works. */
  quick?: boolean;
  /** Where cache sizes are read (default /sys/devices/system/cpu/cpu0/cache; tests point it elsewhere). */
  cacheDir?: string;
  /** Called with a short line before each part is measured. */
  progress?: (line: string) => void;
}

export const SYSFS_CACHE_DIR = '/sys/devices/system/cpu/cpu0/cache';

/** GEMM shapes (m × k × n) measured on both paths: small ones pin down the fixed time, large ones the rate. */
export const GEMM_SHAPES: readonly (readonly [number, number, number])[] = [
  [16, 16, 16],
  [64, 128, 10],
  [64, 64, 128],
  [128, 256, 10],
  [256, 256, 256],
  [128, 784, 256],
  [3136, 128, 128],
  [512, 512, 512],
];
const QUICK_GEMM_SHAPES: readonly (readonly [number, number, number])[] = [
  [16, 16, 16],
  [64, 64, 64],
  [128, 128, 128],
];

interface Repeats {
  /** Seconds of untimed GEMMs before the first measurement. */
  processWarmupS: number;
  /** Passes through the GEMM shapes (each shape's time: the minimum over all its runs). */
  passes: number;
  warmup: number;
  min: number;
  max: number;
  /** Seconds of timed runs per measurement (repeats = budget / first time, within min..max). */
  budgetS: number;
}
const REPEATS: Repeats = { processWarmupS: 0.3, passes: 2, warmup: 2, min: 5, max: 200, budgetS: 0.1 };
const QUICK_REPEATS: Repeats = { processWarmupS: 0.02, passes: 1, warmup: 2, min: 5, max: 50, budgetS: 0.02 };

const LOOP_CARRIED = 8;

/** A cache of cpu0 as sysfs lists it. */
export interface CacheInfo {
  level: number;
  type: string;
  bytes: number;
}

function parseCacheSize(text: string): number | null {
  const m = /^(\d+)\s*([KMG]?)B?$/i.exec(text.trim());
  if (!m) return null;
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * scale;
}

/** Data and unified caches of cpu0 from sysfs, smallest first; null when the directory cannot be read. */
export function readCaches(dir = SYSFS_CACHE_DIR): CacheInfo[] | null {
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((e) => /^index\d+$/.test(e));
  } catch {
    return null;
  }
  const caches: CacheInfo[] = [];
  for (const entry of entries) {
    try {
      const read = (f: string) => readFileSync(join(dir, entry, f), 'utf8').trim();
      const type = read('type');
      const bytes = parseCacheSize(read('size'));
      const level = Number(read('level'));
      if (type !== 'Instruction' && bytes !== null && bytes > 0 && Number.isInteger(level)) caches.push({ level, type, bytes });
    } catch {
      // an unreadable entry is skipped
    }
  }
  return caches.length > 0 ? caches.sort((a, b) => a.bytes - b.bytes) : null;
}

/** The first `name : value` line of /proc/cpuinfo with this name, or null (not Linux, not readable). */
function cpuinfoField(name: string): string | null {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[0]!.trim() === name);
    const value = line?.slice(line.indexOf(':') + 1).trim();
    return value ? value : null;
  } catch {
    return null;
  }
}

/** This machine: host name, CPU model and clock (os.cpus(), else /proc/cpuinfo), Node and onnxruntime versions. */
export function hostInfo(): HostInfo {
  const list = cpus();
  const model = list[0]?.model.trim() || cpuinfoField('model name');
  let speed = list[0]?.speed ?? 0;
  if (!(speed > 0)) speed = Number(cpuinfoField('cpu MHz') ?? 0);
  return {
    hostname: hostname(),
    cpuModel: model ? model : null,
    logicalCpus: list.length,
    cpuMHz: Number.isFinite(speed) && speed > 0 ? speed : null,
    platform: platform(),
    arch: arch(),
    node: process.version,
    onnxruntime: ort.env.versions?.common ?? 'unknown',
  };
}

function modelBytes(g: Graph): Uint8Array {
  return encodeModel({ irVersion: IR_VERSION, opsetVersion: OPSET, producerName: PRODUCER, producerVersion: VERSION, graph: g.toGraphData() });
}

/** The first element of a 1-D or 2-D value, as the model's only output (so no large output is copied out). */
function firstElement(g: Graph, v: Value): Value {
  const rank = v.shape!.length;
  const zeros = Array<number>(rank).fill(0);
  const ones = Array<number>(rank).fill(1);
  const axes = Array.from({ length: rank }, (_, i) => i);
  return g.output(g.emit1('Slice', [v, g.ints(zeros), g.ints(ones), g.ints(axes)], {}, v.dtype, ones), 'first');
}

class Timer {
  private readonly runs: number[] = [];
  constructor(
    private readonly threads: number,
    readonly repeats: Repeats,
  ) {}

  /**
   * Run GEMMs of both paths for about `seconds`, untimed: a process's first onnxruntime runs are
   * slower by up to 2× (first sessions, CPU clocks), and they must not make the first shapes look slow.
   */
  async warmUp(seconds: number): Promise<void> {
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      for (const kind of GEMM_KINDS) {
        const model = gemmModel(kind, 128, 128, 128, true);
        const session = await ort.InferenceSession.create(model.bytes, this.sessionOptions());
        try {
          for (let i = 0; i < 20; i++) await session.run(model.feeds);
        } finally {
          await session.release();
        }
      }
    }
  }

  private sessionOptions(): ort.InferenceSession.SessionOptions {
    return { intraOpNumThreads: this.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  }

  /** Minimum wall time (s) of `session.run(feeds)` over the repeats, after warm-up runs. */
  async time(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<number> {
    const session = await ort.InferenceSession.create(bytes, this.sessionOptions());
    try {
      const r = this.repeats;
      for (let i = 0; i < r.warmup; i++) await session.run(feeds);
      let t0 = performance.now();
      await session.run(feeds);
      let best = (performance.now() - t0) / 1000;
      const count = Math.min(r.max, Math.max(r.min, Math.ceil(r.budgetS / Math.max(best, 1e-6))));
      for (let i = 1; i < count; i++) {
        t0 = performance.now();
        await session.run(feeds);
        best = Math.min(best, (performance.now() - t0) / 1000);
      }
      this.runs.push(count);
      return best;
    } finally {
      await session.release();
    }
  }

  statistic(): string {
    const lo = Math.min(...this.runs);
    const hi = Math.max(...this.runs);
    const r = this.repeats;
    const passes = r.passes > 1 ? `, GEMMs over ${r.passes} passes through the shapes` : '';
    return `minimum of ${lo === hi ? lo : `${lo} to ${hi}`} timed runs after ${r.warmup} warm-up run${r.warmup === 1 ? '' : 's'}${passes}, after ${r.processWarmupS} s of untimed GEMMs`;
  }
}

/** Deterministic filler (no Math.random: the same calibration feeds the same numbers). */
function filled<T extends Float32Array | Uint8Array | Int8Array>(array: T, values: (i: number) => number): T {
  for (let i = 0; i < array.length; i++) array[i] = values(i);
  return array;
}
const wave = (i: number) => ((i * 2654435761) >>> 0) / 2 ** 32;

/** A GEMM model (`work`) or the empty model with the same inputs, and its feeds. */
function gemmModel(kind: GemmKind, m: number, k: number, n: number, work: boolean): { bytes: Uint8Array; feeds: Record<string, ort.Tensor> } {
  const g = new Graph(`calibrate_${kind}`);
  if (kind === 'fp32') {
    const a = g.input('a', 'float32', [m, k]);
    const b = g.input('b', 'float32', [k, n]);
    firstElement(g, work ? g.emit1('MatMul', [a, b], {}, 'float32', [m, n]) : a);
    return {
      bytes: modelBytes(g),
      feeds: {
        a: new ort.Tensor('float32', filled(new Float32Array(m * k), (i) => wave(i) - 0.5), [m, k]),
        b: new ort.Tensor('float32', filled(new Float32Array(k * n), (i) => wave(i + 7) - 0.5), [k, n]),
      },
    };
  }
  // as the integer kernels run it (src/quant/integer.ts): uint8 codes on the left, int8 `code − 128` with the zero point −128 on the right
  const a = g.input('a', 'uint8', [m, k]);
  const b = g.input('b', 'int8', [k, n]);
  const bZero = g.input('b_zero_point', 'int8', []);
  firstElement(g, work ? g.emit1('MatMulInteger', [a, b, null, bZero], {}, 'int32', [m, n]) : a);
  return {
    bytes: modelBytes(g),
    feeds: {
      a: new ort.Tensor('uint8', filled(new Uint8Array(m * k), (i) => Math.floor(wave(i) * 256)), [m, k]),
      b: new ort.Tensor('int8', filled(new Int8Array(k * n), (i) => Math.floor(wave(i + 7) * 256) - 128), [k, n]),
      b_zero_point: new ort.Tensor('int8', Int8Array.of(-128), []),
    },
  };
}

/** A Loop whose body only passes on its carried values, run `trips` times. */
function loopModel(trips: number): { bytes: Uint8Array; feeds: Record<string, ort.Tensor> } {
  const outer = new Graph('calibrate_loop');
  const trip = outer.input('trip_count', 'int64', []);
  const carried = Array.from({ length: LOOP_CARRIED }, (_, i) => outer.input(`state${i}`, 'float32', [4]));
  const body = new Graph('calibrate_loop_body', 'float32', 'body/');
  body.input('body/iter', 'int64', []);
  const cond = body.input('body/cond', 'bool', []);
  const bodyState = carried.map((_, i) => body.input(`body/state${i}`, 'float32', [4]));
  body.output(body.emit1('Identity', [cond], {}, 'bool', []));
  for (const v of bodyState) body.output(body.emit1('Identity', [v], {}, 'float32', [4]));
  const outs = outer.emit('Loop', [trip, outer.constant('bool', [], [1], 'cond'), ...carried], { body: { kind: 'graph', value: body.toGraphData() } }, carried.map(() => ({ dtype: 'float32' as const, shape: [4] })));
  outs.forEach((v, i) => outer.output(v, `state${i}_out`));
  const feeds: Record<string, ort.Tensor> = { trip_count: new ort.Tensor('int64', BigInt64Array.of(BigInt(trips)), []) };
  carried.forEach((_, i) => (feeds[`state${i}`] = new ort.Tensor('float32', new Float32Array(4), [4])));
  return { bytes: modelBytes(outer), feeds };
}

/** `adds` chained elementwise Adds `v ← v + y` over arrays of `elements` floats. */
function addChainModel(elements: number, adds: number, x: Float32Array, y: Float32Array): { bytes: Uint8Array; feeds: Record<string, ort.Tensor> } {
  const g = new Graph('calibrate_bandwidth');
  const xv = g.input('x', 'float32', [elements]);
  const yv = g.input('y', 'float32', [elements]);
  let v = xv;
  for (let i = 0; i < adds; i++) v = g.emit1('Add', [v, yv], {}, 'float32', [elements]);
  firstElement(g, v);
  return { bytes: modelBytes(g), feeds: { x: new ort.Tensor('float32', x, [elements]), y: new ort.Tensor('float32', y, [elements]) } };
}

/** Bandwidth of an elementwise Add on arrays of `arrayBytes`: (2 reads + 1 write) / time per Add. */
async function measureBandwidth(timer: Timer, arrayBytes: number, chains: readonly [number, number]): Promise<number> {
  const elements = arrayBytes / 4;
  const x = new Float32Array(elements).fill(1);
  const y = new Float32Array(elements).fill(0.5);
  const [short, long] = chains;
  const shortChain = addChainModel(elements, short, x, y);
  const tShort = await timer.time(shortChain.bytes, shortChain.feeds);
  const longChain = addChainModel(elements, long, x, y);
  const tLong = await timer.time(longChain.bytes, longChain.feeds);
  const perAddS = Math.max(1e-9, (tLong - tShort) / (long - short));
  return (3 * arrayBytes) / perAddS;
}

const MiB = 1024 ** 2;
const floorPow2 = (x: number) => 2 ** Math.floor(Math.log2(x));
const ceilPow2 = (x: number) => 2 ** Math.ceil(Math.log2(x));

/**
 * The memory levels: with a known cache capacity C, the Add's arrays are C/8 (at most 4 MiB, at
 * least 64 KiB: three arrays well inside the cache) for the cache level and max(16 MiB, C) (at most
 * 128 MiB: three arrays at least three times the cache) for dram. Without it, a ladder of array
 * sizes: dram is the largest, and the cache level (capacity: the working set of three arrays) the
 * largest size still ≥ 1.5 × dram's bandwidth, if any.
 */
async function measureMemory(timer: Timer, quick: boolean, cacheDir: string): Promise<{ cache: CacheCapacity | null; bandwidth: BandwidthMeasurement[] }> {
  const caches = readCaches(cacheDir);
  const largest = caches?.[caches.length - 1];
  const chains = (bytes: number): [number, number] => (bytes >= 8 * MiB ? [1, 3] : [1, 9]);
  if (quick) {
    const cacheBytes = 64 * 1024;
    const dramBytes = MiB;
    const bandwidth: BandwidthMeasurement[] = [{ level: 'dram', arrayBytes: dramBytes, bytesPerS: await measureBandwidth(timer, dramBytes, chains(dramBytes)) }];
    if (!largest) return { cache: null, bandwidth };
    bandwidth.unshift({ level: 'cache', arrayBytes: cacheBytes, bytesPerS: await measureBandwidth(timer, cacheBytes, chains(cacheBytes)) });
    return { cache: { bytes: largest.bytes, source: sysfsSource(cacheDir, largest) }, bandwidth };
  }
  if (largest) {
    const cacheBytes = Math.min(4 * MiB, Math.max(64 * 1024, floorPow2(largest.bytes / 8)));
    const dramBytes = Math.min(128 * MiB, Math.max(16 * MiB, ceilPow2(largest.bytes)));
    return {
      cache: { bytes: largest.bytes, source: sysfsSource(cacheDir, largest) },
      bandwidth: [
        { level: 'cache', arrayBytes: cacheBytes, bytesPerS: await measureBandwidth(timer, cacheBytes, chains(cacheBytes)) },
        { level: 'dram', arrayBytes: dramBytes, bytesPerS: await measureBandwidth(timer, dramBytes, chains(dramBytes)) },
      ],
    };
  }
  const ladder = [256 * 1024, MiB, 4 * MiB, 16 * MiB, 64 * MiB];
  const rates: number[] = [];
  for (const bytes of ladder) rates.push(await measureBandwidth(timer, bytes, chains(bytes)));
  const dram: BandwidthMeasurement = { level: 'dram', arrayBytes: ladder[ladder.length - 1]!, bytesPerS: rates[rates.length - 1]! };
  let best = -1;
  for (let i = 0; i < ladder.length - 1; i++) if (rates[i]! >= 1.5 * dram.bytesPerS) best = i;
  if (best < 0) return { cache: null, bandwidth: [dram] };
  const cacheBytes = 3 * ladder[best]!;
  return {
    cache: {
      bytes: cacheBytes,
      source: `measured: ${cacheDir} not readable; bandwidth of an Add over arrays of ${ladder.map((b) => `${b / 1024} KiB`).join(', ')}: the largest working set (3 arrays) still at ≥ 1.5 × the bandwidth of the largest`,
    },
    bandwidth: [{ level: 'cache', arrayBytes: ladder[best]!, bytesPerS: rates[best]! }, dram],
  };
}

function sysfsSource(dir: string, cache: CacheInfo): string {
  return `${dir} (L${cache.level} ${cache.type}, the largest data cache of cpu0)`;
}

type GemmShape = { kind: GemmKind; m: number; k: number; n: number };

/**
 * Raw run times of GEMM models and of the empty model of each path, each the minimum over
 * `passes` passes through the whole list (so a moment of disturbance touches one pass only).
 */
async function timeGemmModels(timer: Timer, gemms: readonly GemmShape[], passes: number): Promise<{ emptyRunS: Record<GemmKind, number>; runS: number[] }> {
  const emptyModels = GEMM_KINDS.map((kind) => ({ kind, ...gemmModel(kind, 16, 16, 16, false) }));
  const emptyRunS = { fp32: Infinity, int8: Infinity } as Record<GemmKind, number>;
  const runS = gemms.map(() => Infinity);
  for (let pass = 0; pass < passes; pass++) {
    for (const e of emptyModels) emptyRunS[e.kind] = Math.min(emptyRunS[e.kind], await timer.time(e.bytes, e.feeds));
    for (const [i, g] of gemms.entries()) {
      const model = gemmModel(g.kind, g.m, g.k, g.n, true);
      runS[i] = Math.min(runS[i]!, await timer.time(model.bytes, model.feeds));
    }
  }
  for (const e of emptyModels) emptyRunS[e.kind] = Math.min(emptyRunS[e.kind], await timer.time(e.bytes, e.feeds));
  return { emptyRunS, runS };
}

/**
 * Each GEMM timed alone, as calibration times its shapes: the run's time less an empty run with
 * the same inputs (at least 1 ns). For comparing a training step with the GEMMs it contains
 * (bench/predict.ts).
 */
export async function timeGemms(gemms: readonly GemmShape[], threads = 1): Promise<GemmTiming[]> {
  const timer = new Timer(threads, REPEATS);
  await timer.warmUp(REPEATS.processWarmupS);
  const { emptyRunS, runS } = await timeGemmModels(timer, gemms, REPEATS.passes);
  return gemms.map((g, i) => ({ ...g, timeS: Math.max(1e-9, runS[i]! - emptyRunS[g.kind]) }));
}

/** Measure this machine; ./host-profile.ts turns the result into a profile. */
export async function measureHost(options: CalibrateOptions = {}): Promise<HostMeasurements> {
  const threads = options.threads ?? 1;
  const quick = options.quick ?? false;
  const progress = options.progress ?? (() => {});
  const measuredAt = new Date().toISOString();
  const timer = new Timer(threads, quick ? QUICK_REPEATS : REPEATS);
  await timer.warmUp(timer.repeats.processWarmupS);

  progress('GEMMs: fp32 MatMul and uint8×int8 MatMulInteger');
  const shapes = GEMM_KINDS.flatMap((kind) => (quick ? QUICK_GEMM_SHAPES : GEMM_SHAPES).map(([m, k, n]) => ({ kind, m, k, n })));
  const { emptyRunS, runS } = await timeGemmModels(timer, shapes, timer.repeats.passes);
  const gemmRuns: GemmTiming[] = shapes.map((g, i) => ({ ...g, timeS: runS[i]! }));

  progress('Loop iteration');
  const trips = quick ? 101 : 1001;
  const one = loopModel(1);
  const many = loopModel(trips);
  const loopIterationS = Math.max(0, ((await timer.time(many.bytes, many.feeds)) - (await timer.time(one.bytes, one.feeds))) / (trips - 1));

  progress('memory bandwidth');
  const memory = await measureMemory(timer, quick, options.cacheDir ?? SYSFS_CACHE_DIR);

  return {
    measuredAt,
    host: hostInfo(),
    threads,
    quick,
    statistic: timer.statistic(),
    emptyRunS,
    gemmRuns,
    loopIterationS,
    loopCarried: LOOP_CARRIED,
    chunkSteps: DEFAULT_CHUNK_STEPS,
    cache: memory.cache,
    bandwidth: memory.bandwidth,
  };
}
