/**
 * `npm run bench -- predict`: the analytic cost model against reality. Calibrates this machine
 * (`bitcycle profile calibrate`'s measurement, src/hw/calibrate.ts; or reads the profile at
 * BENCH_PROFILE=path), then trains each case with the whole engine (session, events, cost tally,
 * run store; 1 onnxruntime thread, cpt:3-8, 8-bit errors) once per kernel path and per round
 * (BENCH_REPEATS rounds, default 5, cases interleaved), and prints one JSON line per case and
 * kernel path: the per-step time the cost model predicts with that profile (the cost functions
 * `estimate` uses, on the same layer shapes) beside the measured one, and their ratio.
 *
 * Beside them, `gemmsAloneMs`: the step's GEMMs (layers × forward, input-gradient, weight-gradient,
 * on the kernel the path uses) each timed alone as calibration times its shapes, summed; and
 * `gemmShare` = that / measured: how much of the step the model's subject, the GEMMs, is.
 *
 * Measured per-step time: each `steps` event of the engine is one onnxruntime run of K steps
 * whose wall time the step records carry (`wallMs`); a run's figure is the median over its runs
 * of K steps of (run time / K), the first run (warm-up) left out; the line gives the median and
 * the range over the rounds. `engineMs` is the session's own 1 / steps-per-second (bookkeeping
 * between runs, the first run and one evaluation of the test subset included).
 *
 * Prediction per kernel path (RunConfig.kernels), the GEMMs as the engine runs them:
 * - `int`: quantized linear layers run their forward and weight-gradient GEMMs on the int8 path
 *   (every operand ≤ 8 bits under cpt:3-8 with 8-bit errors) and their input-gradient GEMM in fp32
 *   (src/quant/integer.ts: it has no exact integer form); dense convolutions with ≥ 4 input
 *   channels run their weight gradient on the int8 path, their forward and input gradient in fp32;
 *   other convolutions and the full-precision classifier run every GEMM in fp32;
 * - `fake`: every GEMM in fp32 on fake-quantized values: the profile at 32/32/32 bits.
 * Standalone: `npx tsx bench/predict.ts`. Without Fashion-MNIST (/usr/share/datasets/fashion-mnist)
 * its cases print one line saying they were skipped and why.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Dataset, loadDataset } from '../src/data/index.js';
import type { StepRecord } from '../src/engine/events.js';
import { DEFAULT_KERNELS, KERNELS, type Kernels } from '../src/engine/kernels.js';
import { DataError } from '../src/errors.js';
import { measureHost, timeGemms } from '../src/hw/calibrate.js';
import { type HardwareProfile, PHASES, type Phase, addParts, compileProfile, createCostModel, estimateSchedule, loadProfile, zeroParts } from '../src/hw/index.js';
import { type GemmKind, hostProfileJson } from '../src/hw/host-profile.js';
import { withFpLayers } from '../src/models/layers.js';
import { integerProducts } from '../src/quant/integer.js';
import { DEFAULT_FP_LAYERS } from '../src/models/model.js';
import { getShapeModel } from '../src/models/paper.js';
import type { LayerShape } from '../src/models/shapes.js';
import { type ModelSpec, formatModelSpec } from '../src/models/spec.js';
import type { RunConfig } from '../src/runs/run-format.js';
import { runSession } from '../src/runs/session.js';
import { benchConfig, firstRows, median } from './common.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const SCHEDULE = 'cpt:3-8';
const GRAD_BITS = 8;
const THREADS = 1;

interface PredictCase {
  label: string;
  model: ModelSpec;
  dataset: string;
  batchSize: number;
  lr: number;
  epochs: number;
  /** First training samples used (default: the whole split). */
  trainSamples?: number;
  testSamples: number;
  /** Steps per onnxruntime run (default: the engine's). */
  chunkSteps?: number;
}

