/**
 * Runs as rows and tables: the one summary of a run that `runs`, `compare`, their JSON twins and
 * the review screens share. Pure (takes entries read by src/runs/read.ts).
 *
 * Every string of a row or table comes from a run directory (its name, run.json), i.e. from a
 * file anyone may have written: it is sanitized here (src/util/text.ts), once, so no escape
 * sequence or newline reaches a terminal and each run stays one line. The JSON twins keep the
 * raw values (JSON escapes control characters itself).
 */
import { fit, fmtAcc, fmtCount, fmtPct, fmtSI, fmtTime } from '../format.js';
import { formatModelSpec, shortModelLabel } from '../models/spec.js';
import { nextCommand, type RunEntry, type RunInfo } from '../runs/read.js';
import type { RunJson } from '../runs/run-format.js';
import { sanitize, sanitizeShort } from '../util/text.js';
import type { GroupedPoint } from './pareto.js';

/** Longest a name or config string may be on a line (a hostile run.json cannot flood the table). */
const MAX_TEXT = 120;
/** A string from a run directory, safe for a terminal: one line, escapes visible, bounded. */
export const clean = (text: unknown): string => sanitizeShort(String(text ?? ''), MAX_TEXT);

/** One run as the list shows it; every string is sanitized (safe to print). */
export interface RunRow {
  /** Run directory (unique key; raw, not for display). */
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
    return { dir: entry.dir, name: clean(entry.name), damaged: true, reason: sanitizeShort(entry.reason, 300), model: '', dataset: '', schedule: '', profile: '', status: 'damaged', testAcc: null, energyJ: null, savingsPct: null, createdAt: '' };
  }
  const r = entry.run;
  return {
    dir: entry.dir,
    name: clean(entry.name),
    damaged: false,
    model: clean(shortModelLabel(r.config.model)),
    dataset: clean(r.config.dataset),
    schedule: clean(r.config.schedule),
    profile: clean(r.cost?.profile ?? r.config.profile),
    status: clean(entry.status),
    testAcc: r.summary?.testAccuracy ?? null,
    energyJ: r.cost?.energyJ ?? null,
    savingsPct: r.cost?.savings.energyPct ?? null,
    createdAt: r.createdAt,
  };
}

/** The comparable-runs group of a run: same data set, model, trained steps (of planned) and profile. */
export interface RunGroup {
  key: string;
  /** e.g. `digits · mlp:hidden=128 · 220 steps · bit-fusion-45nm` (sanitized). */
  label: string;
}

export function runGroup(run: RunJson): RunGroup {
  const model = formatModelSpec(run.config.model);
  const profile = run.cost?.profile ?? run.config.profile;
  const { step, totalSteps } = run.progress;
  const length = step === totalSteps ? `${totalSteps} steps` : `${step}/${totalSteps} steps`;
  return { key: [run.config.dataset, model, `${step}/${totalSteps}`, profile].join('\u0000'), label: [clean(run.config.dataset), clean(model), length, clean(profile)].join(' · ') };
}

/** A run on the energy/accuracy plane, with its group; null when it has no energy or no test accuracy. */
export interface ScatterRun extends GroupedPoint {
  /** The run directory. */
  id: string;
  cost: number;
  quality: number;
  label: string;
  entry: RunInfo;
}

export function scatterPoint(entry: RunEntry): ScatterRun | null {
  if (entry.damaged) return null;
  const energy = entry.run.cost?.energyJ;
  const accuracy: number | null | undefined = entry.run.summary?.testAccuracy;
  if (typeof energy !== 'number' || !Number.isFinite(energy) || typeof accuracy !== 'number' || !Number.isFinite(accuracy)) return null;
  const group = runGroup(entry.run);
  return { id: entry.dir, cost: energy, quality: accuracy, group: group.key, label: group.label, entry };
}

/**
 * `bitcycle runs`: one line per run (damaged runs with the reason), then, for every run that needs
 * something done (interrupted, stopped, not started, damaged), the command that does it.
 * `runsDir` makes the commands' paths relative to where the user typed `runs`.
 */
