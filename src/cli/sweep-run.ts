/**
 * `bitcycle sweep` once its plan is known: pick the executor (local pool or queue), show progress,
 * stop cleanly on Ctrl-C (running runs are checkpointed; the same command continues), print the
 * summary.
 */
import { isAbsolute, join, relative } from 'node:path';
import { fmtAcc, fmtPct, fmtSI, textTable } from '../format.js';
import { sanitizeShort } from '../util/text.js';
import { defaultWorkers, runLocalPool } from '../sweep/pool.js';
import { outcomeLine, progressLine, ProgressBlockWriter } from '../sweep/progress.js';
import type { SweepPlan } from '../sweep/spec.js';
import { configLabel, type ConfigSummary, summaryCsvRow } from '../sweep/summary.js';
import { type Executor, loadSweepProfiles, runSweep, type SweepProgress } from '../sweep/sweep.js';
import { printJson } from './output.js';
import type { BudgetOptions, GroupEstimate } from '../sweep/budget.js';

/** A path as the user would type it: relative to the working directory when inside it. */
const shown = (path: string) => {
  const rel = relative(process.cwd(), path);
  return sanitizeShort(rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel, 160);
};

export interface SweepCommandOptions {
  out: string;
  workers?: number;
  queue?: string;
  json: boolean;
  profileDirs?: string[];
  budget?: BudgetOptions;
}

/** The local pool as an executor. */
export function localExecutor(runsDir: string, workers: number, profileDirs?: string[]): Executor {
  return { execute: (runs, events) => runLocalPool(runs, { runsDir, workers, profileDirs }, events) };
}

/** The summary as a table: one row per configuration and profile. */
export function summaryTable(summaries: readonly ConfigSummary[]): string {
  const pm = (mean: number | null, std: number | null, f: (v: number | null) => string) => (std === null ? f(mean) : `${f(mean)} ± ${f(std)}`);
  const rows = [['configuration', 'profile', 'seeds', 'test acc', 'energy', 'latency', 'energy saving', 'front']];
  for (const s of summaries) {
    const front = (['energy', 'latency', 'bitops'] as const).filter((a) => s.front[a]).join(',');
    rows.push([
      sanitizeShort(configLabel(s.config), 60),
      sanitizeShort(s.profile, 24),
      `${s.completed}/${s.seeds}`,
      pm(s.stats.test_accuracy.mean, s.stats.test_accuracy.std, (v) => fmtAcc(v, 2)),
      fmtSI(s.stats.energy_j.mean, 'J'),
      fmtSI(s.stats.latency_s.mean, 's'),
      fmtPct(s.stats.energy_saving_pct.mean),
      front || '·',
    ]);
  }
  return textTable(rows);
}

/** The estimated frontier of each group (and its distance to the true one, once known). */
export function estimateText(groups: readonly GroupEstimate[]): string {
  const out: string[] = [];
  for (const g of groups) {
    out.push('', `estimated energy frontier (${sanitizeShort(g.dataset, 40)} · ${sanitizeShort(g.model, 60)} · ${sanitizeShort(g.profile, 40)}; completion rank ${g.rank}):`);
    const rows = [['', 'configuration', 'trained', 'est. test acc', 'true test acc', 'energy']];
    for (const c of [...g.configs].sort((a, b) => a.energyJ - b.energyJ)) {
      rows.push([c.onEstimatedFront ? '◆' : '·', sanitizeShort(c.label, 60), `${c.observedTasks}/${c.tasks}`, fmtAcc(1 - c.estimatedError, 2), c.trueError === null ? '—' : `${fmtAcc(1 - c.trueError, 2)}${c.onTrueFront ? ' ◆' : ''}`, fmtSI(c.energyJ, 'J')]);
    }
    out.push(textTable(rows));
    if (g.distance) {
      const d = g.distance;
      out.push(`vs the true frontier: mean distance ${d.meanDistance.toFixed(3)}, max ${d.maxDistance.toFixed(3)} (normalized cost × error), regret ${d.regret.toFixed(3)}, recall ${(100 * d.recall).toFixed(0)} %, precision ${(100 * d.precision).toFixed(0)} %`);
    }
  }
  return out.join('\n');
}

