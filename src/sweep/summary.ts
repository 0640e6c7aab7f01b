/**
 * A sweep's tables: `results.csv` (one row per run and profile) and `summary.csv` (one row per
 * configuration and profile, statistics over seeds), from the runs' own files and outcomes. Costs
 * on every profile are re-tallied from each run's stored bit columns (the same CostTally as
 * training), so adding a profile to a sweep retrains nothing.
 *
 * LRBench's metrics, for precision policies: utility = mean test accuracy; cost = mean training
 * wall time; variance = variance of the test accuracy across seeds; robustness = accuracy of the
 * trained model evaluated at Bmax−1, Bmax−2 and Bmin.
 */
import { join } from 'node:path';
import { reestimate, costModelFor } from '../analysis/reestimate.js';
import { paretoGroups } from '../analysis/pareto.js';
import type { HardwareProfile } from '../hw/profile.js';
import { formatModelSpec } from '../models/spec.js';
import { readEntry, readSteps, type StepRow } from '../runs/read.js';
import type { RunConfig } from '../runs/run-format.js';
import { precisionPolicy } from '../schedule/precision.js';
import { sanitize } from '../util/text.js';
import type { RunOutcome } from './execute.js';
import { groupKey, type SweepRun } from './spec.js';
import { type SeedStats, seedStats } from './stats.js';

/** The costs a frontier can be drawn against (lower is better), and the CSV column of each. */
export const COST_AXES = {
  energy: { column: 'energy_j', title: 'energy (J)' },
  latency: { column: 'latency_s', title: 'latency (s)' },
  bitops: { column: 'bitops', title: 'BitOPs' },
  memory: { column: 'memory_energy_j', title: 'memory traffic energy (J)' },
  wall: { column: 'wall_s', title: 'training wall time (s)' },
} as const;
export type CostAxis = keyof typeof COST_AXES;
export const COST_AXIS_NAMES = Object.keys(COST_AXES) as CostAxis[];

/** One run on one profile. */
export interface RunResult {
  name: string;
  config: RunConfig;
  profile: string;
  status: RunOutcome['status'] | 'pending';
  testAccuracy: number | null;
  bestTestAccuracy: number | null;
  /** Accuracy at Bmax−1, Bmax−2, Bmin (null when that bit-width was not evaluated). */
  robustBmax1: number | null;
  robustBmax2: number | null;
  robustBmin: number | null;
  energyJ: number | null;
  latencyS: number | null;
  bitops: number | null;
  memoryEnergyJ: number | null;
  energySavingPct: number | null;
  latencySavingPct: number | null;
  bitopsSavingPct: number | null;
  wallS: number | null;
  steps: number;
}

/**
 * Training wall time from steps.csv: each session's `wall_ms` counts from that session's start, so
 * the run's time is the sum over sessions of the last step's time (a resumed run counts both).
 */
export function trainingWallS(steps: readonly StepRow[]): number | null {
  if (steps.length === 0) return null;
  let total = 0;
  for (let i = 0; i < steps.length; i++) {
    const next = steps[i + 1];
    if (next === undefined || next.wallMs < steps[i]!.wallMs) total += steps[i]!.wallMs;
  }
  return total / 1000;
}

const accuracyAt = (o: RunOutcome | null, bits: number): number | null => o?.robustness.find((r) => r.bits === bits)?.accuracy ?? null;

