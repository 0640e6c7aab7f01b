/**
 * Runs as rows and tables: the one summary of a run that `runs`, `compare`, their JSON twins and
 * the review screens share. Pure (takes entries read by src/runs/read.ts).
 */
import { fit, fmtAcc, fmtCount, fmtPct, fmtSI, fmtTime } from '../format.js';
import { formatModelSpec } from '../models/spec.js';
import type { RunEntry, RunInfo } from '../runs/read.js';

export interface RunRow {
  /** Run directory (unique key). */
  dir: string;
  name: string;
  damaged: boolean;
  reason?: string;
  /** Model name (`mlp`); the full spec is in the run's config. */
  model: string;
  dataset: string;
  schedule: string;
  profile: string;
  status: string;
  testAcc: number | null;
  energyJ: number | null;
  savingsPct: number | null;
  createdAt: string;
}

export function toRow(entry: RunEntry): RunRow {
  if (entry.damaged) {
    return { dir: entry.dir, name: entry.name, damaged: true, reason: entry.reason, model: '', dataset: '', schedule: '', profile: '', status: 'damaged', testAcc: null, energyJ: null, savingsPct: null, createdAt: '' };
  }
  const r = entry.run;
  return {
    dir: entry.dir,
    name: entry.name,
    damaged: false,
    model: r.config.model.name,
    dataset: r.config.dataset,
    schedule: r.config.schedule,
    profile: r.cost?.profile ?? r.config.profile,
    status: entry.status,
    testAcc: r.summary?.testAccuracy ?? null,
    energyJ: r.cost?.energyJ ?? null,
    savingsPct: r.cost?.savings.energyPct ?? null,
    createdAt: r.createdAt,
  };
}

/** `bitcycle runs`: one line per run (damaged runs with the reason). */
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
    model: formatModelSpec(r.config.model),
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

/** The metrics of the side-by-side comparison (plain `compare` and the review's compare screen). */
export const COMPARE_METRICS: readonly [string, (e: RunInfo) => string][] = [
  ['model', (e) => formatModelSpec(e.run.config.model)],
  ['dataset', (e) => e.run.config.dataset],
  ['schedule', (e) => e.run.config.schedule],
  ['grad bits', (e) => e.run.config.gradBits],
  ['profile', (e) => e.run.cost?.profile ?? e.run.config.profile],
  ['status', (e) => e.status],
  ['steps', (e) => `${e.run.progress.step}/${e.run.progress.totalSteps}`],
  ['test acc', (e) => fmtAcc(e.run.summary?.testAccuracy)],
  ['best test acc', (e) => fmtAcc(e.run.summary?.bestTestAccuracy)],
  ['energy', (e) => fmtSI(e.run.cost?.energyJ, 'J')],
  ['latency', (e) => fmtTime(e.run.cost?.latencyS)],
  ['BitOPs', (e) => fmtCount(e.run.cost?.bitops)],
  ['baseline energy', (e) => fmtSI(e.run.cost?.baseline.energyJ, 'J')],
  ['energy savings', (e) => fmtPct(e.run.cost?.savings.energyPct)],
  ['latency savings', (e) => fmtPct(e.run.cost?.savings.latencyPct)],
];

/** Side-by-side comparison: one column per run. */
export function compareTable(runs: readonly RunInfo[]): string {
  const colWidth = Math.max(12, ...runs.map((e) => e.name.length));
  const out = [[''.padEnd(16), ...runs.map((e) => e.name.padStart(colWidth))].join('  ').trimEnd()];
  for (const [label, f] of COMPARE_METRICS) out.push([label.padEnd(16), ...runs.map((e) => f(e).padStart(colWidth))].join('  '));
  return out.join('\n') + '\n';
}