export function runsTable(entries: readonly RunEntry[], runsDir?: string): string {
  const rows = entries.map(toRow);
  const nameWidth = Math.max(4, ...rows.map((r) => r.name.length));
  const widths = [nameWidth, 10, 13, 10, 18, 8, 10, 8, 11];
  const align = ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'left'] as const;
  const line = (cells: string[]) => cells.map((c, i) => fit(c, widths[i]!, align[i]!)).join('  ').trimEnd();
  const out = [line(['run', 'model', 'dataset', 'schedule', 'profile', 'test acc', 'energy', 'savings', 'status'])];
  for (const r of rows) {
    if (r.damaged) out.push(`${fit(r.name, nameWidth)}  damaged: ${r.reason ?? ''}`);
    else out.push(line([r.name, r.model, r.dataset, r.schedule, r.profile, fmtAcc(r.testAcc), fmtSI(r.energyJ, 'J'), fmtPct(r.savingsPct), r.status]));
  }
  const todo = entries.map((e) => ({ e, command: nextCommand(e, runsDir) })).filter((t) => t.command !== null);
  if (todo.length) {
    out.push('', 'to continue:');
    for (const { e, command } of todo) out.push(`  ${fit(clean(e.name), nameWidth)}  ${clean(e.damaged ? 'damaged' : e.status)}: ${clean(command)}`);
  }
  const diverged = entries.filter((e): e is RunInfo => !e.damaged && e.status === 'diverged');
  for (const e of diverged) {
    const d = e.run.divergence;
    out.push(`${todo.length ? '' : '\n'}${clean(e.name)} diverged${d ? ` at step ${d.step} (${clean(d.quantity)} ${clean(d.value)})` : ''}: start a new run with a smaller --lr than ${e.run.config.lr}`);
  }
  return out.join('\n') + '\n';
}

/** One JSON object per run for scripts (damaged runs carry `damaged: true` and `reason`). */
export function runJsonSummary(entry: RunEntry): Record<string, unknown> {
  if (entry.damaged) return { name: entry.name, dir: entry.dir, damaged: true, reason: entry.reason, next: nextCommand(entry) };
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
    ...(r.divergence ? { divergence: r.divergence } : {}),
    next: nextCommand(entry),
  };
}

/** The metrics of the side-by-side comparison (plain `compare` and the review's compare screen); values are sanitized. */
export const COMPARE_METRICS: readonly [string, (e: RunInfo) => string][] = [
  ['model', (e) => clean(formatModelSpec(e.run.config.model))],
  ['dataset', (e) => clean(e.run.config.dataset)],
  ['schedule', (e) => clean(e.run.config.schedule)],
  ['grad bits', (e) => clean(e.run.config.gradBits)],
  ['profile', (e) => clean(e.run.cost?.profile ?? e.run.config.profile)],
  ['status', (e) => clean(e.status)],
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
  const names = runs.map((e) => clean(e.name));
  const colWidth = Math.max(12, ...names.map((n) => n.length));
  const out = [[''.padEnd(16), ...names.map((n) => n.padStart(colWidth))].join('  ').trimEnd()];
  for (const [label, f] of COMPARE_METRICS) out.push([label.padEnd(16), ...runs.map((e) => f(e).padStart(colWidth))].join('  '));
  return out.join('\n') + '\n';
}

/** `compare`'s Pareto lines: one per group of comparable runs that has a front. */
export function paretoLines(groups: readonly { label: string; names: readonly string[] }[]): string {
  if (groups.length === 0) return '';
  if (groups.length === 1) return `\nPareto front (energy vs test acc, ${groups[0]!.label}): ${groups[0]!.names.map(clean).join(', ')}\n`;
  return `\nPareto fronts (energy vs test acc), per group of comparable runs:\n${groups.map((g) => `  ${g.label}: ${g.names.map(clean).join(', ')}`).join('\n')}\n`;
}

/**
 * Runs as CSV for pandas and spreadsheets (`runs --csv`, `compare --csv`): one row per run, the
 * config columns first, then the outcome and the cost. Numbers are written in full (JavaScript's
 * shortest round-trip form), a missing value is an empty cell, a damaged run has its reason and
 * empty metrics. Strings from run directories are sanitized (they reach terminals too) but not cut.
 */
export const RUN_CSV_COLUMNS = [
  'name',
  'dir',
  'id',
  'status',
  'damaged',
  'reason',
  'model',
  'dataset',
  'schedule',
  'grad_bits',
  'eval_bits',
  'seed',
  'epochs',
  'batch_size',
  'lr',
  'lr_schedule',
  'momentum',
  'weight_decay',
  'fp_layers',
  'kernels',
  'profile',
  'baseline',
  'step',
  'total_steps',
  'test_accuracy',
  'best_test_accuracy',
  'test_loss',
  'final_train_loss',
  'steps_per_second',
  'wall_s',
  'energy_j',
  'latency_s',
  'bitops',
  'baseline_energy_j',
  'baseline_latency_s',
  'baseline_bitops',
  'energy_saving_pct',
  'latency_saving_pct',
  'bitops_saving_pct',
] as const;

