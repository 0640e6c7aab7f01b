/**
 * Synthetic runs: realistic-looking steps, evals, costs and run.json without training. Used to
 * generate test/fixtures/runs, by the dashboard demo feed (`src/ui/live/demo.ts`) and by bench/ui.ts.
 * Per-step costs come from src/hw on the run's profile (a simple stand-in for an unknown profile).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineEvent, EvalRecord, RunSummary, StepCostRecord, StepRecord } from '../engine/events.js';
import { createCostModel, loadProfile, type CostModel } from '../hw/index.js';
import { linearShape, macsPerSample, type LayerShape } from '../models/shapes.js';
import { makeSchedule } from '../schedule/schedule.js';
import { Rng } from '../util/random.js';
import { EVALS_HEADER, evalRow, RUN_FORMAT_VERSION, type RunConfig, type RunJson, STEPS_HEADER, stepRow } from './store.js';

export interface SyntheticRunSpec {
  id: string;
  schedule: string;
  seed?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Stop after this many steps (status stopped/running/failed runs). */
  stopAt?: number;
  status?: RunJson['status'];
  profile?: string;
  model?: string;
  dataset?: string;
  hidden?: number;
  /** Final accuracy the curves approach. */
  accuracy?: number;
  createdAt?: string;
}

export interface SyntheticRun {
  run: RunJson;
  steps: StepRecord[];
  costs: StepCostRecord[];
  evals: EvalRecord[];
}

/** Per-step cost stand-in: ~1 pJ per bit-product MAC plus memory proportional to bits. */
export function syntheticStepCost(layers: readonly LayerShape[], batchSize: number, bw: number, ba: number, bg: number): { energyJ: number; latencyS: number; bitops: number } {
  let bitops = 0;
  let bits = 0;
  for (const l of layers) {
    const macs = macsPerSample(l) * batchSize;
    bitops += macs * (ba * bw + bg * bw + ba * bg);
    bits += l.weightElements * bw + (l.inputElements + l.outputElements) * batchSize * (ba + bg);
  }
  const energyJ = bitops * 0.9e-15 + bits * 2.5e-14;
  const latencyS = bitops / 4e13 + bits / 2e11;
  return { energyJ, latencyS, bitops };
}