export async function runSweepCommand(plan: SweepPlan, options: SweepCommandOptions): Promise<number> {
  const { SweepDir } = await import('../sweep/store.js');
  // every input is checked before the sweep directory is written
  const profiles = loadSweepProfiles(plan, options.profileDirs);
  const dir = SweepDir.prepare(options.out, plan);
  let executor: Executor;
  let where: string;
  let closeExecutor = async () => {};
  if (options.queue !== undefined) {
    const { queueExecutor, sweepQueueId } = await import('../sweep/queue.js');
    const q = await queueExecutor(options.queue, dir.runsDir, sweepQueueId(dir.dir, dir.json.createdAt));
    executor = q.executor;
    closeExecutor = q.close;
    where = `queue ${sanitizeShort(options.queue, 80)}`;
  } else {
    const workers = options.workers ?? defaultWorkers();
    executor = localExecutor(dir.runsDir, workers, options.profileDirs);
    where = `${workers} local worker${workers === 1 ? '' : 's'}`;
  }

  const tty = process.stderr.isTTY === true && !options.json;
  const block = tty ? new ProgressBlockWriter(process.stderr) : null;
  let stopRequested: () => void = () => {};
  const stopSignal = new Promise<void>((resolve) => (stopRequested = resolve));
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      process.stderr.write('\nstopping: the running runs stop at their next chunk with a checkpoint (Ctrl-C again to quit at once); run the same command to continue\n');
      stopRequested();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let last: SweepProgress | null = null;
  try {
    const result = await runSweep(plan, {
      dir,
      executor,
      profileDirs: options.profileDirs,
      profiles,
      budget: options.budget,
      stopSignal,
      onProgress: (p) => {
        // the header once the sweep has claimed its directory (a busy directory is one error line)
        if (!last) process.stderr.write(`sweep ${shown(dir.dir)}: ${plan.runs.length} runs × ${plan.profiles.length} profile${plan.profiles.length === 1 ? '' : 's'} on ${where}\n`);
        last = p;
        block?.draw(p);
      },
      onOutcome: (o, p) => (block ? block.log(outcomeLine(o, p), p) : process.stderr.write(outcomeLine(o, p) + '\n')),
    });
    if (last) {
      if (block) block.draw(last, true);
      else process.stderr.write(progressLine(last, Date.now()) + '\n');
    }
    let estimates: GroupEstimate[] | null = null;
    if (options.budget) {
      const { budgetGrid, estimateSweep, estimateCsvRows, ESTIMATE_COLUMNS } = await import('../sweep/budget.js');
      const { csvText } = await import('../analysis/tables.js');
      const { writeFileAtomic } = await import('../util/fs.js');
      estimates = estimateSweep(plan, result.dir, budgetGrid(plan), profiles, result.summaries);
      writeFileAtomic(join(result.dir.dir, 'estimate.csv'), await csvText(ESTIMATE_COLUMNS, estimateCsvRows(estimates)));
    }
    if (options.json) printJson({ dir: result.dir.dir, stopped: result.stopped, summary: result.summaries.map(summaryCsvRow), ...(estimates ? { estimate: estimates } : {}) });
    else {
      process.stdout.write(summaryTable(result.summaries) + '\n');
      if (estimates) process.stdout.write(estimateText(estimates) + '\n');
      process.stdout.write(`summary: ${shown(result.dir.summaryFile)} · per run: ${shown(result.dir.resultsFile)}${estimates ? ` · estimate: ${shown(join(result.dir.dir, 'estimate.csv'))}` : ''}\n`);
    }
    const failed = result.summaries.reduce((a, s) => a + s.failed, 0) / Math.max(1, plan.profiles.length);
    if (result.stopped) {
      process.stderr.write('stopped: run the same command again to continue (finished runs are kept)\n');
      return 130;
    }
    if (failed > 0) {
      process.stderr.write(`${failed} run${failed === 1 ? '' : 's'} failed (see results.csv); rerunning the command tries them again\n`);
      return 1;
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await closeExecutor();
  }
}