export type RunCsvRow = Record<(typeof RUN_CSV_COLUMNS)[number], string | number | boolean | null>;

export function runCsvRow(entry: RunEntry): RunCsvRow {
  const row = Object.fromEntries(RUN_CSV_COLUMNS.map((c) => [c, null])) as RunCsvRow;
  const text = (v: unknown) => (v === undefined || v === null ? null : sanitize(String(v)));
  row.name = text(entry.name);
  row.dir = text(entry.dir);
  row.damaged = entry.damaged;
  if (entry.damaged) {
    row.reason = text(entry.reason);
    return row;
  }
  const r = entry.run;
  const c = r.config;
  Object.assign(row, {
    id: text(r.id),
    status: text(entry.status),
    model: text(formatModelSpec(c.model)),
    dataset: text(c.dataset),
    schedule: text(c.schedule),
    grad_bits: text(c.gradBits),
    eval_bits: c.evalBits,
    seed: c.seed,
    epochs: c.epochs,
    batch_size: c.batchSize,
    lr: c.lr,
    lr_schedule: text(c.lrSchedule),
    momentum: c.momentum,
    weight_decay: c.weightDecay,
    fp_layers: text(c.fpLayers),
    kernels: text(c.kernels),
    profile: text(r.cost?.profile ?? c.profile),
    baseline: text(c.baseline),
    step: r.progress.step,
    total_steps: r.progress.totalSteps,
    test_accuracy: r.summary?.testAccuracy ?? null,
    best_test_accuracy: r.summary?.bestTestAccuracy ?? null,
    test_loss: r.summary?.testLoss ?? null,
    final_train_loss: r.summary?.finalTrainLoss ?? null,
    steps_per_second: r.summary?.stepsPerSecond ?? null,
    wall_s: r.summary?.wallS ?? null,
    energy_j: r.cost?.energyJ ?? null,
    latency_s: r.cost?.latencyS ?? null,
    bitops: r.cost?.bitops ?? null,
    baseline_energy_j: r.cost?.baseline.energyJ ?? null,
    baseline_latency_s: r.cost?.baseline.latencyS ?? null,
    baseline_bitops: r.cost?.baseline.bitops ?? null,
    energy_saving_pct: r.cost?.savings.energyPct ?? null,
    latency_saving_pct: r.cost?.savings.latencyPct ?? null,
    bitops_saving_pct: r.cost?.savings.bitopsPct ?? null,
  });
  return row;
}

/** The CSV text of rows with these columns (header first; RFC 4180 quoting by fast-csv). */
export async function csvText(columns: readonly string[], rows: readonly Record<string, string | number | boolean | null>[]): Promise<string> {
  const { writeToString } = await import('fast-csv');
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '' : r[c])));
  return `${await writeToString([columns as string[], ...cells])}\n`;
}

/** The cost of a run's steps per combination of formats (weights and activations · errors), from steps.csv. */
export interface FormatCost {
  /** `fp8-e4m3 · fp8-e5m2`, `int6 · int8`. */
  label: string;
  steps: number;
  energyJ: number;
  baselineEnergyJ: number;
}

/**
 * Steps grouped by their formats (in order of first appearance), with the energy steps.csv records
 * for them on the run's profile and their baseline's: where a run that moves through formats spends
 * its energy. Steps without a cost (no profile) count with 0 J.
 */
export function costByFormat(steps: readonly { formatWeights: string; formatActivations: string; formatGrad: string; energyJ: number | null; baselineEnergyJ: number | null }[]): FormatCost[] {
  const groups = new Map<string, FormatCost>();
  for (const s of steps) {
    const wa = s.formatWeights === s.formatActivations ? s.formatWeights : `${s.formatWeights}/${s.formatActivations}`;
    const label = `${wa} · ${s.formatGrad}`;
    let g = groups.get(label);
    if (!g) groups.set(label, (g = { label, steps: 0, energyJ: 0, baselineEnergyJ: 0 }));
    g.steps++;
    g.energyJ += s.energyJ ?? 0;
    g.baselineEnergyJ += s.baselineEnergyJ ?? 0;
  }
  return [...groups.values()];
}
