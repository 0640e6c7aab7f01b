/**
 * Few-evaluation sweeps (PEPPP): `bitcycle sweep … --budget 0.3` trains a chosen 30 % of the
 * configs × tasks grid (src/analysis/completion.ts plans the cells, in rounds), completes the
 * error matrix by low-rank matrix completion, and estimates each group's Pareto frontier; with
 * `--verify` it trains the rest and reports how far the estimate was from the truth.
 *
 * Configs are what a user chooses between (schedule, error bits, LR policy); tasks are what they
 * are tried on (model × data set × seed). A config's costs need no training: they come from the
 * cost model over the schedule's bit-widths (`estimateSchedule`, the same tally as a run's), with
 * the layers of any run of the group.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { costModelFor } from '../analysis/reestimate.js';
import { type ObservedCell, type PlanMethod } from '../analysis/completion.js';
import { estimateFrontier, errorFront, type FrontierDistance, frontierDistance, type FrontPoint } from '../analysis/frontier-estimate.js';
import type { HardwareProfile } from '../hw/profile.js';
import { estimateSchedule } from '../hw/tally.js';
import { formatModelSpec } from '../models/spec.js';
import { readEntry } from '../runs/read.js';
import type { RunConfig } from '../runs/run-format.js';
import { errorSchedule } from '../schedule/precision.js';
import type { SweepPlan, SweepRun } from './spec.js';
import type { SweepDir } from './store.js';
import { configLabel, type ConfigSummary } from './summary.js';

export interface BudgetOptions {
  /** Fraction of the grid's cells to train, in (0, 1]. */
  fraction: number;
  method: PlanMethod;
  seed: number;
  /** Train the rest afterwards and compare the estimated frontier with the true one. */
  verify: boolean;
}

/** The grid's rows (configs) and columns (tasks) and which cell a run is. */
export interface BudgetGrid {
  configs: string[];
  tasks: string[];
  configOf(run: SweepRun): string;
  taskOf(run: SweepRun): string;
  /** The config's label (schedule · error bits · LR policy). */
  label: Map<string, string>;
}

const configId = (c: RunConfig) => JSON.stringify([c.schedule, c.gradBits, c.lrSchedule]);
const taskId = (c: RunConfig) => JSON.stringify([c.dataset, c.dataDir ?? '', formatModelSpec(c.model), c.seed]);
const groupOfTask = (c: RunConfig) => JSON.stringify([c.dataset, c.dataDir ?? '', formatModelSpec(c.model)]);

export function budgetGrid(plan: SweepPlan): BudgetGrid {
  const configs = [...new Set(plan.runs.map((r) => configId(r.config)))];
  const tasks = [...new Set(plan.runs.map((r) => taskId(r.config)))];
  const label = new Map(plan.runs.map((r) => [configId(r.config), configLabel(r.config)]));
  return { configs, tasks, configOf: (r) => configId(r.config), taskOf: (r) => taskId(r.config), label };
}

const budgetFile = (dir: SweepDir) => join(dir.dir, 'budget.json');

/**
 * Record which runs the budget trained (`S/budget.json`), so the estimate uses those and only those
 * even after `--verify` (or a later sweep without a budget) trains the rest. Written once per budget:
 * a rerun with the same budget keeps the file.
 */
export function recordBudgetCells(dir: SweepDir, plan: SweepPlan, budget: BudgetOptions): void {
  const existing = readBudgetCells(dir);
  if (existing && existing.fraction === budget.fraction && existing.method === budget.method && existing.seed === budget.seed) return;
  const runs = plan.runs.filter((r) => dir.outcome(r.name) !== null).map((r) => r.name);
  writeFileAtomic(budgetFile(dir), JSON.stringify({ fraction: budget.fraction, method: budget.method, seed: budget.seed, runs }, null, 2) + '\n');
}

/** The budget's runs, or null when the sweep was not run with a budget. */
export function readBudgetCells(dir: SweepDir): { fraction: number; method: PlanMethod; seed: number; runs: string[] } | null {
  try {
    const value = JSON.parse(readFileSync(budgetFile(dir), 'utf8')) as { fraction: number; method: PlanMethod; seed: number; runs: string[] };
    return Array.isArray(value.runs) ? value : null;
  } catch {
    return null;
  }
}

/** Completed runs as observed cells (error = 1 − final test accuracy); with `only`, just those runs. */
export function observedCells(plan: SweepPlan, dir: SweepDir, grid: BudgetGrid, only?: ReadonlySet<string>): ObservedCell[] {
  const cells: ObservedCell[] = [];
  for (const r of plan.runs) {
    if (only && !only.has(r.name)) continue;
    const o = dir.outcome(r.name);
    if (o?.status === 'completed' && o.testAccuracy !== null) cells.push({ config: grid.configOf(r), task: grid.taskOf(r), error: 1 - o.testAccuracy });
  }
  return cells;
}