const CASES: readonly PredictCase[] = [
  { label: 'Fashion-MNIST MLP 784-256-10', model: { name: 'mlp', hidden: [256] }, dataset: 'fashion-mnist', batchSize: 128, lr: 0.05, epochs: 1, trainSamples: 128 * 400, testSamples: 500 },
  { label: 'digits MLP 64-128-10', model: { name: 'mlp', hidden: [128] }, dataset: 'digits', batchSize: 64, lr: 0.1, epochs: 10, testSamples: 500 },
  // runs of 10 steps: a CNN step takes ~0.1 s, and the first run is left out as warm-up
  { label: 'Fashion-MNIST CNN', model: { name: 'cnn' }, dataset: 'fashion-mnist', batchSize: 128, lr: 0.05, epochs: 1, trainSamples: 128 * 50, testSamples: 500, chunkSteps: 10 },
];

/**
 * The engine's kernel paths, each measured (extend here when the engine gets another): which
 * layers may use the int8 path and which phases of those run in fp32 all the same.
 */
const KERNEL_PATHS: readonly { kernels: Kernels; intPhase: (l: LayerShape, phase: Phase) => boolean; basis: string }[] = [
  {
    kernels: 'int',
    // the engine's own rule (src/quant/integer.ts): which products of a layer run on integer codes
    intPhase: (l, phase) => (integerProducts(l) as readonly Phase[]).includes(phase),
    basis: `${SCHEDULE} with ${GRAD_BITS}-bit errors: forward and weight-gradient GEMMs of quantized linear layers and weight gradients of convolutions with ≥ 4 input channels on the int8 path; the rest in fp32`,
  },
  { kernels: 'fake', intPhase: () => false, basis: 'every GEMM in fp32 (the profile at 32/32/32 bits)' },
];
if (KERNEL_PATHS.map((k) => k.kernels).join() !== KERNELS.join()) throw new Error(`bench: predict knows the kernel paths ${KERNEL_PATHS.map((k) => k.kernels).join(', ')}, the engine has ${KERNELS.join(', ')}`);

interface Prediction {
  stepMs: number;
  computeMs: number;
  memoryMs: number;
  overheadMs: number;
}

/**
 * Per-step latency the cost model predicts for `iterations` steps of the case on `profile` and a
 * kernel path: each layer's phases at the schedule's bits where the path runs them on the int8
 * path, at 32/32/32 bits where it runs them in fp32, plus the profile's per-step overhead once.
 */
function predict(profile: HardwareProfile, c: PredictCase, path: (typeof KERNEL_PATHS)[number], iterations: number): Prediction {
  const layers = withFpLayers(getShapeModel(formatModelSpec(c.model), '--model', c.dataset).layers(), DEFAULT_FP_LAYERS);
  const total = zeroParts();
  for (const l of layers) {
    const run = estimateSchedule(createCostModel(profile, [l], c.batchSize), { schedule: SCHEDULE, iterations, bitsGrad: GRAD_BITS }).run;
    const fp32 = estimateSchedule(createCostModel(profile, [{ ...l, fullPrecision: true }], c.batchSize), { schedule: 'static:32', iterations, bitsGrad: 32 }).run;
    for (const phase of PHASES) addParts(total, (path.intPhase(l, phase) ? run : fp32).byPhase[phase]);
  }
  total.latencyS += profile.overheadPerStepS * iterations;
  total.overheadLatencyS += profile.overheadPerStepS * iterations;
  const ms = (s: number) => (1000 * s) / iterations;
  return { stepMs: ms(total.latencyS), computeMs: ms(total.computeLatencyS), memoryMs: ms(total.memoryLatencyS), overheadMs: ms(total.overheadLatencyS) };
}