export function makeSyntheticRun(spec: SyntheticRunSpec): SyntheticRun {
  const seed = spec.seed ?? 1;
  const epochs = spec.epochs ?? 10;
  const stepsPerEpoch = spec.stepsPerEpoch ?? 22;
  const totalSteps = epochs * stepsPerEpoch;
  const stopAt = Math.min(spec.stopAt ?? totalSteps, totalSteps);
  const status = spec.status ?? (stopAt < totalSteps ? 'stopped' : 'completed');
  const hidden = spec.hidden ?? 128;
  const batchSize = 64;
  const schedule = makeSchedule(spec.schedule);
  const baselineBits = Math.max(8, schedule.bitsMax);
  const layers = [linearShape('fc1', 64, hidden), linearShape('fc2', hidden, 10)];
  const config: RunConfig = {
    model: spec.model ?? 'mlp',
    hidden: [hidden],
    dataset: spec.dataset ?? 'digits',
    schedule: schedule.name,
    gradBits: '8',
    evalBits: schedule.bitsMax,
    epochs,
    batchSize,
    lr: 0.1,
    lrSchedule: 'constant',
    momentum: 0.9,
    weightDecay: 0.0005,
    seed,
    profile: spec.profile ?? 'bit-fusion-45nm',
    baseline: `static:${baselineBits}`,
  };
  let model: CostModel | null = null;
  try {
    model = createCostModel(loadProfile(config.profile), layers, batchSize);
  } catch {
    model = null;
  }
  const stepCost = (bw: number, ba: number, bg: number) => (model ? model.stepCost(bw, ba, bg) : syntheticStepCost(layers, batchSize, bw, ba, bg));
  const rng = new Rng(seed * 7919 + schedule.name.length);
  const target = spec.accuracy ?? 0.97 - (8 - schedule.bitsMin) * 0.004;
  const steps: StepRecord[] = [];
  const costs: StepCostRecord[] = [];
  const evals: EvalRecord[] = [];
  let wallMs = 0;
  for (let t = 0; t < stopAt; t++) {
    const bits = schedule.bitsAt(t, totalSteps);
    const progress = (t + 1) / totalSteps;
    const noise = (rng.next() - 0.5) * 0.25;
    const quantPenalty = (8 - bits) * 0.02;
    const loss = Math.max(0.01, 2.3 * Math.exp(-5 * progress) + 0.05 + quantPenalty + noise * Math.exp(-2 * progress));
    const trainAcc = Math.min(1, Math.max(0, target + 0.02 - 0.85 * Math.exp(-6 * progress) - quantPenalty / 2 + (rng.next() - 0.5) * 0.06));
    wallMs += 0.2 + bits * 0.01 + rng.next() * 0.05;
    steps.push({ step: t, epoch: Math.floor(t / stepsPerEpoch), bitsWeights: bits, bitsActivations: bits, bitsGrad: 8, lr: config.lr, loss, trainAcc, wallMs });
    const c = stepCost(bits, bits, 8);
    const b = stepCost(baselineBits, baselineBits, 8);
    costs.push({ energyJ: c.energyJ, latencyS: c.latencyS, bitops: c.bitops, baselineEnergyJ: b.energyJ, baselineLatencyS: b.latencyS, baselineBitops: b.bitops });
    if ((t + 1) % stepsPerEpoch === 0) {
      const epoch = (t + 1) / stepsPerEpoch - 1;
      const testAcc = Math.min(1, Math.max(0, target - 0.8 * Math.exp(-5 * progress) + (rng.next() - 0.5) * 0.01));
      evals.push({ epoch, step: t + 1, testLoss: 2.2 * Math.exp(-4.5 * progress) + 0.08 + (rng.next() - 0.5) * 0.02, testAcc, bits: config.evalBits });
    }
  }
  const sum = (f: (c: StepCostRecord) => number) => costs.reduce((a, c) => a + f(c), 0);
  const pct = (a: number, b: number) => (b > 0 ? (100 * (b - a)) / b : 0);
  const energyJ = sum((c) => c.energyJ);
  const latencyS = sum((c) => c.latencyS);
  const bitops = sum((c) => c.bitops);
  const baseEnergyJ = sum((c) => c.baselineEnergyJ);
  const baseLatencyS = sum((c) => c.baselineLatencyS);
  const baseBitops = sum((c) => c.baselineBitops);
  const lastEval = evals[evals.length - 1];
  const summary: RunSummary | null =
    status === 'completed' || status === 'stopped'
      ? {
          testAccuracy: lastEval?.testAcc ?? 0,
          testLoss: lastEval?.testLoss ?? 0,
          bestTestAccuracy: Math.max(0, ...evals.map((e) => e.testAcc)),
          finalTrainLoss: steps[steps.length - 1]?.loss ?? 0,
          steps: stopAt,
          stepsPerSecond: stopAt / Math.max(1e-3, wallMs / 1000),
          wallS: wallMs / 1000,
        }
      : null;
  const createdAt = spec.createdAt ?? '2026-11-23T12:01:02.000Z';
  const run: RunJson = {
    formatVersion: RUN_FORMAT_VERSION,
    id: spec.id,
    createdAt,
    updatedAt: new Date(Date.parse(createdAt) + Math.round(wallMs) + 1000).toISOString(),
    status,
    pid: status === 'running' ? 999999 : null,
    config,
    versions: { bitcycle: '0.1.0', node: 'v20.20.2', onnxruntime: '1.30.0' },
    modelId: `mlp-64-${hidden}-10`,
    datasetSource: 'shipped digits (8x8, 1797 samples)',
    progress: { step: stopAt, totalSteps, epoch: Math.floor(stopAt / stepsPerEpoch), stepsPerEpoch },
    layers,
    summary,
    cost: stopAt === 0
      ? null
      : {
          profile: config.profile,
          energyJ,
          latencyS,
          bitops,
          baseline: { schedule: config.baseline, energyJ: baseEnergyJ, latencyS: baseLatencyS, bitops: baseBitops },
          savings: { energyPct: pct(energyJ, baseEnergyJ), latencyPct: pct(latencyS, baseLatencyS), bitopsPct: pct(bitops, baseBitops) },
        },
    ...(status === 'failed' ? { error: 'onnxruntime: non-finite loss at step ' + stopAt } : {}),
  };
  return { run, steps, costs, evals };
}

