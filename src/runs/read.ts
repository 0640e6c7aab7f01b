/**
 * The run store (reader side): lists run directories and parses run.json, steps.csv and evals.csv
 * (docs/run-format.md). Every problem becomes a reason string: a damaged or half-written run is
 * reported, never thrown past `listRuns`. `readRun`, `readSteps` and `readEvals` throw RunError.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseString } from 'fast-csv';
import type { StepRecord } from '../engine/events.js';
import { RunError } from '../errors.js';
import { processAlive } from '../util/process.js';
import { EVALS_HEADER, parseRunJson, type RunJson, STEPS_HEADER, STEPS_HEADERS } from './run-format.js';
import { gridFormat, precisionName } from '../formats/precision.js';
import { parseNumberFormat } from '../formats/number-format.js';

export { parseRunJson };

/**
 * `running` whose process is gone shows as `interrupted` (resumable from its last checkpoint);
 * `starting` whose process is gone as `not-started` (nothing trained; `--resume` starts it).
 */
export type DisplayStatus = RunJson['status'] | 'interrupted' | 'not-started';

export interface RunInfo {
  damaged: false;
  /** Absolute run directory. */
  dir: string;
  /** Directory name (usually equal to run.id). */
  name: string;
  run: RunJson;
  status: DisplayStatus;
}

export interface DamagedRun {
  damaged: true;
  dir: string;
  name: string;
  reason: string;
  /** No run.json at all: creation was interrupted before anything was trained, or not a run. */
  noRunJson?: boolean;
  /** run.json is sound; `--resume --repair` can rebuild the rest. */
  repairable?: boolean;
}

export type RunEntry = RunInfo | DamagedRun;

/** A row of steps.csv: the engine's step record plus its cost columns. */
export interface StepRow extends StepRecord {
  /** Null when the run has no profile (empty cells). */
  energyJ: number | null;
  latencyS: number | null;
  bitops: number | null;
  baselineEnergyJ: number | null;
}

export interface EvalRow {
  epoch: number;
  step: number;
  testLoss: number;
  testAcc: number;
  bits: number;
}

export function displayStatus(run: RunJson, alive: (pid: number) => boolean = processAlive): DisplayStatus {
  if (run.status !== 'running' && run.status !== 'starting') return run.status;
  if (typeof run.pid === 'number' && alive(run.pid)) return run.status;
  return run.status === 'running' ? 'interrupted' : 'not-started';
}