/** One group (model · data set) on one profile: every config's estimated error and energy, the estimated front, and (when every cell is trained) the distance to the true front. */
export interface GroupEstimate {
  model: string;
  dataset: string;
  profile: string;
  configs: { label: string; estimatedError: number; observedTasks: number; tasks: number; energyJ: number; onEstimatedFront: boolean; trueError: number | null; onTrueFront: boolean | null }[];
  /** Null until every cell of the group is trained (--verify). */
  distance: FrontierDistance | null;
  rank: number;
}

/**
 * Estimate each group's energy frontier from the observed cells (the completion runs over the whole
 * grid, so groups inform each other through shared configs); compare with the truth where it is
 * known. `summaries` give the true mean errors of fully trained configs.
 */
export function estimateSweep(plan: SweepPlan, dir: SweepDir, grid: BudgetGrid, profiles: readonly { name: string; profile: HardwareProfile }[], summaries: readonly ConfigSummary[]): GroupEstimate[] {
  const recorded = readBudgetCells(dir);
  const observed = observedCells(plan, dir, grid, recorded ? new Set(recorded.runs) : undefined);
  if (observed.length === 0) return [];
  const estimate = estimateFrontier({ configs: grid.configs, tasks: grid.tasks, observed, costAxes: [] });
  const taskIndex = new Map(grid.tasks.map((t, j) => [t, j]));
  const groups = new Map<string, SweepRun[]>();
  for (const r of plan.runs) groups.set(groupOfTask(r.config), [...(groups.get(groupOfTask(r.config)) ?? []), r]);
  const out: GroupEstimate[] = [];
  for (const runs of groups.values()) {
    const columns = [...new Set(runs.map((r) => taskIndex.get(grid.taskOf(r))!))];
    // the layers and length of the group, from any of its runs that has a run.json
    const stored = runs.map((r) => readEntry(join(dir.runsDir, r.name))).find((e) => !e.damaged);
    if (!stored || stored.damaged) continue;
    const c0 = runs[0]!.config;
    for (const { name, profile } of profiles) {
      const costModel = costModelFor(stored.run, profile);
      const rows = grid.configs.map((id, i) => {
        const run = runs.find((r) => grid.configOf(r) === id)!;
        const energy = estimateSchedule(costModel, { schedule: run.config.schedule, iterations: stored.run.progress.totalSteps, baseline: run.config.baseline, bitsGrad: errorSchedule(run.config.gradBits) }).run.energyJ;
        const row = estimate.completed[i]!;
        const estimatedError = columns.reduce((a, j) => a + row[j]!, 0) / columns.length;
        const observedTasks = observed.filter((o) => o.config === id && columns.includes(taskIndex.get(o.task)!)).length;
        const truth = summaries.find((s) => s.profile === name && configId(s.config) === id && groupOfTask(s.config) === groupOfTask(run.config));
        const trueError = truth && truth.completed === columns.length && truth.stats.test_accuracy.mean !== null ? 1 - truth.stats.test_accuracy.mean : null;
        return { id, label: grid.label.get(id)!, estimatedError, observedTasks, tasks: columns.length, energyJ: energy, trueError };
      });
      const estPoints: FrontPoint[] = rows.map((r) => ({ id: r.id, cost: r.energyJ, error: r.estimatedError }));
      const estFront = new Set(errorFront(estPoints).map((p) => p.id));
      const complete = rows.every((r) => r.trueError !== null);
      const truePoints: FrontPoint[] = rows.map((r) => ({ id: r.id, cost: r.energyJ, error: r.trueError ?? Number.NaN }));
      const trueFront = complete ? new Set(errorFront(truePoints).map((p) => p.id)) : null;
      out.push({
        model: formatModelSpec(c0.model),
        dataset: c0.dataset,
        profile: name,
        configs: rows.map((r) => ({ label: r.label, estimatedError: r.estimatedError, observedTasks: r.observedTasks, tasks: r.tasks, energyJ: r.energyJ, onEstimatedFront: estFront.has(r.id), trueError: r.trueError, onTrueFront: trueFront ? trueFront.has(r.id) : null })),
        distance: complete ? frontierDistance(estPoints, truePoints) : null,
        rank: estimate.rank,
      });
    }
  }
  return out;
}

export const ESTIMATE_COLUMNS = ['model', 'dataset', 'profile', 'configuration', 'observed_tasks', 'tasks', 'estimated_test_accuracy', 'energy_j', 'estimated_front', 'true_test_accuracy', 'true_front'] as const;

export function estimateCsvRows(groups: readonly GroupEstimate[]): Record<string, string | number | boolean | null>[] {
  return groups.flatMap((g) =>
    g.configs.map((c) => ({
      model: g.model,
      dataset: g.dataset,
      profile: g.profile,
      configuration: c.label,
      observed_tasks: c.observedTasks,
      tasks: c.tasks,
      estimated_test_accuracy: 1 - c.estimatedError,
      energy_j: c.energyJ,
      estimated_front: c.onEstimatedFront,
      true_test_accuracy: c.trueError === null ? null : 1 - c.trueError,
      true_front: c.onTrueFront,
    })),
  );
}
