/**
 * Running a sweep: check everything it needs (specs, profiles) before any run starts, hand the runs
 * still to do to an executor (the local pool, or a BullMQ queue), record each outcome as it
 * arrives, and write results.csv and summary.csv — also after a stop, for the runs done so far.
 */
import { DATASETS } from '../data/index.js';
import { RunLock } from '../runs/lock.js';
import { loadProfile } from '../hw/load.js';
import type { HardwareProfile } from '../hw/profile.js';
import { fullPrecisionUses, requireOperandBits } from '../hw/cost.js';
import { DEFAULT_FP_LAYERS } from '../models/model.js';
import { csvText } from '../analysis/tables.js';
import { precisionPolicy } from '../schedule/precision.js';
import { writeFileAtomic } from '../util/fs.js';
import type { RunOutcome } from './execute.js';
import type { ExecutorEvents } from './pool.js';
import { planSweep, type SweepPlan, type SweepRun } from './spec.js';
import { budgetCells, planCells } from '../analysis/completion.js';
import { type BudgetOptions, budgetGrid, observedCells, recordBudgetCells } from './budget.js';
import { SweepDir } from './store.js';
import { RESULT_COLUMNS, resultCsvRow, type ConfigSummary, type RunResult, SUMMARY_COLUMNS, summaryCsvRow, summarise, sweepResults } from './summary.js';

/** Something that trains a list of runs: the local pool or a queue. */
export interface Executor {
  execute(runs: readonly SweepRun[], events: ExecutorEvents): { done: Promise<void>; stop(): void };
}

/** Every profile of the sweep, compiled; each checked against every run's bit-widths (one line naming the profile and the run's option). */
export function loadSweepProfiles(plan: SweepPlan, profileDirs?: string[]): { name: string; profile: HardwareProfile }[] {
  const profiles = plan.profiles.map((name) => ({ name, profile: loadProfile(name, '--profiles', profileDirs) }));
  for (const { profile } of profiles) {
    for (const run of plan.runs) {
      const c = run.config;
      const p = precisionPolicy(c);
      requireOperandBits(profile, [
        { what: `--schedule ${c.schedule}`, bits: p.weightsActivations.bitsMax },
        { what: `the baseline ${c.baseline}`, bits: p.baseline.bitsMax },
        { what: `--grad-bits ${c.gradBits}`, bits: p.errors.bitsMax },
        ...fullPrecisionUses(c.fpLayers ?? DEFAULT_FP_LAYERS),
      ]);
    }
  }
  return profiles;
}

export interface SweepProgress {
  total: number;
  /** Finished before this invocation. */
  skipped: number;
  done: number;
  failed: number;
  running: Map<string, { where: string; step: number; total: number }>;
  startedAt: number;
  /** Steps trained in this invocation (for the ETA), and the steps of the runs still to train. */
  stepsDone: number;
  stepsLeft: number | null;
}

export interface SweepOutcome {
  dir: SweepDir;
  stopped: boolean;
  summaries: ConfigSummary[];
}

/** Every run of `plan` on every profile, from what `dir` holds now (outcomes and run files), and the statistics over seeds. Reads only. */
export async function sweepTables(dir: SweepDir, plan: SweepPlan, profiles: readonly { name: string; profile: HardwareProfile }[]): Promise<{ results: RunResult[]; summaries: ConfigSummary[] }> {
  const outcomes = new Map<string, RunOutcome>();
  for (const r of plan.runs) {
    const o = dir.outcome(r.name);
    if (o) outcomes.set(r.name, o);
  }
  const results = await sweepResults(dir.runsDir, plan.runs, outcomes, profiles);
  return { results, summaries: summarise(results) };
}

/** Write results.csv and summary.csv of `plan` from what `dir` holds now. */
export async function writeSweepTables(dir: SweepDir, plan: SweepPlan, profiles: readonly { name: string; profile: HardwareProfile }[]): Promise<ConfigSummary[]> {
  const { results, summaries } = await sweepTables(dir, plan, profiles);
  writeFileAtomic(dir.resultsFile, await csvText(RESULT_COLUMNS, results.map(resultCsvRow)));
  writeFileAtomic(dir.summaryFile, await csvText(SUMMARY_COLUMNS, summaries.map(summaryCsvRow)));
  return summaries;
}

export interface RunSweepOptions {
  /** The sweep directory, prepared for the plan (`SweepDir.prepare`). */
  dir: SweepDir;
  executor: Executor;
  profileDirs?: string[];
  /** The plan's profiles, already loaded and checked (loadSweepProfiles); loaded here if not given. */
  profiles?: { name: string; profile: HardwareProfile }[];
  /** Called on every change of progress (start, progress, finish). */
  onProgress?: (p: SweepProgress) => void;
  /** Called once per run that finished here (completed, diverged or failed), after it is recorded. */
  onOutcome?: (o: RunOutcome, p: SweepProgress) => void;
  /** Resolves (or is already resolved) when the user asks to stop. */
  stopSignal?: Promise<void>;
  /** Train only a chosen fraction of the grid (PEPPP), and estimate the rest (./budget.ts). */
  budget?: BudgetOptions;
}