/** A shell word for a path in a suggested command (quoted when it needs to be). */
function shellWord(path: string): string {
  return /^[A-Za-z0-9_./+-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/** The command that gets a run going again, or null when there is nothing to do. */
export function nextCommand(entry: RunEntry, runsDir?: string): string | null {
  const dir = shellWord(runsDir !== undefined ? join(runsDir, entry.name) : entry.dir);
  if (entry.damaged) return entry.noRunJson ? `rm -r ${dir}` : entry.repairable ? `bitcycle train --resume ${dir} --repair` : null;
  switch (entry.status) {
    case 'interrupted':
    case 'stopped':
    case 'failed':
    case 'not-started':
      return `bitcycle train --resume ${dir}`;
    default:
      return null;
  }
}

/** Read one run directory's run.json. Throws RunError with the reason when it is damaged. */
export function readRun(dir: string): RunInfo {
  const entry = readEntry(dir);
  if (entry.damaged) throw new RunError(dir, entry.reason);
  return entry;
}

/** Like readRun, but a damaged run is returned as `{damaged: true, reason}`. */
export function readEntry(dir: string): RunEntry {
  const abs = resolve(dir);
  const name = basename(abs);
  const file = join(abs, 'run.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no run.json: not a run directory, or its creation was interrupted before anything was trained' : `cannot read run.json (${code ?? (err as Error).message})`;
    return { damaged: true, dir: abs, name, reason, noRunJson: code === 'ENOENT' };
  }
  const parsed = parseRunJson(text);
  if (!parsed.ok) return { damaged: true, dir: abs, name, reason: parsed.reason };
  if (!existsSync(join(abs, 'steps.csv'))) return { damaged: true, dir: abs, name, reason: 'steps.csv is missing', repairable: true };
  return { damaged: false, dir: abs, name, run: parsed.run, status: displayStatus(parsed.run) };
}

/**
 * The run directories in `runsDir`: every subdirectory, sorted by name (run ids start with a
 * timestamp, so this is creation order); hidden ones (staging directories) are skipped. A missing
 * `runsDir` is a RunError.
 */
export function runDirectories(runsDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(runsDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunError(runsDir, code === 'ENOENT' ? 'no such runs directory' : `cannot list (${code ?? (err as Error).message})`);
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const dir = join(runsDir, name);
    try {
      if (statSync(dir).isDirectory()) out.push(dir);
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

/** Every run in `runsDir` (see `runDirectories`), damaged ones with the reason. */
export function listRuns(runsDir: string): RunEntry[] {
  return runDirectories(runsDir).map(readEntry);
}

type Cell = Record<string, string>;

function numberCell(row: Cell, column: string, options: { integer?: boolean; optional?: boolean } = {}): number | null | string {
  const text = row[column];
  if (text === undefined) return `missing column ${column}`;
  if (text.trim() === '') return options.optional ? null : `${column} is empty`;
  const value = Number(text);
  if (!Number.isFinite(value)) {
    // the writer leaves non-finite losses empty; "NaN" or text is damage
    return `${column} is not a number ("${text}")`;
  }
  if (options.integer && !Number.isInteger(value)) return `${column} is not an integer ("${text}")`;
  return value;
}

async function parseCsv<T>(dir: string, fileName: string, headers: readonly (readonly string[])[], convert: (row: Cell) => T | string): Promise<T[]> {
  const file = join(dir, fileName);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunError(dir, code === 'ENOENT' ? `${fileName} is missing` : `cannot read ${fileName} (${code ?? (err as Error).message})`);
  }
  if (text.trim() === '') throw new RunError(dir, `${fileName} is empty (no header)`);
  const firstLine = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length).trim();
  const header = headers.find((h) => h.join(',') === firstLine);
  if (!header) throw new RunError(dir, `${fileName}: unexpected header "${firstLine.slice(0, 60)}" (expected ${headers[0]!.join(',')})`);
  const rows: T[] = [];
  return new Promise<T[]>((resolvePromise, reject) => {
    let failed = false;
    const fail = (reason: string) => {
      if (failed) return;
      failed = true;
      reject(new RunError(dir, `${fileName}: ${reason}`));
    };
    parseString<Cell, { value: T | string }>(text, { headers: true, strictColumnHandling: true, ignoreEmpty: true })
      .transform((row: Cell) => ({ value: convert(row) }))
      .validate((row: { value: T | string }, cb) => (typeof row.value === 'string' ? cb(null, false, row.value) : cb(null, true)))
      .on('data', (row: { value: T }) => {
        rows.push(row.value);
      })
      .on('data-invalid', (row: unknown, rowNumber: number, reason?: string) => {
        // rowNumber counts data rows from 1; the header is line 1
        const why = reason ?? (Array.isArray(row) ? `${row.length} columns instead of ${header.length}` : 'invalid row');
        fail(`line ${rowNumber + 1}: ${why}`);
      })
      .on('error', (err: Error) => fail(err.message))
      .on('end', () => {
        if (!failed) resolvePromise(rows);
      });
  });
}

function convertStep(row: Cell): StepRow | string {
  const cols = {
    step: numberCell(row, 'step', { integer: true }),
    epoch: numberCell(row, 'epoch', { integer: true }),
    bitsWeights: numberCell(row, 'bits_w', { integer: true }),
    bitsActivations: numberCell(row, 'bits_a', { integer: true }),
    bitsGrad: numberCell(row, 'bits_g', { integer: true }),
    lr: numberCell(row, 'lr', { optional: true }),
    loss: numberCell(row, 'loss', { optional: true }),
    trainAcc: numberCell(row, 'train_acc', { optional: true }),
    wallMs: numberCell(row, 'wall_ms'),
    energyJ: numberCell(row, 'energy_j', { optional: true }),
    latencyS: numberCell(row, 'latency_s', { optional: true }),
    bitops: numberCell(row, 'bitops', { optional: true }),
    baselineEnergyJ: numberCell(row, 'baseline_energy_j', { optional: true }),
  };
  for (const v of Object.values(cols)) if (typeof v === 'string') return v;
  const c = cols as Record<keyof typeof cols, number | null>;
  for (const k of ['bitsWeights', 'bitsActivations', 'bitsGrad'] as const) {
    if (c[k]! < 1 || c[k]! > 64) return `${k} out of range (${c[k]})`;
  }
  const formats = {
    formatWeights: formatCell(row, 'format_w', c.bitsWeights!),
    formatActivations: formatCell(row, 'format_a', c.bitsActivations!),
    formatGrad: formatCell(row, 'format_g', c.bitsGrad!),
  };
  for (const v of Object.values(formats)) if (v.startsWith('!')) return v.slice(1);
  const numerics = {
    // columns newer than the file may be absent
    lossScale: row.loss_scale === undefined ? null : numberCell(row, 'loss_scale', { optional: true }),
    skipped: row.skipped === undefined ? null : numberCell(row, 'skipped', { optional: true, integer: true }),
    underflow: countsOf(row, 'underflow'),
    overflow: countsOf(row, 'overflow'),
  };
  for (const v of Object.values(numerics)) if (typeof v === 'string') return v;
  const layers = layersOf(row);
  if (typeof layers === 'string') return layers;
  return {
    ...(layers ? { layerFormats: layers } : {}),
    ...formats,
    ...(typeof numerics.lossScale === 'number' ? { lossScale: numerics.lossScale } : {}),
    ...(typeof numerics.skipped === 'number' ? { skipped: numerics.skipped === 1 } : {}),
    ...(Array.isArray(numerics.underflow) ? { underflow: numerics.underflow } : {}),
    ...(Array.isArray(numerics.overflow) ? { overflow: numerics.overflow } : {}),
    step: c.step!,
    epoch: c.epoch!,
    bitsWeights: c.bitsWeights!,
    bitsActivations: c.bitsActivations!,
    bitsGrad: c.bitsGrad!,
    lr: c.lr ?? Number.NaN,
    loss: c.loss ?? Number.NaN,
    trainAcc: c.trainAcc ?? Number.NaN,
    wallMs: c.wallMs!,
    energyJ: c.energyJ,
    latencyS: c.latencyS,
    bitops: c.bitops,
    baselineEnergyJ: c.baselineEnergyJ,
  };
}

function convertEval(row: Cell): EvalRow | string {
  const cols = {
    epoch: numberCell(row, 'epoch', { integer: true }),
    step: numberCell(row, 'step', { integer: true }),
    testLoss: numberCell(row, 'test_loss', { optional: true }),
    testAcc: numberCell(row, 'test_acc', { optional: true }),
    bits: numberCell(row, 'bits', { integer: true }),
  };
  for (const v of Object.values(cols)) if (typeof v === 'string') return v;
  const c = cols as Record<keyof typeof cols, number | null>;
  return { epoch: c.epoch!, step: c.step!, testLoss: c.testLoss ?? Number.NaN, testAcc: c.testAcc ?? Number.NaN, bits: c.bits! };
}

function lineCells(line: string, header: readonly string[]): Cell | string {
  const cells = line.split(',');
  if (cells.length !== header.length) return `${cells.length} columns instead of ${header.length}`;
  const row: Cell = {};
  header.forEach((h, i) => (row[h] = cells[i]!));
  return row;
}

/** A per-quantizer counts cell (`12;0;3`): absent/empty → null; a bad cell → why. */
function countsOf(row: Cell, column: string): number[] | null | string {
  const text = row[column];
  if (text === undefined || text === '') return null;
  const counts = text.split(';').map(Number);
  if (counts.some((c) => !Number.isInteger(c) || c < 0)) return `${column} is not a list of counts ("${text.slice(0, 20)}")`;
  return counts;
}

/** A layers cell: each quantized layer's `W/G` formats, canonical; null when empty or absent. */
function layersOf(row: Cell): string[] | null | string {
  const text = row.layers;
  if (text === undefined || text === '') return null;
  const out: string[] = [];
  for (const item of text.split(' ')) {
    const parts = item.split('/');
    if (parts.length !== 2) return `layers: "${item.slice(0, 30)}" is not W/G formats`;
    const names: string[] = [];
    for (const p of parts) {
      try {
        names.push(precisionName(parseNumberFormat(p, 'layers')));
      } catch {
        return `layers: "${p.slice(0, 20)}" is not a number format`;
      }
    }
    out.push(names.join('/'));
  }
  return out;
}

/**
 * A format cell: its canonical name; `intB`/`fp32` from the bits where the file predates formats
 * (no such column); `!why` when it is not a format.
 */
function formatCell(row: Cell, column: string, bits: number): string {
  const text = row[column];
  if (text === undefined) return precisionName(gridFormat(bits));
  try {
    return precisionName(parseNumberFormat(text, column));
  } catch {
    return `!${column} is not a number format ("${text.slice(0, 20)}")`;
  }
}

/** One line of steps.csv (numbers only, no quoting) under `header` → its row, or why it is not one. */
export function parseStepLine(line: string, header: readonly string[] = STEPS_HEADER): StepRow | string {
  const cells = lineCells(line, header);
  return typeof cells === 'string' ? cells : convertStep(cells);
}

/** One line of evals.csv → its row, or why it is not one. */
export function parseEvalLine(line: string): EvalRow | string {
  const cells = lineCells(line, EVALS_HEADER);
  return typeof cells === 'string' ? cells : convertEval(cells);
}

/** Rows of steps.csv. Throws RunError naming the file and line of the first invalid row. */
export function readSteps(dir: string): Promise<StepRow[]> {
  return parseCsv(dir, 'steps.csv', STEPS_HEADERS, convertStep);
}

/** Rows of evals.csv. Throws RunError naming the file and line of the first invalid row. */
export function readEvals(dir: string): Promise<EvalRow[]> {
  return parseCsv(dir, 'evals.csv', [EVALS_HEADER], convertEval);
}

export interface RunData {
  steps: StepRow[];
  evals: EvalRow[];
}

/** steps.csv and evals.csv of one run, read in parallel. */
export async function readRunData(dir: string): Promise<RunData> {
  const [steps, evals] = await Promise.all([readSteps(dir), readEvals(dir)]);
  return { steps, evals };
}