const csvLine = (cells: string[]) => cells.join(',') + '\n';

/** Write a synthetic run as a run directory (without checkpoint and artifacts). */
export function writeSyntheticRun(parentDir: string, r: SyntheticRun): string {
  const dir = join(parentDir, r.run.id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify(r.run, null, 2) + '\n');
  writeFileSync(join(dir, 'steps.csv'), csvLine([...STEPS_HEADER]) + r.steps.map((s, i) => csvLine(stepRow(s, r.costs[i]))).join(''));
  writeFileSync(join(dir, 'evals.csv'), csvLine([...EVALS_HEADER]) + r.evals.map((e) => csvLine(evalRow(e))).join(''));
  return dir;
}

/** The events an engine would have emitted for a synthetic run, K steps per `steps` event. */
export function syntheticEvents(r: SyntheticRun, chunkSteps = 11): EngineEvent[] {
  const events: EngineEvent[] = [
    { type: 'start', runId: r.run.id, totalSteps: r.run.progress.totalSteps, stepsPerEpoch: r.run.progress.stepsPerEpoch, epochs: r.run.config.epochs, startStep: 0, layers: r.run.layers },
  ];
  let e = 0;
  for (let i = 0; i < r.steps.length; i += chunkSteps) {
    events.push({ type: 'steps', steps: r.steps.slice(i, i + chunkSteps), costs: r.costs.slice(i, i + chunkSteps) });
    const done = Math.min(i + chunkSteps, r.steps.length);
    while (e < r.evals.length && r.evals[e]!.step <= done) events.push({ type: 'eval', eval: r.evals[e++]! });
  }
  const status = r.run.status === 'running' ? 'stopped' : r.run.status;
  events.push({ type: 'end', status, summary: r.run.summary, ...(r.run.error ? { error: r.run.error } : {}) });
  return events;
}

/** The fixture runs of test/fixtures/runs (plus two damaged ones written by the generator). */
export const FIXTURE_SPECS: SyntheticRunSpec[] = [
  { id: '20261123-120102-mlp-digits-cpt3-8-s1', schedule: 'cpt:3-8', seed: 1, createdAt: '2026-11-23T12:01:02.000Z' },
  { id: '20261123-120230-mlp-digits-static8-s1', schedule: 'static:8', seed: 1, accuracy: 0.975, createdAt: '2026-11-23T12:02:30.000Z' },
  { id: '20261123-120415-mlp-digits-cpt4-8-s2', schedule: 'cpt:4-8', seed: 2, createdAt: '2026-11-23T12:04:15.000Z' },
  { id: '20261123-120533-mlp-digits-tri3-8-s1', schedule: 'tri:3-8', seed: 1, stopAt: 130, createdAt: '2026-11-23T12:05:33.000Z' },
  { id: '20261123-120640-mlp-digits-ramp4-8-s1', schedule: 'ramp:4-8', seed: 1, status: 'running', stopAt: 88, createdAt: '2026-11-23T12:06:40.000Z' },
  { id: '20261123-120702-mlp-fashion-static4-s3', schedule: 'static:4', seed: 3, dataset: 'fashion', accuracy: 0.83, profile: 'int8-systolic', createdAt: '2026-11-23T12:07:02.000Z' },
  { id: '20261123-120811-mlp-digits-cpt2-6-s1', schedule: 'cpt:2-6', seed: 1, status: 'failed', stopAt: 40, createdAt: '2026-11-23T12:08:11.000Z' },
];
