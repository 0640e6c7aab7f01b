/**
 * Resuming a run: claim it, then check that what is stored can be continued exactly — the
 * checkpoint belongs to this run (id, seed), its step is one the stored rows reach, its tensors are
 * the model's; steps.csv holds one well-formed row per step before it, in order, with the bits the
 * schedule gives; evals.csv one evaluation per finished epoch. Rows written after the checkpoint
 * are dropped (they are recomputed, identically). Anything else is refused with the file and line,
 * unless `repair` is set: then the run goes back to the last consistent point it has a state for
 * (the checkpoint, or step 0, which the seed reproduces) and the plan says what was dropped.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Checkpoint, initialCheckpoint, readCheckpoint } from '../artifacts/checkpoint.js';
import type { TrainingManifest } from '../artifacts/build.js';
import { RunError } from '../errors.js';
import type { ModelDef } from '../models/model.js';
import type { Schedule } from '../schedule/schedule.js';
import { type EvalRow, parseEvalLine, parseStepLine, type StepRow } from './read.js';
import { EVALS_HEADER, STEPS_HEADER, STEPS_HEADERS, layersCell } from './run-format.js';
import type { PlannedLayer } from '../formats/layer-plan.js';
import { parseOptimizerSpec } from '../optim/optimizer.js';
import { precisionName } from '../formats/precision.js';
import { RunStore } from './store.js';

/** Open and claim a run for `--resume`; refuses runs that are finished or cannot go on. */
export function openForResume(dir: string): RunStore {
  const store = RunStore.open(dir);
  const { status, divergence } = store.run;
  const refuse = (why: string): never => {
    store.release();
    throw new RunError(store.dir, why);
  };
  if (status === 'completed') refuse('run already completed; nothing to resume');
  if (status === 'diverged') {
    const at = divergence ? ` at step ${divergence.step} (${divergence.quantity} ${divergence.value})` : '';
    refuse(`run diverged${at}; resuming would diverge again: start a new run with a smaller --lr (this one was ${store.run.config.lr})`);
  }
  return store;
}

export interface ResumeContext {
  runId: string;
  seed: number;
  totalSteps: number;
  stepsPerEpoch: number;
  /** The run's schedules: a stored row must carry the bits they give its step. */
  schedule: Schedule;
  gradSchedule: Schedule;
  /** The run's per-layer plan: a stored row must carry the formats it gives each layer (none without a plan). */
  layerPlan?: PlannedLayer[];
  manifest: TrainingManifest;
  model: ModelDef;
  /** The profile read afresh (a run that never got past `starting`): copied in again on a fresh start. */
  profile?: { text: string; sha256: string; name: string };
}

export interface ResumePlan {
  /** Where training continues; `checkpoint` holds the state at that step. */
  fromStep: number;
  checkpoint: Checkpoint;
  /** Rows of the steps before `fromStep`, and the evaluations up to it. */
  steps: StepRow[];
  evals: EvalRow[];
  /** What --repair dropped, for the user (empty when nothing was wrong). */
  repairs: string[];
}

interface Problem {
  /** File (base name) and line (1-based, header = 1) or null for the whole file. */
  file: string;
  line: number | null;
  reason: string;
}

function readLines(file: string): { lines: string[]; complete: boolean } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const complete = text.endsWith('\n');
  const lines = text.split('\n');
  if (complete) lines.pop();
  return { lines, complete };
}