/** Every run of `runs` on every profile (a run not finished yet has nulls and status `pending`). */
export async function sweepResults(runsDir: string, runs: readonly SweepRun[], outcomes: ReadonlyMap<string, RunOutcome>, profiles: readonly { name: string; profile: HardwareProfile }[]): Promise<RunResult[]> {
  const rows: RunResult[] = [];
  for (const r of runs) {
    const outcome = outcomes.get(r.name) ?? null;
    const schedule = precisionPolicy(r.config).weightsActivations;
    const entry = outcome && outcome.status !== 'failed' ? readEntry(join(runsDir, r.name)) : null;
    const steps = entry && !entry.damaged ? await readSteps(entry.dir) : [];
    const wallS = trainingWallS(steps);
    for (const p of profiles) {
      const cost = entry && !entry.damaged && steps.length ? reestimate(entry.run, steps, costModelFor(entry.run, p.profile)) : null;
      const memory = cost ? Object.values(cost.breakdown.run.byPhase).reduce((a, c) => a + c.memoryEnergyJ, 0) : null;
      rows.push({
        name: r.name,
        config: r.config,
        profile: p.name,
        status: outcome?.status ?? 'pending',
        testAccuracy: outcome?.testAccuracy ?? null,
        bestTestAccuracy: outcome?.bestTestAccuracy ?? null,
        robustBmax1: accuracyAt(outcome, schedule.bitsMax - 1),
        robustBmax2: accuracyAt(outcome, schedule.bitsMax - 2),
        robustBmin: schedule.bitsMin === schedule.bitsMax ? null : accuracyAt(outcome, schedule.bitsMin),
        energyJ: cost?.cost.energyJ ?? null,
        latencyS: cost?.cost.latencyS ?? null,
        bitops: cost?.cost.bitops ?? null,
        memoryEnergyJ: memory,
        energySavingPct: cost?.cost.savings.energyPct ?? null,
        latencySavingPct: cost?.cost.savings.latencyPct ?? null,
        bitopsSavingPct: cost?.cost.savings.bitopsPct ?? null,
        wallS,
        steps: steps.length,
      });
    }
  }
  return rows;
}

const CONFIG_COLUMNS = ['model', 'dataset', 'schedule', 'grad_bits', 'lr_schedule', 'lr', 'epochs', 'batch_size', 'baseline', 'profile'] as const;

function configCells(config: RunConfig, profile: string): Record<(typeof CONFIG_COLUMNS)[number], string | number> {
  return {
    model: sanitize(formatModelSpec(config.model)),
    dataset: sanitize(config.dataset),
    schedule: sanitize(config.schedule),
    grad_bits: sanitize(config.gradBits),
    lr_schedule: sanitize(String(config.lrSchedule)),
    lr: config.lr,
    epochs: config.epochs,
    batch_size: config.batchSize,
    baseline: sanitize(config.baseline),
    profile: sanitize(profile),
  };
}

export const RESULT_COLUMNS = [
  'name',
  ...CONFIG_COLUMNS,
  'seed',
  'status',
  'steps',
  'test_accuracy',
  'best_test_accuracy',
  'robust_acc_bmax_1',
  'robust_acc_bmax_2',
  'robust_acc_bmin',
  'energy_j',
  'latency_s',
  'bitops',
  'memory_energy_j',
  'energy_saving_pct',
  'latency_saving_pct',
  'bitops_saving_pct',
  'wall_s',
] as const;

export function resultCsvRow(r: RunResult): Record<string, string | number | null> {
  return {
    name: r.name,
    ...configCells(r.config, r.profile),
    seed: r.config.seed,
    status: r.status,
    steps: r.steps,
    test_accuracy: r.testAccuracy,
    best_test_accuracy: r.bestTestAccuracy,
    robust_acc_bmax_1: r.robustBmax1,
    robust_acc_bmax_2: r.robustBmax2,
    robust_acc_bmin: r.robustBmin,
    energy_j: r.energyJ,
    latency_s: r.latencyS,
    bitops: r.bitops,
    memory_energy_j: r.memoryEnergyJ,
    energy_saving_pct: r.energySavingPct,
    latency_saving_pct: r.latencySavingPct,
    bitops_saving_pct: r.bitopsSavingPct,
    wall_s: r.wallS,
  };
}

/** The metrics summarised over seeds, each as `<name>_mean`, `_std`, `_ci95_low`, `_ci95_high`. */
const SUMMARISED = {
  test_accuracy: (r: RunResult) => r.testAccuracy,
  energy_j: (r: RunResult) => r.energyJ,
  latency_s: (r: RunResult) => r.latencyS,
  bitops: (r: RunResult) => r.bitops,
  memory_energy_j: (r: RunResult) => r.memoryEnergyJ,
  energy_saving_pct: (r: RunResult) => r.energySavingPct,
  latency_saving_pct: (r: RunResult) => r.latencySavingPct,
  bitops_saving_pct: (r: RunResult) => r.bitopsSavingPct,
  wall_s: (r: RunResult) => r.wallS,
  robust_acc_bmax_1: (r: RunResult) => r.robustBmax1,
  robust_acc_bmax_2: (r: RunResult) => r.robustBmax2,
  robust_acc_bmin: (r: RunResult) => r.robustBmin,
} as const;
type Summarised = keyof typeof SUMMARISED;