/** Steps of these runs from their data sets' known sizes (null when one is not known without reading it). */
export function plannedSteps(runs: readonly SweepRun[]): number | null {
  let total = 0;
  for (const r of runs) {
    const geometry = Object.hasOwn(DATASETS, r.config.dataset) ? DATASETS[r.config.dataset]!.geometry : undefined;
    if (!geometry || r.config.dataDir !== undefined) return null;
    total += Math.floor(geometry.trainSamples / r.config.batchSize) * r.config.epochs;
  }
  return total;
}

/** Train what `plan` still needs in `options.dir`, then write its tables. */
export async function runSweep(plan: SweepPlan, options: RunSweepOptions): Promise<SweepOutcome> {
  const profiles = options.profiles ?? loadSweepProfiles(plan, options.profileDirs);
  const dir = options.dir;
  // one sweep at a time in a directory (two would train the same runs)
  const lock = RunLock.acquire(dir.dir, 'sweep');
  try {
    return await sweepClaimed(plan, dir, profiles, options);
  } finally {
    lock.release();
  }
}

async function sweepClaimed(plan: SweepPlan, dir: SweepDir, profiles: { name: string; profile: HardwareProfile }[], options: RunSweepOptions): Promise<SweepOutcome> {
  const budget = options.budget;
  const grid = budget ? budgetGrid(plan) : null;
  const pending = dir.pending(plan.runs);
  // with a budget, the runs to train are the budget's cells (and, with --verify, the rest after them)
  const target = grid && budget && !budget.verify ? Math.min(plan.runs.length, budgetCells(grid.configs.length, grid.tasks.length, budget.fraction)) : plan.runs.length;
  const progress: SweepProgress = {
    total: target,
    skipped: Math.min(target, plan.runs.length - pending.length),
    done: 0,
    failed: 0,
    running: new Map(),
    startedAt: Date.now(),
    stepsDone: 0,
    stepsLeft: null,
  };
  const planned = plannedSteps(budget && !budget.verify ? pending.slice(0, Math.max(0, target - progress.skipped)) : pending);
  const stepsLeft = () => (planned === null ? null : Math.max(0, planned - progress.stepsDone));
  progress.stepsLeft = stepsLeft();
  let stopped = false;
  const update = () => {
    progress.stepsLeft = stepsLeft();
    options.onProgress?.(progress);
  };
  update();
  let current: { stop(): void } | null = null;
  void options.stopSignal?.then(() => {
    stopped = true;
    current?.stop();
  });
  const train = async (runs: readonly SweepRun[]) => {
    if (stopped || runs.length === 0) return;
    const execution = options.executor.execute(runs, {
      started(name, where) {
        progress.running.set(name, { where, step: 0, total: 0 });
        update();
      },
      progress(name, step, total) {
        const r = progress.running.get(name);
        if (r) {
          // the first report of a resumed run starts at its checkpoint: only steps trained here count
          if (r.total !== 0) progress.stepsDone += Math.max(0, step - r.step);
          r.step = step;
          r.total = total;
        }
        update();
      },
      finished(outcome) {
        progress.running.delete(outcome.name);
        if (outcome.status === 'stopped') {
          stopped = true;
        } else {
          dir.recordOutcome(outcome);
          progress.done++;
          if (outcome.status === 'failed') progress.failed++;
          options.onOutcome?.(outcome, progress);
        }
        update();
      },
    });
    current = execution;
    if (stopped) execution.stop();
    await execution.done;
    current = null;
  };

  if (grid && budget) {
    // rounds: plan the next cells from what is observed, train them, until the budget is spent
    const byCell = new Map(plan.runs.map((r) => [`${grid.configOf(r)}\u0000${grid.taskOf(r)}`, r]));
    // A cell is asked for until it is observed (completed); one whose run fails or diverges is
    // tried once per invocation, so the rounds end when the plan asks only for such cells.
    const tried = new Set<string>();
    while (!stopped) {
      const observed = observedCells(plan, dir, grid);
      const next = planCells({ configs: grid.configs, tasks: grid.tasks, budget: budget.fraction, method: budget.method, seed: budget.seed, observed });
      const runs = next.cells.map((c) => byCell.get(`${c.config}\u0000${c.task}`)!).filter((r) => !tried.has(r.name) && dir.outcome(r.name)?.status !== 'diverged');
      if (runs.length === 0) break;
      for (const r of runs) tried.add(r.name);
      await train(runs);
    }
    // the cells the estimate may use: those trained within the budget (kept from the first sweep that spent it)
    if (!stopped) recordBudgetCells(dir, plan, budget);
    if (budget.verify) await train(dir.pending(plan.runs));
  } else {
    await train(pending);
  }
  return { dir, stopped, summaries: await writeSweepTables(dir, plan, profiles) };
}

/** A stored sweep, read back: its plan (from sweep.json), profiles, per-run results and summaries. Writes nothing. */
export async function readSweep(path: string, profileDirs?: string[]): Promise<{ dir: SweepDir; plan: SweepPlan; results: RunResult[]; summaries: ConfigSummary[] }> {
  const dir = SweepDir.read(path);
  const plan = planSweep(dir.json.spec);
  return { dir, plan, ...(await sweepTables(dir, plan, loadSweepProfiles(plan, profileDirs))) };
}