/** Check the checkpoint against the run; returns it, or the problem. */
function checkCheckpoint(store: RunStore, ctx: ResumeContext): Checkpoint | Problem {
  const file = basename(store.checkpointFile);
  let ckpt: Checkpoint;
  try {
    ckpt = readCheckpoint(store.checkpointFile);
  } catch (err) {
    const message = err instanceof RunError ? err.message.replace(`${store.checkpointFile}: `, '') : String(err);
    return { file, line: null, reason: message };
  }
  const meta = ckpt.metadata;
  if (meta.runId !== undefined && meta.runId !== ctx.runId) return { file, line: null, reason: `belongs to run "${meta.runId}", not to this run (${ctx.runId})` };
  if (meta.seed !== undefined && meta.seed !== String(ctx.seed)) return { file, line: null, reason: `was written with seed ${meta.seed}, the run's seed is ${ctx.seed}` };
  const stepText = meta.step ?? '';
  if (!/^\d+$/.test(stepText)) return { file, line: null, reason: `step "${stepText}" is not a step number` };
  const step = Number(stepText);
  if (step > ctx.totalSteps) return { file, line: null, reason: `step ${step} is past the run's ${ctx.totalSteps} steps` };
  const wanted = [...ctx.manifest.training.params, ...ctx.manifest.training.optimizerState, ...ctx.manifest.training.buffers];
  for (const spec of wanted) {
    const t = ckpt.tensors.get(spec.name);
    if (!t) {
      const buffer = ctx.manifest.training.buffers.some((b) => b.name === spec.name);
      return { file, line: null, reason: buffer ? `has no buffer ${spec.name} (written by a bitcycle before model buffers; this run cannot be resumed, start it again)` : `has no tensor ${spec.name}` };
    }
    const shape = spec.shape as number[];
    if (t.shape.join('x') !== shape.join('x')) return { file, line: null, reason: `tensor ${spec.name} has shape ${t.shape.join('×') || 'scalar'}, the model's is ${shape.join('×')}` };
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) return { file, line: null, reason: `tensor ${spec.name} holds a non-finite value` };
    }
  }
  for (const name of ckpt.tensors.keys()) {
    if (!wanted.some((w) => w.name === name)) return { file, line: null, reason: `has a tensor ${name} the model does not have` };
  }
  return ckpt;
}

function isProblem(x: unknown): x is Problem {
  return typeof x === 'object' && x !== null && 'reason' in x && 'file' in x;
}

/**
 * The rows of a CSV file that form a consistent prefix: row i is `expect(i)`, and the first
 * problem after it. Rows from `upTo` on are not checked (they come after the checkpoint).
 */
function consistentPrefix<T>(
  file: string,
  fileName: string,
  headers: readonly (readonly string[])[],
  parse: (line: string, header: readonly string[]) => T | string,
  check: (row: T, index: number) => string | null,
  count: number,
  /** A kept row as a line of the current header (rows of an older header are rewritten). */
  upgrade?: (row: T, line: string, header: readonly string[]) => string,
): { rows: T[]; lines: string[]; problem: Problem | null } {
  const read = readLines(file);
  if (!read) return { rows: [], lines: [], problem: count > 0 ? { file: fileName, line: null, reason: 'is missing' } : null };
  const { lines, complete } = read;
  const headerIndex = headers.findIndex((h) => lines[0] === h.join(','));
  if (headerIndex < 0) return { rows: [], lines: [], problem: { file: fileName, line: 1, reason: `header is not ${headers[0]!.join(',')}` } };
  const header = headers[headerIndex]!;
  const rows: T[] = [];
  const kept: string[] = [];
  for (let i = 0; i < count; i++) {
    const lineNo = i + 2;
    const line = lines[i + 1];
    if (line === undefined || (!complete && i + 1 === lines.length - 1)) {
      return { rows, lines: kept, problem: { file: fileName, line: null, reason: `has ${rows.length} rows, the checkpoint needs ${count}` } };
    }
    const row = parse(line, header);
    const why = typeof row === 'string' ? row : check(row, i);
    if (why !== null) return { rows, lines: kept, problem: { file: fileName, line: lineNo, reason: why } };
    rows.push(row as T);
    kept.push(headerIndex > 0 && upgrade ? upgrade(row as T, line, header) : line);
  }
  return { rows, lines: kept, problem: null };
}

/** A row of an older steps.csv header as a line of the current one: the columns it lacks are added (formats from its bits, the rest empty). */
function upgradeStepLine(row: StepRow, line: string, header: readonly string[]): string {
  const known: Record<string, string> = { format_w: row.formatWeights, format_a: row.formatActivations, format_g: row.formatGrad };
  const cells = new Map(line.split(',').map((c, i) => [header[i]!, c]));
  return STEPS_HEADER.map((column) => cells.get(column) ?? known[column] ?? '').join(',');
}

function describe(p: Problem): string {
  return `${p.file}${p.line !== null ? ` line ${p.line}` : ''}: ${p.reason}`;
}

/**
 * Check a claimed run and decide where it continues. Throws RunError naming the file and row of
 * the first inconsistency unless `repair`. Rewrites the CSV files to the kept rows.
 */