/** The GEMMs of one training step as the engine runs them on a path: m × k × n and the kernel of each (MACs as src/hw/cost.ts counts them). */
function stepGemms(c: PredictCase, path: (typeof KERNEL_PATHS)[number]): { kind: GemmKind; m: number; k: number; n: number }[] {
  const layers = withFpLayers(getShapeModel(formatModelSpec(c.model), '--model', c.dataset).layers(), DEFAULT_FP_LAYERS);
  return layers.flatMap((l) => {
    if ((l.groups ?? 1) !== 1) throw new Error(`bench: layer ${l.name} is grouped; predict times ungrouped GEMMs only`);
    const rows = c.batchSize * l.positions;
    const kind = (phase: Phase): GemmKind => (path.intPhase(l, phase) ? 'int8' : 'fp32');
    return [
      { kind: kind('forward'), m: rows, k: l.inFeatures, n: l.outFeatures },
      { kind: kind('inputGrad'), m: rows, k: l.outFeatures, n: l.inFeatures },
      { kind: kind('weightGrad'), m: l.inFeatures, k: rows, n: l.outFeatures },
    ];
  });
}

/** Per-step time (ms) of one engine run of K ≥ 2 steps, from the wall times its records carry. */
function runStepMs(steps: readonly StepRecord[]): number | null {
  const K = steps.length;
  // wallMs of step k is start + duration · (k + 1) / K
  return K >= 2 ? (steps[K - 1]!.wallMs - steps[0]!.wallMs) / (K - 1) : null;
}

const round3 = (v: number) => Number(v.toPrecision(3));

function runConfig(c: PredictCase, kernels: Kernels): RunConfig {
  return benchConfig({
    model: c.model,
    dataset: c.dataset,
    schedule: SCHEDULE,
    gradBits: String(GRAD_BITS),
    epochs: c.epochs,
    batchSize: c.batchSize,
    lr: c.lr,
    kernels,
    ...(c.chunkSteps === undefined ? {} : { chunkSteps: c.chunkSteps }),
  });
}

/** One training run: its per-step time (median over its runs of K steps but the first), the engine's, and its length. */
async function measure(c: PredictCase, kernels: Kernels, dataset: Dataset, outDir: string): Promise<{ stepMs: number; engineMs: number; steps: number }> {
  const perRun: number[] = [];
  const r = await runSession(runConfig(c, kernels), {
    outDir,
    dataset,
    threads: THREADS,
    onEvent: (e) => {
      if (e.type !== 'steps') return;
      const ms = runStepMs(e.steps);
      if (ms !== null) perRun.push(ms);
    },
  });
  if (r.status !== 'completed' || r.summary.stepsPerSecond === null) throw new Error(`bench: ${c.label} (${kernels}) ended ${r.status} after ${r.summary.steps} steps`);
  if (perRun.length < 2) throw new Error(`bench: ${c.label} (${kernels}) had ${perRun.length} runs of ≥ 2 steps; it needs at least 2 (the first is a warm-up)`);
  return { stepMs: median(perRun.slice(1)), engineMs: 1000 / r.summary.stepsPerSecond, steps: r.summary.steps };
}

/** The profile to predict with: BENCH_PROFILE, or a fresh calibration (saved next to the system's temp files). */
async function benchProfile(): Promise<HardwareProfile> {
  const given = process.env.BENCH_PROFILE;
  if (given) {
    const profile = loadProfile(given, 'BENCH_PROFILE');
    console.log(JSON.stringify({ bench: 'predict-profile', profile: profile.name, file: profile.file, source: 'BENCH_PROFILE' }));
    return profile;
  }
  const t0 = performance.now();
  const m = await measureHost({ threads: THREADS });
  const json = hostProfileJson(m, 'bench-host');
  const file = join(tmpdir(), 'bitcycle-bench-host.json');
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  const profile = compileProfile(json, file);
  const rate = (bits: number) => {
    const i = profile.formats.findIndex((f) => f.bits === bits);
    return round3(profile.macThroughputPerS[i * profile.formats.length + i]! / 1e9);
  };
  console.log(
    JSON.stringify({
      bench: 'predict-profile',
      source: 'calibrated (src/hw/calibrate.ts)',
      file,
      seconds: round3((performance.now() - t0) / 1000),
      fp32GMacPerS: rate(32),
      int8GMacPerS: rate(8),
      perGemmUs: round3(profile.overheadPerGemmS * 1e6),
      perStepUs: round3(profile.overheadPerStepS * 1e6),
      memory: profile.memory.map((l) => ({ level: l.name, capacityMiB: Number.isFinite(l.capacityBits) ? l.capacityBits / 8 / 2 ** 20 : null, GBPerS: round3(l.bandwidthBitsPerS / 8e9) })),
      threads: THREADS,
      timing: m.statistic,
    }),
  );
  return profile;
}

