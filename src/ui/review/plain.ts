/** Plain-text and JSON renderings of runs, for `bitcycle runs` / `compare` and for pipes. */
import type { RunEntry, RunInfo } from '../../runs/read.js';
import { fit, fmtAcc, fmtPct, fmtSI } from '../format.js';
import { toRow } from './model.js';

export function runsTable(entries: readonly RunEntry[]): string {
  const rows = entries.map(toRow);
  const nameWidth = Math.max(4, ...rows.map((r) => r.name.length));
  const widths = [nameWidth, 7, 9, 10, 18, 8, 10, 8, 11];
  const align = ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'left'] as const;
  const line = (cells: string[]) => cells.map((c, i) => fit(c, widths[i]!, align[i]!)).join('  ').trimEnd();
  const out = [line(['run', 'model', 'dataset', 'schedule', 'profile', 'test acc', 'energy', 'savings', 'status'])];
  for (const r of rows) {
    if (r.damaged) out.push(`${fit(r.name, nameWidth)}  damaged: ${r.reason}`);
    else out.push(line([r.name, r.model, r.dataset, r.schedule, r.profile, fmtAcc(r.testAcc), fmtSI(r.energyJ, 'J'), fmtPct(r.savingsPct), r.status]));
  }
  return out.join('\n') + '\n';
}

/** One JSON object per run for scripts (damaged runs carry `damaged: true` and `reason`). */
export function runJsonSummary(entry: RunEntry): Record<string, unknown> {
  if (entry.damaged) return { name: entry.name, dir: entry.dir, damaged: true, reason: entry.reason };
  const r = entry.run;
  return {
    name: entry.name,
    dir: entry.dir,
    damaged: false,
    id: r.id,
    status: entry.status,
    model: r.config.model,
    dataset: r.config.dataset,
    schedule: r.config.schedule,
    gradBits: r.config.gradBits,
    profile: r.cost?.profile ?? r.config.profile,
    baseline: r.config.baseline,
    progress: r.progress,
    testAccuracy: r.summary?.testAccuracy ?? null,
    bestTestAccuracy: r.summary?.bestTestAccuracy ?? null,
    energyJ: r.cost?.energyJ ?? null,
    latencyS: r.cost?.latencyS ?? null,
    bitops: r.cost?.bitops ?? null,
    baselineEnergyJ: r.cost?.baseline.energyJ ?? null,
    savings: r.cost?.savings ?? null,
  };
}

/** Side-by-side comparison: one column per run. */
export function compareTable(runs: readonly RunInfo[]): string {
  const metrics: [string, (e: RunInfo) => string][] = [
    ['model', (e) => e.run.config.model],
    ['dataset', (e) => e.run.config.dataset],
    ['schedule', (e) => e.run.config.schedule],
    ['grad bits', (e) => e.run.config.gradBits],
    ['profile', (e) => e.run.cost?.profile ?? e.run.config.profile],
    ['status', (e) => e.status],
    ['steps', (e) => `${e.run.progress.step}/${e.run.progress.totalSteps}`],
    ['test acc', (e) => fmtAcc(e.run.summary?.testAccuracy)],
    ['best test acc', (e) => fmtAcc(e.run.summary?.bestTestAccuracy)],
    ['energy', (e) => fmtSI(e.run.cost?.energyJ, 'J')],
    ['latency', (e) => fmtSI(e.run.cost?.latencyS, 's')],
    ['BitOPs', (e) => fmtSI(e.run.cost?.bitops, '')],
    ['baseline energy', (e) => fmtSI(e.run.cost?.baseline.energyJ, 'J')],
    ['energy savings', (e) => fmtPct(e.run.cost?.savings.energyPct)],
    ['latency savings', (e) => fmtPct(e.run.cost?.savings.latencyPct)],
  ];
  const colWidth = Math.max(12, ...runs.map((e) => e.name.length));
  const out = [[''.padEnd(16), ...runs.map((e) => e.name.padStart(colWidth))].join('  ').trimEnd()];
  for (const [label, f] of metrics) out.push([label.padEnd(16), ...runs.map((e) => f(e).padStart(colWidth))].join('  '));
  return out.join('\n') + '\n';
}