export function planResume(store: RunStore, ctx: ResumeContext, repair: boolean): ResumePlan {
  const fresh = (repairs: string[]): ResumePlan => {
    if (ctx.profile) store.run.profileCopy = { file: `profile-${ctx.profile.sha256.slice(0, 12)}.json`, sha256: ctx.profile.sha256, name: ctx.profile.name };
    store.start(initialCheckpointFor(ctx), ctx.profile?.text);
    return { fromStep: 0, checkpoint: initialCheckpointFor(ctx), steps: [], evals: [], repairs };
  };
  // A run whose creation was interrupted has trained nothing: it starts from step 0.
  if (store.run.status === 'starting') return fresh([]);

  const ckptOrProblem = checkCheckpoint(store, ctx);
  let problem: Problem | null = isProblem(ckptOrProblem) ? ckptOrProblem : null;
  const ckpt = isProblem(ckptOrProblem) ? null : ckptOrProblem;
  const step = ckpt ? Number(ckpt.metadata.step) : 0;
  const spe = ctx.stepsPerEpoch;

  let steps: ReturnType<typeof consistentPrefix<StepRow>> = { rows: [], lines: [], problem: null };
  let evals: ReturnType<typeof consistentPrefix<EvalRow>> = { rows: [], lines: [], problem: null };
  if (!problem) {
    steps = consistentPrefix(store.stepsFile, 'steps.csv', STEPS_HEADERS, parseStepLine, (row, i) => {
      if (row.step !== i) return `step ${row.step} where step ${i} belongs (rows must be 0, 1, 2, … with none missing or repeated)`;
      if (row.epoch !== Math.floor(i / spe)) return `epoch ${row.epoch}, step ${i} is in epoch ${Math.floor(i / spe)}`;
      const wa = ctx.schedule.bitsAt(i, ctx.totalSteps);
      const g = ctx.gradSchedule.bitsAt(i, ctx.totalSteps);
      if (row.bitsWeights !== wa || row.bitsActivations !== wa || row.bitsGrad !== g) {
        return `bits ${row.bitsWeights}/${row.bitsActivations}/${row.bitsGrad}, the run's schedule gives ${wa}/${wa}/${g}`;
      }
      const fwa = precisionName(ctx.schedule.formatAt(i, ctx.totalSteps));
      const fg = precisionName(ctx.gradSchedule.formatAt(i, ctx.totalSteps));
      if (row.formatWeights !== fwa || row.formatActivations !== fwa || row.formatGrad !== fg) {
        return `formats ${row.formatWeights}/${row.formatActivations}/${row.formatGrad}, the run's schedule gives ${fwa}/${fwa}/${fg}`;
      }
      const planned = layersCell(ctx.layerPlan?.map((l) => `${precisionName(l.schedule.formatAt(i, ctx.totalSteps))}/${precisionName(l.errors.formatAt(i, ctx.totalSteps))}`));
      const stored = layersCell(row.layerFormats);
      if (stored !== planned) return planned ? `layers "${stored}", the run's layer plan gives "${planned}"` : `layers "${stored}", but the run has no layer plan`;
      return null;
    }, step, upgradeStepLine);
    problem = steps.problem;
  }
  if (!problem) {
    evals = consistentPrefix(store.evalsFile, 'evals.csv', [EVALS_HEADER], parseEvalLine, (row, e) => {
      if (row.epoch !== e || row.step !== (e + 1) * spe) return `evaluation of epoch ${row.epoch} at step ${row.step}, expected epoch ${e} at step ${(e + 1) * spe}`;
      return null;
    }, Math.floor(step / spe));
    problem = evals.problem;
  }
  if (problem && !repair) {
    throw new RunError(store.dir, `${describe(problem)}; resume refused, nothing was changed (bitcycle train --resume ${store.dir} --repair goes back to the last consistent point and says what it drops)`);
  }
  if (problem) {
    const before = countRows(store.stepsFile);
    const evalsBefore = countRows(store.evalsFile);
    return fresh([`${describe(problem)}`, `restarted from step 0 (the only consistent point with a state: the seed reproduces it); dropped ${before} step rows and ${evalsBefore} evaluations`]);
  }
  store.rewriteRows(steps.lines, evals.lines);
  store.keepAnchorsBefore(step);
  return { fromStep: step, checkpoint: ckpt!, steps: steps.rows, evals: evals.rows, repairs: [] };
}

function countRows(file: string): number {
  const read = readLines(file);
  return read ? Math.max(0, read.lines.length - 1) : 0;
}

function initialCheckpointFor(ctx: ResumeContext): Checkpoint {
  const c = initialCheckpoint(ctx.model, ctx.seed, parseOptimizerSpec(ctx.manifest.optimizer));
  c.metadata.runId = ctx.runId;
  return c;
}