export async function benchPredict(): Promise<void> {
  const profile = await benchProfile();
  const cases: { c: PredictCase; dataset: Dataset }[] = [];
  for (const c of CASES) {
    try {
      cases.push({ c, dataset: firstRows(loadDataset(c.dataset), c.trainSamples, c.testSamples) });
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      console.log(JSON.stringify({ bench: 'predict', case: c.label, skipped: err.message }));
    }
  }
  const runs = cases.flatMap(({ c, dataset }) => KERNEL_PATHS.map((path) => ({ c, dataset, path, kernels: path.kernels, stepMs: [] as number[], engineMs: [] as number[], steps: 0 })));
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-bench-predict-'));
  try {
    // rounds of every case and path (A B C …, A B C …): a drift in machine speed touches all alike
    for (let round = 0; round < REPEATS; round++) {
      for (const run of runs) {
        const m = await measure(run.c, run.kernels, run.dataset, out);
        run.stepMs.push(m.stepMs);
        run.engineMs.push(m.engineMs);
        run.steps = m.steps;
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  // the same GEMMs timed alone, each as calibration times it: what of the step the model covers
  const gemmAlone = new Map<string, number>();
  const key = (g: { kind: GemmKind; m: number; k: number; n: number }) => `${g.kind} ${g.m}×${g.k}×${g.n}`;
  const wanted = runs.flatMap((run) => stepGemms(run.c, run.path)).filter((g, i, all) => all.findIndex((h) => key(h) === key(g)) === i);
  for (const t of await timeGemms(wanted, THREADS)) gemmAlone.set(key(t), t.timeS);
  for (const run of runs) {
    const p = predict(profile, run.c, run.path, run.steps);
    const gemmsMs = 1000 * stepGemms(run.c, run.path).reduce((sum, g) => sum + gemmAlone.get(key(g))!, 0);
    const measured = median(run.stepMs);
    console.log(
      JSON.stringify({
        bench: 'predict',
        case: run.c.label,
        model: formatModelSpec(run.c.model),
        dataset: run.c.dataset,
        batchSize: run.c.batchSize,
        kernels: `${run.kernels}${run.kernels === DEFAULT_KERNELS ? ' (default)' : ''}`,
        predictedAs: run.path.basis,
        profile: profile.name,
        predictedMs: round3(p.stepMs),
        predictedParts: { computeMs: round3(p.computeMs), memoryMs: round3(p.memoryMs), overheadMs: round3(p.overheadMs) },
        gemmsAloneMs: round3(gemmsMs),
        measuredMs: round3(measured),
        measuredMinMs: round3(Math.min(...run.stepMs)),
        measuredMaxMs: round3(Math.max(...run.stepMs)),
        ratio: Number((p.stepMs / measured).toFixed(2)),
        gemmShare: Number((gemmsMs / measured).toFixed(2)),
        engineMs: round3(median(run.engineMs)),
        steps: run.steps,
        rounds: run.stepMs.length,
        threads: THREADS,
        measured: 'median over rounds of (median over the engine\'s onnxruntime runs but the first of run time / steps per run)',
      }),
    );
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) await benchPredict();