/** One configuration on one profile, over its seeds. */
export interface ConfigSummary {
  /** The configuration's first run's config (seed aside, every run of the group has the same). */
  config: RunConfig;
  profile: string;
  /** Which runs are comparable (same data set, model, length, profile): fronts never mix groups. */
  group: string;
  seeds: number;
  completed: number;
  failed: number;
  diverged: number;
  stats: Record<Summarised, SeedStats>;
  /** On the Pareto front of test error vs that cost, within its group. */
  front: Record<CostAxis, boolean>;
  runs: RunResult[];
}

/** A config's label in tables and figures: the axes that vary in a sweep usually are the schedule and LR policy. */
export function configLabel(c: RunConfig): string {
  return `${c.schedule} · g${c.gradBits} · ${c.lrSchedule}`;
}

/** Rows of `results` grouped by configuration (all seeds) and profile, with statistics and fronts. */
export function summarise(results: readonly RunResult[]): ConfigSummary[] {
  const byKey = new Map<string, RunResult[]>();
  for (const r of results) {
    const key = `${groupKey(r.config)}\u0000${r.profile}`;
    const list = byKey.get(key);
    if (list) list.push(r);
    else byKey.set(key, [r]);
  }
  const summaries: ConfigSummary[] = [...byKey.values()].map((runs) => {
    const c = runs[0]!.config;
    const stats = Object.fromEntries(Object.entries(SUMMARISED).map(([k, f]) => [k, seedStats(runs.filter((r) => r.status === 'completed').map(f))])) as Record<Summarised, SeedStats>;
    return {
      config: c,
      profile: runs[0]!.profile,
      group: [c.dataset, c.dataDir ?? '', formatModelSpec(c.model), c.epochs, c.batchSize, runs[0]!.profile].join('\u0000'),
      seeds: runs.length,
      completed: runs.filter((r) => r.status === 'completed').length,
      failed: runs.filter((r) => r.status === 'failed').length,
      diverged: runs.filter((r) => r.status === 'diverged').length,
      stats,
      front: { energy: false, latency: false, bitops: false, memory: false, wall: false },
      runs,
    };
  });
  for (const axis of COST_AXIS_NAMES) {
    const column = COST_AXES[axis].column as Summarised;
    const points = summaries.map((s, i) => ({ id: String(i), group: s.group, cost: s.stats[column].mean, quality: s.stats.test_accuracy.mean }));
    for (const g of paretoGroups(points)) for (const id of g.front) summaries[Number(id)]!.front[axis] = true;
  }
  return summaries;
}

export const SUMMARY_COLUMNS = [
  ...CONFIG_COLUMNS,
  'seeds',
  'completed',
  'failed',
  'diverged',
  ...Object.keys(SUMMARISED).flatMap((k) => [`${k}_mean`, `${k}_std`, `${k}_ci95_low`, `${k}_ci95_high`]),
  'utility',
  'cost_wall_s',
  'variance',
  ...COST_AXIS_NAMES.map((a) => `front_${a}`),
] as const;

export function summaryCsvRow(s: ConfigSummary): Record<string, string | number | boolean | null> {
  const row: Record<string, string | number | boolean | null> = { ...configCells(s.config, s.profile), seeds: s.seeds, completed: s.completed, failed: s.failed, diverged: s.diverged };
  for (const [k, st] of Object.entries(s.stats)) {
    row[`${k}_mean`] = st.mean;
    row[`${k}_std`] = st.std;
    row[`${k}_ci95_low`] = st.ciLow;
    row[`${k}_ci95_high`] = st.ciHigh;
  }
  row.utility = s.stats.test_accuracy.mean;
  row.cost_wall_s = s.stats.wall_s.mean;
  row.variance = s.stats.test_accuracy.std === null ? null : s.stats.test_accuracy.std ** 2;
  for (const a of COST_AXIS_NAMES) row[`front_${a}`] = s.front[a];
  return row;
}
